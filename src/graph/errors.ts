/**
 * The Graph error envelope, read leniently, and the codes every Graph call may answer with.
 * `{"error": {"message", "type", "code", "error_subcode"?, "error_data"?, "fbtrace_id"?, ...}}`
 * (FACTS.md "The error envelope"). Checks and the judge read errors through here only.
 */
import type { ObservedResponse } from '../model/observation.ts'
import { IdentityMemo } from '../util/identity-memo.ts'

/** The Graph error inside a body, if the body is a Graph error envelope. */
export interface GraphErrorInfo {
  message?: string
  type?: string
  code?: number
  subcode?: number
  fbtraceId?: string
  isTransient?: boolean
}

/** The last bodies read (the checks judging one exchange ask about its body several times); not a WeakMap (see IdentityMemo). */
const parsedErrors = new IdentityMemo<object, GraphErrorInfo | undefined>(8)

/** Reads `{"error": {...}}` leniently: fields with the wrong type are left out, not coerced. Memoised per body. */
export function graphError(body: unknown): GraphErrorInfo | undefined {
  if (!body || typeof body !== 'object') return undefined
  return parsedErrors.get(body, readGraphError)
}

function readGraphError(body: object): GraphErrorInfo | undefined {
  if (!('error' in body)) return undefined
  const e = (body as { error: unknown }).error
  if (!e || typeof e !== 'object') return undefined
  const r = e as Record<string, unknown>
  const info: GraphErrorInfo = {}
  if (typeof r.message === 'string') info.message = r.message
  if (typeof r.type === 'string') info.type = r.type
  if (typeof r.code === 'number') info.code = r.code
  if (typeof r.error_subcode === 'number') info.subcode = r.error_subcode
  if (typeof r.fbtrace_id === 'string') info.fbtraceId = r.fbtrace_id
  if (typeof r.is_transient === 'boolean') info.isTransient = r.is_transient
  return info
}

/** `100/33`: a Graph error's code and subcode. */
export function errorCodeLabel(e: GraphErrorInfo): string {
  return `${e.code ?? '?'}${e.subcode !== undefined ? `/${e.subcode}` : ''}`
}

/** `400 Bad Request (OAuthException 190: Invalid OAuth access token ...)`: a status with the Graph error that explains it. */
export function describeStatus(r: ObservedResponse): string {
  const base = `${r.status}${r.statusText ? ` ${r.statusText}` : ''}`
  const e = graphError(r.body.json)
  if (!e) return base
  const code = e.code !== undefined ? ` ${errorCodeLabel(e)}` : ''
  return `${base} (${e.type ?? 'error'}${code}${e.message ? `: ${e.message}` : ''})`
}

/**
 * Codes any Graph call may answer with, whatever the operation: the platform's own (token,
 * permission, rate limit, downtime, generic parameter errors). An operation's contract lists only
 * what is particular to it. Sources: FACTS.md "The error envelope"; seed 004's catalogue (1, 2,
 * 33, 100, 131000, 131005, 131008, 131009, 131016); Meta's Graph API error handling page (4, 10,
 * 17, 190, 200-299, 341, 368, 613); the Cloud API throughput and pair rate limits (80007, 130429,
 * 131056).
 */
export const GRAPH_COMMON_CODES: readonly number[] = [
  1, 2, 3, 4, 10, 17, 33, 100, 190, 200, 294, 341, 368, 613, 80007, 130429, 130497, 131000, 131005, 131008, 131009, 131016, 131056, 133010,
]

/** Whether a code is one every Graph call may return (permission errors span 200-299). */
export function isCommonGraphCode(code: number): boolean {
  return GRAPH_COMMON_CODES.includes(code) || (code >= 200 && code <= 299)
}
