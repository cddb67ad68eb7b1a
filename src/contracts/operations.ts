/**
 * Operation files (`<pack>/operations/<id>.yaml`) in their loaded form: path parameters checked
 * against the node kinds they name, responses by status, the error envelope with its documented
 * codes, ids the responses yield, and the request body schema compiled for attribution.
 */
import { basename, extname } from 'node:path'
import type { ContractProblem } from '../util/errors.ts'
import type { Severity } from '../model/finding.ts'
import { normaliseHeaders, type RawHeaders } from './headers.ts'
import { problemsAt, type ParsedFile } from './parse.ts'
import { closest } from './problems.ts'
import type { SchemaRegistry } from './schemas.ts'
import { nodeOfParameter, NODE_KINDS, type FramingExpectation, type HttpMethod, type NodeKind, type Operation, type ResponseExpectation } from './types.ts'
import { templateVariables } from './template.ts'

interface RawResponse {
  description?: string
  body?: { schema: string }
  framing?: FramingExpectation
  contentType?: string
  headers?: RawHeaders
}

interface RawOperation {
  id: string
  title: string
  node: NodeKind
  description?: string
  source: string
  notes?: string[]
  tags?: string[]
  request: {
    method: HttpMethod
    path: string
    host?: string
    query?: Record<string, { required?: boolean; description?: string; includes?: string[] }>
    body?: { type: 'json' | 'form' | 'multipart'; description?: string; schema?: object }
  }
  responses: Record<string, RawResponse> & { error?: RawResponse & { codes: number[]; subcodes?: number[]; types?: string[] } }
  yields?: Record<string, NodeKind>
  downloads?: { query: string }
}

/** Key under which an operation's request body schema is compiled. */
export function requestSchemaKey(id: string): string {
  return `request:${id}`
}

function response(r: RawResponse, statuses: ResponseExpectation['statuses'], pointer: string, at: ReturnType<typeof problemsAt>): ResponseExpectation {
  return {
    statuses,
    framing: r.framing ?? 'any',
    ...(r.contentType ? { contentType: r.contentType } : {}),
    headers: normaliseHeaders(r.headers, `${pointer}/headers`, at),
    ...(r.body ? { bodySchema: r.body.schema } : {}),
  }
}

/** Normalises one parsed operation file; problems are pushed, undefined when it has any. */
export function normaliseOperation(p: ParsedFile, problems: ContractProblem[], schemas: SchemaRegistry): Operation | undefined {
  const raw = p.data as RawOperation
  const at = problemsAt(p, problems)
  const before = problems.length
  const expectedId = basename(p.file, extname(p.file))
  if (raw.id !== expectedId) at('/id', `id "${raw.id}" must equal the file name "${expectedId}" so findings lead straight to the file; rename one of them`)

  const params = templateVariables(raw.request.path)
  params.forEach((name, i) => {
    if (name === 'api_version') {
      if (i !== 0 || !raw.request.path.startsWith('/{api_version}')) at('/request/path', '{api_version} can only be the first segment, e.g. /{api_version}/{media_id}')
    } else if (!nodeOfParameter(name)) {
      const guess = closest(name, NODE_KINDS.map((k) => `${k}_id`))
      at('/request/path', `path parameter {${name}} names no node: a parameter is {<node>_id}, e.g. ${NODE_KINDS.slice(0, 4).map((k) => `{${k}_id}`).join(', ')}${guess ? `; did you mean {${guess}}?` : ''}`)
    }
  })
  for (const [name, q] of Object.entries(raw.request.query ?? {})) {
    if (q.includes && name !== 'fields') at(`/request/query/${name}`, '"includes" is for the fields parameter only (names the selection must include)', 'includes')
  }

  const responses: ResponseExpectation[] = []
  const rawError = raw.responses.error
  for (const [key, r] of Object.entries(raw.responses)) {
    if (key === 'error') continue
    // A numbered 4xx/5xx is for errors that are not Graph envelopes (the media host's 404 page); Graph errors go under "error".
    if (Number(key) >= 400 && rawError) at(`/responses/${key}`, `Graph errors are described once under "error" (any 4xx/5xx, with the documented codes); remove ${key}, or remove "error" if this operation's errors are not Graph envelopes`)
    responses.push(response(r, [Number(key)], `/responses/${key}`, at))
  }
  if (!responses.some((r) => (r.statuses as number[])[0]! < 400)) at('/responses', 'document at least one success (2xx) response')
  const error: ResponseExpectation | undefined = rawError
    ? {
        ...response(rawError, 'error', '/responses/error', at),
        error: { codes: rawError.codes, ...(rawError.subcodes ? { subcodes: rawError.subcodes } : {}), ...(rawError.types ? { types: rawError.types } : {}), severity: 'warning' as Severity, includesCommon: true },
      }
    : undefined
  for (const [i, r] of [...responses, ...(error ? [error] : [])].entries()) {
    if (r.bodySchema && !schemas.has(r.bodySchema)) {
      const key = i < responses.length ? String((r.statuses as number[])[0]) : 'error'
      const guess = closest(r.bodySchema, schemas.names())
      at(`/responses/${key}/body/schema`, `schema file not found in schemas/: ${r.bodySchema}${guess ? `; did you mean ${guess}?` : ''}`)
    }
  }

  let body: Operation['request']['body']
  if (raw.request.body) {
    body = { type: raw.request.body.type }
    if (raw.request.body.schema) {
      schemas.addInline(requestSchemaKey(raw.id), raw.request.body.schema, (m) => at('/request/body/schema', m))
      body.schema = requestSchemaKey(raw.id)
    }
    if (raw.request.method === 'GET' || raw.request.method === 'HEAD') at('/request/body', `${raw.request.method} requests carry no body; remove "body" or change the method`)
  }

  if (problems.length > before) return undefined
  return {
    id: raw.id,
    title: raw.title,
    node: raw.node,
    description: raw.description?.trim() ?? '',
    source: raw.source.trim(),
    notes: raw.notes ?? [],
    tags: raw.tags ?? [],
    request: {
      method: raw.request.method,
      path: raw.request.path,
      ...(raw.request.host ? { host: raw.request.host } : {}),
      query: Object.fromEntries(Object.entries(raw.request.query ?? {}).map(([k, q]) => [k, { required: q.required ?? false, includes: q.includes ?? [] }])),
      ...(body ? { body } : {}),
    },
    responses,
    ...(error ? { error } : {}),
    yields: Object.entries(raw.yields ?? {}).map(([pointer, node]) => ({ pointer, node })),
    ...(raw.downloads ? { downloads: raw.downloads } : {}),
    file: p.file,
  }
}

/** Cross-file rules for operations: unique ids. */
export function crossCheckOperations(ops: readonly Operation[], parsed: ReadonlyMap<string, ParsedFile>, problems: ContractProblem[]): void {
  const ids = new Map<string, Operation>()
  for (const op of ops) {
    const dup = ids.get(op.id)
    if (dup) problemsAt(parsed.get(op.file)!, problems)('/id', `duplicate operation id "${op.id}" (also in ${dup.file})`)
    ids.set(op.id, op)
  }
}
