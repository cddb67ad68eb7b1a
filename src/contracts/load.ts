/**
 * Loads a directory of contract files: parse (YAML or JSON, with line numbers), validate against
 * the meta-schema, normalise, check cross-references, compile the body schemas once, order by
 * dependency. Every problem found is reported together, each with file, path and line.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { basename, dirname, extname, join, relative, resolve } from 'node:path'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document } from 'yaml'
import { ContractError, HarnessError, type ContractProblem } from '../errors.ts'
import type { Severity } from '../finding.ts'
import { allowedFields, contractMetaSchema } from './meta-schema.ts'
import { deepTemplateVariables, templateVariables } from './template.ts'
import {
  CONFIG_VARIABLES,
  type Capture,
  type Contract,
  type ContractPack,
  type HeaderPattern,
  type HttpMethod,
  type RequestBody,
  type RequiredHeader,
  type SchemaViolation,
} from './types.ts'

// ajv-formats is CommonJS with a default export; under NodeNext the default lands on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv

const CONTRACT_EXTENSIONS = new Set(['.yaml', '.yml', '.json'])
const SCHEMA_BASE = 'https://driftwatch.invalid/schemas/'

/** Options for loading a contract pack. */
export interface LoadOptions {
  /** Base for the relative file names used in messages (default: process.cwd()). */
  cwd?: string
}

interface ParsedFile {
  file: string
  abs: string
  doc: Document
  lines: LineCounter
  data: unknown
}

/** Loads and validates every contract in `dir` (top level only; `schemas/` holds body schemas). */
export function loadContracts(dir: string, options: LoadOptions = {}): ContractPack {
  const cwd = options.cwd ?? process.cwd()
  const absDir = resolve(cwd, dir)
  const rel = (p: string) => relative(cwd, p) || '.'
  if (!existsSync(absDir) || !statSync(absDir).isDirectory()) {
    throw new HarnessError('DW_CONTRACTS_NOT_FOUND', `contract directory not found: ${rel(absDir)} (pass --contracts <dir>)`, { dir: rel(absDir) })
  }
  const files = readdirSync(absDir)
    .filter((f) => CONTRACT_EXTENSIONS.has(extname(f)) && statSync(join(absDir, f)).isFile())
    .sort()
  if (files.length === 0) {
    throw new HarnessError('DW_CONTRACTS_NOT_FOUND', `no contract files (*.yaml, *.yml, *.json) in ${rel(absDir)}`, { dir: rel(absDir) })
  }

  const problems: ContractProblem[] = []
  const metaAjv = new Ajv({ allErrors: true, strict: true, verbose: true })
  const validateMeta = metaAjv.compile(contractMetaSchema)

  const parsed: ParsedFile[] = []
  for (const f of files) {
    const abs = join(absDir, f)
    const p = parseFile(abs, rel(abs), problems)
    if (!p) continue
    if (!validateMeta(p.data)) {
      problems.push(...metaErrorsToProblems(validateMeta.errors ?? [], p))
      continue
    }
    parsed.push(p)
  }

  const schemas = loadSchemas(join(absDir, 'schemas'), rel, problems)
  const contracts: Contract[] = []
  for (const p of parsed) {
    const c = normalise(p, problems)
    if (c) contracts.push(c)
  }
  // Files that failed earlier: references to them get a pointer to the real problem, not a bare "unknown".
  const broken = files.filter((f) => !contracts.some((c) => c.file === rel(join(absDir, f)))).map((f) => basename(f, extname(f)))
  crossCheck(contracts, parsed, schemas, problems, broken)
  if (problems.length > 0) throw new ContractError(problems)

  const ordered = orderContracts(contracts, parsed, problems)
  if (problems.length > 0) throw new ContractError(problems)

  return {
    dir: absDir,
    contracts: ordered,
    validateBody: (schema, body) => schemas.validate(schema, body),
    schemaProperties: (schema) => schemas.properties(schema),
    schemaJson: (schema) => schemas.json(schema),
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing with positions

function parseFile(abs: string, file: string, problems: ContractProblem[]): ParsedFile | undefined {
  const text = readFileSync(abs, 'utf8')
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = lines.linePos(e.pos[0])
      problems.push({ file, path: '', line: pos.line, column: pos.col, message: `not valid YAML/JSON: ${e.message.split('\n')[0]}` })
    }
    return undefined
  }
  const data: unknown = doc.toJS()
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    problems.push({ file, path: '', line: 1, column: 1, message: 'must be a mapping (an object with id, title, request, expect)' })
    return undefined
  }
  return { file, abs, doc, lines, data }
}

function pointerSegments(pointer: string): (string | number)[] {
  if (!pointer) return []
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
}

/** Line/column of the node at `pointer`, or of the key `key` inside it. Falls back to the nearest existing parent. */
function locate(p: ParsedFile, pointer: string, key?: string): { line: number; column: number } {
  let segs = pointerSegments(pointer)
  for (;;) {
    const node = segs.length === 0 ? p.doc.contents : p.doc.getIn(segs, true)
    if (node && typeof node === 'object') {
      if (key !== undefined && isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === key)
        const keyNode = pair?.key as { range?: [number, number, number] } | undefined
        if (keyNode?.range) {
          const pos = p.lines.linePos(keyNode.range[0])
          return { line: pos.line, column: pos.col }
        }
      }
      const range = (node as { range?: [number, number, number] }).range
      if (range) {
        const pos = p.lines.linePos(range[0])
        return { line: pos.line, column: pos.col }
      }
    }
    if (segs.length === 0) return { line: 1, column: 1 }
    segs = segs.slice(0, -1)
    key = undefined
  }
}

// ---------------------------------------------------------------------------------------------
// ajv errors in words

const ANYOF_HINTS: Record<string, string> = {
  '#/properties/expect/properties/status/anyOf': 'must be a status code or a list of them, e.g. [200] or [400, 405]',
  '#/properties/capture/additionalProperties/anyOf': 'must be a JSON pointer such as /id, or {pointer: /id} / {header: name}, with optional: true|false',
  '#/properties/expect/properties/headers/properties/patterns/additionalProperties/anyOf': 'must be a regular expression string, or {pattern, severity}',
}
const HEADER_REF_HINT = 'must be a header name, or {name, severity} with severity breaking|warning|info'

const PATTERN_HINTS: Record<string, string> = {
  '/id': 'ids are lowercase words joined by dots, e.g. media.retrieve-url',
  '/request/path': 'a path starts with /, e.g. /{api_version}/{media_id}',
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`
  return `${typeof value} ${String(value)}`
}

/** Closest candidate by edit distance, for "did you mean". */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase())
    if (d < bestD) {
      bestD = d
      best = c
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length]!
}

function metaErrorsToProblems(errors: ErrorObject[], p: ParsedFile): ContractProblem[] {
  // Collapse anyOf failures: one message per failing anyOf, none of its branch noise.
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf')
  const anyOfRoots = anyOfs.map((e) => e.schemaPath)
  const out: ContractProblem[] = []
  const seen = new Set<string>()
  const push = (problem: ContractProblem) => {
    const k = `${problem.path}|${problem.message}`
    if (!seen.has(k)) {
      seen.add(k)
      out.push(problem)
    }
  }
  for (const e of anyOfs) {
    const hint = ANYOF_HINTS[e.schemaPath] ?? (e.schemaPath.includes('/headers/properties/') ? HEADER_REF_HINT : 'has the wrong shape')
    push({ file: p.file, path: e.instancePath, ...locate(p, e.instancePath), message: `${hint} (got ${describe(e.data)})` })
  }
  for (const e of errors) {
    if (e.keyword === 'anyOf' || anyOfRoots.some((root) => e.schemaPath.startsWith(root))) continue
    const path = e.instancePath
    switch (e.keyword) {
      case 'required': {
        const missing = (e.params as { missingProperty: string }).missingProperty
        push({ file: p.file, path, ...locate(p, path), message: `missing required field "${missing}"` })
        break
      }
      case 'additionalProperties': {
        const extra = (e.params as { additionalProperty: string }).additionalProperty
        const allowed = allowedFields(e.schemaPath)
        const guess = closest(extra, allowed)
        const fix = guess ? `; did you mean "${guess}"?` : allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''
        push({ file: p.file, path: `${path}/${extra}`, ...locate(p, path, extra), message: `unknown field "${extra}"${fix}` })
        break
      }
      case 'enum': {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String)
        const guess = typeof e.data === 'string' ? closest(e.data, allowed) : undefined
        const fix = guess ? `; did you mean "${guess}"?` : ''
        push({ file: p.file, path, ...locate(p, path), message: `must be one of ${allowed.join(', ')} (got ${describe(e.data)})${fix}` })
        break
      }
      case 'type':
        push({ file: p.file, path, ...locate(p, path), message: `must be ${(e.params as { type: string }).type} (got ${describe(e.data)})` })
        break
      case 'pattern': {
        if (e.schemaPath.includes('/propertyNames/')) {
          push({ file: p.file, path: `${path}/${String(e.data)}`, ...locate(p, path, String(e.data)), message: `capture name "${String(e.data)}" must be lowercase snake_case, e.g. media_id (it is used as {${String(e.data).toLowerCase()}})` })
          break
        }
        const hint = PATTERN_HINTS[path] ?? `must match ${(e.params as { pattern: string }).pattern}`
        push({ file: p.file, path, ...locate(p, path), message: `${hint} (got ${describe(e.data)})` })
        break
      }
      case 'propertyNames':
        break // reported through the nested pattern error with the offending name
      default:
        push({ file: p.file, path, ...locate(p, path), message: `${e.message ?? 'is invalid'} (got ${describe(e.data)})` })
    }
  }
  return out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))
}

// ---------------------------------------------------------------------------------------------
// Normalisation

interface RawContract {
  id: string
  title: string
  description?: string
  source?: string
  notes?: string[]
  tags?: string[]
  after?: string[]
  inputs?: string[]
  draft?: boolean
  variantOf?: string
  preflight?: boolean
  samples?: number
  repeatable?: boolean
  request: {
    method: HttpMethod
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
    headers?: {
      required?: RawHeaderRef[]
      forbidden?: RawHeaderRef[]
      patterns?: Record<string, string | { pattern: string; severity?: Severity }>
    }
    contentType?: string
    framing?: 'content-length' | 'chunked' | 'any'
    body?: { schema: string }
    error?: { codes: number[]; subcodes?: number[]; types?: string[] }
    media?: { sha256?: string; size?: string; mimeType?: string }
  }
  capture?: Record<string, string | { pointer?: string; header?: string; optional?: boolean }>
}

type RawHeaderRef = string | { name: string; severity?: Severity }

function headerRefs(list: RawHeaderRef[] | undefined): RequiredHeader[] {
  return (list ?? []).map((h) => (typeof h === 'string' ? { name: h.toLowerCase(), severity: 'breaking' as const } : { name: h.name.toLowerCase(), severity: h.severity ?? 'breaking' }))
}

function normalise(p: ParsedFile, problems: ContractProblem[]): Contract | undefined {
  const raw = p.data as RawContract
  const at = (path: string, message: string, key?: string) => problems.push({ file: p.file, path, ...locate(p, path, key), message })
  const before = problems.length

  const expectedId = basename(p.file, extname(p.file))
  if (raw.id !== expectedId) at('/id', `id "${raw.id}" must equal the file name "${expectedId}" so findings lead straight to the file; rename one of them`)

  const r = raw.request
  if ((r.path === undefined) === (r.url === undefined)) at('/request', 'give exactly one of "path" (under the target) or "url" (absolute, e.g. "{media_url}")')

  let body: RequestBody | undefined
  if (r.body?.json !== undefined) body = { kind: 'json', json: r.body.json }
  else if (r.body?.form) body = { kind: 'form', form: r.body.form }
  else if (r.body?.multipart) {
    const mp = r.body.multipart
    let file
    if (mp.file) {
      const abs = resolve(dirname(p.abs), mp.file.path)
      if (!existsSync(abs)) at('/request/body/multipart/file/path', `file not found: ${mp.file.path} (resolved relative to the contract file: ${abs})`)
      file = { field: mp.file.field, path: abs, filename: mp.file.filename ?? basename(abs), type: mp.file.type }
    }
    body = { kind: 'multipart', fields: mp.fields ?? {}, ...(file ? { file } : {}) }
  }
  if (body && (r.method === 'GET' || r.method === 'HEAD')) at('/request/body', `${r.method} requests carry no body; remove "body" or change the method`)

  const e = raw.expect
  const status = Array.isArray(e.status) ? e.status : [e.status]
  const methods = e.methods ? { accepts: e.methods.accepts ?? [], rejects: e.methods.rejects ?? [] } : undefined
  if (methods) {
    const both = methods.accepts.filter((m) => methods.rejects.includes(m))
    if (both.length) at('/expect/methods', `${both.join(', ')} cannot be both accepted and rejected`)
  }
  const patterns: HeaderPattern[] = []
  for (const [name, v] of Object.entries(e.headers?.patterns ?? {})) {
    const pattern = typeof v === 'string' ? v : v.pattern
    try {
      new RegExp(pattern)
    } catch (err) {
      at(`/expect/headers/patterns/${name}`, `not a valid regular expression: ${(err as Error).message}`)
    }
    patterns.push({ name: name.toLowerCase(), pattern, severity: typeof v === 'string' ? 'breaking' : v.severity ?? 'breaking' })
  }

  const capture: Capture[] = []
  for (const [name, v] of Object.entries(raw.capture ?? {})) {
    if (typeof v === 'string') capture.push({ name, from: 'body', pointer: v, optional: false })
    else if ((v.pointer === undefined) === (v.header === undefined)) at(`/capture/${name}`, 'give exactly one of "pointer" (into the JSON body) or "header"')
    else if (v.header !== undefined) capture.push({ name, from: 'header', pointer: v.header.toLowerCase(), optional: v.optional ?? false })
    else capture.push({ name, from: 'body', pointer: v.pointer!, optional: v.optional ?? false })
  }

  const media = e.media
  const uses = [
    ...new Set([
      ...templateVariables(r.path ?? r.url ?? ''),
      ...deepTemplateVariables(r.query ?? {}),
      ...deepTemplateVariables(r.headers ?? {}),
      ...deepTemplateVariables(r.body ?? {}),
      ...deepTemplateVariables(media ?? {}),
    ]),
  ]

  if (problems.length > before) return undefined
  const safe = r.method === 'GET' || r.method === 'HEAD' || r.method === 'OPTIONS'
  return {
    id: raw.id,
    title: raw.title,
    description: raw.description?.trim() ?? '',
    source: raw.source?.trim() ?? '',
    notes: raw.notes ?? [],
    tags: raw.tags ?? [],
    after: raw.variantOf && !(raw.after ?? []).includes(raw.variantOf) ? [...(raw.after ?? []), raw.variantOf] : raw.after ?? [],
    ...(raw.variantOf ? { variant: { of: raw.variantOf, differences: [] } } : {}),
    preflight: raw.preflight ?? false,
    samples: raw.samples ?? 1,
    repeatable: raw.repeatable ?? safe,
    request: {
      method: r.method,
      ...(r.path !== undefined ? { path: r.path } : {}),
      ...(r.url !== undefined ? { url: r.url } : {}),
      query: r.query ?? {},
      headers: r.headers ?? {},
      auth: r.auth ?? 'bearer',
      ...(body ? { body } : {}),
    },
    expect: {
      status,
      ...(methods ? { methods } : {}),
      headers: { required: headerRefs(e.headers?.required), forbidden: headerRefs(e.headers?.forbidden), patterns },
      ...(e.contentType ? { contentType: e.contentType } : {}),
      framing: e.framing ?? 'any',
      ...(e.body ? { bodySchema: e.body.schema } : {}),
      ...(e.error ? { error: e.error } : {}),
      ...(media ? { media } : {}),
    },
    capture,
    uses,
    inputs: raw.inputs ?? [],
    draft: raw.draft ?? false,
    file: p.file,
  }
}

// ---------------------------------------------------------------------------------------------
// Cross-file checks and ordering

function crossCheck(contracts: Contract[], parsed: ParsedFile[], schemas: SchemaRegistry, problems: ContractProblem[], broken: readonly string[]): void {
  const byFile = new Map(parsed.map((p) => [p.file, p]))
  const at = (c: Contract, path: string, message: string) => {
    const p = byFile.get(c.file)!
    problems.push({ file: c.file, path, ...locate(p, path), message })
  }
  const ids = new Map<string, Contract>()
  for (const c of contracts) {
    const dup = ids.get(c.id)
    if (dup) at(c, '/id', `duplicate id "${c.id}" (also in ${dup.file})`)
    ids.set(c.id, c)
  }
  const capturedBy = new Map<string, Contract>()
  for (const c of contracts) {
    for (const cap of c.capture) {
      const other = capturedBy.get(cap.name)
      if (other) at(c, `/capture/${cap.name}`, `variable "${cap.name}" is already captured by ${other.id}; each variable needs one source`)
      else if ((CONFIG_VARIABLES as readonly string[]).includes(cap.name)) at(c, `/capture/${cap.name}`, `"${cap.name}" is a configuration variable and cannot be captured`)
      else capturedBy.set(cap.name, c)
    }
  }
  const known = [...CONFIG_VARIABLES, ...capturedBy.keys()]
  for (const c of contracts) {
    for (const v of c.uses) {
      if (!known.includes(v) && !c.inputs.includes(v) && broken.length === 0) {
        const guess = closest(v, known)
        at(c, '/request', `unknown variable {${v}}: not a configuration variable (${CONFIG_VARIABLES.join(', ')}) and no contract captures it${guess ? `; did you mean {${guess}}?` : ''}`)
      }
    }
    for (const [i, a] of c.after.entries()) {
      if (broken.includes(a)) at(c, `/after/${i}`, `"${a}" failed to load (see its own error above)`)
      else if (!ids.has(a)) {
        const guess = closest(a, [...ids.keys()])
        at(c, `/after/${i}`, `unknown contract "${a}"${guess ? `; did you mean "${guess}"?` : ''}`)
      }
    }
    if (c.variant) {
      const base = ids.get(c.variant.of)
      if (!base) {
        const guess = closest(c.variant.of, [...ids.keys()])
        at(c, '/variantOf', `unknown contract "${c.variant.of}"${guess ? `; did you mean "${guess}"?` : ''}`)
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
export function requestDifferences(v: Contract['request'], base: Contract['request']): string[] {
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

/** Dependencies of a contract: explicit `after` plus the contracts that capture what it uses. */
export function dependenciesOf(c: Contract, all: readonly Contract[]): string[] {
  const deps = new Set(c.after)
  for (const v of c.uses) {
    const src = all.find((o) => o.capture.some((cap) => cap.name === v))
    if (src && src.id !== c.id) deps.add(src.id)
  }
  return [...deps]
}

function orderContracts(contracts: Contract[], parsed: ParsedFile[], problems: ContractProblem[]): Contract[] {
  const deps = new Map(contracts.map((c) => [c.id, dependenciesOf(c, contracts)]))
  const done = new Set<string>()
  const out: Contract[] = []
  // Stable Kahn: repeatedly take the first ready contract, preflight ones first, then file order.
  const ready = (c: Contract) => !done.has(c.id) && deps.get(c.id)!.every((d) => done.has(d))
  while (out.length < contracts.length) {
    const next = contracts.find((c) => c.preflight && ready(c)) ?? contracts.find(ready)
    if (!next) {
      const stuck = contracts.filter((c) => !done.has(c.id))
      const first = stuck[0]!
      const p = parsed.find((x) => x.file === first.file)!
      problems.push({
        file: first.file,
        path: '/after',
        ...locate(p, '/after'),
        message: `dependency cycle among ${stuck.map((c) => c.id).join(', ')} (through "after" or captured variables)`,
      })
      return contracts
    }
    done.add(next.id)
    out.push(next)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Body schemas

interface SchemaRegistry {
  has(name: string): boolean
  names(): string[]
  properties(name: string): readonly string[] | undefined
  json(name: string): unknown
  validate(name: string, body: unknown): SchemaViolation[]
}

function loadSchemas(dir: string, rel: (p: string) => string, problems: ContractProblem[]): SchemaRegistry {
  const ajv = new Ajv({ allErrors: true, strict: false, verbose: true })
  addFormats(ajv)
  const ids = new Map<string, string>()
  const validators = new Map<string, ValidateFunction>()
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : []
  const parsedSchemas: { name: string; file: string; p: ParsedFile; schema: Record<string, unknown> }[] = []
  for (const name of files) {
    const abs = join(dir, name)
    const p = parseFile(abs, rel(abs), problems)
    if (!p) continue
    const schema = p.data as Record<string, unknown>
    if (typeof schema.$id !== 'string') schema.$id = `${SCHEMA_BASE}${name}`
    ids.set(name, schema.$id as string)
    parsedSchemas.push({ name, file: rel(abs), p, schema })
  }
  for (const s of parsedSchemas) {
    try {
      ajv.addSchema(s.schema)
    } catch (err) {
      problems.push({ file: s.file, path: '', line: 1, column: 1, message: `not a valid JSON Schema: ${(err as Error).message}` })
    }
  }
  // Compile every schema now, once: a broken schema fails the load, not the fifth probe.
  for (const s of parsedSchemas) {
    try {
      const v = ajv.getSchema(ids.get(s.name)!)
      if (v) validators.set(s.name, v)
    } catch (err) {
      problems.push({ file: s.file, path: '', line: 1, column: 1, message: `schema does not compile: ${(err as Error).message}` })
    }
  }
  return {
    has: (name) => ids.has(name),
    names: () => [...ids.keys()],
    properties: (name) => {
      const props = parsedSchemas.find((s) => s.name === name)?.schema.properties
      return props && typeof props === 'object' ? Object.keys(props) : undefined
    },
    json: (name) => parsedSchemas.find((s) => s.name === name)?.schema,
    validate(name, body) {
      const v = validators.get(name)
      if (!v) throw new HarnessError('DW_SCHEMA_INVALID', `schema ${name} is not loaded`)
      if (v(body)) return []
      return (v.errors ?? []).map(toViolation)
    },
  }
}

/** Turns an ajv instance path (`/data/0/file_size`) into a JSON path (`$.data[0].file_size`). */
export function toJsonPath(instancePath: string, extra?: string): string {
  const segs = pointerSegments(instancePath)
  if (extra !== undefined) segs.push(extra)
  return (
    '$' +
    segs
      .map((s) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`))
      .join('')
  )
}

function jsonType(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 60 ? `${s.slice(0, 60)}…` : s
}

function toViolation(e: ErrorObject): SchemaViolation {
  switch (e.keyword) {
    case 'required':
      return { path: toJsonPath(e.instancePath, (e.params as { missingProperty: string }).missingProperty), keyword: 'required', message: 'is missing (required)' }
    case 'additionalProperties':
      return { path: toJsonPath(e.instancePath, (e.params as { additionalProperty: string }).additionalProperty), keyword: 'additionalProperties', message: 'is not allowed by the schema' }
    case 'type':
      return { path: toJsonPath(e.instancePath), keyword: 'type', message: `must be ${(e.params as { type: string }).type}, is ${jsonType(e.data)} ${short(e.data)}`, allowed: String((e.params as { type: string | string[] }).type).split(',').join(' or ') }
    case 'enum':
      return { path: toJsonPath(e.instancePath), keyword: 'enum', message: `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).map(short).join(', ')}, is ${short(e.data)}` }
    case 'const':
      return { path: toJsonPath(e.instancePath), keyword: 'const', message: `must be ${short((e.params as { allowedValue: unknown }).allowedValue)}, is ${short(e.data)}` }
    default:
      return { path: toJsonPath(e.instancePath), keyword: e.keyword, message: `${e.message ?? 'is invalid'}, is ${short(e.data)}` }
  }
}
