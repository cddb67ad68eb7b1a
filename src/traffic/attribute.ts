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
 * 4. the request: required query parameters, the `fields=` names requested, the body. A body that
 *    fits one operation's documented schema is that operation; else what decides between the
 *    operations on the path (src/contracts/discriminators.ts: `"status": "read"` is a mark-as-read,
 *    `"type": "text"` a text message, `image.id` a send by id), whatever else the body gets wrong:
 *    Meta accepts more than it documents (`"to": 16505551234`, `"preview_url": "true"`);
 * 5. only then the response's fit: a success whose body fits one operation's schema.
 *
 * A step that would rule out every candidate says nothing and is skipped. What is still ambiguous
 * is reported as such, with the candidates; it is never judged on a guess. An attributed request
 * whose body the documented schema does not describe says where (`offSchema`): what the app sent
 * that Meta's docs do not, whether Meta took it or not.
 */
import { compareEvidence, decides, meantViolations, ruledOutPaths, weighBody, type BodyEvidence } from '../contracts/discriminators.ts'
import type { ContractPack, HttpMethod, MediaExpectation, NodeKind, Operation, SchemaViolation } from '../contracts/types.ts'
import { describeNode, nodeOfParameter } from '../contracts/types.ts'
import { describeFields, isVersionSegment, knownFields, parseFields, pathSegments } from '../graph/index.ts'
import { parseJsonBody } from '../util/json.ts'
import type { Observation } from '../model/observation.ts'
import { parsedUrl } from './parsed-url.ts'
import { RecentMap } from './recent-map.ts'

/**
 * What the traffic has said so far: the node each id names, and media metadata by id and by URL.
 * Bounded (RecentMap): a proxy that runs for months learns a new media id and message id with
 * every send, and must not grow with them. An id forgotten past the limit makes a later exchange
 * on it ambiguous at worst (unattributed, never misattributed); `forgotten` counts them.
 */
export interface TrafficState {
  ids: RecentMap<string, { node: NodeKind; from: string }>
  media: RecentMap<string, MediaExpectation>
  mediaByUrl: RecentMap<string, MediaExpectation>
}

/**
 * How much a traffic state remembers: ids well past what a day of a busy number names between an
 * upload and its use (about 100 bytes each: ~10 MB at the limit), media metadata less (a download
 * follows its retrieve within the URL's five-minute life).
 */
export const STATE_LIMITS = { ids: 100_000, media: 20_000 }

/** A fresh state with the configured ids known (pinned: never forgotten). */
export function trafficState(configured: { phoneNumberId?: string | undefined; wabaId?: string | undefined } = {}, limits = STATE_LIMITS): TrafficState {
  const ids = new RecentMap<string, { node: NodeKind; from: string }>(limits.ids)
  if (configured.phoneNumberId) ids.pin(configured.phoneNumberId, { node: 'phone_number', from: 'WHATSAPP_PHONE_NUMBER_ID' })
  if (configured.wabaId) ids.pin(configured.wabaId, { node: 'waba', from: 'WHATSAPP_WABA_ID' })
  return { ids, media: new RecentMap(limits.media), mediaByUrl: new RecentMap(limits.media) }
}

/** The request as attribution reads it. */
export interface RequestView {
  method: string
  url: URL
  /** The request body as sent, when the capture kept it. */
  body?: string
}

/**
 * How forgiving attribution is. Traffic is judged exactly. A consumer's pact (the gate) names only
 * the fields it reads and may send an incomplete body: there the closest request body and the
 * answer whose fields overlap the operation's most identify it, and the gate then says what is
 * missing.
 */
export interface AttributionOptions {
  /** When no request body fits exactly, the operation whose schema it breaks least (uniquely). */
  closestBody?: boolean
  /** Fit a success by the fields it names (a pact's partial example) instead of by validation. */
  partialResponse?: boolean
}

/** What attribution concluded, and why. */
export interface Attribution {
  /** The operation, when exactly one fits. */
  operation?: Operation
  /** When not certain: what it could be (empty when nothing describes it). */
  candidates: Operation[]
  /** Each step that narrowed the field, in words. */
  basis: string[]
  /**
   * A method no operation on the addressed node takes: those operations, and the methods they do
   * take. `certain` is false when the traffic says the method is wrong (a legacy method override)
   * but not which operation the client meant: then `operations` are the candidates.
   */
  wrongMethod?: { operations: Operation[]; accepts: HttpMethod[]; certain: boolean }
  /** Why it is not attributed (ambiguous or unknown), in words. */
  reason?: string
  /** Where the request body of the attributed operation departs from its documented schema (absent when it does not). */
  offSchema?: SchemaViolation[]
}

interface Bound {
  op: Operation
  /** Path parameter values by name, e.g. media_id -> 1390000000004242. */
  params: Map<string, string>
}

/**
 * Whether a path segment can be a Graph object id: Graph ids are digits (media, phone numbers,
 * WABAs, templates), a few are letters and digits (QR codes); never a word (`me`), a file name
 * (`a.woff2`) or a version. Without this, any one-segment path would be `/{id}`.
 */
function looksLikeId(segment: string): boolean {
  return /^[A-Za-z0-9_-]*\d[A-Za-z0-9_-]*$/.test(segment) && !isVersionSegment(segment)
}

/** Paths seen lately and their segments: most traffic asks a few paths over and over (decoding each anew showed in profiles). */
const segmentCache = new Map<string, readonly string[]>()
const SEGMENT_CACHE = 4096
/** Longer paths are split each time, never kept (a URL can be a megabyte). */
const SEGMENT_CACHE_CHARS = 2048

/** pathSegments of a URL's pathname, remembered (the list is shared: never changed by its readers). */
export function segmentsOf(pathname: string): readonly string[] {
  if (pathname.length > SEGMENT_CACHE_CHARS) return pathSegments(pathname)
  let segs = segmentCache.get(pathname)
  if (!segs) {
    segs = pathSegments(pathname)
    if (segmentCache.size >= SEGMENT_CACHE) segmentCache.clear()
    segmentCache.set(pathname, segs)
  }
  return segs
}

/** A template split once into literal segments and parameter names: every entry is tried against every operation's template. */
interface Template {
  /** Starts with `{api_version}` (then left out of segs: a path may omit its version). */
  versioned: boolean
  segs: readonly string[]
  /** The parameter each segment binds (`{media_id}` -> media_id), undefined for a literal one. */
  params: readonly (string | undefined)[]
}
const templates = new Map<string, Template>()
function compiledTemplate(template: string): Template {
  let t = templates.get(template)
  if (!t) {
    let segs = pathSegments(template)
    const versioned = segs[0] === '{api_version}'
    if (versioned) segs = segs.slice(1)
    t = { versioned, segs, params: segs.map((x) => /^\{([a-z_]+)\}$/.exec(x)?.[1]) }
    templates.set(template, t)
  }
  return t
}

/** Binds a concrete path to an operation's template; the leading `{api_version}` may be absent. */
export function bindPath(template: string, segments: readonly string[]): Map<string, string> | undefined {
  const t = compiledTemplate(template)
  const off = t.versioned && segments.length > 0 && isVersionSegment(segments[0]!) ? 1 : 0
  return bindCompiled(t, segments, off)
}

/** An operation with its template, compiled. */
interface Templated {
  op: Operation
  t: Template
}

/**
 * A pack's operations by how many segments a path they bind has: `v` plus the count for one that
 * starts with a version, the count alone for one that does not. Every entry is tried against only
 * the templates of its length (a handful of 36), each compiled once per pack, not looked up per entry.
 */
const byLength = new WeakMap<readonly Operation[], Map<string, Templated[]>>()
function templatesFor(operations: readonly Operation[], segments: readonly string[], versioned: boolean): readonly Templated[] {
  let index = byLength.get(operations)
  if (!index) {
    index = new Map()
    const add = (key: string, x: Templated) => {
      const list = index!.get(key)
      if (list) list.push(x)
      else index!.set(key, [x])
    }
    for (const op of operations) {
      const t = compiledTemplate(op.request.path)
      add(`${t.segs.length}`, { op, t })
      // A path with a version binds a versioned template one segment shorter, and an unversioned one of its own length.
      add(`v${t.versioned ? t.segs.length + 1 : t.segs.length}`, { op, t })
    }
    byLength.set(operations, index)
  }
  return index.get(versioned ? `v${segments.length}` : `${segments.length}`) ?? []
}

function bindCompiled(t: Template, segments: readonly string[], off: number): Map<string, string> | undefined {
  if (t.segs.length !== segments.length - off) return undefined
  // Literals first, allocating nothing: most templates fail there.
  for (let i = 0; i < t.segs.length; i++) if (t.params[i] === undefined && t.segs[i] !== segments[i + off]) return undefined
  const params = new Map<string, string>()
  for (let i = 0; i < t.segs.length; i++) {
    const name = t.params[i]
    if (name === undefined) continue
    const v = segments[i + off]!
    if (!looksLikeId(v)) return undefined
    params.set(name, v)
  }
  return params
}

/**
 * The request body as the operation would read it: JSON, or a form as an object; undefined when
 * unreadable. Graph reads a JSON operation's parameters from a form too, objects as JSON text
 * (`text={"body":"hi"}`), so a form sent to one is read that way.
 */
function bodyAs(op: Operation, text: string | undefined, contentType: string | undefined): unknown {
  if (text === undefined || !op.request.body) return undefined
  // Attribution and departures read the same body of one exchange: parsed once per kind (the values are only read).
  if (lastBody.text !== text || lastBody.contentType !== contentType) {
    lastBody.text = text
    lastBody.contentType = contentType
    lastBody.byKind.clear()
  }
  const kind = op.request.body.type
  if (lastBody.byKind.has(kind)) return lastBody.byKind.get(kind)
  const value = parseBodyAs(op, text, contentType)
  lastBody.byKind.set(kind, value)
  return value
}

/** The last request body read, by the kind of body an operation takes. */
const lastBody: { text: string | undefined; contentType: string | undefined; byKind: Map<string, unknown> } = { text: undefined, contentType: undefined, byKind: new Map() }

function parseBodyAs(op: Operation, text: string, contentType: string | undefined): unknown {
  if (!op.request.body) return undefined
  const ct = (contentType ?? '').toLowerCase()
  const type = op.request.body.type
  if (type === 'form' || (type === 'json' && ct.includes('x-www-form-urlencoded'))) {
    const form: Record<string, unknown> = Object.fromEntries(new URLSearchParams(text))
    if (type === 'json') for (const [k, v] of Object.entries(form)) if (typeof v === 'string' && /^\s*[[{]/.test(v)) form[k] = parseJsonBody(v).json ?? v
    return form
  }
  if (type === 'json' || ct.includes('json')) return parseJsonBody(text).json
  if (ct.includes('x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text))
  return undefined
}

type SchemaPack = Pick<ContractPack, 'operations' | 'schemaJson'>

/** A `$ref` in a request schema: a schema file of the pack by name (`message-sent.json#/properties/x`). */
function resolver(pack: SchemaPack): (ref: string) => unknown {
  return (ref) => {
    const [file, pointer = ''] = ref.replace(/^https:\/\/driftwatch\.invalid\/schemas\//, '').split('#')
    let node = pack.schemaJson(file!)
    for (const raw of pointer.split('/').slice(1)) {
      const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~')
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined
    }
    return node
  }
}

/** Keys the operations on each operation's method and path rule out (so requiring one decides): computed once per pack. */
const ruledOutByOp = new WeakMap<Operation, ReadonlySet<string>>()
function ruledOutNear(pack: SchemaPack, op: Operation): ReadonlySet<string> {
  let set = ruledOutByOp.get(op)
  if (set) return set
  const resolve = resolver(pack)
  const same = pack.operations.filter((o) => o.request.method === op.request.method && o.request.path === op.request.path && o.request.body?.schema)
  set = new Set(same.flatMap((o) => ruledOutPaths(pack.schemaJson(o.request.body!.schema!), resolve)))
  for (const o of same) ruledOutByOp.set(o, set)
  ruledOutByOp.set(op, set)
  return set
}

/** How a body stands against what decides an operation; undefined when the operation has no body schema. */
function weigh(pack: SchemaPack, op: Operation, body: unknown): BodyEvidence | undefined {
  const schema = op.request.body?.schema ? pack.schemaJson(op.request.body.schema) : undefined
  return schema === undefined ? undefined : weighBody(schema, body, ruledOutNear(pack, op), resolver(pack))
}

/** The JSON paths that decided, without those every candidate shares (`$.messaging_product`). */
function decidingPaths(winner: BodyEvidence, all: readonly (BodyEvidence | undefined)[]): string[] {
  const shared = (p: string) => all.every((e) => e?.decided.includes(p))
  return [...new Set(winner.decided)].filter((p) => !shared(p))
}

/** ` ($.type, $.text)`: the deciding paths as a basis names them. */
function listed(paths: readonly string[]): string {
  return paths.length > 0 ? ` (${paths.slice(0, 4).join(', ')}${paths.length > 4 ? ', ...' : ''})` : ''
}

const METHOD_ORDER: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

/** Distinct methods in the order people list them (GET before DELETE). */
function sortMethods(methods: readonly HttpMethod[]): HttpMethod[] {
  return [...new Set(methods)].sort((a, b) => METHOD_ORDER.indexOf(a) - METHOD_ORDER.indexOf(b))
}

/** Narrows with `keep`, unless that would rule out every candidate (then the step says nothing). */
function narrow<T>(list: T[], keep: (x: T) => boolean): { list: T[]; narrowed: boolean } {
  const kept = list.filter(keep)
  return kept.length > 0 && kept.length < list.length ? { list: kept, narrowed: true } : { list, narrowed: false }
}

const ids = (list: readonly { op: Operation }[]) => list.map((b) => b.op.id).join(', ')

/** An operation's required query parameters and the `fields=` names it must serve: read once per operation, not per exchange and candidate. */
const queryNeeds = new WeakMap<Operation, { required: readonly string[]; includes: readonly string[] }>()
function needsOf(op: Operation): { required: readonly string[]; includes: readonly string[] } {
  let n = queryNeeds.get(op)
  if (!n) queryNeeds.set(op, (n = { required: Object.entries(op.request.query).filter(([, q]) => q.required).map(([k]) => k), includes: op.request.query.fields?.includes ?? [] }))
  return n
}

/** Whether every candidate acts on the same node. */
function oneNode(list: readonly Bound[]): boolean {
  for (const b of list) if (b.op.node !== list[0]!.op.node) return false
  return list.length > 0
}

/**
 * The request-side steps (path, node, method, query, fields, body) without the response: what a
 * request alone says it is. `attribute` adds the response's fit.
 */
export function attributeRequest(pack: Pick<ContractPack, 'operations' | 'requestFits' | 'requestViolations' | 'schemaJson'>, req: RequestView, state: TrafficState, contentType?: string, options: AttributionOptions = {}): Attribution & { bound: Bound[]; onPath: Bound[]; settled: boolean } {
  const segments = segmentsOf(req.url.pathname)
  const basis: string[] = []
  let bound: Bound[] = []
  const versioned = segments.length > 0 && isVersionSegment(segments[0]!)
  // In pack order, as every step after this reads them. Operations on one path are neighbours in it (a send's fifteen
  // share /{phone_number_id}/messages): one binding serves them all, read only.
  let lastT: Template | undefined
  let lastParams: Map<string, string> | undefined
  for (const { op, t } of templatesFor(pack.operations, segments, versioned)) {
    const params = t === lastT ? lastParams : bindCompiled(t, segments, t.versioned && versioned ? 1 : 0)
    lastT = t
    lastParams = params
    if (params) bound.push({ op, params })
  }
  if (bound.length === 0) return { candidates: [], basis, bound, onPath: [], settled: true, reason: `no operation has the path ${req.url.pathname}` }
  if (!isVersionSegment(segments[0] ?? '') && bound.some((b) => b.op.request.path.startsWith('/{api_version}'))) basis.push('no version in the path: Graph serves the app\'s default version')

  // The node each id names, from what the traffic or the configuration said.
  const known = new Map<string, { node: NodeKind; from: string }>()
  for (let i = 0; i < bound.length; i++) {
    // A binding its neighbour shares was just asked about (asking again only marks the same ids recent again).
    if (i > 0 && bound[i]!.params === bound[i - 1]!.params) continue
    for (const v of bound[i]!.params.values()) {
      const id = state.ids.get(v)
      if (id) known.set(v, id)
    }
  }
  if (known.size > 0) {
    const fits = (b: Bound) => {
      for (const [name, v] of b.params) if (known.has(v) && nodeOfParameter(name) !== known.get(v)!.node) return false
      return true
    }
    const kept = bound.filter(fits)
    for (const [v, k] of known) basis.push(`id ${v} is a ${describeNode(k.node)} (${k.from})`)
    if (kept.length > 0) bound = kept
    else return { candidates: [], basis, bound: [], onPath: [], settled: true, reason: `the ids in ${req.url.pathname} name nodes no operation on this path acts on` }
  }

  const method = req.method.toUpperCase()
  const onPath = bound
  // The node is settled when an id said it, or every operation on this path acts on the same node.
  let settled = known.size > 0 || oneNode(onPath)
  const same = bound.filter((b) => b.op.request.method === method)
  if (same.length === 0) {
    const accepts = sortMethods(bound.map((b) => b.op.request.method))
    return { candidates: [], basis, bound: [], onPath, settled: true, wrongMethod: { operations: bound.map((b) => b.op), accepts, certain: true } }
  }
  bound = same

  // Required query parameters, and `fields=` names an operation must (includes) or can (knows) serve.
  const query = req.url.searchParams
  const fieldsText = query.get('fields') ?? undefined
  const selection = fieldsText !== undefined ? parseFields(fieldsText) : undefined
  const requested = selection?.map((f) => f.name) ?? []
  let step = narrow(bound, (b) => {
    const { required, includes } = needsOf(b.op)
    for (const k of required) if (!query.has(k)) return false
    for (const n of includes) if (!requested.includes(n)) return false
    return true
  })
  if (step.narrowed) {
    basis.push(`the query (${[...new Set(query.keys())].join(', ') || 'none'}) is what ${ids(step.list)} takes`)
    settled = true
  }
  bound = step.list
  if (selection && bound.length > 1) {
    const knows = (b: Bound) => {
      const success = b.op.responses.find((r) => (r.statuses as readonly number[])[0]! < 300 && r.bodySchema)
      const names = success?.bodySchema ? knownFields(pack.schemaJson(success.bodySchema)) : []
      return requested.every((n) => n === 'id' || names.includes(n))
    }
    step = narrow(bound, knows)
    if (step.narrowed) {
      basis.push(`fields=${describeFields(selection)} are fields of ${ids(step.list)}`)
      settled = true
    }
    bound = step.list
  }
  // The body as each kind of operation reads it, parsed once per kind (a send has fifteen candidates, all JSON).
  const read = new Map<string, unknown>()
  const bodyFor = (op: Operation): unknown => {
    const kind = op.request.body?.type
    if (kind === undefined) return undefined
    if (!read.has(kind)) read.set(kind, bodyAs(op, req.body, contentType))
    return read.get(kind)
  }
  if (req.body !== undefined && bound.length > 1) {
    const bodies = new Map(bound.map((b) => [b, bodyFor(b.op)]))
    step = narrow(bound, (b) => b.op.request.body?.schema !== undefined && bodies.get(b) !== undefined && pack.requestFits(b.op, bodies.get(b)))
    if (step.narrowed) basis.push(`the request body is what ${ids(step.list)} sends`)
    else {
      // What decides between them, whatever else the body gets wrong: the values and keys each operation's schema pins.
      const evidence = new Map(bound.map((b) => [b, bodies.get(b) === undefined ? undefined : weigh(pack, b.op, bodies.get(b))]))
      const all = [...evidence.values()]
      step = narrow(bound, (b) => evidence.get(b) !== undefined && decides(evidence.get(b)!))
      if (step.narrowed) basis.push(`the fields that decide${listed(decidingPaths(evidence.get(step.list[0]!)!, all))} are what ${ids(step.list)} sends`)
      else {
        // None has all it takes (an image with both id and link, a send without type): the ones the body carries most of what
        // decides, less what it contradicts or lacks; only if the body carries something that tells them apart.
        const best = all.filter((e) => e !== undefined).sort(compareEvidence)[0]
        const telling = best ? decidingPaths(best, all) : []
        step = telling.length > 0 ? narrow(bound, (b) => evidence.get(b) !== undefined && compareEvidence(evidence.get(b)!, best!) === 0) : step
        if (step.narrowed) basis.push(`no operation's deciding fields all hold; the body is closest to what ${ids(step.list)} sends${listed(telling)}`)
      }
    }
    if (step.narrowed) settled = true
    else if (options.closestBody) {
      const broken = (b: Bound) => {
        const body = bodies.get(b)
        return b.op.request.body?.schema === undefined || body === undefined ? Infinity : pack.requestViolations(b.op, body).length
      }
      const least = Math.min(...bound.map(broken))
      step = least < Infinity ? narrow(bound, (b) => broken(b) === least) : step
      if (step.narrowed) basis.push(`the request body is closest to what ${ids(step.list)} sends`)
    }
    bound = step.list
  }
  // Still several: the one whose discriminators matched most (delete by id needs name and hsm_id, by name only name).
  if (bound.length > 1) {
    const score = (b: Bound) => needsOf(b.op).required.filter((k) => query.has(k)).length + (b.op.request.query.fields?.includes.length ?? 0)
    const best = Math.max(...bound.map(score))
    step = narrow(bound, (b) => score(b) === best)
    if (step.narrowed) basis.push(`${ids(step.list)} takes every query parameter sent`)
    bound = step.list
  }
  // A lone candidate whose request body fits its schema is settled by the request as well.
  if (bound.length === 1 && req.body !== undefined && bound[0]!.op.request.body?.schema !== undefined) {
    const body = bodyFor(bound[0]!.op)
    if (body !== undefined && pack.requestFits(bound[0]!.op, body)) settled = true
  }
  return bound.length === 1 ? { operation: bound[0]!.op, candidates: [bound[0]!.op], basis, bound, onPath, settled } : { candidates: bound.map((b) => b.op), basis, bound, onPath, settled, reason: `the request alone does not tell ${ids(bound)} apart` }
}

/**
 * Graph's legacy method override: a POST whose form body (or query) says `method=get` asks for a
 * GET. Some Meta servers honour it and others answer 405 (Feb 6 2026: a client library fell back to
 * it silently and media retrieval failed intermittently for two days).
 */
export function legacyOverride(method: string, url: URL, body: string | undefined, contentType: string | undefined): HttpMethod | undefined {
  if (method.toUpperCase() !== 'POST') return undefined
  const form = body !== undefined && (/x-www-form-urlencoded/i.test(contentType ?? '') || /^[\w.%-]+=[^{]*$/.test(body.trim())) ? new URLSearchParams(body) : undefined
  const asked = (form?.get('method') ?? url.searchParams.get('method'))?.toUpperCase()
  return asked === 'GET' || asked === 'DELETE' ? asked : undefined
}

/** Attributes an exchange: the request-side steps, then, only if still ambiguous, the response's fit. */
export function attribute(pack: Pick<ContractPack, 'operations' | 'requestFits' | 'requestViolations' | 'schemaJson' | 'bodyFits' | 'projectedSchema'>, o: Observation, requestBody: string | undefined, state: TrafficState, options: AttributionOptions = {}): Attribution {
  const url = parsedUrl(o.request.url)
  if (!url) return { candidates: [], basis: [], reason: `the URL ${o.request.url.slice(0, 120)} does not parse` }
  const contentType = o.request.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1]
  const body = requestBody ?? o.request.bodyExcerpt
  const override = legacyOverride(o.request.method, url, body, contentType)
  if (!override) {
    const { onPath: _onPath, ...a } = resolve(pack, o.request.method, url, body, o, state, contentType, options)
    // Departures only from the body as sent, whole: an excerpt cut short would be missing what it only lost.
    const whole = requestBody ?? (body !== undefined && Buffer.byteLength(body) >= o.request.bodySize ? body : undefined)
    const offSchema = a.operation ? departures(pack, a.operation, whole, contentType) : []
    return offSchema.length > 0 ? Object.assign({}, a, { offSchema }) : a
  }
  // The client meant another method: what it meant says which operation it was after; that it sent POST is the mistake.
  const meant = resolve(pack, override, url, undefined, o, state, contentType, options)
  const basis = [`the body asks for ${override} (method=${override.toLowerCase()}, Graph's legacy method override)`, ...meant.basis]
  if (meant.operation) {
    const node = meant.operation.node
    const ops = meant.onPath.filter((b) => b.op.node === node).map((b) => b.op)
    return { candidates: [], basis, wrongMethod: { operations: ops, accepts: sortMethods(ops.map((x) => x.request.method)), certain: true } }
  }
  if (meant.wrongMethod) return { candidates: [], basis, wrongMethod: meant.wrongMethod }
  return { candidates: [], basis, wrongMethod: { operations: meant.candidates, accepts: [override], certain: false }, reason: meant.reason ?? 'ambiguous' }
}

/**
 * Where an attributed request's body departs from its operation's documented schema, read against
 * the alternative the body meant (the image branch of a media send, not the other four).
 */
function departures(pack: Parameters<typeof attribute>[0], op: Operation, text: string | undefined, contentType: string | undefined): SchemaViolation[] {
  if (!op.request.body?.schema) return []
  const body = bodyAs(op, text, contentType)
  if (body === undefined || pack.requestFits(op, body)) return []
  const violations = pack.requestViolations(op, body)
  const evidence = violations.length > 0 ? weigh(pack, op, body) : undefined
  return evidence ? meantViolations(violations, evidence) : violations
}

/**
 * attributeRequest, then the response's fit. Results copy `a` with Object.assign where `{ ...a, onPath }` would do:
 * the same object, key for key and in the same order, but a spread followed by a key its source lacks takes V8's slow
 * road (~1 µs an object in Node 20, against ~0.1 µs), and this runs for every exchange (so do harEntry's and
 * asSample's copies with a key added).
 */
function resolve(pack: Parameters<typeof attribute>[0], method: string, url: URL, body: string | undefined, o: Observation, state: TrafficState, contentType: string | undefined, options: AttributionOptions): Attribution & { onPath: Bound[] } {
  const { bound, onPath, settled, ...a } = attributeRequest(pack, { method, url, ...(body !== undefined ? { body } : {}) }, state, contentType, options)
  // Settled by the request, or nothing to choose from. A lone candidate on a path of several nodes is not settled:
  // POST /{id} is a template edit only if the id is a template, and the answer may say it is not.
  if ((a.operation && settled) || bound.length === 0) return Object.assign({}, a, { onPath })
  const r = o.response
  if (!r || r.status >= 300 || r.body.json === undefined) return Object.assign({}, a, { onPath })
  const json = r.body.json
  const fields = url.searchParams.get('fields') ?? undefined
  // How well the answer fits an operation's documented success: 1 or 0 (validation), or the overlap of the fields a pact names.
  const score = (b: Bound): number => {
    const success = b.op.responses.find((x) => (x.statuses as readonly number[]).includes(r.status))
    if (!success?.bodySchema) return 0
    if (!options.partialResponse) return pack.bodyFits(fields ? pack.projectedSchema(success.bodySchema, fields) : success.bodySchema, json) ? 1 : 0
    const known = knownFields(pack.schemaJson(success.bodySchema))
    const named = json && typeof json === 'object' && !Array.isArray(json) ? Object.keys(json) : []
    return named.filter((k) => known.includes(k)).length - named.filter((k) => !known.includes(k)).length
  }
  const best = Math.max(...bound.map(score))
  if (best <= 0) {
    // Nothing this method could be fits the answer, but what another method on the same path answers does: the answer
    // says which node the client was reading, and the method was the client's mistake (Feb 6 2026: some Meta servers
    // honoured POST with method=get and answered with the media's metadata).
    const others = onPath.filter((b) => b.op.request.method !== method.toUpperCase())
    const top = Math.max(0, ...others.map(score))
    const reading = others.filter((b) => top > 0 && score(b) === top)
    if (reading.length === 1) {
      const node = reading[0]!.op.node
      const ops = onPath.filter((b) => b.op.node === node).map((b) => b.op)
      const said = [...a.basis, `the answer is what ${reading[0]!.op.id} (${reading[0]!.op.request.method}) returns: the id is a ${describeNode(node)}`]
      // That node takes this method after all: its operation, whose answer drifted.
      const same = bound.filter((b) => b.op.node === node)
      if (same.length === 1) return { operation: same[0]!.op, candidates: [same[0]!.op], basis: said, onPath }
      return { candidates: [], onPath, basis: said, wrongMethod: { operations: ops, accepts: sortMethods(ops.map((x) => x.request.method)), certain: true } }
    }
  }
  // A lone candidate the answer does not contradict (nor another operation's answer fit better) stays the operation.
  if (a.operation) return best > 0 ? Object.assign({}, a, { onPath, basis: [...a.basis, `the response fits ${a.operation.id}`] }) : Object.assign({}, a, { onPath })
  const fit = narrow(bound, (b) => score(b) === best && best > 0)
  if (!fit.narrowed) return Object.assign({}, a, { onPath, reason: `${a.reason}, and the answer fits ${best > 0 ? 'every one of them' : 'none of their documented successes'}` })
  const basis = [...a.basis, `the response fits ${ids(fit.list)}`]
  return fit.list.length === 1 ? { operation: fit.list[0]!.op, candidates: [fit.list[0]!.op], basis, onPath } : { candidates: fit.list.map((b) => b.op), basis, onPath, reason: `neither the request nor the response tells ${ids(fit.list)} apart` }
}

/** A yield pointer's keys, decoded once: pointers come from the contracts (a few dozen), values at them from every exchange. */
const pointerKeys = new Map<string, readonly string[]>()

function valuesAt(json: unknown, pointer: string): unknown[] {
  let keys = pointerKeys.get(pointer)
  if (!keys) pointerKeys.set(pointer, (keys = pointer.split('/').slice(1).map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))))
  let values: unknown[] = [json]
  for (const key of keys) {
    // What flatMap gave, without its arrays: a list's items (holes skipped, as flat does) for `*`, else an object's member.
    const next: unknown[] = []
    for (const v of values) {
      if (key === '*') {
        if (Array.isArray(v)) for (let i = 0; i < v.length; i++) if (i in v) next.push(v[i])
      } else if (v && typeof v === 'object' && !Array.isArray(v)) next.push((v as Record<string, unknown>)[key])
    }
    values = next
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
    const url = parsedUrl(o.request.url)
    const params = url && bindPath(op.request.path, segmentsOf(url.pathname))
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
    const id = parsedUrl(o.request.url)?.searchParams.get(op.downloads.query)
    return id ? state.media.get(id) : undefined
  } catch {
    return undefined
  }
}
