/**
 * `driftwatch import openapi`: draft operations from an OpenAPI 3.x document (Meta publishes one).
 * One readable operation file (`operations/<id>.yaml`) and one JSON Schema per operation, for an
 * engineer to review, edit and commit. What the drafts say is the spec's word, not traffic's:
 * `driftwatch verify` of real traffic against them shows where the two disagree.
 *
 * Choices, each visible in the files: object schemas are closed (`additionalProperties: false`)
 * so a field traffic sends and the spec does not list is reported rather than waved through;
 * OpenAPI-only keywords (`example`, `nullable`, `discriminator`, ...) are translated or dropped;
 * `$ref`s are inlined so each schema file stands alone; path parameters become `{<node>_id}`; no
 * request body schema is drafted (what tells one operation's bodies from another's is a reviewer's
 * call); the documented error codes are left empty (the spec lists none). Operations are never
 * sent: `check` sends probes, which a person writes, so a draft of POST /deregister is harmless.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import YAML from 'yaml'
import { ensureDir, writeFileAtomic } from '../util/atomic-write.ts'
import { loadContracts } from '../contracts/load.ts'
import { ContractError, HarnessError } from '../util/errors.ts'
import { shownPath } from '../util/paths.ts'

/** What to import and where. */
export interface ImportOptions {
  spec: string
  /** Only operations with one of these tags (case-insensitive). */
  tags?: readonly string[]
  /** Only these operationIds. */
  operations?: readonly string[]
  outDir: string
  /** Overwrite existing files. */
  force?: boolean
  cwd?: string
}

/** What was written, and what was left out with why. */
export interface ImportResult {
  operations: string[]
  schemas: string[]
  skipped: { operation: string; reason: string }[]
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const
/** Spec path parameter names that are driftwatch configuration variables. */
const KNOWN_PARAMS: Record<string, string> = {
  version: 'api_version',
  'phone-number-id': 'phone_number_id',
  'waba-id': 'waba_id',
  'whatsapp-business-account-id': 'waba_id',
}
/** Formats ajv-formats knows; others (int64, binary, ...) are OpenAPI annotations and are dropped. */
const FORMATS = new Set(['date', 'time', 'date-time', 'duration', 'uri', 'uri-reference', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid', 'regex'])
/** OpenAPI keywords that are not JSON Schema (draft-07) and are dropped. */
const OPENAPI_ONLY = new Set(['example', 'examples', 'xml', 'discriminator', 'readOnly', 'writeOnly', 'externalDocs', 'deprecated', 'nullable', 'x-nullable'])

interface SpecOperation {
  operationId?: string
  summary?: string
  description?: string
  tags?: string[]
  parameters?: Parameter[]
  responses?: Record<string, { $ref?: string; description?: string; content?: Record<string, { schema?: unknown }> }>
  requestBody?: { $ref?: string; content?: Record<string, unknown> }
}
interface Parameter {
  $ref?: string
  name?: string
  in?: string
  required?: boolean
}

/** `retrieveMediaUrl` -> `retrieve-media-url`. */
function kebab(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase()
}

/** `Media-ID` -> `media_id`, `Version` -> `api_version`, `WABA-ID` -> `waba_id`. */
function variableOf(param: string): string {
  const k = param.toLowerCase()
  return KNOWN_PARAMS[k] ?? k.replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '')
}

// Meta's spec is a megabyte of YAML, half a second to parse: the last one parsed is kept by its text (an import
// with --tag after one with --operation, spec-vs-traffic's import, the tests' many imports), and each import
// gets its own copy of the document.
let lastSpec: { text: string; doc: unknown } | undefined

function parseSpec(text: string): unknown {
  if (lastSpec?.text !== text) lastSpec = { text, doc: YAML.parse(text, { maxAliasCount: -1 }) as unknown }
  return structuredClone(lastSpec.doc)
}

/** Imports the selected operations and writes the drafts. */
export async function importOpenApi(opts: ImportOptions): Promise<ImportResult> {
  const cwd = opts.cwd ?? process.cwd()
  const rel = shownPath(cwd, opts.spec)
  let doc: { openapi?: string; paths?: Record<string, Record<string, unknown>>; components?: Record<string, Record<string, unknown>> }
  try {
    doc = parseSpec(readFileSync(opts.spec, 'utf8')) as typeof doc
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new HarnessError('DW_SPEC_INVALID', e.code ? `cannot read ${rel} (${e.code})` : `${rel} does not parse as YAML or JSON: ${e.message}`, { file: rel })
  }
  if (typeof doc?.openapi !== 'string' || !doc.openapi.startsWith('3.')) throw new HarnessError('DW_SPEC_INVALID', `${rel}: "openapi" is ${JSON.stringify(doc?.openapi)}; only OpenAPI 3.x documents are supported`, { file: rel })
  if (!doc.paths || typeof doc.paths !== 'object') throw new HarnessError('DW_SPEC_INVALID', `${rel}: "paths" is missing`, { file: rel })

  const resolveRef = (ref: string): unknown => {
    if (!ref.startsWith('#/')) throw new HarnessError('DW_SPEC_INVALID', `${rel}: external $ref "${ref}" is not supported; bundle the spec first`, { file: rel })
    let v: unknown = doc
    for (const seg of ref.slice(2).split('/')) v = (v as Record<string, unknown> | undefined)?.[seg.replace(/~1/g, '/').replace(/~0/g, '~')]
    if (v === undefined) throw new HarnessError('DW_SPEC_INVALID', `${rel}: $ref "${ref}" points at nothing`, { file: rel })
    return v
  }

  const wantTags = opts.tags?.map((t) => t.toLowerCase())
  const result: ImportResult = { operations: [], schemas: [], skipped: [] }
  const drafts: Draft[] = []
  const seenOps = new Set<string>()
  for (const [path, item] of Object.entries(doc.paths)) {
    const shared = (item.parameters as Parameter[] | undefined) ?? []
    for (const method of METHODS) {
      const op = item[method] as SpecOperation | undefined
      if (!op) continue
      const opId = op.operationId ?? `${method}-${path}`
      seenOps.add(opId)
      if (opts.operations && !opts.operations.includes(opId)) continue
      if (wantTags && !(op.tags ?? []).some((t) => wantTags.includes(t.toLowerCase()))) continue
      const params = [...shared, ...(op.parameters ?? [])].map((p) => (p.$ref ? (resolveRef(p.$ref) as Parameter) : p))
      const vars = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!)
      const urlParam = vars.find((v) => /url/i.test(v))
      if (urlParam) {
        result.skipped.push({ operation: opId, reason: `its path parameter {${urlParam}} is a whole URL, not a path segment; describe it with an operation on its own host (see contracts/meta/operations/media.download.yaml)` })
        continue
      }
      const ok = Object.entries(op.responses ?? {}).filter(([code]) => /^2\d\d$/.test(code))
      if (ok.length === 0) {
        result.skipped.push({ operation: opId, reason: 'documents no 2xx response' })
        continue
      }
      const opPath = path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
        const v = variableOf(name)
        return `{${v === 'api_version' || v.endsWith('_id') ? v : `${v}_id`}}`
      })
      const ids = [...opPath.matchAll(/\{([a-z0-9_]+)_id\}/g)].map((m) => m[1]!)
      const query: Record<string, { required: boolean }> = {}
      for (const p of params.filter((x) => x.in === 'query' && x.name)) query[p.name!] = { required: p.required === true }
      const id = `openapi.${kebab(opId)}`
      const [, first] = ok[0]!
      const response = first.$ref ? (resolveRef(first.$ref) as typeof first) : first
      const [mediaType, content] = Object.entries(response.content ?? {})[0] ?? []
      const schema = content?.schema !== undefined && /json/i.test(mediaType ?? '') ? toJsonSchema(content.schema, resolveRef) : undefined
      const requestBody = op.requestBody?.$ref ? (resolveRef(op.requestBody.$ref) as SpecOperation['requestBody']) : op.requestBody
      const specBodyType = Object.keys(requestBody?.content ?? {}).map((t) => (/json/i.test(t) ? 'json' : /form-urlencoded/i.test(t) ? 'form' : /multipart/i.test(t) ? 'multipart' : undefined)).find(Boolean)
      // A GET carries no body on the wire (contracts refuse one): the spec's body is left as a note, not drafted.
      const bodyType = method === 'get' ? undefined : specBodyType
      const notes = [`Drafted from ${rel} (${method.toUpperCase()} ${path}, operationId ${opId}); the spec's word, not traffic's. Review before relying on it.`]
      if (ok.length > 1) notes.push(`The spec documents other successes too: ${ok.slice(1).map(([c]) => c).join(', ')}.`)
      if (specBodyType && !bodyType) notes.push(`The spec documents a request body for this GET; GET requests carry no body, so none was drafted: check whether its fields travel as query parameters.`)
      if (bodyType) notes.push('No request body schema was drafted: add what tells this operation\'s bodies from others on the same path.')
      notes.push('No error codes were drafted (the spec lists none): add the ones Meta documents for this operation.')
      const operation: Record<string, unknown> = {
        id,
        title: op.summary ?? opId,
        node: ids[ids.length - 1] ?? kebab(path.split('/').pop() ?? 'node').replace(/-/g, '_'),
        ...(op.description ? { description: firstParagraph(op.description) } : {}),
        source: `${rel} paths["${path}"].${method} (operationId ${opId})`,
        notes,
        tags: ['openapi', ...(op.tags ?? []).map(kebab)],
        request: { method: method.toUpperCase(), path: opPath, ...(Object.keys(query).length ? { query } : {}), ...(bodyType ? { body: { type: bodyType } } : {}) },
        responses: {
          [ok[0]![0]]: { ...(mediaType ? { contentType: mediaType } : {}), ...(schema ? { body: { schema: `${id}.json` } } : {}) },
          error: { codes: [] },
        },
      }
      drafts.push({ id, operation, ...(schema ? { schema: { $schema: 'http://json-schema.org/draft-07/schema#', title: op.summary ?? opId, description: `Generated by driftwatch import openapi from ${rel} (${method.toUpperCase()} ${path}). Objects are closed: fields traffic sends that the spec does not list are reported.`, ...(schema as object) } } : {}), comment: `Generated by driftwatch import openapi from ${rel}. Review and edit; it states what the spec says.` })
    }
  }
  for (const want of opts.operations ?? []) {
    if (!seenOps.has(want)) {
      const near = [...seenOps].filter((o) => o.toLowerCase().includes(want.toLowerCase().slice(0, 6))).slice(0, 5)
      throw new HarnessError('DW_USAGE', `${rel} has no operation "${want}"${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`)
    }
  }
  if (drafts.length === 0) throw new HarnessError('DW_USAGE', `nothing to import from ${rel} with the given --tag/--operation${result.skipped.length ? ` (skipped: ${result.skipped.map((s) => `${s.operation}: ${s.reason}`).join('; ')})` : ''}`)

  // Meta's error envelope, when the spec defines it: what its errors carry can be compared with traffic.
  const errorSchema = doc.components?.schemas?.GraphAPIError
  if (errorSchema) drafts.push({ id: 'openapi.graph-api-error', operation: {}, schema: { $schema: 'http://json-schema.org/draft-07/schema#', title: 'GraphAPIError', description: `Generated by driftwatch import openapi from ${rel} (components.schemas.GraphAPIError). Objects are closed.`, ...(toJsonSchema(errorSchema, resolveRef) as object) }, comment: '' })

  // Every draft must load like any pack. One the loader refuses is skipped and said, not written: the
  // rest of a large spec is still worth reviewing, and a pack that does not load helps no one.
  // Again after each removal: a cross-file rule may only show once the first problems are gone.
  for (let refused = refusedDrafts(drafts); refused.length; refused = refusedDrafts(drafts)) {
    for (const bad of refused) {
      drafts.splice(drafts.findIndex((d) => d.id === bad.id), 1)
      result.skipped.push({ operation: bad.id, reason: `its draft does not load (${bad.reason}); write it by hand` })
    }
  }
  if (!drafts.some(isOperation)) throw new HarnessError('DW_USAGE', `nothing to import from ${rel}: no draft loads (${result.skipped.map((s) => `${s.operation}: ${s.reason}`).join('; ')})`)

  // Refuse to overwrite reviewed files unless asked: a draft must never replace an engineer's edits silently.
  const opDir = join(opts.outDir, 'operations')
  const files = drafts.flatMap((d) => [...(isOperation(d) ? [join(opDir, `${d.id}.yaml`)] : []), ...(d.schema ? [join(opts.outDir, 'schemas', `${d.id}.json`)] : [])])
  const existing = files.filter((f) => existsSync(f))
  if (existing.length && !opts.force) throw new HarnessError('DW_USAGE', alreadyThere(existing, files.length, shownPath(cwd, opts.outDir)), { existing: existing.length })
  await ensureDir(join(opts.outDir, 'schemas'))
  await ensureDir(opDir)
  for (const d of drafts) {
    if (isOperation(d)) {
      const file = join(opDir, `${d.id}.yaml`)
      await writeFileAtomic(file, renderOperation(d))
      result.operations.push(file)
    }
    if (d.schema) {
      const sfile = join(opts.outDir, 'schemas', `${d.id}.json`)
      await writeFileAtomic(sfile, renderSchema(d))
      result.schemas.push(sfile)
    }
  }
  return result
}

type Draft = { id: string; operation: Record<string, unknown>; schema?: unknown; comment: string }
const isOperation = (d: Draft) => Object.keys(d.operation).length > 0
const renderOperation = (d: Draft) => `# ${d.comment}\n${YAML.stringify(d.operation, { lineWidth: 100 })}`
const renderSchema = (d: Draft) => `${JSON.stringify(d.schema, null, 2)}\n`

/**
 * Drafts the contract loader refuses, with its first reason each. They are loaded from a scratch
 * copy, so nothing reaches the output directory before every draft there is known to load.
 */
function refusedDrafts(drafts: readonly Draft[]): { id: string; reason: string }[] {
  if (!drafts.some(isOperation)) return []
  const scratch = mkdtempSync(join(tmpdir(), 'dw-import-'))
  try {
    mkdirSync(join(scratch, 'operations'))
    mkdirSync(join(scratch, 'schemas'))
    for (const d of drafts) {
      if (isOperation(d)) writeFileSync(join(scratch, 'operations', `${d.id}.yaml`), renderOperation(d))
      if (d.schema) writeFileSync(join(scratch, 'schemas', `${d.id}.json`), renderSchema(d))
    }
    try {
      loadContracts(scratch, { cwd: scratch })
      return []
    } catch (err) {
      if (!(err instanceof ContractError)) throw err
      const out = new Map<string, string>()
      for (const p of err.problems) {
        const id = basename(p.file).replace(/\.(yaml|json)$/, '')
        if (!out.has(id)) out.set(id, `${p.path ? `at ${p.path}: ` : ''}${p.message}`)
      }
      // A problem in no draft of ours would loop forever; it is our bug, said plainly.
      if (![...out.keys()].some((id) => drafts.some((d) => d.id === id))) throw err
      return [...out].filter(([id]) => drafts.some((d) => d.id === id)).map(([id, reason]) => ({ id, reason }))
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

/** "a, b, c and N more already exist in D (all M files this import writes)": short enough to read, whatever the spec's size. */
function alreadyThere(existing: readonly string[], total: number, where: string): string {
  const SHOWN = 3
  const names = existing.slice(0, SHOWN).map((f) => basename(f))
  const more = existing.length > SHOWN ? ` and ${existing.length - SHOWN} more` : ''
  const count = existing.length === total ? `all ${total} files` : `${existing.length} of the ${total} files`
  return `${names.join(', ')}${more} already exist${existing.length === 1 ? 's' : ''} in ${where} (${count} this import writes); pass --force to overwrite them, or --out another directory`
}

function firstParagraph(s: string): string {
  return s.split(/\n\s*\n/)[0]!.replace(/\s+/g, ' ').trim()
}

/** An OpenAPI schema as a standalone draft-07 JSON Schema: refs inlined, OpenAPI-only keywords translated or dropped, objects closed. */
export function toJsonSchema(schema: unknown, resolveRef: (ref: string) => unknown, seen: readonly string[] = []): unknown {
  if (Array.isArray(schema)) return schema.map((s) => toJsonSchema(s, resolveRef, seen))
  if (!schema || typeof schema !== 'object') return schema
  const s = schema as Record<string, unknown>
  if (typeof s.$ref === 'string') {
    // A recursive schema is cut at its second appearance: drafts stay finite and readable.
    if (seen.includes(s.$ref)) return {}
    return toJsonSchema(resolveRef(s.$ref), resolveRef, [...seen, s.$ref])
  }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(s)) {
    if (OPENAPI_ONLY.has(k) || k.startsWith('x-')) continue
    if (k === 'format' && (typeof v !== 'string' || !FORMATS.has(v))) continue
    if (k === 'properties' && v && typeof v === 'object') {
      out.properties = Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, toJsonSchema(sub, resolveRef, seen)]))
    } else if (['items', 'additionalProperties', 'not', 'allOf', 'anyOf', 'oneOf'].includes(k)) {
      out[k] = toJsonSchema(v, resolveRef, seen)
    } else out[k] = v
  }
  if (s.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null']
  if (out.properties && out.additionalProperties === undefined && !out.allOf && !out.anyOf && !out.oneOf) out.additionalProperties = false
  return out
}
