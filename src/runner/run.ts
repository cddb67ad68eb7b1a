/**
 * The run: for each selected contract in dependency order, build its request, take its samples,
 * run the checks on what was observed, turn drafts into findings, capture values for the next
 * contracts, and assemble the report. Data flows one way: contract -> probe -> observation ->
 * checks -> findings -> report.
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { allChecks } from '../checks/index.ts'
import { availabilityOf, credentialFailure, describeStatus, expectedResponse, type Availability, type Check, type CheckContext } from '../checks/check.ts'
import { deepFill } from '../contracts/template.ts'
import { OPTIONAL_CONFIG_VARIABLES, type Contract, type ContractPack, type MediaExpectation } from '../contracts/types.ts'
import { evidenceFrom, type Finding, type FindingDraft } from '../finding.ts'
import { headerValue, type Observation } from '../observation.ts'
import { DEFAULT_RETRY, parseRetryAfter, RetryBudget, type RetryPolicy } from './retry.ts'
import type { Recording } from '../recordings/store.ts'
import { outcomeOf, summarize, type ContractResult, type Report } from '../report.ts'
import { schemaDeltas } from '../schema/drift.ts'
import type { Transport } from '../transport/transport.ts'
import { buildRequest, requestTemplate } from './build-request.ts'
import { selectContracts } from './select.ts'

/** Environment variable that provides each configuration variable, for skip reasons. */
export const VARIABLE_ENV: Record<string, string> = {
  phone_number_id: 'WHATSAPP_PHONE_NUMBER_ID',
  waba_id: 'WHATSAPP_WABA_ID',
  test_recipient: 'WHATSAPP_TEST_RECIPIENT',
}

/** Progress after each contract, for a live display. */
export interface ProgressEvent {
  index: number
  total: number
  result: ContractResult
  findings: Finding[]
}

/** A retry about to wait, for a live display. */
export interface RetryEvent {
  contract: string
  /** Why: `503 Service Unavailable (OAuthException 2: ...)`. */
  cause: string
  availability: Availability
  delayMs: number
  remainingMs: number
}

/** Everything a run needs. The transport holds the token; the runner never sees it. */
export interface RunOptions {
  pack: ContractPack
  /** `sim` or the base URL, as shown in the report. */
  target: string
  baseUrl: string
  scenario?: string
  apiVersion: string
  /** Configuration variables (phone_number_id, waba_id, test_recipient); undefined when not set. */
  variables: Readonly<Record<string, string | undefined>>
  transport: Transport
  only?: readonly string[]
  /** Overrides every repeatable contract's sample count. */
  samples?: number
  signal?: AbortSignal
  onProgress?: (e: ProgressEvent) => void
  onRetry?: (e: RetryEvent) => void
  /** Every contract's observations, after its checks ran. */
  onObservations?: (contract: Contract, observations: readonly Observation[]) => void
  /** Backoff for downtime and throttling; one budget for the whole run. */
  retry?: RetryPolicy
  /** Checks to run; defaults to all registered checks. */
  checks?: readonly Check[]
  /** Golden recording per contract id (golden-diff, schema-drift). */
  golden?: ReadonlyMap<string, Recording>
}

/** Samples a contract takes: one if it has side effects; at least three for a method-rejection probe, since one sample cannot show a split fleet. */
export function samplesFor(c: Contract, requested: number | undefined): number {
  if (!c.repeatable) return 1
  const min = c.expect.methods?.rejects.includes(c.request.method) ? 3 : 1
  return Math.max(requested ?? c.samples, min)
}

/** Runs the selected contracts and returns the report (never throws for upstream behaviour). */
export async function runContracts(opts: RunOptions): Promise<Report> {
  const startedAt = new Date().toISOString()
  const selected = selectContracts(opts.pack.contracts, opts.only)
  const checks = opts.checks ?? allChecks
  const vars: Record<string, string | undefined> = { ...opts.variables, api_version: opts.apiVersion }
  const capturedBy = new Map<string, string>()
  for (const c of opts.pack.contracts) for (const cap of c.capture) capturedBy.set(cap.name, c.id)
  const statusOf = new Map<string, ContractResult>()
  const budget = new RetryBudget(opts.retry ?? DEFAULT_RETRY)

  const results: ContractResult[] = []
  const findings: Finding[] = []
  let interrupted = false
  let credentialsRejected: string | undefined

  for (const [i, { contract }] of selected.entries()) {
    const t0 = performance.now()
    const base = { contract: contract.id, title: contract.title, file: contract.file, request: requestTemplate(contract) }
    let result: ContractResult
    let contractFindings: Finding[] = []

    const missing = contract.uses.find((v) => vars[v] === undefined)
    if (opts.signal?.aborted) {
      interrupted = true
      result = { ...base, status: 'skipped', reason: 'run interrupted before this contract', probes: 0, durationMs: 0 }
    } else if (contract.draft) {
      // An imported draft may describe a state-changing call with no body yet: never sent before a person has reviewed it.
      result = { ...base, status: 'skipped', reason: `an unreviewed draft: review ${contract.file}, then remove "draft: true" to probe it`, probes: 0, durationMs: 0 }
    } else if (credentialsRejected !== undefined) {
      result = { ...base, status: 'skipped', reason: `not run: ${credentialsRejected}`, probes: 0, durationMs: 0 }
    } else if (missing !== undefined) {
      result = { ...base, status: 'skipped', reason: skipReason(missing, capturedBy, statusOf), probes: 0, durationMs: 0 }
    } else {
      const samples = samplesFor(contract, opts.samples)
      const observations: Observation[] = []
      let gaveUp = false
      // Once the upstream is down and the retry budget cannot wait it out, stop sampling: no hammering.
      for (let s = 1; s <= samples && !opts.signal?.aborted && !gaveUp; s++) {
        const req = await buildRequest(contract, vars, opts.baseUrl, s)
        // Retry what Meta documents as transient (downtime, throttling) within the run's budget.
        for (let attempt = 0; ; attempt++) {
          const o = await opts.transport.send(req, opts.signal)
          observations.push(o)
          const a = availabilityOf(o, contract)
          if ((a !== 'outage' && a !== 'throttled') || opts.signal?.aborted) break
          const delay = budget.next(attempt, parseRetryAfter(headerValue(o.response!.rawHeaders, 'retry-after')))
          if (delay === undefined) {
            gaveUp = true
            break
          }
          opts.onRetry?.({ contract: contract.id, cause: describeStatus(o.response!), availability: a, delayMs: delay, remainingMs: budget.remainingMs })
          await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined)
          if (opts.signal?.aborted) break
        }
      }
      if (opts.signal?.aborted) interrupted = true
      const baseResult = contract.variant ? statusOf.get(contract.variant.of) : undefined
      const golden = opts.golden?.get(contract.id)
      contractFindings = judge(contract, observations, checks, {
        apiVersion: opts.apiVersion,
        ...(contract.expect.media ? { media: deepFill(contract.expect.media, vars) as MediaExpectation } : {}),
        ...(contract.variant ? { variant: { ...contract.variant, basePassed: baseResult?.status === 'passed' } } : {}),
        validateBody: opts.pack.validateBody,
        ...(golden ? { golden: { name: golden.name, recordedAt: golden.recordedAt, observations: golden.observations } } : {}),
        ...(checks.some((c) => c.id === 'schema-drift') ? await schemaDriftFor(contract, observations, golden, opts.pack) : {}),
      }, startedAt)
      captureValues(contract, observations, vars)
      opts.onObservations?.(contract, observations)
      const rejected = observations.map((o) => credentialFailure(o, contract)).find((e) => e !== undefined)
      if (rejected) credentialsRejected = `the access token was rejected (Graph error 190${rejected.subcode !== undefined ? `/${rejected.subcode}` : ''}) by ${contract.id}`
      const usable = observations.filter((o) => availabilityOf(o, contract) === 'ok')
      const failed = contractFindings.some((f) => f.severity !== 'info')
      let status: ContractResult['status'] = failed ? 'failed' : 'passed'
      let reason: string | undefined
      if (!failed && usable.length === 0) {
        status = 'inconclusive'
        reason = observations.length === 0 ? 'run interrupted' : unusableReason(observations, contract, gaveUp ? budget.policy.budgetMs : undefined)
      }
      result = { ...base, status, probes: observations.length, durationMs: Math.round(performance.now() - t0) }
      if (reason) result.reason = reason
    }
    statusOf.set(contract.id, result)
    results.push(result)
    findings.push(...contractFindings)
    opts.onProgress?.({ index: i + 1, total: selected.length, result, findings: contractFindings })
  }

  const summary = summarize(results, findings)
  return {
    version: 1,
    target: opts.target,
    ...(opts.scenario ? { scenario: opts.scenario } : {}),
    apiVersion: opts.apiVersion,
    startedAt,
    finishedAt: new Date().toISOString(),
    outcome: outcomeOf(summary),
    summary,
    findings,
    results,
    ...(interrupted ? { interrupted: true } : {}),
  }
}

/** The observations each kind of check judges (see CheckNeeds). */
export function viewsOf(contract: Contract, observations: readonly Observation[]): Record<Check['needs'], readonly Observation[]> {
  const live = observations.filter((o) => availabilityOf(o, contract) === 'ok')
  return {
    any: observations,
    headers: live.filter((o) => o.response !== undefined),
    body: live.filter((o) => o.response !== undefined && !o.transportError),
  }
}

/** Complete JSON bodies of an expected status, with their index in the body view. */
function contractBodies(contract: Contract, observations: readonly Observation[]): { index: number; json: unknown }[] {
  const out: { index: number; json: unknown }[] = []
  viewsOf(contract, observations).body.forEach((o, index) => {
    const r = expectedResponse(o, contract)
    if (r && r.body.json !== undefined && !r.body.truncated) out.push({ index, json: r.body.json })
  })
  return out
}

/** Schema deltas against the contract and the golden recording, for the schema-drift check. */
export async function schemaDriftFor(contract: Contract, observations: readonly Observation[], golden: Recording | undefined, pack: ContractPack): Promise<Pick<CheckContext, 'schemaDrift'>> {
  const schema = contract.expect.bodySchema
  if (!schema) return {}
  const now = contractBodies(contract, observations)
  const was = golden ? contractBodies(contract, golden.observations) : []
  const deltas = await schemaDeltas({
    bodies: now.map((b) => b.json),
    ...(golden && was.length > 0 ? { golden: { bodies: was.map((b) => b.json), recordedAt: golden.recordedAt } } : {}),
    validate: (body) => pack.validateBody(schema, body),
  })
  return { schemaDrift: { deltas, observationIndex: now.map((b) => b.index) } }
}

/** Runs the checks on the observations each may judge and folds identical drafts across samples. */
export function judge(contract: Contract, observations: readonly Observation[], checks: readonly Check[], ctx: CheckContext, since: string): Finding[] {
  const views = viewsOf(contract, observations)
  const groups = new Map<string, { draft: FindingDraft; obs: Observation; count: number; of: number }>()
  for (const check of checks) {
    const view = views[check.needs]
    if (view.length === 0) continue
    for (const d of check.run(view, contract, ctx)) {
      const key = [d.check, d.severity, d.title, d.expected, d.actual].join('\u0000')
      const g = groups.get(key)
      if (g) g.count += d.samples ?? 1
      else groups.set(key, { draft: d, obs: view[d.observationIndex ?? 0]!, count: d.samples ?? 1, of: view.length })
    }
  }
  return [...groups.values()].map(({ draft, obs, count, of }) => ({
    contract: contract.id,
    check: draft.check,
    severity: draft.severity,
    title: draft.title,
    message: draft.message,
    expected: draft.expected,
    actual: draft.actual,
    evidence: evidenceFrom(obs),
    samples: count,
    of,
    since,
    new: true,
  }))
}

function pointerGet(value: unknown, pointer: string): unknown {
  if (pointer === '') return value
  let v = value
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<string, unknown>)[key]
  }
  return v
}

/** Stores captured values from the first complete response with an expected status. */
export function captureValues(c: Contract, observations: readonly Observation[], vars: Record<string, string | undefined>): void {
  if (c.capture.length === 0) return
  const source = observations.find((o) => o.response && !o.transportError && c.expect.status.includes(o.response.status))
  for (const cap of c.capture) {
    let v: unknown
    if (source?.response) v = cap.from === 'header' ? headerValue(source.response.rawHeaders, cap.pointer) : pointerGet(source.response.body.json, cap.pointer)
    vars[cap.name] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined
  }
}

function skipReason(variable: string, capturedBy: Map<string, string>, statusOf: Map<string, ContractResult>): string {
  if ((OPTIONAL_CONFIG_VARIABLES as readonly string[]).includes(variable)) {
    return `needs {${variable}}: set ${VARIABLE_ENV[variable] ?? variable} to run it`
  }
  const src = capturedBy.get(variable)
  if (!src) return `needs {${variable}}, an input no contract captures: add a contract that captures it, or judge this one with driftwatch verify`
  const r = statusOf.get(src)
  if (!r) return `needs {${variable}} from ${src}, which was not selected`
  if (r.status === 'passed') return `needs {${variable}}, which ${src} did not return (the field was absent)`
  return `needs {${variable}} from ${src}, which ${r.status === 'failed' ? 'failed' : `was ${r.status}`}`
}

function unusableReason(observations: readonly Observation[], contract: Contract, exhaustedBudgetMs: number | undefined): string {
  const o = observations.find((x) => availabilityOf(x, contract) !== 'ok')
  if (!o) return 'no usable response'
  const a = availabilityOf(o, contract)
  if (a === 'unreachable') return `upstream unreachable: ${o.transportError!.code}`
  if (a === 'credentials') return 'the access token was rejected'
  const what = a === 'throttled' ? 'throttled' : 'in downtime'
  const retried = observations.length > 1 ? `, ${observations.length} attempts` : ''
  const spent = exhaustedBudgetMs !== undefined ? `; the retry budget (${Math.round(exhaustedBudgetMs / 1000)} s) ran out` : ''
  return `upstream ${what}: HTTP ${o.response!.status}${retried}${spent}`
}
