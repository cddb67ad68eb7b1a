/** `media-chunked`: retrieve-media responses switch from Content-Length to chunked (seed 000). */
import { isRetrieveMedia, type Scenario } from '../scenario.ts'

export const mediaChunked: Scenario = {
  name: 'media-chunked',
  description: 'GET /{media-id} answers with Transfer-Encoding: chunked instead of Content-Length.',
  source: 'seed 000: Meta incident of 20 Jan 2026 ("changed the response delivery method for the /media_id endpoint from a fixed Content-Length payload to Transfer-Encoding: chunked")',
  async respond(req, next, ctx) {
    const res = await next()
    return isRetrieveMedia(req, ctx.state) ? { ...res, framing: 'chunked' } : res
  },
}
