/**
 * The proxy's observer side: what happens to exchanges after the application has its answer,
 * with everything it owns: the TrafficJudge, the journal, the Observer, the compactions at
 * intervals and at stop, and the session's judgement. The proxy (src/commands/proxy.ts) runs it inline, on the
 * main thread, or in a worker thread (observer-thread.ts), which builds one from plain options;
 * either way the proxy sees the same surface (`ObserverSide`).
 */
import { performance } from 'node:perf_hooks'
import { loadContracts } from '../contracts/load.ts'
import type { ContractPack } from '../contracts/types.ts'
import { compactJournal, recoverJournal, removeJournal, removeStaleTemps, type CompactResult } from '../recordings/compact.ts'
import { hostname } from 'node:os'
import { INSTANCE, JournalWriter, journalFiles, journalPath, type JournalStats } from '../recordings/journal.ts'
import { PersonalDataRedactor } from '../recordings/personal-data.ts'
import type { Report } from '../model/report.ts'
import { trafficState } from '../traffic/attribute.ts'
import { TrafficJudge, type TrafficCounts } from '../traffic/judge-traffic.ts'
import { Redactor } from '../transport/redact.ts'
import type { CapturedExchange, IncidentSink, ObserverCounts, ProxyMode } from './exchange.ts'
import { Observer, type ObservedExchange, type ObserverMetrics } from './observer.ts'

/** How to build an observer side; every field but the last group is plain data (a worker gets it as workerData). */
export interface ObserverSideOptions {
  mode: ProxyMode
  /** The upstream's origin and host (`https://graph.facebook.com`, `graph.facebook.com`). */
  origin: string
  host: string
  contractsDir: string
  cwd: string
  phoneNumberId?: string | undefined
  wabaId?: string | undefined
  /** The environment's secrets (secretsFromEnv). */
  secrets: string[]
  startedAt: string
  recordingsDir?: string
  name: string
  queue?: number
  liveJudgeBacklog?: number
  recordBodyBytes?: number
  maxShapes?: number
  rotateBytes?: number
  compactEveryMs?: number
  share?: number
  // Not plain data: inline only (the worker makes its own that post to the main thread).
  pack?: ContractPack
  incidents?: IncidentSink
  metrics?: ObserverMetrics
  onExchange?: (e: ObservedExchange) => void
  onError?: (message: string) => void
  beforeEach?: (x: CapturedExchange) => Promise<void> | void
}

/** What the session's end gives back: plain data. */
export interface ObserverFinish {
  judged: Report
  counts: TrafficCounts
  compaction?: CompactResult
  journalKept?: string
  /** Answered exchanges the last compaction could not write into a recording. */
  notRecorded: number
  timings: { compactMs: number; judgeMs: number }
  /** Thrown by compaction when it was aborted meanwhile (the proxy then throws its AbortError). */
  aborted?: boolean
}

/** The observer side as the proxy uses it, inline or in a worker. */
export interface ObserverSide {
  offer(x: CapturedExchange): boolean
  submit(x: CapturedExchange): Promise<void>
  whenRoom(): Promise<void>
  readonly full: boolean
  readonly counts: ObserverCounts
  readonly redactor: Redactor
  journal?: string
  recovered?: CompactResult & { journal: string }
  removedTemps: string[]
  journalStats(): JournalStats | undefined
  compactions(): number
  idle(): Promise<void>
  compact(): Promise<CompactResult | undefined>
  /** Stops taking exchanges, observes what is queued, compacts and closes the journal, judges the session. */
  finish(): Promise<ObserverFinish>
  /** Stops at once: what is queued goes to the journal unjudged, which is closed. */
  abort(): Promise<void>
}

/** The session's judge: attributes and judges the traffic of one proxy session. */
export function sessionJudge(opts: ObserverSideOptions, pack: ContractPack): TrafficJudge {
  return new TrafficJudge({
    pack,
    state: trafficState({ phoneNumberId: opts.phoneNumberId, wabaId: opts.wabaId }),
    since: opts.startedAt,
    contractsDir: opts.contractsDir,
    label: `the proxy session to ${opts.origin}`,
    upstreamHosts: [opts.host],
  })
}

/** Builds the observer side in this thread: recovers a journal an earlier session left, starts a new one. */
export async function createObserverSide(opts: ObserverSideOptions): Promise<ObserverSide> {
  const pack = opts.pack ?? loadContracts(opts.contractsDir, { cwd: opts.cwd })
  const { name, startedAt } = opts
  const dir = opts.recordingsDir
  const traffic = sessionJudge(opts, pack)
  const removedTemps = dir ? await removeStaleTemps(dir) : []
  const recovered = dir ? await recoverJournal(dir, name, { redactor: new Redactor({ secrets: opts.secrets }) }) : undefined
  const journal = dir ? await JournalWriter.create(journalPath(dir, name), { name, target: opts.origin, startedAt, pid: process.pid, host: hostname(), instance: INSTANCE }, { ...(opts.rotateBytes ? { rotateBytes: opts.rotateBytes } : {}) }) : undefined
  const observer = new Observer({
    mode: opts.mode,
    traffic,
    secrets: opts.secrets,
    personal: new PersonalDataRedactor(),
    ...(journal ? { journal: { writer: journal, dir: dir!, name } } : {}),
    ...(opts.queue ? { queue: opts.queue } : {}),
    ...(opts.liveJudgeBacklog !== undefined ? { liveJudgeBacklog: opts.liveJudgeBacklog } : {}),
    ...(opts.recordBodyBytes ? { recordBodyBytes: opts.recordBodyBytes } : {}),
    ...(opts.maxShapes ? { maxShapes: opts.maxShapes } : {}),
    ...(opts.incidents ? { incidents: opts.incidents } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.onExchange ? { onExchange: opts.onExchange } : {}),
    ...(opts.beforeEach ? { beforeEach: opts.beforeEach } : {}),
    ...(opts.share !== undefined ? { share: opts.share } : {}),
    onError: (m) => opts.onError?.(m),
  })
  const say = (message: string) => opts.onError?.(observer.redactor.text(message))

  // Compaction at intervals: never more than one at a time, and never more often than ten times its own
  // duration, so a long session's compactions stay a small share of the time however large the journal grows.
  let aborted = false
  let compactions = 0
  let compacting: Promise<CompactResult | undefined> | undefined
  let compactAbort = new AbortController()
  let compactedLines = 0
  let nextCompactionAt = 0
  const failuresSaid = new Set<string>()
  const compact = (): Promise<CompactResult | undefined> => {
    if (!journal || aborted) return Promise.resolve(undefined)
    compacting ??= (async () => {
      try {
        const counted = observer.takeCounted()
        if (Object.keys(counted).length) journal.append(JSON.stringify({ counted }))
        await journal.flush()
        const lines = journal.stats.lines
        const t0 = performance.now()
        const held = journal.hold()
        let result: CompactResult
        try {
          result = await compactJournal(journal.file, dir!, { redactor: observer.redactor, signal: compactAbort.signal, files: held.files, end: held.end })
        } finally {
          journal.release()
        }
        nextCompactionAt = performance.now() + 10 * (performance.now() - t0)
        compactedLines = lines
        compactions++
        for (const f of result.failed) if (!failuresSaid.has(f.contract)) {
          failuresSaid.add(f.contract)
          say(`${f.message}: ${f.observations} exchange${f.observations === 1 ? '' : 's'} of ${f.contract} answered but not in a recording; they are kept in the journal ${journal.file}`)
        }
        return result
      } finally {
        compacting = undefined
      }
    })()
    return compacting
  }
  const every = opts.compactEveryMs ?? 30_000
  const timer = every > 0 && journal ? setInterval(() => {
    if (compacting || performance.now() < nextCompactionAt) return
    if (journal.stats.lines === compactedLines && !observer.hasCounted) return
    compact().catch((err: unknown) => say(`compacting ${journal.file} failed: ${(err as Error).message}; the journal keeps every exchange, and the stop compacts again`))
  }, every) : undefined
  timer?.unref()

  return {
    offer: (x) => observer.offer(x),
    submit: (x) => observer.submit(x),
    whenRoom: () => observer.whenRoom(),
    get full() {
      return observer.full
    },
    counts: observer.counts,
    get redactor() {
      return observer.redactor
    },
    ...(journal ? { journal: journal.file } : {}),
    ...(recovered ? { recovered } : {}),
    removedTemps,
    journalStats: () => journal?.stats,
    compactions: () => compactions,
    idle: () => observer.idle(),
    compact,
    async finish() {
      if (timer) clearInterval(timer)
      await observer.stop()
      const stopped = { judged: undefined as unknown as Report, counts: traffic.counts, notRecorded: 0, timings: { compactMs: 0, judgeMs: 0 }, aborted: true }
      if (aborted) return stopped
      if (compacting) await compacting.catch(() => undefined)
      let compaction: CompactResult | undefined
      let journalKept: string | undefined
      let notRecorded = 0
      const t0 = performance.now()
      if (journal) {
        try {
          compaction = await compact()
        } finally {
          await journal.close()
        }
        if (aborted || !compaction) return stopped
        notRecorded = compaction.failed.reduce((n, f) => n + f.observations, 0)
        if (compaction.failed.length) journalKept = journal.file
        else await removeJournal(journalFiles(journal.file))
      }
      const t1 = performance.now()
      const judged = await traffic.report(`proxy:${opts.origin}`, observer.redactor)
      const timings = { compactMs: t1 - t0, judgeMs: performance.now() - t1 }
      return { judged, counts: traffic.counts, notRecorded, timings, ...(compaction ? { compaction } : {}), ...(journalKept ? { journalKept } : {}) }
    },
    async abort() {
      aborted = true
      if (timer) clearInterval(timer)
      compactAbort.abort()
      compactAbort = new AbortController()
      // Everything already captured goes to the journal, unjudged: nothing captured is lost.
      observer.abort()
      if (compacting) await compacting.catch(() => undefined)
      if (journal) {
        const counted = observer.takeCounted()
        if (Object.keys(counted).length) journal.append(JSON.stringify({ counted }))
        await journal.close()
        // A journal that holds nothing (a start that failed to listen, a stop before any exchange) is not a session to recover.
        if (journal.stats.lines === 0 && journal.stats.lost === 0) await removeJournal(journalFiles(journal.file))
      }
    },
  }
}
