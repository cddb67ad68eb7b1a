/**
 * `driftwatch proxy`: a proxy in front of the Graph API that judges the traffic passing through.
 * Point an application (or curl) at it instead of the Graph API; the request path (passthrough.ts)
 * streams each request to the upstream and its answer back as the bytes arrive, and hands the
 * finished exchange (a capped copy, a hash and a size) to its observer (observer.ts), which attributes it to the operation it is (as verify does,
 * learning ids as the session goes), judges it, records it and reports it, off the request path.
 * When it stops, what the observer kept is judged together and written as a report.
 *
 * Two modes (exchange.ts says the seams):
 * - production (the default): the application never waits for the observer. Its queue is bounded;
 *   when it is full, the exchange is forwarded all the same and counted as skipped ('queue-full').
 *   Accept-Encoding is forwarded: a compressed answer is inflated off the request path when it
 *   was captured whole. Every forwarded exchange is captured or skipped, and the counts say which.
 * - review: today's complete capture. When the observer's queue (or the journal's) is full, new
 *   requests wait before they are forwarded (backpressure: the application sees latency, nothing
 *   is dropped); Accept-Encoding is not forwarded so every answer can be checked and recorded as
 *   sent. When more than `liveJudgeBacklog` wait, exchanges are recorded but judged only by the
 *   session report.
 *
 * Consumer drift shows here first: a request with a method the endpoint does not take (the Feb 6
 * 2026 POST with method=get) is flagged whatever the upstream answered. Only answered exchanges of
 * one known operation are recorded: a wrong method, an unattributed exchange or a connection that
 * failed is never a golden.
 *
 * Recording is append-only and bounded: the first few distinct shapes of each operation and
 * status become journal lines (recordings/journal.ts), bodies over the recording cap as their size
 * and sha256; later exchanges of a known shape are counted. The journal rotates into numbered
 * segments at a size and is compacted into the readable recording files at intervals and when the
 * proxy stops (recordings/compact.ts), which then removes it; a journal left by a proxy that died is
 * compacted by the next one to start, and temp files an interrupted compaction left are removed.
 *
 * Framing is passed through as the upstream chose it (chunked stays chunked), and failures as the
 * failure they are: an upstream that cannot be reached gets the application a 502 with a
 * Graph-shaped error naming driftwatch (no head in time: a 504); one that resets or truncates its
 * answer mid-body cuts the application's connection mid-body, never a clean answer. Either way the
 * session gets a finding and an inconclusive result. Judged exchanges go to the IncidentSink
 * (alerts) and the metrics the caller passes (src/live composes them over watch's state), or to
 * the ones startProxy makes itself from `state` and `metricsPort` (what `driftwatch proxy` does;
 * the CLI, cli/commands/proxy.ts, only parses and prints).
 */
import { existsSync } from 'node:fs'
import { rmdir } from 'node:fs/promises'
import { missingFolders, removeMade } from '../util/preflight.ts'
import { dirname, join, resolve } from 'node:path'
import { availableParallelism } from 'node:os'
import { loadContracts } from '../contracts/load.ts'
import type { ContractPack } from '../contracts/types.ts'
import { operationOf, ProxyMetrics, serveProxyMetrics, TrafficIncidents, type RecoveryRule } from '../live/index.ts'
import type { Alert, AlertSink } from '../watch/alerts.ts'
import type { MetricsServer } from '../watch/metrics.ts'
import type { Finding } from '../model/finding.ts'
import type { CompactResult } from '../recordings/compact.ts'
import { settle, type ContractResult, type FailOn, type Report } from '../model/report.ts'
import type { FormatId } from '../reporters/index.ts'
import type { TrafficCounts } from '../traffic/judge-traffic.ts'
import { Redactor, secretsFromEnv } from '../transport/redact.ts'
import { writeReports } from './write-reports.ts'
import type { CapturedExchange, IncidentSink, ProxyMode, SkipReason } from '../proxy/exchange.ts'
import { createObserverSide, type ObserverSide, type ObserverSideOptions } from '../proxy/observer-side.ts'
import { startObserverThread, type ObserverThreadHooks } from '../proxy/observer-thread.ts'
import type { ObservedExchange, ObserverMetrics } from '../proxy/observer.ts'
import { startPassthrough, upstreamUrl } from '../proxy/passthrough.ts'

export type { ProxyMode } from '../proxy/exchange.ts'

/** How to run the proxy. */
export interface ProxyOptions {
  /** Base URL requests are forwarded to, e.g. https://graph.facebook.com. */
  upstream: string
  port?: number
  host?: string
  contractsDir: string
  /** The pack in contractsDir, when the caller loaded it already (the CLI does, for metrics and incidents). */
  pack?: ContractPack
  /** Where recordings go (`<dir>/<contract>/<name>.json`, journal in `<dir>/.journal/`); undefined records nothing. */
  recordingsDir?: string
  /** Recording file name without .json (default `proxy`). */
  name?: string
  /** Where the session report goes when the proxy stops (report.json and the formats); undefined writes none. */
  reportDir?: string
  formats?: readonly FormatId[]
  /** The lowest severity that is drift (default breaking): the session report's outcome is decided with it. */
  failOn?: FailOn
  /** WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_WABA_ID say which node an id is before the traffic does. */
  env?: Readonly<Record<string, string | undefined>>
  /** production (default): the application never waits, exchanges over the queue are skipped and counted; review: complete capture with backpressure. */
  mode?: ProxyMode
  /** Bytes of each body handed to the observer (default 1 MiB); past it the body is judged by its size and hash. */
  captureBytes?: number
  /** A response body over this many bytes is recorded as its size and sha256 only (default 64 KiB). */
  recordBodyBytes?: number
  /** Distinct shapes recorded per operation and status (default 5); later exchanges of a known shape are counted. */
  maxShapes?: number
  /** Journal bytes after which it rotates into a numbered segment (default 64 MiB). */
  rotateBytes?: number
  /** No response head from the upstream within this long: the application gets a 504 (default 30 s). */
  timeoutMs?: number
  /** How long `close` lets in-flight exchanges finish before cutting them (default 30 s). */
  graceMs?: number
  cwd?: string
  /** Journal compaction into the recording files every this many ms while running (default 30 s; 0: only at stop). */
  compactEveryMs?: number
  /** Exchanges waiting for the observer at most (default: production 128, review 1024): production skips beyond it, review makes new requests wait. */
  queue?: number
  /** Review mode: waiting exchanges above which exchanges are recorded but not judged live (default 64); the session report judges them all. */
  liveJudgeBacklog?: number
  /** Where judged exchanges become incidents (the SQLite state `watch` shares). */
  incidents?: IncidentSink
  /**
   * Instead of `incidents`: watch's state file (`watch --state`), where a drift in the traffic opens
   * an incident (one alert to `sinks` and onAlert) and clears by `recovery`; closed when the proxy stops.
   */
  state?: string
  /** With `state`: where each alert is POSTed (watch/alerts.ts webhookSink). */
  sinks?: readonly AlertSink[]
  /** With `state`: when a drift the traffic saw clears (default TRAFFIC_RECOVERY). */
  recovery?: RecoveryRule
  /** With `state`: each alert raised, with what its delivery to each sink said. */
  onAlert?: (a: Alert, delivery: string[]) => void
  /** Told of every exchange forwarded, captured, judged and skipped, and the queue's depth (src/live ProxyMetrics fits); ignored with metricsPort. */
  metrics?: ProxyMetricsSink
  /** Serve the proxy's Prometheus /metrics and /healthz on this port (0 picks one); stopped with the proxy. */
  metricsPort?: number
  /** Address for metricsPort (default 127.0.0.1). */
  metricsHost?: string
  /** Share of the main thread the observer may take, fixed (default: adaptive in production, share.ts; 1 in review); see observer.ts. */
  observerShare?: number
  /**
   * Where the observer runs (default inline): `inline` on the main thread, one exchange per turn (observerShare of it);
   * `thread` in a worker thread (observer-thread.ts), which leaves the main thread to the request path;
   * `auto` a worker thread when os.availableParallelism() >= 2.
   */
  observer?: 'inline' | 'thread' | 'auto'
  /** Tests of the thread observer: make it stall or crash (observer-thread.ts). */
  threadHooks?: ObserverThreadHooks
  /** Called before the observer takes each exchange (inline only): tests make it slow with it. */
  beforeObserve?: (x: CapturedExchange) => Promise<void> | void
  /** Upstream connections (default 32): concurrent application requests are forwarded concurrently. */
  connections?: number
  /** Called after each exchange is observed (placed, and judged unless review mode was over the live bound), already redacted. */
  onExchange?: (e: ProxyExchange) => void
  /** Called when recording failed (the disk is full, a file sits where a directory should be); the application was answered regardless. */
  onError?: (message: string) => void
}

/** What the proxy tells its metrics: the observer's, and each exchange the request path finished. */
export interface ProxyMetricsSink extends ObserverMetrics {
  forwarded?(): void
  /** Every forwarded exchange's status (undefined: no answer), judged or not. */
  responded?(status: number | undefined): void
}

/** One request through the proxy, as reported live. */
export type ProxyExchange = ObservedExchange

/** Counters of a running proxy: constant memory, whatever the session's length. */
export interface ProxyStats {
  /** Requests forwarded to the upstream. */
  exchanges: number
  /** Of those, answered whole: the upstream's body ended as its framing said. */
  answered: number
  /** Cut after the head reached the application (the upstream reset or truncated the body): the application's connection was cut too. */
  abortedMidBody: number
  /** Got no upstream answer: a 502 (unreachable) or 504 (no head in time) from driftwatch, or a reset connection (the upstream broke before its head ended). */
  failedBeforeAnswer: number
  /** Given up by the application (it closed its connection before its answer ended). */
  appAborted: number
  /** Of those, taken by the observer; the others are in `skipped`, by reason. */
  captured: number
  /** Of those captured, taken past the queue bound because no exchange of their kind (method, path shape, status, framing) was taken in the last 10 s: sampling never skips the first of a new kind. */
  newKinds: number
  /** Exchanges forwarded but not observed, by reason (every forwarded exchange is captured or skipped). */
  skipped: Record<SkipReason, number>
  /** Exchange lines on disk in the journal (fsynced). */
  journaled: number
  /** Answered exchanges of a known operation that could not be recorded (a journal or recording write failed). */
  notRecorded: number
  /** Exchanges judged live; the others were skipped, or (review) recorded and left to the session report. */
  judgedLive: number
  /** Review mode: requests that waited for room in the observer's queue before being forwarded. */
  waited: number
  /** Exchanges waiting for the observer now. */
  backlog: number
  /** Longest time from an answer to its journal line being on disk, in ms. */
  maxDiskLagMs: number
  /** Of that, the longest the disk took to write and fsync one batch, in ms. */
  maxSyncMs: number
  /** Journal bytes on disk. */
  journalBytes: number
  /** Compactions finished (at intervals and at stop). */
  compactions: number
}

/** The session, judged whole when the proxy stops. */
export interface ProxySession {
  /** Settled at --fail-on: `drift`, `error` (answered exchanges not recorded), `inconclusive` (an exchange the upstream did not answer, or traffic none of which was attributed), else `interrupted` (stopped by Ctrl-C) or `pass` (a session no exchange passed through too). */
  report: Report
  /** Report files written (none without reportDir). */
  files: string[]
  counts: TrafficCounts
  stats: ProxyStats
  /** The last compaction (undefined when not recording). */
  compaction?: CompactResult
  /** Where the journal is kept because a recording could not be written (undefined when it was compacted and removed). */
  journalKept?: string
  /** How long the stop took: the final compaction and judging the whole session, in ms. */
  timings: { compactMs: number; judgeMs: number }
}

/** What a stop at once (`abort`) left on disk. */
export interface AbortedSession {
  stats: ProxyStats
  /** The journal holding every answered exchange recorded so far; the next proxy start compacts it. */
  journal?: string
}

/** A running proxy. */
export interface RunningProxy {
  url: string
  /** The journal being appended to (undefined when not recording). */
  journal?: string
  /** A journal an earlier session left behind, compacted when this one started. */
  recovered?: CompactResult & { journal: string }
  /** Temp files of an interrupted compaction, removed when this one started. */
  removedTemps: string[]
  mode: ProxyMode
  /** Drifts `state` holds open from before this session (alerted then, not again); 0 without a state. */
  openBefore: number
  /** The metrics server's base URL (`/metrics`, `/healthz`), with metricsPort. */
  metricsUrl?: string
  /** Redacts every token the application sent so far (and the environment's): what leaves the proxy goes through it. */
  readonly redactor: Redactor
  stats(): ProxyStats
  /** Resolves once every exchange captured so far is observed (its journal line on disk) and judged or left for the report. */
  idle(): Promise<void>
  /** Compacts the journal into the recording files now (it also happens at intervals and at stop). */
  compact(): Promise<CompactResult | undefined>
  /**
   * Stops: no new requests, in-flight ones finish, the journal is compacted, the whole session is
   * judged and its report written. `interrupted`: stopped by Ctrl-C (a clean session's outcome is
   * then `interrupted`). Rejects with an AbortError if `abort` is called meanwhile.
   */
  close(opts?: { interrupted?: boolean }): Promise<ProxySession>
  /**
   * Stops at once (a second Ctrl-C): in-flight requests are abandoned, a running compaction is
   * undone (no temp file stays), every exchange already captured is appended to the journal
   * and flushed; no report. The next proxy start with the same recordings and name compacts it.
   */
  abort(): Promise<AbortedSession>
}

/** Distinct causes of upstream failures kept for the report (each with its count). */
const MAX_CAUSES = 20
/**
 * The observer's queue by default. Production's is short: under sustained overload the queue is
 * always full, and what waits in it only survives garbage collections (saturated by 10 clients, a
 * 1,024-deep queue paused the proxy 174 to 201 ms for GC over 20,000 requests, a 128-deep one 60
 * to 68 ms, at the same throughput; and the exchanges in it were judged seconds late); a burst of 128 is what a quiet observer judges in about a tenth of a
 * second, and sampling never skips the first of a new kind. Review waits for room, so a deep
 * queue spares the application waits.
 */
const PRODUCTION_QUEUE = 128
const REVIEW_QUEUE = 1024

/** Why the upstream did not answer, with how often. */
interface Cause {
  code: string
  message: string
  unreachable: boolean
  count: number
  example: string
}

/**
 * Starts the proxy (`driftwatch proxy` as a library call); resolves once it listens. A journal an
 * earlier session left is compacted first. With `state` it opens the incidents over watch's state,
 * with `metricsPort` the metrics server, both before it listens and both closed again when the
 * start fails or the proxy stops (close or abort).
 */
export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  // Loaded here, on this thread, whichever thread observes: a bad pack fails the start before anything opens.
  const pack = opts.pack ?? loadContracts(opts.contractsDir, { cwd: opts.cwd ?? process.cwd() })
  const metrics = opts.metricsPort !== undefined ? new ProxyMetrics({ operations: pack.operations.map((o) => o.id) }) : opts.metrics
  let proxy: RunningProxy | undefined
  const failOn = opts.failOn ?? 'breaking'
  // As watch does: a state this start creates is removed again when the start fails (a busy port left a 73 KB
  // database of 0 cycles); one that was there before is left as it was.
  const statePath = opts.state !== undefined && !opts.incidents ? opts.state : undefined
  const madeState = statePath !== undefined && !existsSync(statePath)
  const madeStateFolders = madeState ? missingFolders(dirname(statePath)) : []
  const incidents =
    opts.incidents ??
    (opts.state !== undefined
      ? new TrafficIncidents({
          state: opts.state,
          upstream: opts.upstream,
          failOn: failOn === 'never' ? 'breaking' : failOn,
          ...(opts.recovery ? { recovery: opts.recovery } : {}),
          operationOf: operationOf(pack),
          sinks: opts.sinks ?? [],
          // Alerts leave the machine: every token the application sent so far is redacted from them.
          redact: (a) => (proxy ? proxy.redactor.deep(a) : a),
          ...(metrics instanceof ProxyMetrics ? { metrics } : {}),
          ...(opts.onAlert ? { onAlert: opts.onAlert } : {}),
        })
      : undefined)
  const owned = opts.incidents ? undefined : incidents
  /** After a failed start, once the state is closed: the database (and its SQLite side files) and folders this start made. */
  const removeMadeState = () => {
    if (madeState) removeMade([statePath, `${statePath}-wal`, `${statePath}-shm`, `${statePath}-journal`], madeStateFolders)
  }
  let server: MetricsServer | undefined
  if (opts.metricsPort !== undefined && metrics instanceof ProxyMetrics) {
    server = await serveProxyMetrics(metrics, opts.metricsPort, opts.metricsHost ?? '127.0.0.1').catch(async (err: unknown) => {
      await owned?.close()
      removeMadeState()
      throw err
    })
  }
  let stopping: Promise<void> | undefined
  const shutdown = () =>
    (stopping ??= (async () => {
      await server?.close()
      await owned?.close()
    })())
  const inner = await startForwarding({ ...opts, pack, ...(metrics ? { metrics } : {}), ...(incidents ? { incidents } : {}) }).catch(async (err: unknown) => {
    await shutdown()
    removeMadeState()
    throw err
  })
  proxy = {
    ...inner,
    get redactor() {
      return inner.redactor
    },
    openBefore: incidents instanceof TrafficIncidents ? incidents.open().length : 0,
    ...(server ? { metricsUrl: server.url } : {}),
    async close(closeOpts) {
      const session = await inner.close(closeOpts)
      await shutdown()
      return session
    },
    async abort() {
      const aborted = await inner.abort()
      await shutdown()
      return aborted
    },
  }
  return proxy
}

/** The proxy itself: the request path and its observer, with the incidents and metrics the caller passes. */
async function startForwarding(opts: ProxyOptions): Promise<RunningProxy> {
  const upstream = upstreamUrl(opts.upstream)
  const mode: ProxyMode = opts.mode ?? 'production'
  const cwd = opts.cwd ?? process.cwd()
  const name = opts.name ?? 'proxy'
  const envSecrets = secretsFromEnv(opts.env)
  const startedAt = new Date().toISOString()
  const metrics = opts.metrics
  const sideOptions: ObserverSideOptions = {
    mode,
    origin: upstream.origin,
    host: upstream.host,
    contractsDir: opts.contractsDir,
    cwd,
    phoneNumberId: opts.env?.WHATSAPP_PHONE_NUMBER_ID,
    wabaId: opts.env?.WHATSAPP_WABA_ID,
    secrets: envSecrets,
    startedAt,
    name,
    ...(opts.recordingsDir ? { recordingsDir: opts.recordingsDir } : {}),
    queue: opts.queue ?? (mode === 'production' ? PRODUCTION_QUEUE : REVIEW_QUEUE),
    ...(opts.liveJudgeBacklog !== undefined ? { liveJudgeBacklog: opts.liveJudgeBacklog } : {}),
    ...(opts.recordBodyBytes ? { recordBodyBytes: opts.recordBodyBytes } : {}),
    ...(opts.maxShapes ? { maxShapes: opts.maxShapes } : {}),
    ...(opts.rotateBytes ? { rotateBytes: opts.rotateBytes } : {}),
    ...(opts.compactEveryMs !== undefined ? { compactEveryMs: opts.compactEveryMs } : {}),
    ...(opts.observerShare !== undefined ? { share: opts.observerShare } : {}),
    ...(opts.incidents ? { incidents: opts.incidents } : {}),
    ...(metrics ? { metrics } : {}),
    ...(opts.onExchange ? { onExchange: opts.onExchange } : {}),
    onError: (m) => opts.onError?.(m),
  }
  // What a start that cannot listen must not leave behind: the folders the journal needs, made only now.
  // Every folder up the chain that does not exist yet (recordings/ as well as recordings/meta/), deepest first.
  const made = opts.recordingsDir ? missingFolders(join(resolve(cwd, opts.recordingsDir), '.journal')) : []
  const threaded = observerWhere(opts) === 'thread'
  const observer: ObserverSide = threaded
    ? await startObserverThread(sideOptions, { ...(opts.threadHooks ? { hooks: opts.threadHooks } : {}), ...(opts.pack ? { pack: opts.pack } : {}) })
    : await createObserverSide({ ...sideOptions, ...(opts.pack ? { pack: opts.pack } : {}), ...(opts.beforeObserve ? { beforeEach: opts.beforeObserve } : {}) })
  const redactor = () => observer.redactor
  const say = (message: string) => opts.onError?.(redactor().text(message))

  const causes = new Map<string, Cause>()
  let aborted = false

  /** An upstream failure (not the application's own abort) is a cause in the session report; everything else costs nothing here. */
  const noteCause = (x: CapturedExchange) => {
    if (!x.failed) return
    const f = x.observation.transportError
    if (!f || f.code === 'DW_APP_ABORTED') return
    const key = `${f.code}\u0000${f.message}`
    const c = causes.get(key)
    if (c) c.count++
    else if (causes.size < MAX_CAUSES) causes.set(key, { code: f.code, message: f.message, unreachable: f.unreachable, count: 1, example: `${x.observation.request.method} ${x.observation.request.url}` })
  }
  // The request path: bytes stream through; each finished exchange is handed over once. Production never waits
  // for the observer (offer returns at once); review waits for room before forwarding, and submits every exchange.
  const pass = await startPassthrough({
    upstream: upstream.origin,
    ...(opts.host ? { host: opts.host } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.connections !== undefined ? { connections: opts.connections } : {}),
    ...(opts.captureBytes !== undefined ? { captureBytes: opts.captureBytes } : {}),
    ...(opts.timeoutMs ? { headersTimeoutMs: opts.timeoutMs } : {}),
    ...(opts.graceMs !== undefined ? { graceMs: opts.graceMs } : {}),
    redactor: new Redactor({ secrets: envSecrets }),
    ...(mode === 'review'
      ? {
          admit: () => (observer.full ? observer.whenRoom() : undefined),
          stripAcceptEncoding: true,
          capture: (x: CapturedExchange) => {
            metrics?.forwarded?.()
            metrics?.responded?.(x.status)
            noteCause(x)
            void observer.submit(x)
          },
        }
      : {
          capture: (x: CapturedExchange) => {
            metrics?.forwarded?.()
            metrics?.responded?.(x.status)
            noteCause(x)
            observer.offer(x)
          },
        }),
  }).catch(async (err: unknown) => {
    await observer.abort()
    // Innermost first; rmdir refuses a folder that holds anything, so nothing written is lost.
    for (const d of made) await rmdir(d).catch(() => undefined)
    throw err
  })

  let notRecorded = 0
  const snapshot = (): ProxyStats => {
    const p = pass.stats()
    const c = observer.counts
    const j = observer.journalStats()
    return {
      exchanges: p.forwarded,
      answered: p.answered,
      abortedMidBody: p.abortedMidBody,
      failedBeforeAnswer: p.failedBeforeAnswer,
      appAborted: p.appAborted,
      waited: p.waited,
      captured: c.captured,
      newKinds: c.newKinds ?? 0,
      skipped: { ...c.skipped },
      judgedLive: c.judged,
      backlog: c.queued,
      journaled: j?.lines ?? 0,
      maxDiskLagMs: j?.maxLagMs ?? 0,
      maxSyncMs: j?.maxSyncMs ?? 0,
      journalBytes: j?.bytes ?? 0,
      notRecorded: notRecorded + (j?.lost ?? 0),
      compactions: observer.compactions(),
    }
  }
  let aborting: Promise<AbortedSession> | undefined
  const abortError = () => Object.assign(new Error('the proxy was stopped at once; no report was written'), { name: 'AbortError' })

  return {
    url: pass.url,
    ...(observer.journal ? { journal: observer.journal } : {}),
    ...(observer.recovered ? { recovered: observer.recovered } : {}),
    removedTemps: observer.removedTemps,
    mode,
    openBefore: 0,
    get redactor() {
      return redactor()
    },
    stats: snapshot,
    idle: () => observer.idle(),
    compact: () => (aborted ? Promise.resolve(undefined) : observer.compact()),
    async close({ interrupted = false } = {}) {
      // No new requests; in-flight ones finish within the grace (then are cut), each handed to the observer as it ends.
      await pass.close()
      if (aborted) throw abortError()
      const done = await observer.finish()
      if (aborted || done.aborted) throw abortError()
      notRecorded += done.notRecorded
      const { compaction, journalKept } = done
      // Folders this start made for recordings that were never written (no traffic, or none recordable) go again;
      // rmdir refuses one that holds anything, so a recording or a kept journal keeps its folders.
      for (const d of made) await rmdir(d).catch(() => undefined)
      const report = sessionReport(done.judged, { failOn: opts.failOn ?? 'breaking', interrupted, causes: [...causes.values()].map((c) => ({ ...c, example: redactor().url(c.example) })), stats: snapshot(), origin: upstream.origin, startedAt, journalKept })
      if (aborted) throw abortError()
      const written = opts.reportDir ? await writeReports(report, { outDir: opts.reportDir, formats: opts.formats ?? ['json', 'md'], redactor: redactor(), cwd, failOn: opts.failOn ?? 'breaking' }) : { report, files: [] }
      return { report: written.report, files: written.files, counts: done.counts, stats: snapshot(), timings: done.timings, ...(compaction ? { compaction } : {}), ...(journalKept ? { journalKept } : {}) }
    },
    abort() {
      aborting ??= (async () => {
        aborted = true
        await pass.abort()
        // Everything already captured goes to the journal, unjudged: nothing captured is lost.
        await observer.abort()
        return { stats: snapshot(), ...(observer.journal ? { journal: observer.journal } : {}) }
      })()
      return aborting
    },
  }
}

/** Where the observer runs: `auto` takes a worker thread when a second core is there (and no in-process test hook asks for the main thread). */
function observerWhere(opts: ProxyOptions): 'inline' | 'thread' {
  const want = opts.observer ?? 'inline'
  if (want !== 'auto') return want
  return availableParallelism() >= 2 && !opts.beforeObserve && opts.observerShare === undefined ? 'thread' : 'inline'
}

interface SessionFacts {
  failOn: FailOn
  interrupted: boolean
  causes: Cause[]
  stats: ProxyStats
  origin: string
  startedAt: string
  journalKept: string | undefined
}

/**
 * A session no exchange passed through read no traffic, so its report carries no traffic counts: with
 * `entries: 0, attributed: 0` it was settled as "none attributed", INCONCLUSIVE and exit 3, for a
 * proxy started and stopped cleanly. Without them it settles as what it is, a clean session (pass).
 */
function withoutTraffic(report: Report): Report {
  const { entries: _e, attributed: _a, unattributed: _u, ...summary } = report.summary
  return { ...report, summary }
}

/**
 * The session report, one outcome for the report files and the exit code: drift at --fail-on;
 * else `error` when answered exchanges could not be recorded; else `inconclusive` when the
 * upstream left exchanges unanswered (a finding per cause, and an inconclusive `(upstream)` result)
 * or traffic came and none of it was attributed; else `interrupted` when Ctrl-C stopped it, `pass`
 * when closed by code. A session no exchange passed through is `pass` (see withoutTraffic).
 */
function sessionReport(judged: Report, facts: SessionFacts): Report {
  const { stats, causes } = facts
  const base = stats.exchanges === 0 ? withoutTraffic(judged) : judged
  const findings = causes.map((c): Finding => ({
    check: 'transport',
    severity: 'info',
    contract: '(upstream)',
    title: c.unreachable ? `Upstream unreachable: ${c.message}` : `Upstream gave no answer: ${c.code}: ${c.message}`,
    message: `Received: ${c.code}: ${c.message}, for ${c.count} of ${stats.exchanges} exchanges (e.g. ${c.example})\nThe application got ${c.unreachable ? 'a 502 from driftwatch' : 'the same failure (its connection cut where the upstream broke, or a 504 from driftwatch when no head came in time)'}, not an answer from ${facts.origin}. This is not drift: those exchanges could not be judged. Check that --upstream is right and reachable from here.`,
    expected: `an answer from ${facts.origin}`,
    actual: `${c.code}: ${c.message}`,
    evidence: { request: c.example },
    samples: c.count,
    of: stats.exchanges,
    since: facts.startedAt,
    new: true,
  }))
  const notCaptured = Object.values(stats.skipped).reduce((a, b) => a + b, 0)
  if (notCaptured > 0) {
    const why = Object.entries(stats.skipped).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ')
    findings.push({
      check: 'transport',
      severity: 'info',
      contract: '(proxy)',
      title: `The session report covers ${stats.exchanges - notCaptured} of ${stats.exchanges} forwarded exchanges`,
      message: `Received: ${stats.exchanges} exchanges forwarded; ${notCaptured} were not observed (${why}).\nEvery exchange was forwarded to the application; only these were not judged or recorded. queue-full: the observer was behind (production mode samples rather than delay the application); run with a larger --queue, or --mode review to capture everything with backpressure.`,
      expected: 'every forwarded exchange observed',
      actual: `${notCaptured} not observed (${why})`,
      evidence: {},
      samples: notCaptured,
      of: stats.exchanges,
      since: facts.startedAt,
      new: true,
    })
  }
  const failed = stats.failedBeforeAnswer + stats.abortedMidBody
  const upstream: ContractResult[] = failed > 0 ? [{
    contract: '(upstream)',
    title: `The upstream ${facts.origin}`,
    file: '',
    request: '*',
    status: 'inconclusive',
    reason: stats.answered === 0 ? `no exchange got a whole answer (${failed} tried)` : `${failed} of ${stats.exchanges} exchanges got no whole answer`,
    probes: failed,
    durationMs: 0,
  }] : []
  const report = settle({ ...base, findings: [...base.findings, ...findings], results: [...base.results, ...upstream] }, facts.failOn)
  if (report.outcome === 'drift') return report
  if (stats.notRecorded > 0) {
    const where = facts.journalKept ? `; they are kept in the journal ${facts.journalKept}` : ''
    return { ...report, outcome: 'error', error: { code: 'DW_OUTPUT_FAILED', message: `${stats.notRecorded} answered exchange${stats.notRecorded === 1 ? ' was' : 's were'} not recorded${where}` } }
  }
  if (report.outcome === 'pass' && facts.interrupted) return { ...report, outcome: 'interrupted', interrupted: true }
  return report
}
