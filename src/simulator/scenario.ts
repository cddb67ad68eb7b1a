/**
 * Named simulator behaviours. `baseline` is Meta as contracted; drift scenarios reproduce real
 * incidents by intercepting a request before the baseline or rewriting its response after.
 */
import type { SimResponse } from './graph.ts'
import type { SimRequest } from './routes.ts'
import type { SimulatorState } from './state.ts'

/** What a scenario can use besides the request. */
export interface ScenarioContext {
  state: SimulatorState
  /** 1-based count of requests this server has handled. */
  requestNumber: number
  /** Seeded random numbers in [0, 1): runs are repeatable. */
  random: () => number
  /** Milliseconds since the server started. */
  uptimeMs: () => number
}

/** A named behaviour: call `next()` for the baseline response (or `next(otherRequest)`), then change it, or answer without it. */
export interface Scenario {
  name: string
  /** What changes, in words. */
  description: string
  /** Where the behaviour comes from (seed, FACTS.md section). */
  source: string
  respond(req: SimRequest, next: (override?: SimRequest) => Promise<SimResponse>, ctx: ScenarioContext): Promise<SimResponse>
}

const baseline: Scenario = {
  name: 'baseline',
  description: 'Meta as contracted: the whole pack passes with zero findings.',
  source: '../shared/meta/FACTS.md, Meta Postman collection',
  respond: (_req, next) => next(),
}

/** Every scenario by name. */
export const scenarios: Readonly<Record<string, Scenario>> = {
  baseline,
}

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
