/** `media-post-intermittent`: a fleet where some servers honour POST with method=get and others answer 405 (seed 001). */
import { mediaIdOf } from '../routes.ts'
import type { Scenario } from '../scenario.ts'

// Which backend takes the nth POST: 3 of every 8 refuse with 405, the rest honour the legacy override.
const REFUSES = [false, true, false, false, true, false, true, false]

/** A fresh fleet (its own request counter), so every server instance behaves the same from its first POST. */
export function mediaPostIntermittent(): Scenario {
  let posts = 0
  return {
    name: 'media-post-intermittent',
    description: 'POST /{media-id} with method=get: 5 of every 8 requests reach servers that honour the legacy override (200, like GET); 3 reach servers that answer 405.',
    source: 'seed 001: Intercom RCA, 6-8 Feb 2026 ("the legacy method=get body parameter was honored inconsistently", "varied depending on which upstream server processed it")',
    async respond(req, next, ctx) {
      if (req.method !== 'POST' || !mediaIdOf(req, ctx.state)) return next()
      const refuses = REFUSES[posts++ % REFUSES.length]
      return refuses ? next() : next({ ...req, method: 'GET', body: Buffer.alloc(0) })
    },
  }
}
