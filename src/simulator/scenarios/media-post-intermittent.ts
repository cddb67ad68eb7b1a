/**
 * `media-post-intermittent`: a fleet where some servers honour POST with method=get and others answer
 * 405 (seed 001). Which server answers is decided per connection, as behind Meta's load balancers:
 * samples sent over one keep-alive connection all meet one server and agree with each other; only
 * samples over fresh connections meet the split. The refusing servers run a newer build, and say so
 * in `x-fb-rev`, as a gradual rollout would.
 */
import { mediaIdOf } from '../routes.ts'
import { withHeader, type Scenario } from '../scenario.ts'

/** Per backend (connection round-robin): 3 of 8 refuse with 405, the rest honour the legacy override. Backend 0, which the first connection of a run meets, refuses. */
export const REFUSES = [true, false, false, true, false, true, false, false] as const

/** The build the refusing servers run (the others answer with the baseline's x-fb-rev). */
export const NEW_BUILD_REV = '1029400001'

export function mediaPostIntermittent(): Scenario {
  return {
    name: 'media-post-intermittent',
    description: 'POST /{media-id} with method=get: 5 of the 8 servers (pinned per connection) honour the legacy override (200, like GET); 3, running a newer build (x-fb-rev 1029400001), answer 405.',
    source: 'seed 001: Intercom RCA, 6-8 Feb 2026 ("the legacy method=get body parameter was honored inconsistently", "varied depending on which upstream server processed it")',
    async respond(req, next, ctx) {
      const refuses = REFUSES[ctx.backend % REFUSES.length]!
      if (req.method !== 'POST' || !mediaIdOf(req, ctx.state)) {
        const res = await next()
        return refuses ? withHeader(res, 'x-fb-rev', NEW_BUILD_REV) : res
      }
      return refuses ? withHeader(await next(), 'x-fb-rev', NEW_BUILD_REV) : next({ ...req, method: 'GET', body: Buffer.alloc(0) })
    },
  }
}
