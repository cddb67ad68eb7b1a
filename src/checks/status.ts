/**
 * `status-conformance`: the status code is one the expectation allows. Statuses that method
 * conformance explains (a 405 on a contracted method, any status on a rejected method) are left to
 * it, so one cause gives one finding. For traffic, an error the application got is a documented
 * answer of the operation (its envelope and code are judged by their own checks), not a status
 * change: an app that asks for an unknown id gets 400, and that is not drift.
 */
import { describeStatus } from '../graph/index.ts'
import { perObservation } from './check.ts'

/** Flags a status code outside the expectation's allowed set. */
export const statusCheck = perObservation('status-conformance', 'the status code is one the contract allows', 'headers', (o, exp, ctx) => {
  const r = o.response
  if (!r || exp.status.includes(r.status)) return []
  if (exp.anyError && r.status >= 400) return []
  const m = exp.methods
  if (m && (m.rejects.includes(o.request.method as never) || (r.status === 405 && m.accepts.includes(o.request.method as never)))) return []
  const expected = exp.status.join(' or ')
  const actual = describeStatus(r)
  const wasSuccess = exp.status.every((s) => s < 400)
  const consequence = wasSuccess && r.status >= 400
    ? 'Calls that used to succeed now fail: clients treat this as an error, and rate limiters or retry loops may make it worse (Jan 20 2026: valid calls rejected, clients blocked for hours).'
    : !wasSuccess && r.status < 400
      ? 'A call the contract says Meta rejects now succeeds: validation the client relies on may be gone.'
      : 'Clients that branch on the status code take a different path.'
  const v = ctx.variant
  if (v?.basePassed) {
    // The base request passed in this run: the difference is the trigger, and that is what to say first.
    const trigger = v.differences.join(' and ')
    return [{
      severity: 'breaking',
      title: `Status ${r.status} instead of ${expected} with ${trigger}`,
      message: `Received: ${actual}\nContract: ${expected}\nTrigger: ${trigger}. ${v.of}, the same request without it, passed in this run, so this difference alone makes the call fail.\n${consequence}\nWorkaround: stop sending it until the upstream is fixed (on Jan 20 2026 a BSP removed phone_number_id from its calls to recover).`,
      expected,
      actual,
    }]
  }
  return [{
    severity: 'breaking',
    title: `Status ${r.status} instead of ${expected}`,
    message: `Received: ${actual}\nContract: ${expected}\n${consequence}`,
    expected,
    actual,
  }]
}, (o) => (o.response ? `${o.response.status} ${o.request.method}` : ''))
