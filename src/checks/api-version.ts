/**
 * `api-version`: the Graph version that served the call (`facebook-api-version`) is the one asked
 * for. Calls to an expiring version are silently auto-upgraded; responses may then follow the
 * newer version's shape.
 */
import { apiVersionIn } from '../graph/index.ts'
import { perObservation, responseHeader } from './check.ts'

/** Warns when the served API version differs from the requested one. */
export const apiVersionCheck = perObservation('api-version', 'the requested API version is the one served', 'headers', (o) => {
  const r = o.response
  // A path without a version is served by the app's default version: nothing was requested to compare with.
  const requested = apiVersionIn(o.request.url)
  if (!r || requested === undefined) return []
  const served = responseHeader(r, 'facebook-api-version')
  if (served === undefined || served === requested) return []
  const warning = responseHeader(r, 'x-ad-api-version-warning')
  return [{
    severity: 'warning',
    title: `Requested ${requested}, served ${served} (auto-upgraded)`,
    message: `Received: facebook-api-version: ${served}${warning ? `\nx-ad-api-version-warning: ${warning}` : ''}\nContract: ${requested}\n${requested} is being retired: responses follow ${served}'s behaviour now. Test the client against ${served} and move --api-version (and the client) to it.`,
    expected: requested,
    actual: served,
  }]
}, (o) => {
  const requested = o.response && apiVersionIn(o.request.url)
  if (requested === undefined) return ''
  const served = responseHeader(o.response!, 'facebook-api-version')
  return served === undefined ? requested : `${requested} ${served}`
})
