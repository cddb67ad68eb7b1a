/**
 * `error-envelope`: every JSON error response is a Graph error envelope: `error.message`,
 * `error.type`, `error.code` always; `error_subcode`, `error_data`, `fbtrace_id`, `is_transient`,
 * `error_user_title`, `error_user_msg` optional with fixed types. Clients decide retry-or-give-up
 * from `code`, so an envelope they cannot read is breaking.
 */
import type { FindingDraft } from '../model/finding.ts'
import { expectedResponse, mediaType, perObservation, responseHeader } from './check.ts'

const OPTIONAL: Record<string, 'integer' | 'object' | 'string' | 'boolean'> = {
  error_subcode: 'integer',
  error_data: 'object',
  fbtrace_id: 'string',
  is_transient: 'boolean',
  error_user_title: 'string',
  error_user_msg: 'string',
}

function typeOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

/** Flags error responses that are not well-formed Graph error envelopes. */
export const errorEnvelopeCheck = perObservation('error-envelope', 'error responses are Graph error envelopes', 'body', (o, exp) => {
  const r = o.response
  if (!r || r.status < 400) return []
  const ct = responseHeader(r, 'content-type')
  const jsonish = (ct !== undefined && mediaType(ct).includes('json')) || r.body.json !== undefined
  if (!jsonish && !expectedResponse(o, exp)?.spec.error) return [] // e.g. a plain 404 from the media download host
  type D = Omit<FindingDraft, 'check' | 'observationIndex'>
  const out: D[] = []
  const fail = (title: string, actual: string) =>
    out.push({
      severity: 'breaking',
      title,
      message: `Received: ${actual}\nContract: {"error": {"message": string, "type": string, "code": integer, ...}}\nClients decide whether to retry from error.code; without a readable envelope they guess.`,
      expected: 'Graph error envelope',
      actual,
    })
  const body = r.body.json
  if (body === undefined) {
    fail('Error response is not JSON', r.body.jsonError ?? `${r.body.size} bytes of ${ct ?? 'untyped'} content`)
    return out
  }
  const e = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).error : undefined
  if (!e || typeof e !== 'object' || Array.isArray(e)) {
    fail('Error response has no "error" object', `top-level keys: ${body && typeof body === 'object' ? Object.keys(body).join(', ') || '(none)' : typeOf(body)}`)
    return out
  }
  const err = e as Record<string, unknown>
  for (const [field, want] of [['message', 'string'], ['type', 'string'], ['code', 'integer']] as const) {
    if (!(field in err)) fail(`Error envelope missing error.${field}`, `error.${field} absent`)
    else if (typeOf(err[field]) !== want) fail(`Error envelope error.${field} is ${typeOf(err[field])} (contract: ${want})`, `error.${field} = ${JSON.stringify(err[field])}`)
  }
  for (const [field, want] of Object.entries(OPTIONAL)) {
    if (field in err && typeOf(err[field]) !== want) fail(`Error envelope error.${field} is ${typeOf(err[field])} (contract: ${want})`, `error.${field} = ${JSON.stringify(err[field])}`)
  }
  const requestId = responseHeader(r, 'x-fb-request-id')
  if (typeof err.fbtrace_id === 'string' && requestId !== undefined && requestId !== err.fbtrace_id) {
    out.push({
      severity: 'info',
      title: 'error.fbtrace_id no longer equals x-fb-request-id',
      message: `Received: fbtrace_id ${err.fbtrace_id}, x-fb-request-id ${requestId}\nContract: they are equal on Graph errors\nSupport tickets quote fbtrace_id; log both until this is understood.`,
      expected: 'fbtrace_id = x-fb-request-id',
      actual: `${err.fbtrace_id} vs ${requestId}`,
    })
  }
  return out
}, (o, exp) => {
  // What the titles say: whether the body is an envelope, and the type of each envelope field that is off.
  const r = o.response
  if (!r || r.status < 400) return ''
  const ct = responseHeader(r, 'content-type')
  const body = r.body.json
  const jsonish = (ct !== undefined && mediaType(ct).includes('json')) || body !== undefined
  if (!jsonish && !expectedResponse(o, exp)?.spec.error) return ''
  if (body === undefined) return 'not json'
  const e = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).error : undefined
  if (!e || typeof e !== 'object' || Array.isArray(e)) return 'no error'
  const err = e as Record<string, unknown>
  let key = ''
  for (const field of ENVELOPE_FIELDS) key += `${field in err ? typeOf(err[field]) : '-'} `
  const requestId = typeof err.fbtrace_id === 'string' ? responseHeader(r, 'x-fb-request-id') : undefined
  return `${key}${requestId !== undefined && requestId !== err.fbtrace_id}`
})

/** Every field of the envelope whose type a title names, required and optional. */
const ENVELOPE_FIELDS = ['message', 'type', 'code', ...Object.keys(OPTIONAL)]
