/**
 * `driftwatch check` as a library call: resolve the target, load contracts, start the simulator
 * if asked, probe, write the reports. The CLI only parses flags and picks the exit code.
 */
import { loadContracts } from './contracts/load.ts'
import { resolveTarget } from './config.ts'
import { HarnessError, isHarnessError } from './errors.ts'
import { summarize, type Report } from './report.ts'
import type { FormatId } from './reporters/index.ts'
import { DEFAULT_RETRY } from './runner/retry.ts'
import { runContracts, type ProgressEvent, type RetryEvent } from './runner/run.ts'
import { selectContracts } from './runner/select.ts'
import { startSimulator, type RunningSimulator } from './simulator/server.ts'
import { DEFAULT_TOKEN_HOSTS, HostPolicy } from './transport/host-policy.ts'
import { Redactor } from './transport/redact.ts'
import { Transport } from './transport/transport.ts'
import { writeReports } from './write-reports.ts'

/** Options of a check run (the CLI flags, resolved). */
export interface CheckOptions {
  /** `sim` or a base URL. */
  target: string
  contractsDir: string
  apiVersion: string
  outDir: string
  formats: readonly FormatId[]
  only?: readonly string[]
  samples?: number
  scenario?: string
  allowHosts?: readonly string[]
  timeoutMs?: number
  /** Seconds the run may spend waiting out downtime or throttling (default 60; 0 disables retries). */
  retryBudgetSeconds?: number
  /** Least milliseconds between requests to one origin; default 0 for the simulator, 200 for live targets. */
  minIntervalMs?: number
  env: Readonly<Record<string, string | undefined>>
  cwd?: string
  signal?: AbortSignal
  /** Called once the target is up and contracts are loaded. */
  onStart?: (info: { target: string; baseUrl: string; contracts: number; scenario?: string; redactor: Redactor }) => void
  onProgress?: (e: ProgressEvent) => void
  onRetry?: (e: RetryEvent) => void
}

/** The written report, its files, and the redactor every printed line must also go through. */
export interface CheckResult {
  report: Report
  files: string[]
  redactor: Redactor
  /** The unexpected error behind an `error` outcome, for --debug output. */
  cause?: unknown
}

/** Runs a check end to end. Throws HarnessError for configuration problems found before any probe. */
export async function runCheck(opts: CheckOptions): Promise<CheckResult> {
  const target = resolveTarget(opts.target, opts.env)
  if (target.kind === 'live' && opts.scenario) throw new HarnessError('DW_USAGE', '--scenario only applies to --target sim (scenarios are simulator behaviours)')
  const pack = loadContracts(opts.contractsDir, opts.cwd ? { cwd: opts.cwd } : {})
  const selected = selectContracts(pack.contracts, opts.only) // a glob matching nothing fails here, before the simulator starts
  const startedAt = new Date().toISOString()

  let sim: RunningSimulator | undefined
  let transport: Transport | undefined
  let redactor = new Redactor({ secrets: target.kind === 'live' ? [target.token] : [] })
  try {
    let baseUrl: string
    let token: string
    let variables: Record<string, string | undefined>
    if (target.kind === 'sim') {
      sim = await startSimulator(opts.scenario ? { scenario: opts.scenario } : {})
      baseUrl = sim.url
      token = sim.credentials.token
      variables = { phone_number_id: sim.credentials.phoneNumberId, waba_id: sim.credentials.wabaId, test_recipient: sim.credentials.testRecipient }
    } else {
      baseUrl = target.baseUrl
      token = target.token
      variables = target.variables
    }
    redactor = new Redactor({ secrets: [token], personal: [variables.test_recipient] })
    const hostPolicy = new HostPolicy({ allowHosts: [...DEFAULT_TOKEN_HOSTS, new URL(baseUrl).host, ...(opts.allowHosts ?? [])] })
    transport = new Transport({
      token,
      hostPolicy,
      redactor,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      minIntervalMs: opts.minIntervalMs ?? (target.kind === 'sim' ? 0 : 200),
    })
    const label = target.kind === 'sim' ? 'sim' : baseUrl
    opts.onStart?.({ target: label, baseUrl, contracts: selected.length, ...(sim ? { scenario: sim.scenario.name } : {}), redactor })
    const report = await runContracts({
      pack,
      target: label,
      baseUrl,
      ...(sim ? { scenario: sim.scenario.name } : {}),
      apiVersion: opts.apiVersion,
      variables,
      transport,
      ...(opts.only ? { only: opts.only } : {}),
      ...(opts.samples ? { samples: opts.samples } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.onRetry ? { onRetry: opts.onRetry } : {}),
      retry: opts.retryBudgetSeconds === undefined ? DEFAULT_RETRY : { ...DEFAULT_RETRY, budgetMs: opts.retryBudgetSeconds * 1000 },
    })
    const written = await writeReports(report, { outDir: opts.outDir, formats: opts.formats, redactor, ...(opts.cwd ? { cwd: opts.cwd } : {}) })
    return { ...written, redactor }
  } catch (err) {
    if (isHarnessError(err)) throw err
    // An unexpected failure mid-run (a harness bug): leave an error report for the nightly job's artifacts.
    const message = err instanceof Error ? err.message : String(err)
    const code = 'DW_INTERNAL'
    const report: Report = {
      version: 1,
      target: target.kind === 'sim' ? 'sim' : target.baseUrl,
      apiVersion: opts.apiVersion,
      startedAt,
      finishedAt: new Date().toISOString(),
      outcome: 'error',
      summary: summarize([], []),
      findings: [],
      results: [],
      error: { code, message: redactor.text(message) },
    }
    const written = await writeReports(report, { outDir: opts.outDir, formats: opts.formats, redactor, ...(opts.cwd ? { cwd: opts.cwd } : {}) })
    return { ...written, redactor, cause: err }
  } finally {
    await transport?.close()
    await sim?.close()
  }
}
