/**
 * The probe loop: for each selected probe in dependency order, build its request, take its samples
 * (retrying Meta's documented downtime within one budget), have the judge judge what was observed,
 * capture values for the next probes, and assemble the report. Data flows one way: contract ->
 * probe -> observation -> judge (checks) -> findings -> report.
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Check } from '../checks/check.ts'
import { probeExpectation } from '../contracts/expectation.ts'
import { deepFill } from '../contracts/template.ts'
import { OPTIONAL_CONFIG_VARIABLES, type ContractPack, type MediaExpectation, type Probe } from '../contracts/types.ts'
import type { Finding } from '../model/finding.ts'
import { availabilityOf, credentialFailure, describeStatus, type Availability } from '../graph/index.ts'
import { judge } from '../judge/index.ts'
import { headerValue, type Observation } from '../model/observation.ts'
import type { Recording } from '../recordings/store.ts'
import { outcomeOf, summarize, type ContractResult, type Report } from '../model/report.ts'
import { ABORTED, type Transport } from '../transport/transport.ts'
import { buildRequest, UnbuildableRequest } from './build-request.ts'
import { DEFAULT_RETRY, parseRetryAfter, RetryBudget, type RetryPolicy } from './retry.ts'
import { selectProbes } from './select.ts'

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
  /** With `only`: false leaves the preflight probe out unless asked for (watch's cycles). */
  preflight?: boolean
  /** Overrides every repeatable contract's sample count. */
  samples?: number
  /** Without `samples`: the most samples any contract takes (watch keeps cycles cheap). */
  samplesCap?: number
  /**
   * How the samples of a repeatable probe travel. `fresh` (default): one new connection per sample,
   * round-robin over the host's addresses, so a fleet split per connection shows. `reuse`: every
   * request over the run's keep-alive connection (cheaper; sees one server per connection).
   */
  connection?: 'fresh' | 'reuse'
  /** First Ctrl-C: stop sending; the request in flight is abandoned, cleanup probes still run. */
  signal?: AbortSignal
  /** Second Ctrl-C: cleanup is abandoned too; the report is written with what was observed. */
  halt?: AbortSignal
  onProgress?: (e: ProgressEvent) => void
  onRetry?: (e: RetryEvent) => void
  /** Every contract's observations, after its checks ran. */
  onObservations?: (probe: Probe, observations: readonly Observation[]) => void
  /** Backoff for downtime and throttling; one budget for the whole run. */
  retry?: RetryPolicy
  /** Checks to run; defaults to all registered checks. */
  checks?: readonly Check[]
  /** Golden recording per contract id (golden-diff, schema-drift). */
  golden?: ReadonlyMap<string, Recording>
}

/**
 * Samples a contract takes: one if it has side effects; else what was requested, or its own count
 * capped at `cap`; at least three for a method-rejection probe, since one sample cannot show a split fleet.
 */
export function samplesFor(c: Probe, requested: number | undefined, cap?: number): number {
  if (!c.repeatable) return 1
  const min = c.expect.methods?.rejects.includes(c.request.method) ? 3 : 1
  const n = requested ?? (cap !== undefined ? Math.min(c.samples, cap) : c.samples)
  return Math.max(n, min)
}

/** Runs the selected probes and returns the report (never throws for upstream behaviour). */
export async function runContracts(opts: RunOptions): Promise<Report> {
  const startedAt = new Date().toISOString()
  const selected = selectProbes(opts.pack.probes, opts.only, opts.preflight === false ? { preflight: false } : {})
  const vars: Record<string, string | undefined> = { ...opts.variables, api_version: opts.apiVersion }
  const capturedBy = new Map<string, string>()
  for (const c of opts.pack.probes) for (const cap of c.capture) capturedBy.set(cap.name, c.id)
  const statusOf = new Map<string, ContractResult>()
  const budget = new RetryBudget(opts.retry ?? DEFAULT_RETRY)

  const results: ContractResult[] = []
  const findings: Finding[] = []
  let interrupted = false
  let credentialsRejected: string | undefined

  for (const [i, { probe: contract }] of selected.entries()) {
    const t0 = performance.now()
    // A contract's time is its requests' (and retries'), not the pacing a live target's --min-interval adds between them.
    const paced0 = opts.transport.pacedMs ?? 0
    const took = () => Math.max(0, Math.round(performance.now() - t0 - ((opts.transport.pacedMs ?? 0) - paced0)))
    const exp = probeExpectation(contract, opts.pack.operation(contract.operation)!)
    const base = { contract: contract.id, title: contract.title, file: contract.file, request: exp.request }
    let result: ContractResult
    let contractFindings: Finding[] = []

    const missing = contract.uses.find((v) => vars[v] === undefined)
    // After Ctrl-C only cleanup runs (with its own signal: a second Ctrl-C), and only when it has what it needs.
    const cleaningUp = opts.signal?.aborted === true && contract.cleanup && missing === undefined && !opts.halt?.aborted
    const signal = cleaningUp ? opts.halt : opts.signal
    if (opts.signal?.aborted && !cleaningUp) {
      interrupted = true
      result = { ...base, status: 'skipped', reason: interruptedReason(contract, missing, opts.halt?.aborted === true), probes: 0, durationMs: 0 }
    } else if (credentialsRejected !== undefined) {
      result = { ...base, status: 'skipped', reason: `not run: ${credentialsRejected}`, probes: 0, durationMs: 0 }
    } else if (missing !== undefined) {
      result = { ...base, status: 'skipped', reason: skipReason(missing, capturedBy, statusOf), probes: 0, durationMs: 0 }
    } else {
      const samples = samplesFor(contract, opts.samples, opts.samplesCap)
      const observations: Observation[] = []
      let gaveUp = false
      // Once the upstream is down and the retry budget cannot wait it out, stop sampling: no hammering.
      let abandoned = 0
      let unbuildable: UnbuildableRequest | undefined
      for (let s = 1; s <= samples && !signal?.aborted && !gaveUp; s++) {
        let req: Awaited<ReturnType<typeof buildRequest>>
        try {
          req = await buildRequest(contract, vars, opts.baseUrl, s)
        } catch (err) {
          if (!(err instanceof UnbuildableRequest)) throw err
          unbuildable = err
          break
        }
        if (samples > 1 && opts.connection !== 'reuse') req.connection = 'fresh'
        // Retry what Meta documents as transient (downtime, throttling) within the run's budget.
        for (let attempt = 0; ; attempt++) {
          const o = await opts.transport.send(req, signal)
          // Abandoned by Ctrl-C: not something the upstream did, so not an observation to judge or record.
          if (o.transportError?.code === ABORTED) {
            abandoned++
            break
          }
          observations.push(o)
          const a = availabilityOf(o, exp)
          if ((a !== 'outage' && a !== 'throttled') || signal?.aborted) break
          const delay = budget.next(attempt, parseRetryAfter(headerValue(o.response!.rawHeaders, 'retry-after')))
          if (delay === undefined) {
            gaveUp = true
            break
          }
          opts.onRetry?.({ contract: contract.id, cause: describeStatus(o.response!), availability: a, delayMs: delay, remainingMs: budget.remainingMs })
          await sleep(delay, undefined, signal ? { signal } : {}).catch(() => undefined)
          if (signal?.aborted) break
        }
      }
      if (opts.signal?.aborted) interrupted = true
      const complete = observations.filter((o) => o.response !== undefined || o.transportError !== undefined).length
      if (signal?.aborted && (abandoned > 0 || complete < samples) && !gaveUp) {
        // Cut short: a partial set of samples is neither judged (no invented drift) nor recorded.
        result = { ...base, status: 'skipped', reason: `interrupted after ${complete} of ${samples} sample${samples === 1 ? '' : 's'}${abandoned ? ' (the request in flight was abandoned)' : ''}: not judged, not recorded${contract.repeatable ? '' : '; it may have taken effect upstream'}`, probes: observations.length + abandoned, durationMs: took() }
        statusOf.set(contract.id, result)
        results.push(result)
        opts.onProgress?.({ index: i + 1, total: selected.length, result, findings: [] })
        continue
      }
      if (unbuildable !== undefined && observations.length === 0) {
        // The answer that handed out the value is where the drift is, and its own checks say so.
        const sources = [...new Set(unbuildable.variables.map((v) => capturedBy.get(v)).filter((x) => x !== undefined))]
        result = { ...base, status: 'skipped', reason: `not sent: ${unbuildable.message}${sources.length ? ` (captured from ${sources.join(', ')})` : ''}`, probes: 0, durationMs: took() }
        statusOf.set(contract.id, result)
        results.push(result)
        opts.onProgress?.({ index: i + 1, total: selected.length, result, findings: [] })
        continue
      }
      const golden = opts.golden?.get(contract.id)
      const media = contract.expect.media ? (deepFill(contract.expect.media, vars) as MediaExpectation) : undefined
      const verdict = await judge(exp, observations, {
        pack: opts.pack,
        since: startedAt,
        ...(opts.checks ? { checks: opts.checks } : {}),
        ...(golden ? { golden } : {}),
        ...(media ? { media: () => media } : {}),
        ...(contract.variant ? { basePassed: statusOf.get(contract.variant.of)?.status === 'passed' } : {}),
      })
      contractFindings = verdict.findings
      captureValues(contract, observations, vars)
      opts.onObservations?.(contract, observations)
      const rejected = observations.map((o) => credentialFailure(o, exp)).find((e) => e !== undefined)
      if (rejected) credentialsRejected = `the access token was rejected (Graph error 190${rejected.subcode !== undefined ? `/${rejected.subcode}` : ''}) by ${contract.id}`
      const status = verdict.status
      let reason: string | undefined
      if (status === 'inconclusive') reason = observations.length === 0 ? 'run interrupted' : unusableReason(observations, contract, gaveUp ? budget.policy.budgetMs : undefined)
      result = { ...base, status, probes: observations.length, durationMs: took() }
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
    outcome: interrupted ? 'interrupted' : outcomeOf(summary),
    summary,
    findings,
    results,
    ...(interrupted ? { interrupted: true } : {}),
  }
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
export function captureValues(c: Probe, observations: readonly Observation[], vars: Record<string, string | undefined>): void {
  if (c.capture.length === 0) return
  const source = observations.find((o) => o.response && !o.transportError && c.expect.status.includes(o.response.status))
  for (const cap of c.capture) {
    let v: unknown
    if (source?.response) v = cap.from === 'header' ? headerValue(source.response.rawHeaders, cap.pointer) : pointerGet(source.response.body.json, cap.pointer)
    vars[cap.name] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined
  }
}

function interruptedReason(contract: Probe, missing: string | undefined, halted: boolean): string {
  if (!contract.cleanup) return 'run interrupted before this contract'
  if (halted) return 'cleanup abandoned by a second Ctrl-C: what it undoes is left upstream'
  return `cleanup not run: {${missing}} was never captured, so there is nothing of this run's to undo`
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

function unusableReason(observations: readonly Observation[], contract: Probe, exhaustedBudgetMs: number | undefined): string {
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
