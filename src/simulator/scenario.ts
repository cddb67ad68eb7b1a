/**
 * What a simulator scenario is: a named behaviour that intercepts a request before the baseline or
 * rewrites its response after. The registry is in `scenarios/index.ts`.
 */
import type { SimResponse } from './graph.ts'
import { mediaIdOf, type SimRequest } from './routes.ts'
import type { SimulatorState } from './state.ts'
import type { StatusSpec, WebhookBody } from './webhooks.ts'

/** What a scenario can use besides the request. */
export interface ScenarioContext {
  state: SimulatorState
  /** 1-based count of requests this server has handled. */
  requestNumber: number
  /** Seeded random numbers in [0, 1): runs are repeatable. */
  random: () => number
  /** Milliseconds since the server started. */
  uptimeMs: () => number
  /**
   * Which server of the simulated fleet took this request (0-based). A backend is pinned per TCP
   * connection, round-robin, as a load balancer that balances connections (not requests) does: every
   * request on a keep-alive connection meets the same backend.
   */
  backend: number
  /** How many backends the fleet has. */
  fleetSize: number
}

/** A named behaviour: call `next()` for the baseline response (or `next(otherRequest)`), then change it, or answer without it. */
export interface Scenario {
  name: string
  /** What changes, in words. */
  description: string
  /** Where the behaviour comes from (seed, FACTS.md section). */
  source: string
  respond(req: SimRequest, next: (override?: SimRequest) => Promise<SimResponse>, ctx: ScenarioContext): Promise<SimResponse>
  /** How the scenario changes the status webhooks sent after each accepted send (absent: as Meta sends them). */
  webhooks?: WebhookBehaviour
}

/**
 * A finding the webhook judge must give when it judges what a scenario delivered, in the terms of
 * `Finding` (`contract`, `check`, `severity`, `title`), plus where the change is in the body and in
 * which webhook. The deliveries to judge are those of WEBHOOK_DRIVE: one text to the test recipient,
 * one to UNDELIVERABLE_RECIPIENT. Findings fold per contract, check and title, so one entry stands
 * for every webhook that shows it. Contract and check ids are the webhook judge's (`webhook.statuses.<status>`,
 * `schema-drift`, `webhook-sequence`).
 */
export interface ExpectedWebhookFinding {
  contract: string
  check: string
  severity: 'breaking' | 'warning' | 'info'
  title: string
  /** JSONPath of the changed field in the webhook body as delivered, for findings about one field. */
  path?: string
  /** Which status webhook carries the change; absent when every one does, or the finding is about the sequence. */
  webhook?: StatusSpec['status']
}

/** A scenario's change to status webhooks, and the findings that change must produce. */
export interface WebhookBehaviour {
  /** Reorders, repeats, drops or adds one send's statuses (given in Meta's order); the result is delivered in its order. */
  plan?(statuses: StatusSpec[]): StatusSpec[]
  /** Edits a status webhook body before it is signed: the drift. */
  edit?(body: WebhookBody, status: StatusSpec): void
  /** Exactly what judging the deliveries of WEBHOOK_DRIVE must report; empty for a quiet scenario. */
  expects: ExpectedWebhookFinding[]
}

/** The sends whose webhooks `expects` describes: what a test of a webhook scenario makes the simulator do. */
export const WEBHOOK_DRIVE = [
  { to: 'test-recipient', type: 'text' },
  { to: 'undeliverable', type: 'text' },
] as const

/** Seeded PRNG (mulberry32): deterministic per seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A scenario's `respond` that edits the JSON of retrieve-media answers (GET /{media-id}) and passes everything else through. */
export function onRetrieveMedia(edit: (body: Record<string, unknown>) => void): Scenario['respond'] {
  return async (req, next, ctx) => {
    const res = await next()
    return isRetrieveMedia(req, ctx.state) ? rewriteJson(res, edit) : res
  }
}

/** True for GET /{version}/{media-id} on media the simulator holds. */
export function isRetrieveMedia(req: SimRequest, state: SimulatorState): boolean {
  return req.method === 'GET' && mediaIdOf(req, state) !== undefined
}

/** Rewrites a JSON response body; other bodies pass through. */
export function rewriteJson(res: SimResponse, edit: (body: Record<string, unknown>) => void): SimResponse {
  if (!Buffer.isBuffer(res.body)) return res
  let body: Record<string, unknown>
  try {
    body = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>
  } catch {
    return res
  }
  edit(body)
  return { ...res, body: Buffer.from(JSON.stringify(body)) }
}

/** Replaces a response header's value where it is sent (first occurrence, wire position kept); a response without it is left alone. */
export function withHeader(res: SimResponse, name: string, value: string): SimResponse {
  const lower = name.toLowerCase()
  let found = false
  const headers = res.headers.map(([n, v]): [string, string] => {
    if (found || n.toLowerCase() !== lower) return [n, v]
    found = true
    return [n, value]
  })
  return found ? { ...res, headers } : res
}
