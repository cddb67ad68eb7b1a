/**
 * `credentials`: the upstream rejected our own access token (Graph error 190 on the preflight
 * contract, or a session subcode such as 463 "expired" anywhere). Nothing about the upstream can be
 * judged then, so the runner stops and this is the one finding, instead of a wall of per-contract
 * failures that all have the same cause.
 */
import { credentialFailure, describeStatus, perObservation } from './check.ts'

const SUBCODE_MEANING: Record<number, string> = {
  458: 'the app is not installed for this user',
  459: 'the user is checkpointed',
  460: 'the password changed',
  463: 'the token expired',
  464: 'the user is unconfirmed',
  467: 'the token is invalid (logged out or revoked)',
  492: 'the session is invalid',
}

/** Reports a rejected access token once, as info: the run becomes inconclusive, not red. */
export const credentialsCheck = perObservation('credentials', 'the access token is accepted', 'any', (o, contract) => {
  const e = credentialFailure(o, contract)
  if (!e || !o.response) return []
  const why = e.subcode !== undefined && SUBCODE_MEANING[e.subcode] ? ` (${SUBCODE_MEANING[e.subcode]})` : ''
  return [{
    severity: 'info',
    title: `Access token rejected: Graph error 190${e.subcode !== undefined ? `/${e.subcode}` : ''}${why}`,
    message: `Received: ${describeStatus(o.response)}\nThe upstream rejects WHATSAPP_ACCESS_TOKEN, so nothing about its behaviour could be checked: this is not API drift, and the remaining contracts were not run.\nFix: generate a new token (Business Settings > System users, with whatsapp_business_messaging and whatsapp_business_management), update the secret, and re-run.`,
    expected: 'the token accepted',
    actual: describeStatus(o.response),
  }]
})
