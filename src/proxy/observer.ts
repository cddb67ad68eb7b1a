/**
 * The proxy's observer: everything the proxy does with an exchange after the application has its
 * answer. The request path hands over each finished exchange (a CapturedExchange: the kept bytes,
 * a hash and a size); the observer completes the body (text, JSON, inflated when the upstream
 * compressed it), redacts it with every token learned so far, attributes and judges it through the
 * TrafficJudge, journals it for the recordings, tells the IncidentSink and the metrics, and
 * reports it live.
 *
 * It runs off the request path, one exchange per turn of the main thread's event loop: requests and
 * answers already waiting on the sockets always go first. Its queue is bounded (by count and by
 * bytes). In production mode `offer` never waits: when the queue is full the exchange is counted
 * as skipped ('queue-full') and the application was served all the same. In review mode the
 * request path waits for room before forwarding (`whenRoom`, `submit`): nothing is lost, the
 * application sees latency instead.
 *
 * Storage is bounded here, before anything reaches the journal: a body over the recording cap is
 * journaled as its size and sha256 only, and only the first few distinct shapes of each operation,
 * status and framing are journaled at all; later exchanges of a known shape are counted (`takeCounted`).
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setImmediate as yieldToIo, setTimeout as sleep } from 'node:timers/promises'
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib'
import { ensureDir } from '../util/atomic-write.ts'
import type { Finding } from '../model/finding.ts'
import type { Observation, ObservedBody } from '../model/observation.ts'
import type { JournalWriter } from '../recordings/journal.ts'
import type { PersonalDataRedactor } from '../recordings/personal-data.ts'
import { recordingPath, redactPersonal } from '../recordings/store.ts'
import { inferSchema } from '../schema/infer.ts'
import type { TrafficEntry } from '../traffic/entry.ts'
import type { Placement, TrafficJudge } from '../traffic/judge-traffic.ts'
import { Redactor } from '../transport/redact.ts'
import { observedBody } from '../transport/transport.ts'
import type { CapturedExchange, IncidentSink, ObserverCounts, ProxyMode, SkipReason } from './exchange.ts'
import { NOVEL_RESERVE, NoveltyGate } from './novelty.ts'
import { ObserverShare } from './share.ts'

/** What the observer tells metrics; plain methods, so any metrics object (prom-client or a test's) fits. */
export interface ObserverMetrics {
  /** One exchange observed: its operation (undefined when none) and status (undefined when the upstream did not answer). */
  exchange?(contract: string | undefined, status: number | undefined): void
  /** One exchange forwarded but not observed. */
  skipped?(reason: SkipReason): void
  /** One exchange taken into the queue. */
  captured?(): void
  /** Exchanges waiting now. */
  setQueue?(n: number): void
  /** The observer's share of the main thread now (share.ts). */
  setShare?(share: number): void
}

/** One exchange as reported live, redacted. */
export interface ObservedExchange {
  index: number
  method: string
  /** Path and query, redacted. */
  path: string
  /** The upstream's status; undefined when it did not answer. */
  status?: number
  /** True when the answer was cut mid-body (reset or truncated): the application's connection was cut too. */
  cut?: boolean
  /** The operation it was attributed to (or whose node it called with the wrong method). */
  contract?: string
  attribution: Placement['kind']
  /** False when it was recorded but left for the session report (review mode, over the live bound). */
  judged: boolean
  findings: Finding[]
  /** Recording file it goes into at the next compaction, if it was journaled. */
  recording?: string
  /** True when its shape was already recorded: counted in the recording, not journaled again. */
  counted?: boolean
}

/** Where exchanges are journaled. */
export interface ObserverJournal {
  writer: JournalWriter
  /** The recordings directory. */
  dir: string
  /** Recording name (`<dir>/<contract>/<name>.json`). */
  name: string
}

/** How to observe. */
export interface ObserverOptions {
  mode: ProxyMode
  traffic: TrafficJudge
  /** Secrets known before any traffic (the environment's). */
  secrets?: readonly string[]
  personal: PersonalDataRedactor
  journal?: ObserverJournal
  /** Exchanges waiting at most (default 1024). */
  queue?: number
  /** Bytes of kept bodies waiting at most (default 64 MiB). */
  queueBytes?: number
  /** Review mode: waiting exchanges above which exchanges are journaled but judged only in the session report (default 64). */
  liveJudgeBacklog?: number
  /** A response body over this many bytes is journaled as its size and sha256 only (default 64 KiB). */
  recordBodyBytes?: number
  /** Distinct shapes journaled per operation, status and framing (default 5 in production, every exchange in review); later ones are counted. */
  maxShapes?: number
  /** A compressed body is inflated up to this many bytes (default 8 MiB); a larger one is judged by its size and hash. */
  inflateBytes?: number
  incidents?: IncidentSink
  metrics?: ObserverMetrics
  onExchange?: (e: ObservedExchange) => void
  /** A failure the application never saw (a recording directory that cannot be made, an exchange that could not be judged). */
  onError?: (message: string) => void
  /**
   * Share of the main thread the observer may take (0-1; default 1 in review; in production it adapts,
   * share.ts: half the thread while forwarding leaves it idle, down to a twentieth while forwarding keeps it
   * busy): after each slice it rests long enough to stay under it, so under load the application keeps
   * the rest, and what the observer cannot keep up with is skipped and counted.
   */
  share?: number
  /** Called before each exchange is observed: tests make the observer slow with it. */
  beforeEach?: (x: CapturedExchange) => Promise<void> | void
}

const EMPTY = Buffer.alloc(0)
/** The shortest rest the observer sleeps (a timer's resolution); shorter rests add up until they reach it. */
const MIN_REST_MS = 1

/** Inflates a body the upstream compressed, or undefined when it cannot (unknown coding, damaged, or larger than `max`). */
function inflate(coding: string, bytes: Buffer, max: number): Buffer | undefined {
  const c = coding.trim().toLowerCase()
  try {
    if (c === 'gzip' || c === 'x-gzip') return gunzipSync(bytes, { maxOutputLength: max })
    if (c === 'deflate') return inflateSync(bytes, { maxOutputLength: max })
    if (c === 'br') return brotliDecompressSync(bytes, { maxOutputLength: max })
  } catch {}
  return undefined
}

/** A body recorded as its size and sha256 only (it was over the recording cap, or could not be inflated). */
function hashedOnly(b: ObservedBody, why: string, looksJson: boolean): ObservedBody {
  return { size: b.size, sha256: b.sha256, keptBytes: 0, truncated: b.size > 0, ...(looksJson && b.size > 0 ? { jsonError: why } : {}) }
}

/** When the exchange was answered (epoch ms): its start plus its duration, from its own observation (a worker thread's clock is not the request path's). */
function answeredAt(o: Observation): number {
  const at = Date.parse(o.startedAt) + (o.timings?.totalMs ?? 0)
  return Number.isFinite(at) ? Math.round(at) : Date.now()
}

function looksJson(o: Observation): boolean {
  const ct = o.response?.rawHeaders.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? ''
  return /json/i.test(ct) || o.response?.body.json !== undefined || o.response?.body.jsonError !== undefined
}

/** Observes captured exchanges off the request path; see the file comment. */
export class Observer {
  readonly counts: ObserverCounts = { offered: 0, captured: 0, judged: 0, skipped: { 'queue-full': 0, 'observer-failed': 0, stopping: 0 }, queued: 0 }
  private readonly queue: CapturedExchange[] = []
  private queuedBytes = 0
  private draining: Promise<void> | undefined
  private waiters: (() => void)[] = []
  private readonly secrets = new Set<string>()
  private current: Redactor
  private stale = false
  private stopped = false
  private aborted = false
  private readonly maxQueue: number
  private readonly maxBytes: number
  private readonly shapes = new Map<string, Set<string>>()
  private counted = new Map<string, number>()
  private readonly checkedDirs = new Set<string>()
  private readonly dirChecks = new Set<Promise<void>>()
  private journalFailureSaid = false
  /** Its share of the main thread: fixed in review mode (all of it) or when `share` is given, adaptive in production. */
  readonly share: ObserverShare
  /** The kinds of exchange observed lately: past the queue bound, a new kind is still taken. */
  private readonly novelty = new NoveltyGate()

  constructor(private readonly opts: ObserverOptions) {
    for (const s of opts.secrets ?? []) this.secrets.add(s)
    this.current = new Redactor({ secrets: [...this.secrets] })
    this.maxQueue = Math.max(1, opts.queue ?? 1024)
    this.maxBytes = opts.queueBytes ?? 64 * 1024 * 1024
    this.share = new ObserverShare(opts.share ?? (opts.mode === 'production' ? undefined : 1))
    opts.metrics?.setShare?.(this.share.share)
  }

  /** The redactor that knows every token seen so far (learned even from exchanges that were skipped). */
  get redactor(): Redactor {
    if (this.stale) {
      this.current = new Redactor({ secrets: [...this.secrets] })
      this.stale = false
    }
    return this.current
  }

  /** True while the queue (or the journal's) is over its bound. */
  get full(): boolean {
    return this.queue.length >= this.maxQueue || this.queuedBytes >= this.maxBytes || this.opts.journal?.writer.full === true
  }

  /** Production: takes the exchange if there is room, at once; false (counted as skipped) when there is none. Never waits. */
  offer(x: CapturedExchange): boolean {
    this.counts.offered++
    this.learn(x)
    if (this.stopped) return this.skip('stopping')
    const kind = x.kind
    const fresh = this.novelty.isNew(kind, x.answeredAt)
    if (this.full) {
      // Past the queue bound, an exchange of a kind not taken lately still fits in the reserve; the byte and journal bounds stay hard.
      if (!fresh || this.queue.length >= this.maxQueue + NOVEL_RESERVE || this.queuedBytes >= this.maxBytes || this.opts.journal?.writer.full === true) return this.skip('queue-full')
      this.counts.newKinds = (this.counts.newKinds ?? 0) + 1
    }
    this.novelty.took(kind, x.answeredAt)
    // The first of a new kind goes first: under load the queue is a long wait, and a drift must not wait it.
    this.take(x, fresh)
    return true
  }

  /** Review: takes the exchange, waiting for room first (backpressure); nothing is dropped unless the proxy is stopped at once. */
  async submit(x: CapturedExchange): Promise<void> {
    this.counts.offered++
    this.learn(x)
    while (this.full && !this.aborted) await this.whenRoom()
    if (this.aborted) {
      this.skip('stopping')
      return
    }
    this.take(x)
  }

  /** Resolves when there is room in the queue (review mode waits on it before forwarding a request). */
  whenRoom(): Promise<void> {
    if (!this.full || this.aborted) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** Resolves once every exchange taken so far is observed and its journal line on disk. */
  async idle(): Promise<void> {
    for (;;) {
      while (this.draining) await this.draining
      await this.opts.journal?.writer.flush()
      await Promise.all(this.dirChecks)
      await yieldToIo()
      if (!this.draining && this.queue.length === 0) return
    }
  }

  /** No more exchanges are taken (later offers are counted as skipped, 'stopping'); resolves when the queue is observed. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.idle()
  }

  /** Stops at once: what waits in the queue is journaled unjudged (nothing answered is lost), then nothing more. */
  abort(): void {
    this.aborted = true
    this.stopped = true
    for (const x of this.queue.splice(0)) {
      try {
        this.place(x)
      } catch {}
    }
    this.queuedBytes = 0
    this.counts.queued = 0
    this.release()
  }

  /** Whether exchanges were counted since the last `takeCounted`. */
  get hasCounted(): boolean {
    return this.counted.size > 0
  }

  /** Exchanges counted but not journaled since the last call (their shape was recorded), by operation: journaled as a count line before a compaction. */
  takeCounted(): Record<string, number> {
    const out = Object.fromEntries(this.counted)
    this.counted = new Map()
    return out
  }

  private learn(x: CapturedExchange): void {
    for (const s of x.newSecrets ?? []) {
      if (this.secrets.has(s)) continue
      this.secrets.add(s)
      this.stale = true
    }
  }

  private skip(reason: SkipReason): false {
    this.counts.skipped[reason]++
    this.opts.metrics?.skipped?.(reason)
    return false
  }

  private take(x: CapturedExchange, first = false): void {
    if (first) this.queue.unshift(x)
    else this.queue.push(x)
    this.queuedBytes += (x.responseBody?.length ?? 0) + x.requestBody.length
    this.counts.captured++
    this.opts.metrics?.captured?.()
    this.counts.queued = this.queue.length
    this.opts.metrics?.setQueue?.(this.queue.length)
    this.draining ??= this.drain()
  }

  private release(): void {
    if (this.full && !this.aborted) return
    for (const w of this.waiters.splice(0)) w()
  }

  private async drain(): Promise<void> {
    try {
      // Requests and answers already waiting on the sockets go first; observing after.
      await yieldToIo()
      let slice = performance.now()
      let owed = 0
      while (this.queue.length && !this.aborted) {
        const x = this.queue.shift()!
        this.queuedBytes -= (x.responseBody?.length ?? 0) + x.requestBody.length
        const live = this.opts.mode === 'production' || this.queue.length < (this.opts.liveJudgeBacklog ?? 64)
        try {
          await this.opts.beforeEach?.(x)
          await this.observe(x, live)
        } catch (err) {
          this.counts.captured--
          this.skip('observer-failed')
          const o = x.observation
          this.say(`exchange ${x.index} (${o.request.method} ${safePath(o.request.url, this.redactor)}) was answered but not observed: ${(err as Error).message}`)
        }
        this.counts.queued = this.queue.length
        this.opts.metrics?.setQueue?.(this.queue.length)
        const journal = this.opts.journal?.writer
        if (journal?.full) await journal.whenRoom()
        this.release()
        // One exchange per turn: a request that arrives meanwhile waits for one exchange's observing at most (the bench
        // measured p99 +3.3 ms over bare with 1 ms slices of several exchanges, +2.0 ms with one exchange per turn).
        if (this.queue.length) {
          await this.opts.traffic.settled()
          // Production rests between slices so that observing stays under its share of the thread (share.ts: the busier
          // forwarding keeps the thread, the smaller); stopping, it drains at full speed.
          // A rest shorter than a timer's millisecond is owed, not slept: the observer yields to I/O and rests once it owes one.
          owed += this.stopped ? 0 : this.share.restFor(performance.now() - slice)
          if (owed >= MIN_REST_MS) {
            this.share.resting()
            await sleep(owed)
            owed = 0
            this.share.rested()
            this.opts.metrics?.setShare?.(this.share.share)
          } else await yieldToIo()
          slice = performance.now()
        }
      }
      await this.opts.traffic.settled()
    } finally {
      this.draining = undefined
      this.release()
    }
  }

  private say(message: string): void {
    this.opts.onError?.(this.redactor.text(message))
  }

  /** The observation with its body completed (inflated when the whole compressed body was kept) and redacted. */
  private complete(x: CapturedExchange): Observation {
    const redactor = this.redactor
    const { response: r, ...rest } = x.observation
    const request = redactor.observation(rest as Observation)
    if (!r) return request
    let bytes = x.responseBody ? Buffer.from(x.responseBody.buffer, x.responseBody.byteOffset, x.responseBody.byteLength) : EMPTY
    let size = r.body.size
    let sha256 = r.body.sha256
    const coding = r.rawHeaders.find(([n]) => n.toLowerCase() === 'content-encoding')?.[1]
    let body: ObservedBody
    if (coding && !/^\s*identity\s*$/i.test(coding) && size > 0) {
      const whole = bytes.length === size
      const inflated = whole ? inflate(coding, bytes, this.opts.inflateBytes ?? 8 * 1024 * 1024) : undefined
      if (inflated) {
        bytes = inflated
        size = inflated.length
        sha256 = createHash('sha256').update(inflated).digest('hex')
        body = observedBody(bytes, size, sha256, r.rawHeaders)
      } else {
        const why = whole ? `the ${coding.trim()} body of ${size} bytes could not be inflated (damaged, or over the inflate cap); judged by its size and sha256` : `the ${coding.trim()} body is ${size} bytes; only the first ${bytes.length} were kept, so it was not inflated or parsed`
        body = hashedOnly({ ...r.body, size, sha256 }, why, /json/i.test(r.rawHeaders.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? ''))
        bytes = EMPTY
      }
    } else {
      body = observedBody(bytes, size, sha256, r.rawHeaders)
    }
    return { ...request, response: redactor.response({ ...r, body }, bytes) }
  }

  /** Places and journals one exchange (synchronous up to the journal append, so `abort` can run it too). */
  private place(x: CapturedExchange): { entry: TrafficEntry; placement: Placement; recording?: string; counted?: boolean } {
    const observation = this.complete(x)
    const entry: TrafficEntry = { source: `proxy exchange ${x.index}`, observation, hasBody: true, ...(x.requestBody.length ? { requestBody: Buffer.from(x.requestBody).toString('utf8') } : {}) }
    const placement = this.opts.traffic.place(entry)
    const j = this.opts.journal
    // Only answered exchanges of one known operation become recordings: a wrong method, a guess or a failed connection is not a golden.
    if (placement.kind !== 'attributed' || !j || !observation.response) return { entry, placement }
    const id = placement.exp.id
    const recording = recordingPath(j.dir, id, j.name)
    this.checkDir(x, id, j)
    const r = observation.response
    const maxShapes = this.opts.maxShapes ?? (this.opts.mode === 'review' ? Infinity : 5)
    if (maxShapes !== Infinity) {
      // Framing is part of the key: a switch to chunked (the seed incident) is recorded even when the body's shape is the same.
      const key = `${id}\u0000${r.status}\u0000${r.framing.kind}`
      const shape = r.body.json !== undefined ? JSON.stringify(inferSchema([r.body.json])) : `${r.framing.kind}\u0000${r.body.jsonError ? 'unparsed' : ''}\u0000${r.rawHeaders.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? ''}`
      let known = this.shapes.get(key)
      if (!known) this.shapes.set(key, (known = new Set()))
      if (known.has(shape) || known.size >= maxShapes) {
        this.counted.set(id, (this.counted.get(id) ?? 0) + 1)
        return { entry, placement, recording, counted: true }
      }
      known.add(shape)
    }
    const cap = this.opts.recordBodyBytes ?? 64 * 1024
    const capped: Observation = r.body.size > cap ? { ...observation, response: { ...r, body: hashedOnly(r.body, `body is ${r.body.size} bytes, over the ${cap}-byte recording cap: recorded as its size and sha256, not parsed`, looksJson(observation)) } } : observation
    const before = this.opts.personal.count
    const o = redactPersonal({ ...capped, contract: id }, this.opts.personal)
    if (j.writer.append(this.redactor.text(JSON.stringify({ personalData: this.opts.personal.count - before, observation: o })), x.answeredAt)) return { entry, placement, recording }
    if (!this.journalFailureSaid) {
      this.journalFailureSaid = true
      const e = j.writer.error as NodeJS.ErrnoException | undefined
      this.say(`exchange ${x.index} and those after it were answered but not recorded: the journal ${j.writer.file} cannot be written (${e?.code ?? e?.message ?? 'closed'})`)
    }
    return { entry, placement }
  }

  /** Said once per operation, when its first exchange comes, rather than at compaction: the one who can fix it is watching. */
  private checkDir(x: CapturedExchange, id: string, j: ObserverJournal): void {
    if (this.checkedDirs.has(id)) return
    this.checkedDirs.add(id)
    const o = x.observation
    const check = ensureDir(join(j.dir, id)).catch((err: unknown) =>
      this.say(`exchange ${x.index} (${o.request.method} ${safePath(o.request.url, this.redactor)}) was answered but cannot be recorded: cannot write recording ${recordingPath(j.dir, id, j.name)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); it is kept in the journal ${j.writer.file}`),
    )
    this.dirChecks.add(check)
    void check.finally(() => this.dirChecks.delete(check))
  }

  private async observe(x: CapturedExchange, live: boolean): Promise<void> {
    const { entry, placement, recording, counted } = this.place(x)
    const findings = live ? (await this.opts.traffic.judgeOne(entry, placement)).map((f) => this.redactor.deep(f)) : []
    if (live) this.counts.judged++
    const contract = placement.kind === 'attributed' || placement.kind === 'wrong-method' ? placement.exp?.id : undefined
    const o = entry.observation
    this.opts.metrics?.exchange?.(contract, o.response?.status)
    // The incident is dated by the exchange, not by when the observer got to it (under load, seconds later).
    if (live && contract && this.opts.incidents) await this.opts.incidents.judged(contract, findings, answeredAt(o))
    this.opts.onExchange?.({
      index: x.index,
      method: o.request.method,
      path: safePath(o.request.url, this.redactor),
      ...(o.response ? { status: o.response.status } : {}),
      ...(o.response && o.transportError ? { cut: true } : {}),
      ...(contract ? { contract } : {}),
      attribution: placement.kind,
      judged: live,
      findings,
      ...(recording ? { recording } : {}),
      ...(counted ? { counted } : {}),
    })
  }
}

/** Path and query of a URL, redacted. */
export function safePath(url: string, redactor: Redactor): string {
  try {
    const u = new URL(url)
    return redactor.url(`${u.pathname}${u.search}`)
  } catch {
    return redactor.url(url)
  }
}
