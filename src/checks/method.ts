/**
 * `method-conformance`: the endpoint accepts the methods the expectation says it accepts and
 * rejects the ones it rejects. Feb 6 2026: a client sent POST with `method=get` in the body; some
 * Graph servers honoured it and others answered 405, so the failure was intermittent.
 */
import { describeStatus } from '../graph/index.ts'
import { perObservation, responseHeader } from './check.ts'

/** Flags a rejected method that was accepted, or a contracted method that was refused. */
export const methodCheck = perObservation('method-conformance', 'the endpoint accepts and rejects the contracted methods', 'headers', (o, exp) => {
  const m = exp.methods
  const r = o.response
  if (!m || !r) return []
  const method = o.request.method as (typeof m.accepts)[number]
  const allow = responseHeader(r, 'allow')
  if (m.rejects.includes(method)) {
    // Traffic: any error answer is a rejection; a probe names the rejection it expects.
    if (exp.status.includes(r.status) || (exp.anyError && r.status >= 400)) return []
    const accepted = r.status >= 200 && r.status < 300
    const body = o.request.bodyExcerpt ? ` with body ${o.request.bodyExcerpt}` : ''
    const rejection = exp.status.length ? exp.status.join(' or ') : 'an error'
    return [{
      severity: 'breaking',
      title: accepted ? `${method} was accepted (contract: rejected)` : `${method} rejected with ${r.status} instead of ${rejection}`,
      message:
        `Received: ${describeStatus(r)} for ${method}${body}\nContract: ${method} is rejected (${rejection}); the endpoint takes ${m.accepts.join(', ') || 'other methods'}\n` +
        (accepted
          ? 'Some servers honour the legacy `method=get` body override and others answer 405, so a client that sends POST fails intermittently (Feb 6 2026 incident). Clients must send GET.'
          : 'The rejection changed shape: clients that recognise the old answer will misread this one.'),
      expected: `${method} rejected with ${rejection}`,
      actual: accepted ? `${method} accepted: ${r.status}` : describeStatus(r),
    }]
  }
  if (m.accepts.includes(method) && r.status === 405) {
    return [{
      severity: 'breaking',
      title: `${method} now rejected with 405 Method Not Allowed`,
      message: `Received: ${describeStatus(r)}${allow ? ` (Allow: ${allow})` : ''}\nContract: the endpoint accepts ${m.accepts.join(', ')}\nEvery client using ${method} on this endpoint fails.`,
      expected: `${method} accepted`,
      actual: `405${allow ? `, Allow: ${allow}` : ''}`,
    }]
  }
  return []
}, (o, exp) => (exp.methods && o.response ? `${o.request.method} ${o.response.status}` : ''))
