/**
 * `parameter-rejection`: traffic only. Jan 20 2026: Meta answered Graph error 190 "Invalid OAuth
 * access token - Cannot parse access token" to media retrievals that carried the optional,
 * documented phone_number_id, while the same retrievals without it kept working with the same
 * token. One such error alone looks like the application's own bad token; next to a success of
 * the same request without the parameter it is not: the parameter is the trigger, and the
 * upstream rejects a valid token. Said with the title a variant probe uses for the same thing.
 *
 * Only token errors (190 without a session subcode) count: a documented parameter error (100
 * "Param phone_number_id is not a valid whatsapp business phone number id") is the application
 * passing a wrong value, which the operation documents.
 */
import { describeStatus, graphError } from '../graph/index.ts'
import type { Observation } from '../model/observation.ts'
import type { Check } from './check.ts'

const SESSION_SUBCODES = new Set([458, 459, 460, 463, 464, 467, 492])
/** How a request carries its token, not what it asks for. */
const CREDENTIAL_PARAMS = new Set(['access_token', 'appsecret_proof'])

function parts(o: Observation): { path: string; query: URLSearchParams } | undefined {
  try {
    const u = new URL(o.request.url)
    for (const k of CREDENTIAL_PARAMS) u.searchParams.delete(k)
    return { path: `${o.request.method} ${u.host}${u.pathname}`, query: u.searchParams }
  } catch {
    return undefined
  }
}

/**
 * For a token error (190, no session subcode): the success of the same request without some of its
 * parameters elsewhere in the observations, and those parameters; undefined when there is none.
 */
export function rejectedParameters(o: Observation, observations: readonly Observation[]): { twin: Observation; extra: string[] } | undefined {
  const r = o.response
  const e = graphError(r?.body.json)
  if (!r || r.status < 400 || e?.code !== 190 || (e.subcode !== undefined && SESSION_SUBCODES.has(e.subcode))) return undefined
  const mine = parts(o)
  if (!mine) return undefined
  const keys = [...new Set(mine.query.keys())]
  // The same method, host and path, answered with a success, sent with a strict subset of these parameters.
  for (const s of observations) {
    const theirs = parts(s)
    if (!s.response || s.response.status >= 300 || !theirs || theirs.path !== mine.path) continue
    const have = [...new Set(theirs.query.keys())]
    if (have.length < keys.length && have.every((k) => keys.includes(k) && theirs.query.get(k) === mine.query.get(k))) return { twin: s, extra: keys.filter((k) => !have.includes(k)) }
  }
  return undefined
}

/** Flags a token error that only a request with an extra optional parameter got. */
export const parameterRejectionCheck: Check = {
  id: 'parameter-rejection',
  title: 'an optional parameter does not make a working request fail',
  needs: 'body',
  run(observations, exp) {
    if (!exp.anyError) return []
    const out: ReturnType<Check['run']> = []
    observations.forEach((o, i) => {
      const hit = rejectedParameters(o, observations)
      if (!hit) return
      const { twin, extra } = hit
      const r = o.response!
      const documented = extra.filter((k) => exp.operation.request.query[k] !== undefined)
      const trigger = extra.map((k) => `query parameter ${k}`).join(' and ')
      out.push({
        check: 'parameter-rejection',
        severity: 'breaking',
        title: `Status ${r.status} instead of ${twin.response!.status} with ${trigger}`,
        message: `Received: ${describeStatus(r)}\nThe same request without ${extra.join(', ')} succeeded in this traffic (${twin.response!.status}, ${twin.startedAt}), so the token is valid and ${documented.length === extra.length ? `the documented optional parameter${extra.length === 1 ? '' : 's'}` : 'the parameter'} alone make${extra.length === 1 ? 's' : ''} the call fail.\nContract: ${exp.file} documents ${documented.length ? documented.join(', ') : 'none of them'} as optional.\nCalls that used to succeed now fail, and a rate limiter that counts auth errors may block innocent clients (Jan 20 2026: the optional phone_number_id made Meta answer 190 to valid tokens for hours). Workaround: stop sending ${extra.join(', ')} until the upstream is fixed.`,
        expected: `${twin.response!.status} with or without ${extra.join(', ')}`,
        actual: `${r.status} (Graph error 190) with ${extra.join(', ')}`,
        observationIndex: i,
      })
    })
    return out
  },
  // Alone, an exchange is no twin of itself: the twin is a success, and only an error can have one.
  project: () => '',
}
