/**
 * `error-code-reorder` and `error-code-unknown`: one bad send fails two validations; Meta may run
 * its checks in any order, so the code varies (seed 003). Reordering within the documented set is
 * not drift; a code outside it is.
 */
import { graphErrorResponse, ERRORS } from '../graph.ts'
import { graphContextFor, sendProblems, type SimRequest } from '../routes.ts'
import type { Scenario } from '../scenario.ts'

function doublyInvalidSend(req: SimRequest): { invalidRecipient: string; missingBody: string } | undefined {
  if (req.method !== 'POST' || !req.url.pathname.endsWith('/messages')) return undefined
  try {
    const p = sendProblems(JSON.parse(req.body.toString('utf8')) as Record<string, unknown>)
    return p.invalidRecipient && p.missingBody ? { invalidRecipient: p.invalidRecipient, missingBody: p.missingBody } : undefined
  } catch {
    return undefined
  }
}

export const errorCodeReorder: Scenario = {
  name: 'error-code-reorder',
  description: 'A send that fails two validations answers 131009 or 131008 at random (seeded): both documented, both in the contract\'s set.',
  source: 'seed 003: Meta support FAQ ("the order in which these checks are performed may change ... you might receive different error codes for the same API request"); seed 004 codes 131008, 131009',
  async respond(req, next, ctx) {
    const p = doublyInvalidSend(req)
    if (!p || ctx.random() < 0.5) return next()
    return graphErrorResponse(graphContextFor(req, ctx.state), ERRORS.parameterMissing(p.missingBody))
  },
}

export const errorCodeUnknown: Scenario = {
  name: 'error-code-unknown',
  description: 'The same doubly invalid send answers 130472 ("User\'s number is part of an experiment"), a code outside the contract\'s set.',
  source: 'seed 004 (error 130472, HTTP 400); seed 003 (codes vary per request)',
  async respond(req, next, ctx) {
    if (!doublyInvalidSend(req)) return next()
    return graphErrorResponse(graphContextFor(req, ctx.state), { status: 400, message: "(#130472) User's number is part of an experiment", type: 'OAuthException', code: 130472 })
  },
}
