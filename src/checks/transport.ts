/**
 * `transport`: the exchange failed below HTTP semantics (reset, truncated, malformed, too large,
 * too slow). Unreachable upstreams are not drift: they are reported as info and make the run
 * inconclusive (the runner decides that from the observation, not from this finding).
 */
import { perObservation } from './check.ts'

const CONSEQUENCE = 'Clients reading this endpoint get an exception instead of a response; code that retries on failure can loop (Jan 20 2026: unexpected response handling put a BSP proxy in a restart loop).'

/** Flags transport-level failures, naming the failure in on-call terms. */
export const transportCheck = perObservation('transport', 'the exchange completes as well-formed HTTP', 'any', (o) => {
  const f = o.transportError
  if (!f) return []
  if (f.unreachable) {
    return [{
      severity: 'info',
      title: `Upstream unreachable (${f.code})`,
      message: `Could not reach the upstream: ${f.message}\nThis is not drift: the contract could not be checked. Check network, DNS and the target URL.`,
      expected: 'a connection',
      actual: `${f.code}: ${f.message}`,
    }]
  }
  const framing = o.response?.framing
  let title: string
  if (f.code === 'DW_BODY_TOO_LARGE') title = 'Response body larger than the size cap'
  else if (f.code.startsWith('HPE_')) title = 'Malformed HTTP response'
  else if (f.code === 'UND_ERR_HEADERS_TIMEOUT' || (f.code === 'DW_DEADLINE' && !o.response)) title = 'No response headers before the timeout'
  else if (f.code === 'UND_ERR_BODY_TIMEOUT' || f.code === 'DW_DEADLINE') title = 'Response body stalled before completing'
  else if (f.phase === 'body' && framing?.declaredLength !== undefined) title = `Response truncated: ${framing.bytesRead} of ${framing.declaredLength} declared bytes`
  else if (f.phase === 'body') title = 'Connection closed before the body was complete'
  else if (f.code === 'ECONNRESET' || f.code === 'UND_ERR_SOCKET') title = 'Connection reset before a response'
  else title = `Transport failure (${f.code})`
  const got = [o.response ? `status ${o.response.status}` : 'no status', framing ? `${framing.kind} framing, ${framing.bytesRead} body bytes read` : undefined].filter(Boolean).join(', ')
  return [{
    severity: 'breaking',
    title,
    message: `Received: ${f.code}: ${f.message} (${got}, during ${f.phase})\nContract: a complete, well-formed HTTP response\n${CONSEQUENCE}`,
    expected: 'a complete, well-formed HTTP response',
    actual: `${f.code} during ${f.phase}: ${f.message}`,
  }]
}, (o) => (o.transportError ? undefined : ''))
