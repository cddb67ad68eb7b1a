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
  /**
   * What `run([o], exp, ctx)` gives depends on, as a string: two exchanges with equal projections
   * (same expectation and context) get drafts of the same check, severity and title, as many. A
   * judge of one expectation over traffic reuses the first exchange's drafts for a later one (see
   * Projection). Undefined for an exchange it cannot say that of: that one is run.
   */
  project?: Projection
}

/**
 * A check's projection of one exchange (see Check.project). It must hold everything the drafts'
 * check, severity and title, and their number, read; what only their message, expected and actual
 * read may be left out: a judge over traffic folds a later exchange's drafts into the first's by
 * (check, severity, title), so only their count is ever reported of them
 * (suites/traffic/judge-memo.test.ts holds it to that against the checks run).
 */
export type Projection = (o: Observation, exp: Expectation, ctx: CheckContext) => string | undefined

/** Builds a check from a per-observation function; drafts are tagged with the observation's index. */
export function perObservation(
  id: string,
  title: string,
  needs: CheckNeeds,
  fn: (o: Observation, exp: Expectation, ctx: CheckContext) => Omit<FindingDraft, 'check' | 'observationIndex'>[],
  project?: Projection | 'drafts',
): Check {
  return {
    id,
    title,
    needs,
    // 'drafts': the check is as cheap as any projection of it would be, so its own drafts' severities and titles are the projection.
    ...(project === 'drafts' ? { project: (o, exp, ctx) => titlesOf(fn(o, exp, ctx)) } : project ? { project } : {}),
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

/** Drafts' severities and titles, each prefixed by its length so that no two lists read the same; '' for none. */
export function titlesOf(drafts: readonly Pick<FindingDraft, 'severity' | 'title'>[]): string {
  let key = ''
  for (const d of drafts) key += `${d.severity} ${d.title.length} ${d.title}`
  return key
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
