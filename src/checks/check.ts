/**
 * The shape of a check and the helpers checks share. Checks are pure and synchronous: they read
 * observations and the expectation and return finding drafts. They never import undici or fs. The
 * Graph API's own rules (error envelopes, availability) are in src/graph, not here.
 */
import type { MediaExpectation, ResponseExpectation, SchemaViolation } from '../contracts/types.ts'
import type { FindingDraft } from '../model/finding.ts'
import type { Expectation } from '../contracts/expectation.ts'
import { responseFor } from '../contracts/expectation.ts'
import { headerValue, type Observation, type ObservedResponse } from '../model/observation.ts'
import type { SchemaDelta } from '../schema/drift.ts'

/** What a check may know besides observations and the expectation. The judge builds it. */
export interface CheckContext {
  /** Media expectations for a download: from earlier captures (probes) or the retrieve of the same media (traffic). */
  media?: (o: Observation) => MediaExpectation | undefined
  /** For a variant probe: what differs from its base and how the base fared in this run. */
  variant?: { of: string; differences: readonly string[]; basePassed: boolean }
  /** Validates a body against one of the pack's schemas (compiled once at load). */
  validateBody(schema: string, body: unknown): SchemaViolation[]
  /** The schema key a response body is judged against: the expectation's, projected to the request's `fields=`. */
  bodySchema(o: Observation, response: ResponseExpectation): string | undefined
  /** The golden recording chosen for the run, when there is one. */
  golden?: { name: string; recordedAt: string; observations: readonly Observation[] }
  /** Schema deltas computed before the checks (async); `observationIndex[i]` is the body view index of body sample i. */
  schemaDrift?: { deltas: readonly SchemaDelta[]; observationIndex: readonly number[] }
}

/**
 * Which observations a check judges. `any`: all, including failed exchanges and outages.
 * `headers`: those with a response from a live upstream (the body may have broken off).
 * `body`: those whose body arrived complete.
 */
export type CheckNeeds = 'any' | 'headers' | 'body'

/** A named, pure check. */
export interface Check {
  id: string
  /** The property checked, in words. */
  title: string
  needs: CheckNeeds
  run(observations: readonly Observation[], exp: Expectation, ctx: CheckContext): FindingDraft[]
}

/** Builds a check from a per-observation function; drafts are tagged with the observation's index. */
export function perObservation(
  id: string,
  title: string,
  needs: CheckNeeds,
  fn: (o: Observation, exp: Expectation, ctx: CheckContext) => Omit<FindingDraft, 'check' | 'observationIndex'>[],
): Check {
  return {
    id,
    title,
    needs,
    run(observations, exp, ctx) {
      // Runs for every check on every probe and usually finds nothing: allocate only for findings.
      let out: FindingDraft[] | undefined
      for (let i = 0; i < observations.length; i++) {
        const drafts = fn(observations[i]!, exp, ctx)
        for (const d of drafts) (out ??= []).push({ ...d, check: id, observationIndex: i })
      }
      return out ?? []
    },
  }
}

/** The response with the expectation that describes its status, or undefined: content checks only judge what the expectation describes. */
export function expectedResponse(o: Observation, exp: Expectation): { r: ObservedResponse; spec: ResponseExpectation } | undefined {
  const r = o.response
  if (!r) return undefined
  const spec = responseFor(exp, r.status)
  return spec ? { r, spec } : undefined
}

/** Media type without parameters, lowercased. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';')
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
}

/** Parameters of a Content-Type, names lowercased. */
export function mediaParams(contentType: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of contentType.split(';').slice(1)) {
    const i = part.indexOf('=')
    if (i > 0) out[part.slice(0, i).trim().toLowerCase()] = part.slice(i + 1).trim().replace(/^"|"$/g, '')
  }
  return out
}

/** First value of a response header. */
export function responseHeader(r: ObservedResponse, name: string): string | undefined {
  return headerValue(r.rawHeaders, name)
}
