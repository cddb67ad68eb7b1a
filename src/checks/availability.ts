/**
 * `availability`: Meta says it is down (HTTP 503, Graph error 2). Its docs promise up to 5 minutes
 * of downtime during API updates. That is not drift: the contract could not be judged, and the run
 * becomes inconclusive rather than red.
 */
import { availabilityOf, describeStatus } from '../graph/index.ts'
import { perObservation } from './check.ts'

/** Reports samples answered with Meta's downtime error, as info. */
export const availabilityCheck = perObservation('availability', 'the upstream is up', 'any', (o, exp) => {
  const a = availabilityOf(o, exp)
  if (!o.response || (a !== 'outage' && a !== 'throttled')) return []
  if (a === 'throttled') {
    return [{
      severity: 'info',
      title: `Upstream throttling requests (${o.response.status})`,
      message: `Received: ${describeStatus(o.response)}\nThe upstream rate-limited this run. This is not drift; the contract could not be checked. Re-run later, or lower the probe rate.`,
      expected: 'the upstream answering',
      actual: describeStatus(o.response),
    }]
  }
  return [{
    severity: 'info',
    title: `Upstream in downtime (${o.response.status})`,
    message: `Received: ${describeStatus(o.response)}\nMeta documents up to 5 minutes of downtime (error 2, "API Service") while it updates the API. This is not drift; the contract could not be checked. Re-run later; if it lasts, check https://metastatus.com.`,
    expected: 'the upstream answering',
    actual: describeStatus(o.response),
  }]
}, (o, exp) => (o.response ? `${availabilityOf(o, exp)} ${o.response.status}` : ''))
