/**
 * What the checks judge observations against. Two sources, one shape:
 *
 * - a probe with its operation (`check`): the statuses the probe expects, and one response
 *   expectation for them, taken from the operation and narrowed by whatever the probe says;
 * - an operation alone (traffic in `verify`, `proxy`, `gate`): every response it documents, by
 *   status, and any 4xx/5xx judged by its Graph error envelope. An error the application asked for
 *   is an answer the operation documents, not drift.
 */
import type { FramingExpectation, HeaderExpectations, MediaExpectation, MethodExpectation, Operation, Probe, ResponseExpectation } from './types.ts'

/** The expectation a set of observations is judged against. */
export interface Expectation {
  /** Findings and results are reported under this id: the probe's, or the operation's for traffic. */
  id: string
  title: string
  /** The file the expectation comes from (the probe's, or the operation's). */
  file: string
  operation: Operation
  /** `GET /{api_version}/{media_id}?phone_number_id={phone_number_id}`: the request, free of ids and secrets. */
  request: string
  /** Statuses the answer may have (content checks judge these). */
  status: readonly number[]
  /** Traffic: any 4xx/5xx is a documented answer, judged by the operation's error envelope and codes. */
  anyError: boolean
  /** Content expectations by status. */
  responses: readonly ResponseExpectation[]
  /** Framing for statuses no response expectation describes (a probe's framing holds whatever the status: Jan 20 2026 hit errors too). */
  framing: FramingExpectation
  methods?: MethodExpectation
  /** Media integrity, templated (`{media_sha256}`), for probes; traffic supplies it per download. */
  media?: MediaExpectation
  /** A 190 here means our token is rejected. */
  preflight: boolean
  variant?: { of: string; differences: readonly string[] }
}

const NO_HEADERS: HeaderExpectations = { required: [], forbidden: [], patterns: [] }

/** `GET /{api_version}/{media_id}?phone_number_id={phone_number_id}` for a probe. */
export function probeRequestLine(c: Pick<Probe, 'request'>): string {
  const q = Object.entries(c.request.query)
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
  return `${c.request.method} ${c.request.path ?? c.request.url}${q ? `?${q}` : ''}`
}

/** `GET /{api_version}/{media_id}` (or `GET https://lookaside.fbsbx.com/whatsapp_business/attachments/`) for an operation. */
export function operationRequestLine(op: Operation): string {
  return `${op.request.method} ${op.request.host ? `https://${op.request.host}` : ''}${op.request.path}`
}

/** The operation's response expectation for a status: its own, or the error envelope for a 4xx/5xx. */
export function operationResponse(op: Operation, status: number): ResponseExpectation | undefined {
  return op.responses.find((r) => (r.statuses as readonly number[]).includes(status)) ?? (status >= 400 ? op.error : undefined)
}

const cache = new WeakMap<object, Expectation>()

/** A probe's expectation: its statuses, and the operation's response for them narrowed by the probe. */
export function probeExpectation(probe: Probe, op: Operation): Expectation {
  const hit = cache.get(probe)
  if (hit) return hit
  const e = probe.expect
  const base = e.status.map((s) => operationResponse(op, s)).find((r) => r !== undefined)
  const framing = e.framing ?? base?.framing ?? 'any'
  const contentType = e.contentType ?? base?.contentType
  const bodySchema = e.bodySchema ?? base?.bodySchema
  // A probe that pins error codes means exactly those: one outside its set is breaking.
  const error = e.error ? { ...e.error, severity: 'breaking' as const, includesCommon: false } : base?.error
  const response: ResponseExpectation = {
    statuses: e.status,
    framing,
    ...(contentType ? { contentType } : {}),
    headers: e.headers ?? base?.headers ?? NO_HEADERS,
    ...(bodySchema ? { bodySchema } : {}),
    ...(error ? { error } : {}),
  }
  const exp: Expectation = {
    id: probe.id,
    title: probe.title,
    file: probe.file,
    operation: op,
    request: probeRequestLine(probe),
    status: e.status,
    anyError: false,
    responses: [response],
    framing,
    ...(e.methods ? { methods: e.methods } : {}),
    ...(e.media ? { media: e.media } : {}),
    preflight: probe.preflight,
    ...(probe.variant ? { variant: probe.variant } : {}),
  }
  cache.set(probe, exp)
  return exp
}

/** An operation's expectation for traffic: every documented response, and any error judged by its envelope. */
export function operationExpectation(op: Operation): Expectation {
  const hit = cache.get(op)
  if (hit) return hit
  const exp: Expectation = {
    id: op.id,
    title: op.title,
    file: op.file,
    operation: op,
    request: operationRequestLine(op),
    status: op.responses.flatMap((r) => r.statuses as readonly number[]),
    anyError: op.error !== undefined,
    responses: [...op.responses, ...(op.error ? [op.error] : [])],
    framing: 'any',
    preflight: false,
  }
  cache.set(op, exp)
  return exp
}

/** The response expectation an observed status is judged by, or undefined when none describes it (the status finding says why). */
export function responseFor(exp: Expectation, status: number): ResponseExpectation | undefined {
  for (const r of exp.responses) {
    if (r.statuses === 'error' ? status >= 400 && exp.anyError : r.statuses.includes(status)) return r
  }
  return undefined
}

/**
 * Traffic that used a method no operation on the node takes (POST to a media id): judged as a
 * rejection probe would be, so an upstream that accepts it shows (Feb 6 2026), and any error
 * answer counts as the rejection.
 */
export function rejectedMethodExpectation(op: Operation, method: MethodExpectation['rejects'][number], accepts: readonly MethodExpectation['accepts'][number][]): Expectation {
  const base = operationExpectation(op)
  return {
    ...base,
    request: `${method} ${op.request.host ? `https://${op.request.host}` : ''}${op.request.path}`,
    status: [],
    responses: op.error ? [op.error] : [],
    methods: { accepts: [...accepts], rejects: [method] },
  }
}
