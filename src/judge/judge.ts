/**
 * The one place that judges. An expectation and its observations go in; findings and a status come
 * out. `check` (probes), `verify` and `proxy` (traffic) and `gate` (pact interactions) all call it,
 * so a finding means the same thing whichever command found it.
 *
 * It owns what every caller would otherwise rebuild: which observations each check may judge (an
 * outage or a rejected token says nothing about the contract), the check context (media
 * expectations, variants, the golden recording, `fields=` projections), schema-drift preparation
 * (async, per schema cohort), folding identical drafts across samples into one finding, and the
 * status rule (drift means a finding above info; nothing usable means inconclusive).
 */
import { allChecks } from '../checks/index.ts'
import { expectedResponse, type Check, type CheckContext } from '../checks/check.ts'
import type { Expectation } from '../contracts/expectation.ts'
import type { ContractPack, MediaExpectation, ResponseExpectation } from '../contracts/types.ts'
import { causeKey, evidenceFrom, foldKey, isDrift, type Evidence, type Finding, type FindingDraft } from '../model/finding.ts'
import { availabilityOf } from '../graph/index.ts'
import type { Observation } from '../model/observation.ts'
import type { ContractStatus } from '../model/report.ts'
import { schemaDeltas, type SchemaDelta } from '../schema/drift.ts'

/** A recording to compare with: its name, when it was made, what it saw. */
export interface Golden {
  name: string
  recordedAt: string
  observations: readonly Observation[]
}

/** The checks whose evidence carries the recording's side (framing: the report shows the golden's framing headers beside this run's). */
const AGAINST_GOLDEN = new Set(['golden-diff', 'schema-drift', 'framing-conformance'])

/** Adds the golden recording's answer of the same status (or its first) to a finding's evidence. */
function withGolden(ev: Evidence, check: string, obs: Observation, golden: Golden | undefined): Evidence {
  if (!golden || !AGAINST_GOLDEN.has(check)) return ev
  const same = golden.observations.find((o) => o.response?.status === obs.response?.status) ?? golden.observations[0]
  if (!same) return ev
  const g = evidenceFrom(same)
  return { ...ev, golden: { recording: golden.name, recordedAt: golden.recordedAt, ...(g.status !== undefined ? { status: g.status } : {}), ...(g.bodyExcerpt !== undefined ? { bodyExcerpt: g.bodyExcerpt } : {}), ...(g.headers ? { headers: g.headers } : {}) } }
}

/** What the judge needs besides the expectation and observations. */
export interface JudgeOptions {
  /** Validates bodies and projects schemas to `fields=` selections. */
  pack: Pick<ContractPack, 'validateBody' | 'projectedSchema'>
  /** ISO time a new finding is first seen at (the run's start). */
  since: string
  /** Checks to run; defaults to all registered checks. */
  checks?: readonly Check[]
  golden?: Golden
  /** Media expectations per download (probes: from captures; traffic: from the retrieve of the same media). */
  media?: (o: Observation) => MediaExpectation | undefined
  /** For a variant probe: whether its base passed in this run. */
  basePassed?: boolean
}

/** Findings, and what they mean for the expectation judged. */
export interface Verdict {
  findings: Finding[]
  /** failed: a finding above info; inconclusive: no observation said anything about the contract; else passed. */
  status: Exclude<ContractStatus, 'skipped'>
  /** Observations that could be judged (reached the upstream, not in downtime, token accepted). */
  usable: number
}

/** The observations each kind of check judges (see CheckNeeds). */
export function viewsOf(exp: Expectation, observations: readonly Observation[]): Record<Check['needs'], readonly Observation[]> {
  const live = observations.filter((o) => availabilityOf(o, exp) === 'ok')
  return {
    any: observations,
    headers: live.filter((o) => o.response !== undefined),
    body: live.filter((o) => o.response !== undefined && !o.transportError),
  }
}

/** URLs fieldsOf read lately and their answers (null: none), cleared when full: a body's schema is asked for at least twice an exchange, and real traffic asks the same URLs over and over. */
const fieldsByUrl = new Map<string, string | null>()
const FIELDS_KEPT = 1024
/** Longer URLs are parsed each time, never kept. */
const FIELDS_CHARS = 2048

function fieldsOf(url: string): string | undefined {
  // A query names `fields` only if the text holds it: as is, or escaped (%), or split by a tab or newline, which the URL parser drops.
  if (!url.includes('fields') && !/[%\t\n\r]/.test(url)) return undefined
  const known = fieldsByUrl.get(url)
  if (known !== undefined) return known ?? undefined
  let fields: string | null
  try {
    fields = new URL(url).searchParams.get('fields')
  } catch {
    fields = null
  }
  if (url.length <= FIELDS_CHARS) {
    if (fieldsByUrl.size >= FIELDS_KEPT) fieldsByUrl.clear()
    fieldsByUrl.set(url, fields)
  }
  return fields ?? undefined
}

/** bodySchemaFor's last question and answer: each exchange asks it twice in a row (its check, and what traffic keeps of it). */
let lastSchema: { pack: JudgeOptions['pack']; schema: string; url: string; error: boolean; key: string } | undefined

/** The schema key a body is judged against: the response's schema, narrowed to the request's `fields=` for successes. */
export function bodySchemaFor(pack: JudgeOptions['pack'], o: Observation, spec: ResponseExpectation): string | undefined {
  const schema = spec.bodySchema
  if (!schema) return undefined
  const url = o.request.url
  const error = spec.statuses === 'error'
  const last = lastSchema
  if (last && last.pack === pack && last.schema === schema && last.url === url && last.error === error) return last.key
  const fields = error ? undefined : fieldsOf(url)
  const key = fields ? pack.projectedSchema(schema, fields) : schema
  lastSchema = { pack, schema, url, error, key }
  return key
}

/** Schema deltas for every cohort of bodies judged against one schema, against the contract and the golden recording. */
async function schemaDrift(exp: Expectation, body: readonly Observation[], opts: JudgeOptions): Promise<CheckContext['schemaDrift']> {
  if (!exp.responses.some((r) => r.bodySchema)) return undefined
  const keyOf = (o: Observation) => {
    const hit = expectedResponse(o, exp)
    return hit && hit.r.body.json !== undefined && !hit.r.body.truncated ? bodySchemaFor(opts.pack, o, hit.spec) : undefined
  }
  const cohorts = new Map<string, { index: number; json: unknown }[]>()
  body.forEach((o, index) => {
    const key = keyOf(o)
    if (!key) return
    const cohort = cohorts.get(key)
    // Appended in place: copying the cohort per body made a long session's report quadratic.
    if (cohort) cohort.push({ index, json: o.response!.body.json })
    else cohorts.set(key, [{ index, json: o.response!.body.json }])
  })
  const deltas: SchemaDelta[] = []
  const observationIndex: number[] = []
  for (const [schema, bodies] of cohorts) {
    const was = opts.golden?.observations.filter((o) => availabilityOf(o, exp) === 'ok' && keyOf(o) === schema).map((o) => o.response!.body.json) ?? []
    const found = await schemaDeltas({
      bodies: bodies.map((b) => b.json),
      ...(opts.golden && was.length > 0 ? { golden: { bodies: was, recordedAt: opts.golden.recordedAt } } : {}),
      validate: (b) => opts.pack.validateBody(schema, b),
    })
    const offset = observationIndex.length
    observationIndex.push(...bodies.map((b) => b.index))
    deltas.push(...found.map((d) => ({ ...d, sampleIndex: offset + d.sampleIndex, schema })))
  }
  return { deltas, observationIndex }
}

/** The context the checks get (schema deltas, when the judge computed them for these observations). */
export function checkContext(exp: Expectation, opts: JudgeOptions, drift?: CheckContext['schemaDrift']): CheckContext {
  return {
    validateBody: opts.pack.validateBody,
    bodySchema: (o, spec) => bodySchemaFor(opts.pack, o, spec),
    ...(opts.media ? { media: opts.media } : {}),
    ...(exp.variant ? { variant: { ...exp.variant, basePassed: opts.basePassed === true } } : {}),
    ...(opts.golden ? { golden: opts.golden } : {}),
    ...(drift ? { schemaDrift: drift } : {}),
  }
}

/**
 * What judging one exchange alone gives depends on, as a string (see Check.project): whether it is
 * usable, which views take it, and the projection of every check that judges it. Two exchanges with
 * equal keys, judged by the same checks against the same expectation and context, get findings of
 * the same checks, severities and titles, as many samples of each, and the same `usable`. Undefined
 * when a check that judges it has no projection for it. `views` is viewsOf(exp, [o]); `ctx` has no
 * schema deltas (one exchange's schema-drift is judged across exchanges, never alone).
 */
export function judgeKey(exp: Expectation, o: Observation, checks: readonly Check[], ctx: CheckContext, views: Record<Check['needs'], readonly Observation[]>): string | undefined {
  let key = `${availabilityOf(o, exp) === 'ok' ? 1 : 0}${views.headers.length}${views.body.length}`
  for (const check of checks) {
    if (views[check.needs].length === 0) continue
    const k = check.project?.(o, exp, ctx)
    if (k === undefined) return undefined
    // Each part prefixed by its length: no two lists of parts read the same.
    key += ` ${k.length} ${k}`
  }
  return key
}

/** Above this many observations a check's run is long enough (tens of ms) to let signals in before it. */
const LARGE_VIEW = 10_000

/** Judges observations against an expectation. Never throws for upstream behaviour. */
export async function judge(exp: Expectation, observations: readonly Observation[], opts: JudgeOptions): Promise<Verdict> {
  const checks = opts.checks ?? allChecks
  const views = viewsOf(exp, observations)
  const drift = checks.some((c) => c.id === 'schema-drift') ? await schemaDrift(exp, views.body, opts) : undefined
  const ctx = checkContext(exp, opts, drift)
  const groups = new Map<string, { draft: FindingDraft; obs: Observation; count: number; of: number }>()
  for (const check of checks) {
    const view = views[check.needs]
    if (view.length === 0) continue
    // A capture's final verdict hands every check its exchanges at once: between checks over many,
    // the event loop gets a turn, so Ctrl-C and SIGTERM are seen while a large capture is judged.
    if (view.length > LARGE_VIEW) await new Promise<void>((r) => setImmediate(r))
    for (const d of check.run(view, exp, ctx)) {
      const key = foldKey(d)
      const g = groups.get(key)
      if (g) g.count += d.samples ?? 1
      else groups.set(key, { draft: d, obs: view[d.observationIndex ?? 0]!, count: d.samples ?? 1, of: view.length })
    }
  }
  const findings: Finding[] = [...groups.values()].map(({ draft, obs, count, of }) => ({
    contract: exp.id,
    check: draft.check,
    severity: draft.severity,
    title: draft.title,
    message: draft.message,
    expected: draft.expected,
    actual: draft.actual,
    evidence: withGolden(evidenceFrom(obs), draft.check, obs, opts.golden),
    samples: count,
    of,
    since: opts.since,
    new: true,
  }))
  const usable = observations.filter((o) => availabilityOf(o, exp) === 'ok').length
  const status = findings.some(isDrift) ? 'failed' : usable === 0 ? 'inconclusive' : 'passed'
  return { findings, status, usable }
}

/**
 * Judges observations that could belong to any of several expectations (an ambiguous `/{id}`):
 * only what every candidate finds is reported, under `id`. A finding on a guess would cry wolf;
 * one that holds whichever operation it was (chunked framing where all of them say Content-Length)
 * is not a guess.
 */
export async function judgeAgreed(id: string, candidates: readonly Expectation[], observations: readonly Observation[], opts: JudgeOptions): Promise<Finding[]> {
  return agreed(id, candidates, await Promise.all(candidates.map((exp) => judge(exp, observations, opts))))
}

/** What every candidate's verdict (in the order of `candidates`) finds, under `id`: judgeAgreed's rule, for verdicts built elsewhere (incrementally, over a stream). */
export function agreed(id: string, candidates: readonly Expectation[], verdicts: readonly Pick<Verdict, 'findings'>[]): Finding[] {
  const [first, ...rest] = verdicts
  if (!first) return []
  const shared = first.findings.filter((f) => rest.every((v) => v.findings.some((g) => causeKey(g) === causeKey(f))))
  return shared.map((f) => {
    // Candidates agree on the cause but may each word what they expect (a schema of their own): name each, never one as if it were the contract.
    const each = verdicts.map((v, i) => ({ id: candidates[i]!.id, g: v.findings.find((g) => causeKey(g) === causeKey(f))! }))
    const expected = [...new Set(each.map((x) => x.g.expected))]
    if (expected.length === 1) return { ...f, contract: id }
    const contract = `Contract (every candidate finds this): ${each.map((x) => `${x.id}: ${x.g.expected}`).join('; ')}`
    return { ...f, contract: id, expected: each.map((x) => `${x.id}: ${x.g.expected}`).join('; '), message: f.message.split('\n').map((line) => (line.startsWith('Contract:') ? contract : line)).join('\n') }
  })
}
