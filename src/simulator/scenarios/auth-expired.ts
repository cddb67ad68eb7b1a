/** `auth-expired`: Graph error 190 subcode 463 on every call made with the token (seed 003). */
import { graphErrorResponse } from '../graph.ts'
import { graphContextFor, isGraphPath, tokenOf } from '../routes.ts'
import type { Scenario } from '../scenario.ts'

export const authExpired: Scenario = {
  name: 'auth-expired',
  description: 'Every call with the configured token answers 401, OAuthException 190 subcode 463 "Session has expired".',
  source: 'FACTS.md ("190 subcode 463, Error validating access token: Session has expired"); seed 003 (authentication and authorization errors)',
  async respond(req, next, ctx) {
    if (!isGraphPath(req) || tokenOf(req) !== ctx.state.credentials.token) return next()
    return graphErrorResponse(graphContextFor(req, ctx.state), {
      status: 401,
      message: 'Error validating access token: Session has expired on Friday, 20-Nov-26 09:00:00 PST. The current time is Sunday, 22-Nov-26 02:00:00 PST.',
      type: 'OAuthException',
      code: 190,
      subcode: 463,
    })
  },
}
