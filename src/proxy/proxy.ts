/**
 * `driftwatch proxy`: a recording proxy. Point an application (or curl) at it instead of the Graph
 * API; it forwards each request to the upstream through driftwatch's transport (so the exchange is
 * captured as exactly as a probe's), answers the application with what the upstream said, and
 * only then attributes the exchange to the operation it is (as verify does, learning ids as the
 * session goes), records it and judges it, reporting findings as they happen. When it stops, the
 * whole session is judged together and written as a report (entries, attributed, unattributed):
 * identical requests that got different answers show there.
 *
 * Consumer drift shows here first: a request with a method the endpoint does not take (the Feb 6
 * 2026 POST with method=get) is flagged whatever the upstream answered. Only answered exchanges of
 * one known operation are recorded: a wrong method, an unattributed exchange or a connection that
 * failed is never a golden.
 *
 * Recording is append-only: each exchange is one line in a journal (recordings/journal.ts), on
 * disk (fsynced) milliseconds after its answer, at the same cost for the 100,000th exchange as for
 * the first. The journal is compacted into the readable recording files at intervals and when the
 * proxy stops (recordings/compact.ts); a journal left by a proxy that died is compacted by the next
 * one to start. Memory is bounded: answered exchanges wait in a backlog of at most `maxBacklog`;
 * when it is full, new requests wait before they are forwarded (backpressure: the application sees
 * latency, nothing is dropped). When more than `liveJudgeBacklog` wait, exchanges are recorded but
 * not judged live (their line says so); the session report at stop judges every exchange.
 *
 * Each response is buffered (up to the body cap) so it can be checked and recorded: a tool for
 * recording and reviewing, not for production traffic. Framing is passed through as the upstream
 * chose it (chunked stays chunked) so the application sees the wire truth. Headers that carry
 * secrets (Set-Cookie, a token echoed back) reach the application redacted, as recorded. An
 * upstream that does not answer gets the application a 502 with a Graph-shaped error naming
 * driftwatch, and the session a finding and an inconclusive result.
 */
import { rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setImmediate as yieldToIo } from 'node:timers/promises'
import { ensureDir } from '../atomic-write.ts'
import { loadContracts } from '../contracts/load.ts'
import type { HttpMethod } from '../contracts/types.ts'
import { HarnessError } from '../errors.ts'
import type { Finding } from '../finding.ts'
import type { Observation, RawHeader } from '../observation.ts'
import { compactJournal, recoverJournal, type CompactResult } from '../recordings/compact.ts'
import { JournalWriter, journalPath } from '../recordings/journal.ts'
import { PersonalDataRedactor } from '../recordings/personal-data.ts'
import { recordingPath, redactPersonal } from '../recordings/store.ts'
import { settle, type ContractResult, type FailOn, type Report } from '../report.ts'
import type { FormatId } from '../reporters/index.ts'
import { trafficState } from '../traffic/attribute.ts'
import type { TrafficEntry } from '../traffic/entry.ts'
import { TrafficJudge, type TrafficCounts } from '../traffic/judge-traffic.ts'
import { HostPolicy } from '../transport/host-policy.ts'
import { Redactor, secretsFromEnv } from '../transport/redact.ts'
import { Transport } from '../transport/transport.ts'
import { writeReports } from '../write-reports.ts'

/** How to run the proxy. */
export interface ProxyOptions {
  /** Base URL requests are forwarded to, e.g. https://graph.facebook.com. */
  upstream: string
  port?: number
  host?: string
  contractsDir: string
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
  /** Largest request or response body handled, in bytes. */
  maxBodyBytes?: number
  timeoutMs?: number
  cwd?: string
  /** Journal compaction into the recording files every this many ms while running (default 30 s; 0: only at stop). */
  compactEveryMs?: number
  /** Answered exchanges waiting to be recorded and judged above which new requests wait (default 1024). */
  maxBacklog?: number
  /** Waiting exchanges above which exchanges are recorded but not judged live (default 64); the session report judges them all. */
  liveJudgeBacklog?: number
  /** Upstream connections (default 32): concurrent application requests are forwarded concurrently. */
  connections?: number
  /** Called after each exchange is placed (and judged, unless the backlog was over the live bound), already redacted. */
  onExchange?: (e: ProxyExchange) => void
  /** Called when recording failed (the disk is full, a file sits where a directory should be); the application was answered regardless. */
  onError?: (message: string) => void
}

/** One request through the proxy, as reported live. */
export interface ProxyExchange {
  index: number
  method: string
  /** Path and query, redacted. */
  path: string
  /** The upstream's status; undefined when it did not answer (the application got a 502 from driftwatch). */
  status?: number
  /** The operation it was attributed to (or whose node it called with the wrong method). */
  contract?: string
  /** How attribution placed it: under an operation, as a wrong method, unattributed, or no operation at all. */
  attribution: 'attributed' | 'wrong-method' | 'unattributed' | 'none'
  /** False when the backlog was over the live bound: `findings` is empty and the session report judges it. */
  judged: boolean
  findings: Finding[]
  /** Recording file it goes into at the next compaction, if it is recorded. */
  recording?: string
}

/** Counters of a running proxy: constant memory, whatever the session's length. */
export interface ProxyStats {
  /** Requests answered to the application, 502s from driftwatch included. */
  exchanges: number
  /** Exchanges the upstream did not answer (connection refused, reset, timed out). */
  unanswered: number
  /** Exchange lines on disk in the journal (fsynced). */
  journaled: number
  /** Answered exchanges of a known operation that could not be recorded (a journal or recording write failed). */
  notRecorded: number
  /** Exchanges judged live; the others were recorded and left to the session report. */
  judgedLive: number
  /** Requests that waited for room in the backlog before being forwarded. */
  waited: number
  /** Answered exchanges not yet recorded and judged. */
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
  /** Settled at --fail-on: `drift`, `error` (answered exchanges not recorded), `inconclusive` (an exchange the upstream did not answer, or nothing attributed), else `interrupted` (stopped by Ctrl-C) or `pass`. */
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
  stats(): ProxyStats
  /** Resolves once every exchange answered so far is recorded (its journal line on disk) and judged or left for the report. */
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
   * undone (no temp file stays), every answered exchange already taken is appended to the journal
   * and flushed; no report. The next proxy start with the same recordings and name compacts it.
   */
  abort(): Promise<AbortedSession>
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length'])
/**
 * Request headers not forwarded besides hop-by-hop ones. Accept-Encoding: a compressed answer could
 * not be checked or recorded as JSON, so the upstream is asked for identity bodies; every HTTP
 * client must accept those.
 */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'accept-encoding'])
const DEFAULT_MAX = 64 * 1024 * 1024
/** Longest run of recording and judging between two turns of the event loop, in ms. */
const SLICE_MS = 2
/** Distinct causes of unanswered exchanges kept for the report (each with its count). */
const MAX_CAUSES = 20

/** One answered exchange waiting to be recorded and judged. */
interface Pending {
  index: number
  observation: Observation
  requestBody: Buffer
  answeredAt: number
}

/** Why the upstream did not answer, with how often. */
interface Cause {
  code: string
  message: string
  unreachable: boolean
  count: number
  example: string
}

/** Starts the proxy on loopback; resolves once it listens. A journal an earlier session left is compacted first. */
export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  let upstream: URL
  try {
    upstream = new URL(opts.upstream)
  } catch {
    throw new HarnessError('DW_USAGE', `--upstream must be a URL such as https://graph.facebook.com (got "${opts.upstream}")`)
  }
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') throw new HarnessError('DW_USAGE', `--upstream must be http or https (got ${upstream.protocol})`)
  const cwd = opts.cwd ?? process.cwd()
  const pack = loadContracts(opts.contractsDir, { cwd })
  const max = opts.maxBodyBytes ?? DEFAULT_MAX
  const maxBacklog = opts.maxBacklog ?? 1024
  const liveBound = opts.liveJudgeBacklog ?? 64
  const name = opts.name ?? 'proxy'
  const dir = opts.recordingsDir
  // Tokens the application sends are learned as it sends them, so every later write scrubs them in every spelling too.
  const secrets = new Set<string>(secretsFromEnv(opts.env))
  let redactor = new Redactor({ secrets: [...secrets] })
  const transport = new Transport({
    hostPolicy: new HostPolicy({ allowHosts: [upstream.host] }),
    redactor,
    maxBodyBytes: max,
    keepBytes: max,
    keepBinaryBytes: max,
    connections: opts.connections ?? 32,
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  })
  const personal = new PersonalDataRedactor()
  const startedAt = new Date().toISOString()
  const traffic = new TrafficJudge({
    pack,
    state: trafficState({ phoneNumberId: opts.env?.WHATSAPP_PHONE_NUMBER_ID, wabaId: opts.env?.WHATSAPP_WABA_ID }),
    since: startedAt,
    contractsDir: opts.contractsDir,
    label: `the proxy session to ${upstream.origin}`,
    upstreamHosts: [upstream.host],
  })

  const recovered = dir ? await recoverJournal(dir, name, { redactor }) : undefined
  const journal = dir ? await JournalWriter.create(journalPath(dir, name), { name, target: upstream.origin, startedAt, pid: process.pid }) : undefined

  const stats: ProxyStats = { exchanges: 0, unanswered: 0, journaled: 0, notRecorded: 0, judgedLive: 0, waited: 0, backlog: 0, maxDiskLagMs: 0, maxSyncMs: 0, journalBytes: 0, compactions: 0 }
  const causes = new Map<string, Cause>()
  const backlog: Pending[] = []
  let draining: Promise<void> | undefined
  let roomWaiters: (() => void)[] = []
  let requests = 0
  let inflight = 0
  let inflightDone: (() => void) | undefined
  let stopping = false
  let aborted = false
  /** Contracts whose recording directory was checked (and, if it failed, said so once). */
  const checkedDirs = new Set<string>()
  const dirChecks = new Set<Promise<void>>()
  let journalFailureSaid = false

  const say = (message: string) => opts.onError?.(redactor.text(message))

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (stopping) {
      reply(res, 503, { error: { message: 'driftwatch proxy: stopping; the request was not forwarded', type: 'DriftwatchProxy', code: 503 } }, true)
      return
    }
    const body = await readBody(req, max)
    if (body === undefined) {
      reply(res, 413, { error: { message: `driftwatch proxy: request body over ${max} bytes`, type: 'DriftwatchProxy', code: 413 } })
      return
    }
    // Backpressure: the backlog (or the journal's queue) is full, so this request waits before it is forwarded.
    if (backlog.length >= maxBacklog || journal?.full) {
      stats.waited++
      while ((backlog.length >= maxBacklog || journal?.full) && !aborted) await room()
    }
    const index = ++requests
    const target = new URL(req.url ?? '/', upstream)
    const headers: RawHeader[] = []
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const n = req.rawHeaders[i]!
      if (!NOT_FORWARDED.has(n.toLowerCase())) headers.push([n, req.rawHeaders[i + 1]!])
      if (n.toLowerCase() === 'authorization') {
        const token = /^bearer\s+(\S+)/i.exec(req.rawHeaders[i + 1]!)?.[1]
        if (token && !secrets.has(token)) {
          secrets.add(token)
          redactor = new Redactor({ secrets: [...secrets] })
        }
      }
    }
    const tokenSent = headers.some(([n, v]) => n.toLowerCase() === 'authorization' && /^bearer\s/i.test(v)) || target.searchParams.has('access_token')
    const method = (req.method ?? 'GET').toUpperCase() as HttpMethod
    const contentType = headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? ''
    const { observation, body: bytes } = await transport.sendKeepingBody({
      contract: '',
      sample: index,
      method,
      url: target.toString(),
      headers,
      ...(body.length ? { body, ...(/json|x-www-form-urlencoded|text\//i.test(contentType) ? { bodyExcerpt: body.subarray(0, 500).toString('utf8') } : {}) } : {}),
      auth: 'none',
    })
    if (aborted) return
    observation.request.tokenSent = tokenSent
    const r = observation.response
    if (!r || (observation.transportError && bytes.length < (r.body.size ?? 0))) {
      const f = observation.transportError
      const why = f ? `${f.code}: ${f.message}` : 'no response'
      const what = f?.unreachable ? `the upstream ${upstream.origin} is unreachable` : 'the upstream failed'
      if (!res.headersSent) reply(res, 502, { error: { message: `driftwatch proxy: ${what} (${why})`, type: 'DriftwatchProxy', code: 502 } })
    } else {
      // The upstream's headers, in its order and case; framing as it chose.
      const out: string[] = []
      for (const [n, v] of r.rawHeaders) if (!HOP_BY_HOP.has(n.toLowerCase())) out.push(n, v)
      if (r.framing.kind !== 'chunked') out.push('Content-Length', String(bytes.length))
      res.writeHead(r.status, r.statusText, out)
      res.end(bytes)
    }
    stats.exchanges++
    if (!r) noteCause(observation)
    // Answered: recording and judging happen after, off the request path.
    backlog.push({ index, observation, requestBody: body, answeredAt: performance.now() })
    stats.backlog = backlog.length
    draining ??= drain()
  }

  const noteCause = (o: Observation) => {
    stats.unanswered++
    const f = o.transportError
    const code = f?.code ?? 'NO_RESPONSE'
    const message = f?.message ?? 'no response'
    const key = `${code}\u0000${message}`
    const c = causes.get(key)
    if (c) c.count++
    else if (causes.size < MAX_CAUSES) causes.set(key, { code, message, unreachable: f?.unreachable === true, count: 1, example: `${o.request.method} ${o.request.url}` })
  }

  const room = () => new Promise<void>((resolve) => roomWaiters.push(resolve))
  const release = () => {
    if (backlog.length >= maxBacklog || journal?.full) return
    const ws = roomWaiters
    roomWaiters = []
    for (const w of ws) w()
  }

  const drain = async (): Promise<void> => {
    try {
      // Requests and answers already waiting on the sockets go first; this exchange's recording and judging after.
      await yieldToIo()
      let slice = performance.now()
      while (backlog.length && !aborted) {
        const p = backlog.shift()!
        const live = !stopping && backlog.length < liveBound
        try {
          await recordAndJudge(p, live)
        } catch (err) {
          say(`exchange ${p.index} (${p.observation.request.method} ${safePath(p.observation.request.url, redactor)}) was answered but not checked: ${(err as Error).message}`)
        }
        stats.backlog = backlog.length
        if (journal?.full) await journal.whenRoom()
        release()
        // The event loop answers requests between slices: the application comes first. A slice, not one exchange per
        // turn: under load each turn also serves many sockets, and a backlog served one per turn would reach the disk late.
        if (backlog.length && performance.now() - slice >= SLICE_MS) {
          await yieldToIo()
          slice = performance.now()
        }
      }
    } finally {
      draining = undefined
      release()
    }
  }

  /** Places, journals and (when live) judges one exchange. Synchronous up to the journal append, so `abort` can run it too. */
  const place = (p: Pending): { entry: TrafficEntry; placement: ReturnType<TrafficJudge['place']>; recording?: string } => {
    const entry: TrafficEntry = { source: `proxy exchange ${p.index}`, observation: p.observation, hasBody: true, ...(p.requestBody.length ? { requestBody: p.requestBody.toString('utf8') } : {}) }
    const placement = traffic.place(entry)
    // Only answered exchanges of one known operation become recordings: a wrong method, a guess or a failed connection is not a golden.
    if (placement.kind !== 'attributed' || !journal || !p.observation.response) return { entry, placement }
    const id = placement.exp.id
    if (!checkedDirs.has(id)) {
      checkedDirs.add(id)
      // Said now rather than at compaction: the one who can fix it is watching.
      const check = ensureDir(join(dir!, id)).catch((err: unknown) => say(`exchange ${p.index} (${p.observation.request.method} ${safePath(p.observation.request.url, redactor)}) was answered but cannot be recorded: cannot write recording ${recordingPath(dir!, id, name)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); it is kept in the journal ${journal.file}`))
      dirChecks.add(check)
      void check.finally(() => dirChecks.delete(check))
    }
    const before = personal.count
    // The transport's redactor knew only the environment's secrets; this one knows every token learned so far.
    const o = redactPersonal(redactor.observation({ ...p.observation, contract: id }), personal)
    if (journal.append(redactor.text(JSON.stringify({ personalData: personal.count - before, observation: o })), p.answeredAt)) return { entry, placement, recording: recordingPath(dir!, id, name) }
    if (!journalFailureSaid) {
      journalFailureSaid = true
      say(`exchange ${p.index} and those after it were answered but not recorded: the journal ${journal.file} cannot be written (${(journal.error as NodeJS.ErrnoException | undefined)?.code ?? journal.error?.message ?? 'closed'})`)
    }
    return { entry, placement }
  }

  const recordAndJudge = async (p: Pending, live: boolean): Promise<void> => {
    const { entry, placement, recording } = place(p)
    const findings = live ? await traffic.judgeOne(entry, placement) : []
    if (live) stats.judgedLive++
    const contract = placement.kind === 'attributed' || placement.kind === 'wrong-method' ? placement.exp?.id : undefined
    const o = p.observation
    opts.onExchange?.({
      index: p.index,
      method: o.request.method,
      path: safePath(o.request.url, redactor),
      ...(o.response ? { status: o.response.status } : {}),
      ...(contract ? { contract } : {}),
      attribution: placement.kind,
      judged: live,
      findings: findings.map((f) => redactor.deep(f)),
      ...(recording ? { recording } : {}),
    })
  }

  // Compaction at intervals: never more than one at a time, and never more often than ten times its own
  // duration, so a long session's compactions stay a small share of the time however large the journal grows.
  let compacting: Promise<CompactResult | undefined> | undefined
  let compactAbort = new AbortController()
  let lastCompaction: CompactResult | undefined
  let compactedLines = 0
  let nextCompactionAt = 0
  const failuresSaid = new Set<string>()
  const compact = (): Promise<CompactResult | undefined> => {
    if (!journal || aborted) return Promise.resolve(undefined)
    compacting ??= (async () => {
      try {
        await journal.flush()
        const lines = journal.stats.lines
        const t0 = performance.now()
        const result = await compactJournal(journal.file, dir!, { redactor, signal: compactAbort.signal, end: journal.stats.bytes })
        nextCompactionAt = performance.now() + 10 * (performance.now() - t0)
        compactedLines = lines
        stats.compactions++
        lastCompaction = result
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
    if (compacting || journal.stats.lines === compactedLines || performance.now() < nextCompactionAt) return
    compact().catch((err: unknown) => say(`compacting ${journal.file} failed: ${(err as Error).message}; the journal keeps every exchange, and the stop compacts again`))
  }, every) : undefined
  timer?.unref()

  const server: Server = createServer((req, res) => {
    inflight++
    handle(req, res)
      .catch((err: unknown) => {
        if (!res.headersSent) reply(res, 500, { error: { message: `driftwatch proxy: ${redactor.text((err as Error).message)}`, type: 'DriftwatchProxy', code: 500 } })
        else res.destroy()
      })
      .finally(() => {
        inflight--
        if (inflight === 0) inflightDone?.()
      })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new HarnessError('DW_USAGE', `cannot listen on ${opts.host ?? '127.0.0.1'}:${opts.port ?? 0} (${err.code ?? err.message}); pick another --port`)))
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve())
  }).catch(async (err: unknown) => {
    await journal?.close()
    throw err
  })
  const addr = server.address() as AddressInfo

  const snapshot = (): ProxyStats => ({ ...stats, backlog: backlog.length, journaled: journal?.stats.lines ?? 0, maxDiskLagMs: journal?.stats.maxLagMs ?? 0, maxSyncMs: journal?.stats.maxSyncMs ?? 0, journalBytes: journal?.stats.bytes ?? 0, notRecorded: stats.notRecorded + (journal?.stats.lost ?? 0) })
  const stopListening = () => {
    stopping = true
    if (timer) clearInterval(timer)
    server.close()
    server.closeIdleConnections()
  }
  const settled = async () => {
    while (draining) await draining
    await journal?.flush()
    await Promise.all(dirChecks)
  }
  let aborting: Promise<AbortedSession> | undefined
  const abortError = () => Object.assign(new Error('the proxy was stopped at once; no report was written'), { name: 'AbortError' })

  return {
    url: `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`,
    ...(journal ? { journal: journal.file } : {}),
    ...(recovered ? { recovered } : {}),
    stats: snapshot,
    async idle() {
      for (;;) {
        await settled()
        await yieldToIo()
        if (!draining && backlog.length === 0) return
      }
    },
    compact,
    async close({ interrupted = false } = {}) {
      stopListening()
      // In-flight requests finish within the transport's timeout, or are abandoned; a second Ctrl-C abandons them at once (abort).
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          inflightDone = resolve
          setTimeout(resolve, (opts.timeoutMs ?? 30_000) + 1_000).unref()
        })
      }
      server.closeAllConnections()
      await settled()
      if (aborted) throw abortError()
      await journal?.close()
      if (compacting) await compacting.catch(() => undefined)
      let compaction: CompactResult | undefined
      let journalKept: string | undefined
      const t0 = performance.now()
      if (journal) {
        compaction = await compact()
        if (aborted || !compaction) throw abortError()
        stats.notRecorded += compaction.failed.reduce((n, f) => n + f.observations, 0)
        if (compaction.failed.length) journalKept = journal.file
        else await rm(journal.file, { force: true })
      }
      await transport.close()
      const t1 = performance.now()
      const judged = await traffic.report(`proxy:${upstream.origin}`, redactor)
      const timings = { compactMs: t1 - t0, judgeMs: performance.now() - t1 }
      const report = sessionReport(judged, { failOn: opts.failOn ?? 'breaking', interrupted, causes: [...causes.values()], stats: snapshot(), origin: upstream.origin, startedAt, journalKept })
      if (aborted) throw abortError()
      const written = opts.reportDir ? await writeReports(report, { outDir: opts.reportDir, formats: opts.formats ?? ['json', 'md'], redactor, cwd, failOn: opts.failOn ?? 'breaking' }) : { report, files: [] }
      return { report: written.report, files: written.files, counts: traffic.counts, stats: snapshot(), timings, ...(compaction ? { compaction } : {}), ...(journalKept ? { journalKept } : {}) }
    },
    abort() {
      aborting ??= (async () => {
        aborted = true
        stopListening()
        server.closeAllConnections()
        compactAbort.abort()
        compactAbort = new AbortController()
        // Everything already answered goes to the journal, unjudged: nothing answered is lost.
        for (const p of backlog.splice(0)) {
          try {
            place(p)
          } catch {}
        }
        inflightDone?.()
        roomWaiters.splice(0).forEach((w) => w())
        if (compacting) await compacting.catch(() => undefined)
        await journal?.close()
        await transport.close()
        return { stats: snapshot(), ...(journal ? { journal: journal.file } : {}) }
      })()
      return aborting
    },
  }
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
 * The session report, one outcome for the report files and the exit code: drift at --fail-on;
 * else `error` when answered exchanges could not be recorded; else `inconclusive` when the
 * upstream left exchanges unanswered (a finding per cause, and an inconclusive `(upstream)` result)
 * or nothing was attributed; else `interrupted` when Ctrl-C stopped it, `pass` when closed by code.
 */
function sessionReport(base: Report, facts: SessionFacts): Report {
  const { stats, causes } = facts
  const findings = causes.map((c): Finding => ({
    check: 'transport',
    severity: 'info',
    contract: '(upstream)',
    title: c.unreachable ? `Upstream unreachable: ${c.message}` : `Upstream gave no answer: ${c.code}: ${c.message}`,
    message: `Received: ${c.code}: ${c.message}, for ${c.count} of ${stats.exchanges} exchanges (e.g. ${c.example})\nThe application got a 502 from driftwatch, not an answer from ${facts.origin}. This is not drift: those exchanges could not be judged. Check that --upstream is right and reachable from here.`,
    expected: `an answer from ${facts.origin}`,
    actual: `${c.code}: ${c.message}`,
    evidence: { request: c.example },
    samples: c.count,
    of: stats.exchanges,
    since: facts.startedAt,
    new: true,
  }))
  const answered = stats.exchanges - stats.unanswered
  const upstream: ContractResult[] = stats.unanswered > 0 ? [{
    contract: '(upstream)',
    title: `The upstream ${facts.origin}`,
    file: '',
    request: '*',
    status: 'inconclusive',
    reason: answered === 0 ? `no exchange got an answer (${stats.unanswered} tried)` : `${stats.unanswered} of ${stats.exchanges} exchanges got no answer`,
    probes: stats.unanswered,
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

function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > max) over = true
      else parts.push(c)
    })
    req.on('end', () => resolve(over ? undefined : Buffer.concat(parts)))
    req.on('error', reject)
  })
}

function reply(res: ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text), ...(close ? { Connection: 'close' } : {}) })
  res.end(text)
}

function safePath(url: string, redactor: Redactor): string {
  try {
    const u = new URL(url)
    return redactor.url(`${u.pathname}${u.search}`)
  } catch {
    return redactor.url(url)
  }
}
