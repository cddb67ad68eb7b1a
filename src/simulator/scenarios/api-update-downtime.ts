/** `api-update-downtime`: error 2 with HTTP 503 for a window, then recovery (seeds 003, 004). */
import { graphErrorResponse } from '../graph.ts'
import { graphContextFor, isGraphPath } from '../routes.ts'
import type { Scenario } from '../scenario.ts'

/** Options: how long the downtime lasts from the first request, and the Retry-After it sends. */
export interface DowntimeOptions {
  windowMs?: number
  retryAfterSeconds?: number
}

/** A fresh downtime window that opens at the server's first request. */
export function apiUpdateDowntime(options: DowntimeOptions = {}): Scenario {
  const windowMs = options.windowMs ?? 4_000
  const retryAfter = options.retryAfterSeconds ?? 1
  let opened: number | undefined
  return {
    name: 'api-update-downtime',
    description: `Every Graph call answers 503 with Graph error 2 and Retry-After: ${retryAfter} for ${windowMs / 1000} s after the first request, then the API recovers.`,
    source: 'seed 003 ("When we update the API, you might experience up to 5 minutes of downtime", error 2); seed 004 (error 2, HTTP 503, exponential backoff). Retry-After is the simulator\'s assumption; driftwatch honours it when present.',
    async respond(req, next, ctx) {
      opened ??= ctx.uptimeMs()
      if (!isGraphPath(req) || ctx.uptimeMs() - opened >= windowMs) return next()
      const res = graphErrorResponse(graphContextFor(req, ctx.state), { status: 503, message: '(#2) Service temporarily unavailable', type: 'OAuthException', code: 2, isTransient: true })
      return { ...res, headers: [...res.headers, ['Retry-After', String(retryAfter)]] }
    },
  }
}
