/** `media-phone-number-id-rejected`: the optional phone_number_id makes retrieve-media fail with OAuth 190 (seed 000). */
import { graphErrorResponse } from '../graph.ts'
import { graphContextFor, mediaIdOf } from '../routes.ts'
import type { Scenario } from '../scenario.ts'

export const mediaPhoneNumberIdRejected: Scenario = {
  name: 'media-phone-number-id-rejected',
  description: 'GET /{media-id}?phone_number_id=... answers 400 OAuthException 190 "Cannot parse access token"; the same call without the parameter still works.',
  source: 'seed 000: Meta incident of 20 Jan 2026 ("returning a Bad Request response when an optional phone number ID was included"; "Invalid OAuth access token - Cannot parse access token")',
  async respond(req, next, ctx) {
    if (req.method === 'GET' && req.url.searchParams.has('phone_number_id') && mediaIdOf(req, ctx.state)) {
      return graphErrorResponse(graphContextFor(req, ctx.state), { status: 400, message: 'Invalid OAuth access token - Cannot parse access token', type: 'OAuthException', code: 190 })
    }
    return next()
  },
}
