/**
 * `host-allowlist`: a URL we were told to call (a media download URL from a response body) points
 * at a host the token may not go to. The transport already withheld the token; this says why.
 */
import { perObservation } from './check.ts'

/** Flags requests whose URL host is outside the token allowlist. */
export const hostAllowlistCheck = perObservation('host-allowlist', 'URLs from responses stay on allowlisted hosts', 'any', (o) => {
  const w = o.request.tokenWithheld
  if (!w) return []
  return [{
    severity: 'breaking',
    title: `URL points to a host outside the allowlist: ${w.host}`,
    message: `Received: a URL on ${w.host}\nContract: media and API URLs stay on ${w.allowed.join(', ')}\ndriftwatch did not send the access token there. A client that follows this URL with its token leaks it. If Meta really moved to a new host, verify it and add it with --allow-host.`,
    expected: w.allowed.join(', '),
    actual: w.host,
  }]
}, (o) => (o.request.tokenWithheld ? `withheld ${o.request.tokenWithheld.host}` : ''))
