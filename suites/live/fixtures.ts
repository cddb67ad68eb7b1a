/** Findings as the judge returns them for one live exchange, and the times of the exchanges. */
import type { Finding, Severity } from '../../src/model/finding.ts'

/** A finding of one exchange (already redacted, as the observer hands it over). */
export function finding(contract: string, over: Partial<Finding> & { n?: number } = {}): Finding {
  const { n = 1, ...rest } = over
  return {
    contract,
    check: 'framing-conformance',
    severity: 'breaking' as Severity,
    title: 'Response framing changed: chunked instead of Content-Length',
    message: 'Received: chunked\nContract: content-length',
    expected: 'content-length',
    actual: 'chunked',
    evidence: { request: `GET https://graph.facebook.com/v23.0/${1000 + n}`, status: 200, curl: `curl -H "Authorization: Bearer $WHATSAPP_ACCESS_TOKEN" https://graph.facebook.com/v23.0/${1000 + n}` },
    samples: 1,
    of: 1,
    since: '2026-01-20T09:00:00.000Z',
    new: true,
    ...rest,
  }
}

/** Epoch ms of the test's exchanges: 09:00 UTC on the day of the Jan 20 2026 incident, plus `s` seconds. */
export const T0 = Date.UTC(2026, 0, 20, 9, 0, 0)
export const at = (s: number) => T0 + s * 1000
