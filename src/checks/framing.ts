/**
 * `framing-conformance`: the body is delimited as contracted (Content-Length vs chunked). Jan 20
 * 2026: Meta switched the media endpoint from Content-Length to Transfer-Encoding: chunked without
 * notice and a BSP's proxy, which expected a length, crashed in a restart loop. Judged on every
 * response, whatever its status: the incident hit errors and successes alike.
 */
import type { Framing } from '../model/observation.ts'
import { expectedResponse, perObservation } from './check.ts'

function describe(f: Framing): string {
  switch (f.kind) {
    case 'content-length':
      return `Content-Length: ${f.declaredLength ?? '?'}`
    case 'chunked':
      return 'Transfer-Encoding: chunked (no Content-Length)'
    case 'close-delimited':
      return 'neither Content-Length nor chunked (body ends when the connection closes)'
    case 'none':
      return 'no body'
  }
}

/** Flags a response whose framing differs from the expectation's. */
export const framingCheck = perObservation('framing-conformance', 'the body framing is as contracted', 'headers', (o, exp) => {
  const r = o.response
  if (!r) return []
  const want = expectedResponse(o, exp)?.spec.framing ?? exp.framing
  if (want === 'any' || r.framing.kind === 'none' || r.framing.kind === want) return []
  const consequence =
    want === 'content-length'
      ? 'Clients and proxies that require a Content-Length (to size a buffer, or to forward the body) fail on this response: in the Jan 20 2026 incident such a proxy crashed in a restart loop. Make the client accept chunked bodies before relying on this endpoint.'
      : 'Clients that stream this body expecting chunks may buffer differently.'
  return [{
    severity: 'breaking',
    title: `Framing changed to ${r.framing.kind} (contract: ${want})`,
    message: `Received: ${describe(r.framing)}; ${r.framing.bytesRead} body bytes read\nContract: ${want === 'content-length' ? 'Content-Length framing' : 'Transfer-Encoding: chunked'}\n${consequence}`,
    expected: want,
    actual: describe(r.framing),
  }]
}, (o) => (o.response ? `${o.response.status} ${o.response.framing.kind}` : ''))
