/**
 * `check --targets <file> [--shard i/n]`: one check per target, several at once, each in its own
 * session (its own token, simulator or connection, and pacing), joined into one report with a
 * section per target. A target that cannot run (a credential not set) is that target's error; the
 * others still run. Targets are reported in name order, so a merge of shards equals one run.
 */
import { performance } from 'node:perf_hooks'
import { HarnessError, isHarnessError } from '../util/errors.ts'
import type { Finding } from '../model/finding.ts'
import { assertWritable } from '../util/preflight.ts'
import { summarize, type FailOn, type Report, type TargetSection } from '../model/report.ts'
import type { FormatId } from '../reporters/index.ts'
import { DEFAULT_RETRY } from '../runner/retry.ts'
import { runInSession } from './check.ts'
import { openSession } from '../runner/session.ts'
import { ENV } from '../targets/target.ts'
import { loadTargets, shardOf, targetEnvironment, type Target } from '../targets/targets-file.ts'
import { Redactor, secretsFromEnv } from '../transport/redact.ts'
import type { Past } from '../history/since.ts'
import { writeReports } from './write-reports.ts'

export interface TargetsCheckOptions {
  targetsFile: string
  shard?: { index: number; of: number }
  /** Targets probed at once (default 4); each target's own requests stay one at a time. */
  concurrency?: number
  contractsDir: string
  recordingsDir?: string
  /** SessionOptions.shippedRecordingsDir. */
  shippedRecordingsDir?: string
  apiVersion: string
  only?: readonly string[]
  samples?: number
  connection?: 'fresh' | 'reuse'
  allowHosts?: readonly string[]
  timeoutMs?: number
  retryBudgetSeconds?: number
  outDir: string
  formats: readonly FormatId[]
  failOn?: FailOn
  /** The run's past from the history (since when; report.html's timelines). */
  past?: Past
  env: Readonly<Record<string, string | undefined>>
  /** Flags of this run a finding's rerun repeats, as argv words (see CheckOptions.rerunArgs). */
  rerunArgs?: readonly string[]
  cwd?: string
  signal?: AbortSignal
  halt?: AbortSignal
  /** Each target as it finishes. */
  onTarget?: (e: { index: number; total: number; section: TargetSection; durationMs: number; findings: readonly Finding[] }) => void
}

/** Runs every target (of the shard) and writes one report. */
export async function runCheckTargets(opts: TargetsCheckOptions): Promise<{ report: Report; files: string[] }> {
  const all = loadTargets(opts.targetsFile, opts.cwd)
  const targets = shardOf(all, opts.shard)
  await assertWritable(opts.outDir, '--out', opts.cwd)
  const startedAt = new Date().toISOString()
  const secrets: string[] = []
  const personal: (string | undefined)[] = []
  const parts: { section: TargetSection; report?: Report }[] = new Array(targets.length)
  let next = 0
  let done = 0
  const worker = async () => {
    while (next < targets.length) {
      const i = next++
      const t = targets[i]!
      const t0 = performance.now()
      parts[i] = await runTarget(t, opts, secrets, personal)
      opts.onTarget?.({ index: ++done, total: targets.length, section: parts[i]!.section, durationMs: performance.now() - t0, findings: parts[i]!.report?.findings ?? [] })
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 4, targets.length)) }, worker))

  const results = parts.flatMap((p) => p.report?.results.map((r) => ({ ...r, target: p.section.name })) ?? [])
  const findings = parts.flatMap((p) => p.report?.findings.map((f) => ({ ...f, target: p.section.name })) ?? [])
  const interrupted = parts.some((p) => p.report?.outcome === 'interrupted')
  const report: Report = {
    version: 1,
    target: `${targets.length} target${targets.length === 1 ? '' : 's'} of ${opts.targetsFile}`,
    apiVersion: opts.apiVersion,
    startedAt,
    finishedAt: new Date().toISOString(),
    outcome: 'pass', // settled when written
    summary: summarize(results, findings),
    findings,
    results,
    targets: parts.map((p) => p.section),
    ...(opts.shard ? { shard: opts.shard } : {}),
    ...(interrupted ? { interrupted: true } : {}),
  }
  const redactor = new Redactor({ secrets, personal })
  return writeReports(report, { outDir: opts.outDir, formats: opts.formats, redactor, ...(opts.failOn ? { failOn: opts.failOn } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.past ? { past: opts.past } : {}) })
}

async function runTarget(t: Target, opts: TargetsCheckOptions, secrets: string[], personal: (string | undefined)[]): Promise<{ section: TargetSection; report?: Report }> {
  const base: TargetSection = { name: t.name, target: t.target, ...(t.scenario ? { scenario: t.scenario } : {}), outcome: 'pass', summary: summarize([], []) }
  if (opts.signal?.aborted) return { section: { ...base, outcome: 'interrupted' } }
  try {
    const env = targetEnvironment(t, opts.env)
    const session = await openSession({
      target: t.target,
      contractsDir: opts.contractsDir,
      ...(opts.only ? { only: opts.only } : {}),
      ...(t.scenario ? { scenario: t.scenario } : {}),
      ...(opts.allowHosts ? { allowHosts: opts.allowHosts } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.recordingsDir ? { recordingsDir: opts.recordingsDir } : {}),
      ...(opts.shippedRecordingsDir ? { shippedRecordingsDir: opts.shippedRecordingsDir } : {}),
      env,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    })
    try {
      secrets.push(...secretsFromEnv(env))
      personal.push(env.WHATSAPP_TEST_RECIPIENT)
      const report = await runInSession(session, {
        apiVersion: opts.apiVersion,
        ...(opts.only ? { only: opts.only } : {}),
        ...(opts.samples ? { samples: opts.samples } : {}),
        ...(opts.connection ? { connection: opts.connection } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.halt ? { halt: opts.halt } : {}),
        ...(opts.retryBudgetSeconds !== undefined ? { retryBudgetSeconds: opts.retryBudgetSeconds } : { retryBudgetSeconds: DEFAULT_RETRY.budgetMs / 1000 }),
        ...(opts.rerunArgs ? { rerunArgs: opts.rerunArgs } : {}),
        ...(t.env && t.target !== 'sim' ? { rerunEnv: rerunEnvOf(t.env) } : {}),
      })
      return { section: { ...base, target: session.label, outcome: report.outcome, summary: report.summary }, report }
    } finally {
      await session.close()
    }
  } catch (err) {
    // One target that cannot run is that target's error, said in its section; the others go on.
    const e = isHarnessError(err) ? err : new HarnessError('DW_INTERNAL', err instanceof Error ? err.message : String(err))
    return { section: { ...base, outcome: 'error', error: { code: e.code, message: e.message } } }
  }
}

/** A live entry's credentials for its findings' reruns: each standard variable set from the entry's, by name (a recipient it has none of, unset, as its run had). */
function rerunEnvOf(e: NonNullable<Target['env']>): Record<string, string> {
  return { [ENV.token]: e.token, [ENV.phoneNumberId]: e.phone_number_id, [ENV.wabaId]: e.waba_id, [ENV.testRecipient]: e.test_recipient ?? '' }
}
