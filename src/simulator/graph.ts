/**
 * How Graph API responses look on the wire, per FACTS.md and the Postman captures: header set and
 * order, cache headers that differ between success and error, `www-authenticate` on 400/401,
 * `x-fb-request-id` equal to the body's `fbtrace_id` on errors, usage headers.
 */
import type { RawHeader } from '../model/observation.ts'

/** A response the simulator is about to write. Scenarios may rewrite any part of it. */
export interface SimResponse {
  status: number
  statusText?: string
  /** Headers in the order they will be written, without Content-Length / Transfer-Encoding (framing adds those). */
  headers: RawHeader[]
  /** Whole body, or chunks produced on demand (large media). */
  body: Buffer | { chunks: () => Iterable<Buffer>; size: number }
  framing: 'content-length' | 'chunked'
}

/** Per-request facts the header builder needs. */
export interface GraphContext {
  /** Version the caller asked for, e.g. `v23.0`. */
  requested: string
  /** Version served (differs when auto-upgraded). */
  served: string
  ids: { requestId: string; traceId: string; debug: string }
  /** WABA id when the call resolved to one (x-business-use-case-usage), else app usage. */
  wabaId?: string
}

/** Error description in Graph terms. */
export interface GraphErrorSpec {
  status: number
  message: string
  type: string
  code: number
  subcode?: number
  errorData?: Record<string, unknown>
  userTitle?: string
  userMsg?: string
  isTransient?: boolean
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Payload Too Large', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' }

/** The reason phrase Graph sends for a status. */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? ''
}

function usageHeader(ctx: GraphContext): RawHeader {
  return ctx.wabaId
    ? ['x-business-use-case-usage', JSON.stringify({ [ctx.wabaId]: [{ type: 'whatsapp', call_count: 1, total_cputime: 1, total_time: 1, estimated_time_to_regain_access: 0 }] })]
    : ['x-app-usage', JSON.stringify({ call_count: 1, total_cputime: 1, total_time: 1 })]
}

/** Graph headers in Meta's order. `wwwAuthenticate` is the error message for 400/401 errors. */
export function graphHeaders(ctx: GraphContext, kind: 'success' | 'error', wwwAuthenticate?: string): RawHeader[] {
  const h: RawHeader[] = [
    ['Content-Type', 'application/json; charset=UTF-8'],
    ['Vary', 'Origin'],
    ['Vary', 'Accept-Encoding'],
    usageHeader(ctx),
    ['Access-Control-Allow-Origin', '*'],
    ['facebook-api-version', ctx.served],
  ]
  if (ctx.served !== ctx.requested) {
    h.push(['x-ad-api-version-warning', `The call has been auto-upgraded to ${ctx.served} as ${ctx.requested} will be deprecated.`])
  }
  h.push(
    ['Strict-Transport-Security', 'max-age=15552000; preload'],
    ['Pragma', 'no-cache'],
    ['Cache-Control', kind === 'success' ? 'private, no-cache, no-store, must-revalidate' : 'no-store'],
    ['Expires', 'Sat, 01 Jan 2000 00:00:00 GMT'],
  )
  if (wwwAuthenticate !== undefined) h.push(['WWW-Authenticate', `OAuth "Facebook Platform" "invalid_request" "${wwwAuthenticate.replace(/"/g, "'")}"`])
  h.push(
    ['x-fb-request-id', ctx.ids.requestId],
    ['x-fb-trace-id', ctx.ids.traceId],
    ['x-fb-rev', '1029384756'],
    ['X-FB-Debug', ctx.ids.debug],
    ['Date', new Date().toUTCString()],
    ['Alt-Svc', 'h3=":443"; ma=86400'],
    ['Connection', 'keep-alive'],
  )
  return h
}

/** A 200 JSON response. */
export function graphJson(ctx: GraphContext, body: unknown, status = 200): SimResponse {
  return { status, statusText: statusText(status), headers: graphHeaders(ctx, 'success'), body: Buffer.from(JSON.stringify(body)), framing: 'content-length' }
}

/** A Graph error envelope with the headers Meta sends with it. */
export function graphErrorResponse(ctx: GraphContext, e: GraphErrorSpec): SimResponse {
  const error: Record<string, unknown> = { message: e.message, type: e.type, code: e.code }
  if (e.subcode !== undefined) error.error_subcode = e.subcode
  if (e.errorData) error.error_data = e.errorData
  if (e.isTransient !== undefined) error.is_transient = e.isTransient
  if (e.userTitle) error.error_user_title = e.userTitle
  if (e.userMsg) error.error_user_msg = e.userMsg
  error.fbtrace_id = ctx.ids.requestId
  const www = e.status === 400 || e.status === 401 ? e.message : undefined
  return { status: e.status, statusText: statusText(e.status), headers: graphHeaders(ctx, 'error', www), body: Buffer.from(JSON.stringify({ error })), framing: 'content-length' }
}

/** The Graph errors the simulator produces, by name, with Meta's wording. */
export const ERRORS = {
  tokenMissing: (): GraphErrorSpec => ({ status: 400, message: '(#104) An access token is required to request this resource.', type: 'OAuthException', code: 104 }),
  tokenUnparsable: (): GraphErrorSpec => ({ status: 401, message: 'Invalid OAuth access token - Cannot parse access token', type: 'OAuthException', code: 190 }),
  unsupported: (method: string, id: string): GraphErrorSpec => ({
    status: 400,
    message: `Unsupported ${method.toLowerCase()} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
    type: 'GraphMethodException',
    code: 100,
    subcode: 33,
  }),
  invalidParameter: (details: string): GraphErrorSpec => ({ status: 400, message: '(#100) Invalid parameter', type: 'OAuthException', code: 100, errorData: { messaging_product: 'whatsapp', details } }),
  requiredParameter: (name: string): GraphErrorSpec => ({ status: 400, message: `(#100) The parameter ${name} is required.`, type: 'OAuthException', code: 100 }),
  phoneNumberIdMismatch: (): GraphErrorSpec => ({ status: 400, message: 'Param phone_number_id is not a valid whatsapp business phone number id ID', type: 'OAuthException', code: 100 }),
  parameterInvalid: (details: string): GraphErrorSpec => ({ status: 400, message: '(#131009) Parameter value is not valid', type: 'OAuthException', code: 131009, errorData: { messaging_product: 'whatsapp', details } }),
  parameterMissing: (details: string): GraphErrorSpec => ({ status: 400, message: '(#131008) Required parameter is missing', type: 'OAuthException', code: 131008, errorData: { messaging_product: 'whatsapp', details } }),
}
