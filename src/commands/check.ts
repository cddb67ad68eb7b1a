/**
 * `driftwatch check` as a library call: resolve the target, load contracts, start the simulator
 * if asked, probe, write the reports. The CLI only parses flags and picks the exit code.
 */
import type { Probe } from '../contracts/types.ts'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { HarnessError, isHarnessError } from '../util/errors.ts'
import type { Observation } from '../model/observation.ts'
import { outcomeOf, summarize, type FailOn, type Report } from '../model/report.ts'
import type { Past } from '../history/since.ts'
import type { FormatId } from '../reporters/index.ts'
import { DEFAULT_RETRY } from '../runner/retry.ts'
import { runContracts, type ProgressEvent, type RetryEvent } from '../runner/run.ts'
import { openSession, type Session, type SessionOptions } from '../runner/session.ts'
import type { Redactor } from '../transport/redact.ts'
import { assertWritable } from '../util/preflight.ts'
import { probeRerun, usesRunState, withRerun, type ProbeRerun } from '../model/reproduce.ts'
import type { Finding } from '../model/finding.ts'
import { writeReports } from './write-reports.ts'

export type { ProgressEvent, RetryEvent }

/** Options of a check run (the CLI flags, resolved). */
export interface CheckOptions extends Omit<SessionOptions, 'keepBinaryBytes'> {
  apiVersion: string
  outDir: string
  formats: readonly FormatId[]
  /** The severity that is drift in every report format (default breaking). */
  failOn?: FailOn
  /** The run's past from the history (since when; report.html's timelines). */
  past?: Past
  samples?: number
  /** `fresh` (default): each sample of a repeatable probe over its own new connection; `reuse`: one keep-alive connection. */
  connection?: 'fresh' | 'reuse'
  /** Seconds the run may spend waiting out downtime or throttling (default 60; 0 disables retries). */
  retryBudgetSeconds?: number
  signal?: AbortSignal
  /** Second Ctrl-C: abandon cleanup probes too. */
  halt?: AbortSignal
  /** Called once the target is up and contracts are loaded. */
  onStart?: (info: StartInfo) => void
  onProgress?: (e: ProgressEvent) => void
  onRetry?: (e: RetryEvent) => void
  /** Every contract's observations, after its checks ran (record uses this). */
  onObservations?: (probe: Probe, observations: readonly Observation[]) => void
  /**
   * Seconds to wait, after the test message is sent (messages.send-text), for its status webhooks:
   * "sent, then delivered within N s" is the contract webhook.round-trip. The simulator only, today.
   */
  roundTripSeconds?: number
  /** After `delivered`, how long the round trip keeps listening for `read` and late statuses (roundTrip's default, 1.5 s, when unset). */
  roundTripSettleMs?: number
  /** Against Meta: the --out of the `driftwatch webhook` receiver in front of the app, whose journal the round trip reads. */
  webhookJournal?: string
  /** Called when the run starts waiting for the round trip's webhooks. */
  onRoundTrip?: (info: { wamid?: string; seconds: number }) => void
  /**
   * Flags of this run that a finding's rerun repeats, as argv words (`--samples 8`, `--contracts dir`):
   * the CLI passes what was typed. The rerun adds the target, the scenario and `--only <contract>`.
   */
  rerunArgs?: readonly string[]
}

/** What a run announces when it starts. */
export interface StartInfo {
  target: string
  baseUrl: string
  contracts: number
  scenario?: string
  /** Golden recordings compared with: how many contracts have one, and the oldest recording's time. */
  golden: { contracts: number; oldest?: string }
  redactor: Redactor
  /** Problems the run carries on past (a malformed recording while re-recording), said before anything is sent. */
  warnings: string[]
}

/** The written report, its files, and the redactor every printed line must also go through. */
export interface CheckResult {
  report: Report
  files: string[]
  redactor: Redactor
  /** The unexpected error behind an `error` outcome, for --debug output. */
  cause?: unknown
}

/** Options of one run in a session: check's, less what opened the session. */
export type InSessionOptions = Omit<CheckOptions, keyof SessionOptions | 'outDir' | 'formats'> & Pick<CheckOptions, 'only'> & {
  /** A targets-file entry's credentials by variable name, for its findings' reruns. */
  rerunEnv?: ProbeRerun['env']
}

/**
 * Gives each finding of a session its rerun (`check --only <contract>` against the same target and
 * scenario) and keeps its curl only when the request stands alone: a live target, and a probe that
 * sends nothing the run itself created. Against the simulator the curl's port is gone with the run.
 */
export function rerunsOf(session: Pick<Session, 'label' | 'scenario' | 'pack'>, opts: Pick<InSessionOptions, 'rerunArgs' | 'rerunEnv'>): (f: Finding) => Finding {
  const ctx = rerunContext(session, opts)
  const probes = new Map(session.pack.probes.map((p) => [p.id, p]))
  return (f) => {
    const probe = probes.get(f.contract)
    const alone = session.label !== 'sim' && probe !== undefined && !usesRunState(probe, session.pack.probes)
    return withRerun(f, probe ? probeRerun(ctx, [probe.id]) : undefined, alone)
  }
}

function rerunContext(session: Pick<Session, 'label' | 'scenario'>, opts: Pick<InSessionOptions, 'rerunArgs' | 'rerunEnv'>): ProbeRerun {
  return { target: session.label, ...(session.scenario ? { scenario: session.scenario } : {}), ...(opts.rerunEnv ? { env: opts.rerunEnv } : {}), ...(opts.rerunArgs ? { args: opts.rerunArgs } : {}) }
}

/** Runs the contracts in an open session and returns the report (run options shared by check and record). */
export async function runInSession(session: Session, opts: InSessionOptions): Promise<Report> {
  const rerun = rerunsOf(session, opts)
  const onProgress = opts.onProgress
  const recorded = [...session.golden.values()].map((r) => r.recordedAt).sort()
  opts.onStart?.({
    target: session.label,
    baseUrl: session.baseUrl,
    contracts: session.selected.length,
    ...(session.scenario ? { scenario: session.scenario } : {}),
    golden: { contracts: session.golden.size, ...(recorded[0] ? { oldest: recorded[0] } : {}) },
    redactor: session.redactor,
    warnings: session.warnings,
  })
  const report = await runContracts({
    pack: session.pack,
    target: session.label,
    baseUrl: session.baseUrl,
    ...(session.scenario ? { scenario: session.scenario } : {}),
    apiVersion: opts.apiVersion,
    variables: session.variables,
    transport: session.transport,
    ...(opts.only ? { only: opts.only } : {}),
    ...(opts.samples ? { samples: opts.samples } : {}),
    ...(opts.connection ? { connection: opts.connection } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.halt ? { halt: opts.halt } : {}),
    ...(onProgress ? { onProgress: (e: ProgressEvent) => onProgress({ ...e, findings: e.findings.map(rerun) }) } : {}),
    ...(opts.onRetry ? { onRetry: opts.onRetry } : {}),
    ...(opts.onObservations ? { onObservations: opts.onObservations } : {}),
    golden: session.golden,
    retry: opts.retryBudgetSeconds === undefined ? DEFAULT_RETRY : { ...DEFAULT_RETRY, budgetMs: opts.retryBudgetSeconds * 1000 },
  })
  return { ...report, findings: report.findings.map(rerun) }
}

/** Runs a check end to end. Throws HarnessError for configuration problems found before any probe. */
export async function runCheck(opts: CheckOptions): Promise<CheckResult> {
  // The run starts here, simulator and contracts included: the report's duration is the one the command took.
  const runStartedAt = new Date().toISOString()
  await assertWritable(opts.outDir, '--out', opts.cwd)
  const tripping = opts.roundTripSeconds !== undefined
  if (tripping && opts.target !== 'sim' && opts.webhookJournal === undefined) throw new HarnessError('DW_USAGE', "--round-trip against Meta needs --webhook-journal <dir>: the --out of the driftwatch webhook receiver in front of your app (Meta posts the statuses to your callback URL, not to check), e.g. --webhook-journal reports/webhook")
  if (opts.webhookJournal !== undefined && !tripping) throw new HarnessError('DW_USAGE', '--webhook-journal only applies with --round-trip <s>')
  if (opts.webhookJournal !== undefined && !existsSync(resolve(opts.cwd ?? process.cwd(), opts.webhookJournal))) throw new HarnessError('DW_USAGE', `--webhook-journal ${opts.webhookJournal}: no such folder. Give the --out of the driftwatch webhook receiver that Meta's callback reaches (its journal is in <out>/.journal), e.g. --webhook-journal reports/webhook`)
  const { StatusCollector, JournalSource, roundTrip } = tripping ? await import('../webhooks/round-trip.ts') : { StatusCollector: undefined, JournalSource: undefined, roundTrip: undefined }
  const collector = opts.target === 'sim' ? await StatusCollector?.start() : undefined
  // A journal's earlier sessions are not this message's: read what arrives from a little before now.
  const source = collector ?? (JournalSource && opts.webhookJournal !== undefined ? new JournalSource(resolve(opts.cwd ?? process.cwd(), opts.webhookJournal), Date.now() - 5_000) : undefined)
  let session: Session
  try {
    session = await openSession({ ...opts, ...(collector ? { simWebhooks: { url: collector.url, appSecret: collector.secret } } : {}) })
  } catch (err) {
    await collector?.close()
    throw err
  }
  const startedAt = new Date().toISOString()
  const write = (report: Report) => writeReports(report, { outDir: opts.outDir, formats: opts.formats, redactor: session.redactor, ...(opts.failOn ? { failOn: opts.failOn } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.past ? { past: opts.past } : {}) })
  // The test message of the run: messages.send-text's answer names it.
  let sent: { wamid: string; at: number } | undefined
  const onObservations = (probe: Probe, observations: readonly Observation[]) => {
    if (tripping && probe.operation === 'messages.send-text' && !sent) {
      const wamid = (observations.find((o) => o.response?.status === 200)?.response?.body.json as { messages?: { id?: unknown }[] } | undefined)?.messages?.[0]?.id
      if (typeof wamid === 'string') sent = { wamid, at: Date.now() }
    }
    opts.onObservations?.(probe, observations)
  }
  try {
    const probed = { ...(await runInSession(session, { ...opts, onObservations })), startedAt: runStartedAt }
    let report = probed
    if (roundTrip && source && probed.outcome !== 'interrupted') {
      opts.onRoundTrip?.({ ...(sent ? { wamid: sent.wamid } : {}), seconds: opts.roundTripSeconds! })
      const trip = await roundTrip({ collector: source, ...(sent ? { sent } : {}), waitMs: opts.roundTripSeconds! * 1000, ...(opts.roundTripSettleMs !== undefined ? { settleMs: opts.roundTripSettleMs } : {}), ...(opts.signal ? { signal: opts.signal } : {}), contractsDir: opts.contractsDir, cwd: opts.cwd ?? process.cwd(), since: startedAt, redactor: session.redactor })
      // The round trip's findings come back with the test message and the same wait (and journal).
      const again = probeRerun(rerunContext(session, opts), ['messages.send-text'], ['--round-trip', String(opts.roundTripSeconds), ...(opts.webhookJournal !== undefined ? ['--webhook-journal', opts.webhookJournal] : [])])
      trip.findings = trip.findings.map((f) => withRerun(f, again, false))
      // One line each, as every contract gets: the round trip and the webhook contracts it judged.
      trip.results.forEach((r, i) => opts.onProgress?.({ index: i + 1, total: trip.results.length, result: r, findings: trip.findings.filter((f) => f.contract === r.contract) }))
      const results = [...probed.results, ...trip.results]
      const findings = [...probed.findings, ...trip.findings]
      const summary = { ...summarize(results, findings) }
      report = { ...probed, results, findings, summary, outcome: opts.signal?.aborted ? 'interrupted' : outcomeOf(summary, opts.failOn) }
    }
    return { ...(await write(report)), redactor: session.redactor }
  } catch (err) {
    if (isHarnessError(err)) throw err
    // An unexpected failure mid-run (a harness bug): leave an error report for the nightly job's artifacts.
    const report: Report = {
      version: 1,
      target: session.label,
      apiVersion: opts.apiVersion,
      startedAt,
      finishedAt: new Date().toISOString(),
      outcome: 'error',
      summary: summarize([], []),
      findings: [],
      results: [],
      error: { code: 'DW_INTERNAL', message: session.redactor.text(err instanceof Error ? err.message : String(err)) },
    }
    return { ...(await write(report)), redactor: session.redactor, cause: err }
  } finally {
    await session.close()
    await collector?.close()
  }
}
