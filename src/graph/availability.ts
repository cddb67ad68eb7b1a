/**
 * Whether an exchange says anything about the upstream's contract at all. Meta documents up to 5
 * minutes of downtime during API updates (error 2, HTTP 503), rate limits (429; codes 4, 80007,
 * 130429), and a token can be rejected (190). None of these is drift: the judge leaves such
 * exchanges out of the content checks, and the runner retries or stops on them.
 */
import type { Observation } from '../model/observation.ts'
import { graphError, type GraphErrorInfo } from './errors.ts'

/**
 * `unreachable`: no connection. `outage`: Meta says it is down (HTTP 503, Graph error 2 "API
 * Service", 131016). `throttled`: rate limited (HTTP 429, codes 4, 80007, 130429). `credentials`:
 * the token was rejected, see `credentialFailure`.
 */
export type Availability = 'ok' | 'unreachable' | 'outage' | 'throttled' | 'credentials'

/** What availability rules need to know about the expectation: whether it is the run's preflight. */
export interface PreflightFlag {
  preflight: boolean
}

const OUTAGE_CODES = new Set([2, 131016])
const THROTTLE_CODES = new Set([4, 80007, 130429])
// 190 subcodes that always mean the token itself is unusable (expired, password changed, ...).
const SESSION_SUBCODES = new Set([458, 459, 460, 463, 464, 467, 492])

/** What each session subcode means, in words. */
export const SESSION_SUBCODE_MEANING: Readonly<Record<number, string>> = {
  458: 'the app is not installed for this user',
  459: 'the user is checkpointed',
  460: 'the password changed',
  463: 'the token expired',
  464: 'the user is unconfirmed',
  467: 'the token is invalid (logged out or revoked)',
  492: 'the session is invalid',
}

/** Classifies an observation; a preflight treats any 190 as a credential failure. */
export function availabilityOf(o: Observation, subject?: PreflightFlag): Availability {
  if (o.transportError?.unreachable) return 'unreachable'
  const r = o.response
  if (!r) return 'ok'
  const e = graphError(r.body.json)
  if (credentialFailure(o, subject)) return 'credentials'
  if (r.status === 503 || (e?.code !== undefined && OUTAGE_CODES.has(e.code))) return 'outage'
  if (r.status === 429 || (e?.code !== undefined && THROTTLE_CODES.has(e.code))) return 'throttled'
  return 'ok'
}

/**
 * The Graph error when the token was rejected: code 190 with a session subcode anywhere, or any
 * 190 on the preflight. A bare 190 elsewhere is judged as drift: on Jan 20 2026 one optional
 * parameter made Meta answer 190 "Cannot parse access token" for a valid token.
 */
export function credentialFailure(o: Observation, subject?: PreflightFlag): GraphErrorInfo | undefined {
  if (!o.request.tokenSent || !o.response) return undefined
  const e = graphError(o.response.body.json)
  if (e?.code !== 190) return undefined
  if (subject?.preflight || (e.subcode !== undefined && SESSION_SUBCODES.has(e.subcode))) return e
  return undefined
}
