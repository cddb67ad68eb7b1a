/**
 * Which documented operation an exchange of captured traffic is. Graph paths all look alike
 * (`GET /v23.0/{id}` reads a media item, a phone number, a WABA or a template), so attribution
 * resolves what the traffic itself says, in this order, and stops guessing when it runs out:
 *
 * 1. the path template (a version prefix is optional: Graph serves the app's default version);
 * 2. the node each id names: ids seen earlier in the same traffic (an upload's answer names a
 *    media id, a phone_numbers list names phone ids, a template list names template ids), then
 *    configured ids (WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_WABA_ID);
 * 3. the method (a method no operation on that node takes is the consumer's mistake: Feb 6 2026);
 * 4. the request: required query parameters, the `fields=` names requested, the body
 *    (`"status": "read"` is a mark-as-read, `"type": "text"` a text message);
 * 5. only then the response's fit: a success whose body fits one operation's schema.
 *
 * A step that would rule out every candidate says nothing and is skipped. What is still ambiguous
 * is reported as such, with the candidates; it is never judged on a guess.
 */
import type { ContractPack, HttpMethod, MediaExpectation, NodeKind, Operation } from '../contracts/types.ts'
import { nodeOfParameter } from '../contracts/types.ts'
import { describeFields, isVersionSegment, knownFields, parseFields, pathSegments } from '../graph/index.ts'
import { parseJsonBody } from '../json.ts'
import type { Observation } from '../observation.ts'

/** What the traffic has said so far: the node each id names, and media metadata by id and by URL. */
export interface TrafficState {
  ids: Map<string, { node: NodeKind; from: string }>
  media: Map<string, MediaExpectation>
  mediaByUrl: Map<string, MediaExpectation>
}

/** A fresh state with the configured ids known. */
export function trafficState(configured: { phoneNumberId?: string | undefined; wabaId?: string | undefined } = {}): TrafficState {
  const ids = new Map<string, { node: NodeKind; from: string }>()
  if (configured.phoneNumberId) ids.set(configured.phoneNumberId, { node: 'phone_number', from: 'WHATSAPP_PHONE_NUMBER_ID' })
  if (configured.wabaId) ids.set(configured.wabaId, { node: 'waba', from: 'WHATSAPP_WABA_ID' })
  return { ids, media: new Map(), mediaByUrl: new Map() }
}

/** The request as attribution reads it. */
export interface RequestView {
  method: string
  url: URL
  /** The request body as sent, when the capture kept it. */
  body?: string
}

/** What attribution concluded, and why. */
export interface Attribution {
  /** The operation, when exactly one fits. */
  operation?: Operation
  /** When not certain: what it could be (empty when nothing describes it). */
  candidates: Operation[]
  /** Each step that narrowed the field, in words. */
  basis: string[]
  /** A method no operation on the addressed node takes: those operations, and the methods they do take. */
  wrongMethod?: { operations: Operation[]; accepts: HttpMethod[] }
  /** Why it is not attributed (ambiguous or unknown), in words. */
  reason?: string
}

interface Bound {
  op: Operation
  /** Path parameter values by name, e.g. media_id -> 1390000000004242. */
  params: Map<string, string>
}

/** Binds a concrete path to an operation's template; the leading `{api_version}` may be absent. */
export function bindPath(template: string, segments: readonly string[]): Map<string, string> | undefined {
  let t = pathSegments(template)
  let p = segments
  if (t[0] === '{api_version}') {
    t = t.slice(1)
    if (p.length > 0 && isVersionSegment(p[0]!)) p = p.slice(1)
  }
  if (t.length !== p.length) return undefined
  const params = new Map<string, string>()
  for (let i = 0; i < t.length; i++) {
    const m = /^\{([a-z_]+)\}$/.exec(t[i]!)
    if (m) {
      if (p[i] === '' || isVersionSegment(p[i]!)) return undefined
      params.set(m[1]!, p[i]!)
    } else if (t[i] !== p[i]) return undefined
  }
  return params
}

/** The request body as the operation would read it: JSON, or a form as an object; undefined when unreadable. */
function bodyAs(op: Operation, text: string | undefined, contentType: string | undefined): unknown {
  if (text === undefined || !op.request.body) return undefined
  const ct = (contentType ?? '').toLowerCase()
  if (op.request.body.type === 'json' || ct.includes('json')) return parseJsonBody(text).json
  if (op.request.body.type === 'form' || ct.includes('x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text))
  return undefined
}

/** Narrows with `keep`, unless that would rule out every candidate (then the step says nothing). */
function narrow<T>(list: T[], keep: (x: T) => boolean): { list: T[]; narrowed: boolean } {
  const kept = list.filter(keep)
  return kept.length > 0 && kept.length < list.length ? { list: kept, narrowed: true } : { list, narrowed: false }
}

const ids = (list: readonly { op: Operation }[]) => list.map((b) => b.op.id).join(', ')

/**
 * The request-side steps (path, node, method, query, fields, body) without the response: what a
 * request alone says it is. `attribute` adds the response's fit.
 */
export function attributeRequest(pack: Pick<ContractPack, 'operations' | 'requestFits' | 'schemaJson'>, req: RequestView, state: TrafficState, contentType?: string): Attribution & { bound: Bound[] } {
  const segments = pathSegments(req.url.pathname)
  const basis: string[] = []
  let bound: Bound[] = []
  for (const op of pack.operations) {
    const params = bindPath(op.request.path, segments)
    if (params) bound.push({ op, params })
  }
  if (bound.length === 0) return { candidates: [], basis, bound, reason: `no operation has the path ${req.url.pathname}` }
  if (!isVersionSegment(segments[0] ?? '') && bound.some((b) => b.op.request.path.startsWith('/{api_version}'))) basis.push('no version in the path: Graph serves the app\'s default version')

  // The node each id names, from what the traffic or the configuration said.
  const known = new Map<string, { node: NodeKind; from: string }>()
  for (const b of bound) for (const v of b.params.values()) if (state.ids.has(v)) known.set(v, state.ids.get(v)!)
  if (known.size > 0) {
    const fits = (b: Bound) => [...b.params].every(([name, v]) => !known.has(v) || nodeOfParameter(name) === known.get(v)!.node)
    const kept = bound.filter(fits)
    for (const [v, k] of known) basis.push(`id ${v} is a ${k.node.replace('_', ' ')} (${k.from})`)
    if (kept.length > 0) bound = kept
    else return { candidates: [], basis, bound: [], reason: `the ids in ${req.url.pathname} name nodes no operation on this path acts on` }
  }

  const method = req.method.toUpperCase()
  const same = bound.filter((b) => b.op.request.method === method)
  if (same.length === 0) {
    const accepts = [...new Set(bound.map((b) => b.op.request.method))]
    return { candidates: [], basis, bound: [], wrongMethod: { operations: bound.map((b) => b.op), accepts } }
  }
  bound = same

  // Required query parameters, and `fields=` names an operation must (includes) or can (knows) serve.
  const query = req.url.searchParams
  const fieldsText = query.get('fields') ?? undefined
  const selection = fieldsText !== undefined ? parseFields(fieldsText) : undefined
  const requested = selection?.map((f) => f.name) ?? []
  let step = narrow(bound, (b) => Object.entries(b.op.request.query).every(([k, q]) => !q.required || query.has(k)) && (b.op.request.query.fields?.includes ?? []).every((n) => requested.includes(n)))
  if (step.narrowed) basis.push(`the query (${[...new Set(query.keys())].join(', ') || 'none'}) is what ${ids(step.list)} takes`)
  bound = step.list
  if (selection && bound.length > 1) {
    const knows = (b: Bound) => {
      const success = b.op.responses.find((r) => (r.statuses as readonly number[])[0]! < 300 && r.bodySchema)
      const names = success?.bodySchema ? knownFields(pack.schemaJson(success.bodySchema)) : []
      return requested.every((n) => n === 'id' || names.includes(n))
    }
    step = narrow(bound, knows)
    if (step.narrowed) basis.push(`fields=${describeFields(selection)} are fields of ${ids(step.list)}`)
    bound = step.list
  }
  if (req.body !== undefined && bound.length > 1) {
    step = narrow(bound, (b) => {
      const body = bodyAs(b.op, req.body, contentType)
      return b.op.request.body?.schema !== undefined && body !== undefined && pack.requestFits(b.op, body)
    })
    if (step.narrowed) basis.push(`the request body is what ${ids(step.list)} sends`)
    bound = step.list
  }
  // Still several: the one whose discriminators matched most (delete by id needs name and hsm_id, by name only name).
  if (bound.length > 1) {
    const score = (b: Bound) => Object.entries(b.op.request.query).filter(([k, q]) => q.required && query.has(k)).length + (b.op.request.query.fields?.includes.length ?? 0)
    const best = Math.max(...bound.map(score))
    step = narrow(bound, (b) => score(b) === best)
    if (step.narrowed) basis.push(`${ids(step.list)} takes every query parameter sent`)
    bound = step.list
  }
  return bound.length === 1 ? { operation: bound[0]!.op, candidates: [bound[0]!.op], basis, bound } : { candidates: bound.map((b) => b.op), basis, bound, reason: `the request alone does not tell ${ids(bound)} apart` }
}

/** Attributes an exchange: the request-side steps, then, only if still ambiguous, the response's fit. */
export function attribute(pack: Pick<ContractPack, 'operations' | 'requestFits' | 'schemaJson' | 'validateBody' | 'projectedSchema'>, o: Observation, requestBody: string | undefined, state: TrafficState): Attribution {
  let url: URL
  try {
    url = new URL(o.request.url)
  } catch {
    return { candidates: [], basis: [], reason: `the URL ${o.request.url.slice(0, 120)} does not parse` }
  }
  const contentType = o.request.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1]
  const { bound, ...a } = attributeRequest(pack, { method: o.request.method, url, ...(requestBody !== undefined ? { body: requestBody } : o.request.bodyExcerpt !== undefined ? { body: o.request.bodyExcerpt } : {}) }, state, contentType)
  if (a.operation || bound.length < 2) return a
  const r = o.response
  if (!r || r.status >= 300 || r.body.json === undefined) return a
  const fields = url.searchParams.get('fields') ?? undefined
  const fit = narrow(bound, (b) => {
    const success = b.op.responses.find((x) => (x.statuses as readonly number[]).includes(r.status))
    if (!success?.bodySchema) return false
    const schema = fields ? pack.projectedSchema(success.bodySchema, fields) : success.bodySchema
    return pack.validateBody(schema, r.body.json).length === 0
  })
  if (!fit.narrowed) return { ...a, reason: `${a.reason}, and the response fits ${bound.some((b) => b.op.responses.some((x) => x.bodySchema)) ? 'all or none of them' : 'no schema'}` }
  const basis = [...a.basis, `the response fits ${ids(fit.list)}`]
  return fit.list.length === 1 ? { operation: fit.list[0]!.op, candidates: [fit.list[0]!.op], basis } : { candidates: fit.list.map((b) => b.op), basis, reason: `neither the request nor the response tells ${ids(fit.list)} apart` }
}

function valuesAt(json: unknown, pointer: string): unknown[] {
  let values: unknown[] = [json]
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    values = values.flatMap((v) => (key === '*' ? (Array.isArray(v) ? v : []) : v && typeof v === 'object' && !Array.isArray(v) ? [(v as Record<string, unknown>)[key]] : []))
  }
  return values
}

/**
 * What an attributed exchange teaches about later ones: the ids its success names (its `yields`),
 * the ids in its own path (an attributed GET /{media_id} names a media id), and a media item's
 * metadata for the download that follows.
 */
export function learn(op: Operation, o: Observation, source: string, state: TrafficState): void {
  const r = o.response
  if (!r || r.status >= 300) return
  try {
    const params = bindPath(op.request.path, pathSegments(new URL(o.request.url).pathname))
    for (const [name, v] of params ?? []) {
      const node = nodeOfParameter(name)
      if (node && !state.ids.has(v)) state.ids.set(v, { node, from: `${op.id} answered for it (${source})` })
    }
  } catch {}
  const json = r.body.json
  if (json === undefined) return
  for (const y of op.yields) {
    for (const v of valuesAt(json, y.pointer)) {
      if ((typeof v === 'string' || typeof v === 'number') && !state.ids.has(String(v))) state.ids.set(String(v), { node: y.node, from: `${op.id} returned it (${source})` })
    }
  }
  if (op.node === 'media' && json && typeof json === 'object') {
    const m = json as Record<string, unknown>
    if (typeof m.id === 'string' && typeof m.sha256 === 'string') {
      const meta: MediaExpectation = {
        sha256: m.sha256,
        ...(m.file_size !== undefined ? { size: String(m.file_size) } : {}),
        ...(typeof m.mime_type === 'string' ? { mimeType: m.mime_type } : {}),
      }
      state.media.set(m.id, meta)
      if (typeof m.url === 'string') state.mediaByUrl.set(m.url, meta)
    }
  }
}

/** The metadata a download is checked against: the retrieve that handed out its URL, else the one of its media id. */
export function mediaForDownload(op: Operation, o: Observation, state: TrafficState): MediaExpectation | undefined {
  if (!op.downloads) return undefined
  const byUrl = state.mediaByUrl.get(o.request.url)
  if (byUrl) return byUrl
  try {
    const id = new URL(o.request.url).searchParams.get(op.downloads.query)
    return id ? state.media.get(id) : undefined
  } catch {
    return undefined
  }
}
