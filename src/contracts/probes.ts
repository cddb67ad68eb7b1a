/**
 * Probe files (`<pack>/<id>.yaml`) in their loaded form: the request (method and path default to
 * the operation's), what the probe expects, captures, and the cross-file rules: the operation
 * exists and describes the request, variables have one source, variants differ from their base,
 * and a run order exists.
 */
import { existsSync } from 'node:fs'
import { basename, dirname, extname, resolve } from 'node:path'
import type { ContractProblem } from '../util/errors.ts'
import { pathSegments } from '../graph/index.ts'
import { normaliseHeaders, type RawHeaders } from './headers.ts'
import { locate, problemsAt, type ParsedFile } from './parse.ts'
import { closest } from './problems.ts'
import type { SchemaRegistry } from './schemas.ts'
import { deepTemplateVariables, templateVariables } from './template.ts'
import { CONFIG_VARIABLES, type Capture, type HttpMethod, type Operation, type Probe, type RequestBody } from './types.ts'

interface RawProbe {
  id: string
  title: string
  operation: string
  description?: string
  source?: string
  notes?: string[]
  tags?: string[]
  after?: string[]
  inputs?: string[]
  variantOf?: string
  preflight?: boolean
  samples?: number
  repeatable?: boolean
  cleanup?: boolean
  request?: {
    method?: HttpMethod
    path?: string
    url?: string
    query?: Record<string, string>
    headers?: Record<string, string>
    auth?: 'bearer' | 'none' | 'invalid'
    body?: {
      json?: unknown
      form?: Record<string, string>
      multipart?: { fields?: Record<string, string>; file?: { field: string; path: string; filename?: string; type: string } }
    }
  }
  expect: {
    status: number | number[]
    methods?: { accepts?: HttpMethod[]; rejects?: HttpMethod[] }
    headers?: RawHeaders
    contentType?: string
    framing?: 'content-length' | 'chunked' | 'any'
    body?: { schema: string }
    error?: { codes: number[]; subcodes?: number[]; types?: string[] }
    media?: { sha256?: string; size?: string; mimeType?: string }
  }
  capture?: Record<string, string | { pointer?: string; header?: string; optional?: boolean }>
}

/** Normalises one parsed probe file against the loaded operations; problems are pushed, undefined when it has any. */
export function normaliseProbe(p: ParsedFile, problems: ContractProblem[], operations: ReadonlyMap<string, Operation>): Probe | undefined {
  const raw = p.data as RawProbe
  const at = problemsAt(p, problems)
  const before = problems.length

  const expectedId = basename(p.file, extname(p.file))
  if (raw.id !== expectedId) at('/id', `id "${raw.id}" must equal the file name "${expectedId}" so findings lead straight to the file; rename one of them`)

  const op = operations.get(raw.operation)
  if (!op) {
    const guess = closest(raw.operation, [...operations.keys()])
    at('/operation', `unknown operation "${raw.operation}"${guess ? `; did you mean "${guess}"?` : operations.size ? '' : ' (no operations/ folder in this pack)'}: a probe names the operation it exercises, in operations/<id>.yaml`)
    return undefined
  }
  if (operations.has(raw.id) && raw.id !== raw.operation) at('/id', `"${raw.id}" is also an operation's id, but this probe exercises ${raw.operation}; a probe may share an id only with its own operation (recordings are keyed by id)`)

  const r = raw.request ?? {}
  const method = r.method ?? op.request.method
  // A probe inherits its operation's path unless it gives its own path or an absolute URL.
  const path = r.path ?? (r.url === undefined && !op.request.host ? op.request.path : undefined)
  if ((path === undefined) === (r.url === undefined)) at('/request', op.request.host ? `${op.id} is on ${op.request.host}: give "url" (absolute, e.g. "{media_url}")` : 'give exactly one of "path" (under the target) or "url" (absolute, e.g. "{media_url}")')
  if (path !== undefined && !pathFits(op.request.path, path)) at('/request/path', `${path} is not a path of ${op.id} (${op.request.path}); point the probe at another operation or fix the path`)

  let body: RequestBody | undefined
  if (r.body?.json !== undefined) body = { kind: 'json', json: r.body.json }
  else if (r.body?.form) body = { kind: 'form', form: r.body.form }
  else if (r.body?.multipart) {
    const mp = r.body.multipart
    let file
    if (mp.file) {
      const abs = resolve(dirname(p.abs), mp.file.path)
      if (!existsSync(abs)) at('/request/body/multipart/file/path', `file not found: ${mp.file.path} (resolved relative to the probe file: ${abs})`)
      file = { field: mp.file.field, path: abs, filename: mp.file.filename ?? basename(abs), type: mp.file.type }
    }
    body = { kind: 'multipart', fields: mp.fields ?? {}, ...(file ? { file } : {}) }
  }
  if (body && (method === 'GET' || method === 'HEAD')) at('/request/body', `${method} requests carry no body; remove "body" or change the method`)

  const e = raw.expect
  const methods = e.methods ? { accepts: e.methods.accepts ?? [], rejects: e.methods.rejects ?? [] } : undefined
  if (methods) {
    const both = methods.accepts.filter((m) => methods.rejects.includes(m))
    if (both.length) at('/expect/methods', `${both.join(', ')} cannot be both accepted and rejected`)
  }
  const capture: Capture[] = []
  for (const [name, v] of Object.entries(raw.capture ?? {})) {
    if (typeof v === 'string') capture.push({ name, from: 'body', pointer: v, optional: false })
    else if ((v.pointer === undefined) === (v.header === undefined)) at(`/capture/${name}`, 'give exactly one of "pointer" (into the JSON body) or "header"')
    else if (v.header !== undefined) capture.push({ name, from: 'header', pointer: v.header.toLowerCase(), optional: v.optional ?? false })
    else capture.push({ name, from: 'body', pointer: v.pointer!, optional: v.optional ?? false })
  }
  const headers = e.headers ? normaliseHeaders(e.headers, '/expect/headers', at) : undefined

  const uses = [
    ...new Set([
      ...templateVariables(path ?? r.url ?? ''),
      ...deepTemplateVariables(r.query ?? {}),
      ...deepTemplateVariables(r.headers ?? {}),
      ...deepTemplateVariables(r.body ?? {}),
      ...deepTemplateVariables(e.media ?? {}),
    ]),
  ]

  if (problems.length > before) return undefined
  const safe = method === 'GET' || method === 'HEAD' || method === 'OPTIONS'
  return {
    id: raw.id,
    title: raw.title,
    operation: op.id,
    description: raw.description?.trim() ?? '',
    source: raw.source?.trim() ?? '',
    notes: raw.notes ?? [],
    tags: raw.tags ?? [],
    after: raw.variantOf && !(raw.after ?? []).includes(raw.variantOf) ? [...(raw.after ?? []), raw.variantOf] : raw.after ?? [],
    ...(raw.variantOf ? { variant: { of: raw.variantOf, differences: [] } } : {}),
    preflight: raw.preflight ?? false,
    samples: raw.samples ?? 1,
    repeatable: raw.repeatable ?? safe,
    cleanup: raw.cleanup ?? false,
    request: {
      method,
      ...(path !== undefined ? { path } : {}),
      ...(r.url !== undefined ? { url: r.url } : {}),
      query: r.query ?? {},
      headers: r.headers ?? {},
      auth: r.auth ?? 'bearer',
      ...(body ? { body } : {}),
    },
    expect: {
      status: Array.isArray(e.status) ? e.status : [e.status],
      ...(methods ? { methods } : {}),
      ...(headers ? { headers } : {}),
      ...(e.contentType ? { contentType: e.contentType } : {}),
      ...(e.framing ? { framing: e.framing } : {}),
      ...(e.body ? { bodySchema: e.body.schema } : {}),
      ...(e.error ? { error: e.error } : {}),
      ...(e.media ? { media: e.media } : {}),
    },
    capture,
    uses,
    inputs: raw.inputs ?? [],
    file: p.file,
  }
}

/** Whether a probe's path (literal ids allowed) is a path of the operation's template. */
export function pathFits(template: string, path: string): boolean {
  const t = pathSegments(template)
  const p = pathSegments(path)
  return t.length === p.length && t.every((seg, i) => /^\{[a-z_]+\}$/.test(seg) || /^\{[a-z_]+\}$/.test(p[i]!) || seg === p[i])
}

/** Cross-file rules for probes: unique ids, one source per variable, known `after` and `variantOf`, schemas that exist. */
export function crossCheckProbes(probes: Probe[], parsed: ReadonlyMap<string, ParsedFile>, schemas: SchemaRegistry, problems: ContractProblem[], broken: readonly string[]): void {
  const at = (c: Probe, path: string, message: string) => problemsAt(parsed.get(c.file)!, problems)(path, message)
  const ids = new Map<string, Probe>()
  for (const c of probes) {
    const dup = ids.get(c.id)
    if (dup) at(c, '/id', `duplicate id "${c.id}" (also in ${dup.file})`)
    ids.set(c.id, c)
  }
  const capturedBy = new Map<string, Probe>()
  for (const c of probes) {
    for (const cap of c.capture) {
      const other = capturedBy.get(cap.name)
      if (other) at(c, `/capture/${cap.name}`, `variable "${cap.name}" is already captured by ${other.id}; each variable needs one source`)
      else if ((CONFIG_VARIABLES as readonly string[]).includes(cap.name)) at(c, `/capture/${cap.name}`, `"${cap.name}" is a configuration variable and cannot be captured`)
      else capturedBy.set(cap.name, c)
    }
  }
  const known = [...CONFIG_VARIABLES, ...capturedBy.keys()]
  for (const c of probes) {
    for (const v of c.uses) {
      if (!known.includes(v) && !c.inputs.includes(v) && broken.length === 0) {
        const guess = closest(v, known)
        at(c, '/request', `unknown variable {${v}}: not a configuration variable (${CONFIG_VARIABLES.join(', ')}) and no probe captures it${guess ? `; did you mean {${guess}}?` : ''}`)
      }
    }
    for (const [i, a] of c.after.entries()) {
      if (broken.includes(a)) at(c, `/after/${i}`, `"${a}" failed to load (see its own error above)`)
      else if (!ids.has(a)) {
        const guess = closest(a, [...ids.keys()])
        at(c, `/after/${i}`, `unknown probe "${a}"${guess ? `; did you mean "${guess}"?` : ''}`)
      }
    }
    if (c.variant) {
      const base = ids.get(c.variant.of)
      if (!base) {
        const guess = closest(c.variant.of, [...ids.keys()])
        at(c, '/variantOf', `unknown probe "${c.variant.of}"${guess ? `; did you mean "${guess}"?` : ''}`)
      } else {
        c.variant.differences = requestDifferences(c.request, base.request)
        if (c.variant.differences.length === 0) at(c, '/variantOf', `sends exactly the same request as ${base.id}; a variant must differ (e.g. an optional query parameter)`)
      }
    }
    if (c.expect.bodySchema && !schemas.has(c.expect.bodySchema)) {
      const guess = closest(c.expect.bodySchema, schemas.names())
      at(c, '/expect/body/schema', `schema file not found in schemas/: ${c.expect.bodySchema}${guess ? `; did you mean ${guess}?` : ''}`)
    }
  }
}

/** What a variant's request adds or changes relative to its base, in words: `query parameter phone_number_id`. */
export function requestDifferences(v: Probe['request'], base: Probe['request']): string[] {
  const out: string[] = []
  if (v.method !== base.method) out.push(`method ${v.method} (instead of ${base.method})`)
  if ((v.path ?? v.url) !== (base.path ?? base.url)) out.push(`${v.path ? 'path' : 'URL'} ${v.path ?? v.url}`)
  const pairs = [
    ['query parameter', v.query, base.query],
    ['header', v.headers, base.headers],
  ] as const
  for (const [what, mine, theirs] of pairs) {
    for (const k of Object.keys(mine)) {
      if (!(k in theirs)) out.push(`${what} ${k}`)
      else if (mine[k] !== theirs[k]) out.push(`${what} ${k}=${mine[k]} (instead of ${theirs[k]})`)
    }
    for (const k of Object.keys(theirs)) if (!(k in mine)) out.push(`no ${what} ${k}`)
  }
  if (v.auth !== base.auth) out.push(`auth ${v.auth} (instead of ${base.auth})`)
  if (JSON.stringify(v.body) !== JSON.stringify(base.body)) out.push('request body')
  return out
}

/** Dependencies of a probe: explicit `after` plus the probes that capture what it uses. */
/**
 * What a probe cannot run without when selected: its captures' sources, and its `after` list,
 * except for a cleanup probe, whose `after` only orders it (last, when those run): deleting the
 * uploaded media needs the upload, not every other media probe.
 */
export function prerequisitesOf(c: Probe, all: readonly Probe[]): string[] {
  return c.cleanup ? dependenciesOf({ ...c, after: [] }, all) : dependenciesOf(c, all)
}

export function dependenciesOf(c: Probe, all: readonly Probe[]): string[] {
  const deps = new Set(c.after)
  for (const v of c.uses) {
    const src = all.find((o) => o.capture.some((cap) => cap.name === v))
    if (src && src.id !== c.id) deps.add(src.id)
  }
  return [...deps]
}

/** Probes in a run order: dependencies first, preflight probes as early as they can be, then file order. */
export function orderProbes(probes: Probe[], parsed: ReadonlyMap<string, ParsedFile>, problems: ContractProblem[]): Probe[] {
  const deps = new Map(probes.map((c) => [c.id, dependenciesOf(c, probes)]))
  const done = new Set<string>()
  const out: Probe[] = []
  // Stable Kahn: repeatedly take the first ready probe, preflight ones first, then file order.
  const ready = (c: Probe) => !done.has(c.id) && deps.get(c.id)!.every((d) => done.has(d))
  while (out.length < probes.length) {
    const next = probes.find((c) => c.preflight && ready(c)) ?? probes.find(ready)
    if (!next) {
      const stuck = probes.filter((c) => !done.has(c.id))
      const first = stuck[0]!
      const p = parsed.get(first.file)!
      problems.push({
        file: first.file,
        path: '/after',
        ...locate(p, '/after'),
        message: `dependency cycle among ${stuck.map((c) => c.id).join(', ')} (through "after" or captured variables)`,
      })
      return probes
    }
    done.add(next.id)
    out.push(next)
  }
  return out
}
