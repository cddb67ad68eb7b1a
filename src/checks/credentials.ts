/**
 * `credentials`: the upstream rejected our own access token (Graph error 190 on the preflight
 * contract, or a session subcode such as 463 "expired" anywhere). Nothing about the upstream can be
 * judged then, so the runner stops and this is the one finding, instead of a wall of per-contract
 * failures that all have the same cause.
 */
import { credentialFailure, describeStatus, SESSION_SUBCODE_MEANING } from '../graph/index.ts'
import { perObservation } from './check.ts'

/** Reports a rejected access token once, as info: the run becomes inconclusive, not red. */
export const credentialsCheck = perObservation('credentials', 'the access token is accepted', 'any', (o, exp) => {
  const e = credentialFailure(o, exp)
  if (!e || !o.response) return []
  const why = e.subcode !== undefined && SESSION_SUBCODE_MEANING[e.subcode] ? ` (${SESSION_SUBCODE_MEANING[e.subcode]})` : ''
  const title = `Access token rejected: Graph error 190${e.subcode !== undefined ? `/${e.subcode}` : ''}${why}`
  if (exp.anyError) {
    // Traffic: the application's own token, not ours.
    return [{
      severity: 'info',
      title,
      message: `Received: ${describeStatus(o.response)}\nThe application's access token was rejected, so this exchange says nothing about the API's behaviour: this is not API drift.\nFix (for the application): generate a new token with whatsapp_business_messaging and whatsapp_business_management.`,
      expected: 'the token accepted',
      actual: describeStatus(o.response),
    }]
  }
  return [{
    severity: 'info',
    title,
    message: `Received: ${describeStatus(o.response)}\nThe upstream rejects WHATSAPP_ACCESS_TOKEN, so nothing about its behaviour could be checked: this is not API drift, and the remaining contracts were not run.\nFix: generate a new token (Business Settings > System users, with whatsapp_business_messaging and whatsapp_business_management), update the secret, and re-run.`,
    expected: 'the token accepted',
    actual: describeStatus(o.response),
  }]
}, (o, exp) => {
  // The title names the subcode; anyError (traffic or probe) is the expectation's.
  const e = o.response && credentialFailure(o, exp)
  return e ? `190 ${e.subcode}` : ''
})
