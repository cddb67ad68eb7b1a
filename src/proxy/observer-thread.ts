/**
 * The proxy's observer in a worker thread: attribution, judging, journaling and compaction run on
 * a second core, and the main thread keeps only the request path, the metrics and the incidents
 * (SQLite state and alert delivery stay where the caller made them).
 *
 * The main thread's side (`startObserverThread`) implements the same ObserverSide as the inline
 * observer. `offer` never waits: it counts the exchanges posted and not yet observed, and past the
 * queue bound counts the exchange as skipped ('queue-full'), as the inline observer does. Exchanges
 * are posted in batches, once per turn of the event loop, their kept bodies transferred rather than
 * copied when they own their memory. The worker (observer-worker.mjs, then `runObserverWorker`)
 * builds its own observer side from plain options and posts back, once per turn: the metrics calls,
 * the live exchanges, the incidents' judgements, errors, and its counts. A worker that dies is said
 * once; what it had not observed and everything offered after is counted as 'observer-failed', and
 * the application keeps being served.
 */
import { Worker, parentPort, workerData } from 'node:worker_threads'
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { loadContracts } from '../contracts/load.ts'
import type { ContractPack } from '../contracts/types.ts'
import type { Finding } from '../model/finding.ts'
import type { CompactResult } from '../recordings/compact.ts'
import type { JournalStats } from '../recordings/journal.ts'
import { Redactor } from '../transport/redact.ts'
import { plainCapture, type CapturedExchange, type ObserverCounts, type SkipReason } from './exchange.ts'
import { NOVEL_RESERVE, NoveltyGate } from './novelty.ts'
import { createObserverSide, sessionJudge, type ObserverFinish, type ObserverSide, type ObserverSideOptions } from './observer-side.ts'
import type { ObservedExchange } from './observer.ts'

/**
 * Test hooks: the worker blocks its thread at its first exchange until `stall[0]` is made non-zero
 * (and notified), having set `stall[1]` to 1 when the array has room (a test then knows it is
 * blocked); or dies at exchange `crashAt`.
 */
export interface ObserverThreadHooks {
  stall?: Int32Array
  crashAt?: number
}

type Plain = Omit<ObserverSideOptions, 'pack' | 'incidents' | 'metrics' | 'onExchange' | 'onError' | 'beforeEach'>
interface Init {
  side: Plain
  exchanges: boolean
  incidents: boolean
  hooks?: ObserverThreadHooks
}
/** What the worker has done, posted with every batch. */
interface WorkerState {
  counts: ObserverCounts
  /** Exchanges taken from the main thread that are no longer waiting (observed, or skipped). */
  done: number
  journal?: JournalStats
  compactions: number
}
type Event = ['exchange', string | undefined, number | undefined] | ['skipped', SkipReason] | ['captured'] | ['x', ObservedExchange] | ['error', string] | ['judged', string, Finding[], number]
type ToWorker = { t: 'x'; xs: CapturedExchange[] } | { t: 'call'; id: number; op: 'idle' | 'compact' | 'finish' | 'abort' }
type FromWorker =
  | { t: 'ready'; journal?: string; recovered?: CompactResult & { journal: string }; removedTemps: string[]; state: WorkerState }
  | { t: 'failed'; message: string }
  | { t: 'events'; events: Event[]; state: WorkerState }
  | { t: 'reply'; id: number; value?: unknown; error?: string; state: WorkerState }

const NO_SKIPS = (): Record<SkipReason, number> => ({ 'queue-full': 0, 'observer-failed': 0, stopping: 0 })

/** Starts the worker and resolves once its observer side is built (a journal an earlier session left recovered). */
export async function startObserverThread(opts: ObserverSideOptions, extra: { hooks?: ObserverThreadHooks; pack?: ContractPack } = {}): Promise<ObserverSide> {
  const { pack, incidents, metrics, onExchange, onError, beforeEach: _hook, ...plain } = opts
  // The worker has a core of its own: it observes at full speed rather than in a share of a thread.
  const init: Init = { side: { ...plain, share: plain.share ?? 1 }, exchanges: !!onExchange, incidents: !!incidents, ...(extra.hooks ? { hooks: extra.hooks } : {}) }
  metrics?.setShare?.(init.side.share!)
  const worker = new Worker(new URL('./observer-worker.mjs', import.meta.url), { workerData: init })
  const max = Math.max(1, opts.queue ?? 1024)
  const secrets = new Set(opts.secrets)
  let redactor = new Redactor({ secrets: [...secrets] })
  let stale = false
  let state: WorkerState = { counts: { offered: 0, captured: 0, judged: 0, skipped: NO_SKIPS(), queued: 0 }, done: 0, compactions: 0 }
  const own = { offered: 0, skipped: NO_SKIPS(), newKinds: 0 }
  const novelty = new NoveltyGate()
  let posted = 0
  let stopped = false
  let dead = false
  let pending: CapturedExchange[] = []
  let transfer: ArrayBuffer[] = []
  let flushing = false
  let waiters: (() => void)[] = []
  let incidentWork: Promise<void> = Promise.resolve()
  const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let nextId = 0

  const inFlight = () => (dead ? 0 : posted - state.done)
  const full = () => inFlight() >= max
  const say = (m: string) => onError?.(m)
  const release = () => {
    if (full() && !dead && !stopped) return
    for (const w of waiters.splice(0)) w()
  }
  const skip = (reason: SkipReason, n = 1) => {
    own.skipped[reason] += n
    for (let i = 0; i < n; i++) metrics?.skipped?.(reason)
    return false
  }
  const flush = () => {
    flushing = false
    if (!pending.length || dead) return
    const xs = pending
    const t = transfer
    pending = []
    transfer = []
    try {
      worker.postMessage({ t: 'x', xs } satisfies ToWorker, t)
    } catch (err) {
      posted -= xs.length
      skip('observer-failed', xs.length)
      say(`${xs.length} exchange${xs.length === 1 ? ' was' : 's were'} answered but not observed: they could not be handed to the observer thread (${(err as Error).message})`)
    }
  }
  const post = (taken: CapturedExchange) => {
    const x = plainCapture(taken)
    pending.push(x)
    posted++
    // The kept bodies move to the worker when they own their memory (a slice of Node's shared pool is copied).
    for (const b of [x.requestBody, x.responseBody]) if (b && b.byteLength > 0 && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer && !transfer.includes(b.buffer)) transfer.push(b.buffer)
    if (!flushing) {
      flushing = true
      setImmediate(flush)
    }
  }
  const learn = (x: CapturedExchange) => {
    for (const s of x.newSecrets ?? []) {
      if (secrets.has(s)) continue
      secrets.add(s)
      stale = true
    }
  }
  const onEvents = (events: Event[]) => {
    for (const e of events) {
      if (e[0] === 'exchange') metrics?.exchange?.(e[1], e[2])
      else if (e[0] === 'skipped') metrics?.skipped?.(e[1])
      else if (e[0] === 'captured') metrics?.captured?.()
      else if (e[0] === 'x') onExchange?.(e[1])
      else if (e[0] === 'error') say(e[1])
      else if (e[0] === 'judged' && incidents) {
        const [, contract, findings, at] = e
        incidentWork = incidentWork.then(() => incidents.judged(contract, findings, at)).catch((err: unknown) => say(`an incident could not be recorded: ${(err as Error).message}`))
      }
    }
  }
  const died = (why: string) => {
    if (dead) return
    const lost = inFlight() + pending.length
    dead = true
    pending = []
    transfer = []
    if (lost) skip('observer-failed', lost)
    say(`the observer thread stopped (${why}): ${lost} exchange${lost === 1 ? '' : 's'} it had not observed and every one after are forwarded but not observed (observer-failed)`)
    for (const c of calls.values()) c.reject(new Error(`the observer thread stopped (${why})`))
    calls.clear()
    release()
  }

  const ready = await new Promise<Extract<FromWorker, { t: 'ready' }>>((resolve, reject) => {
    const early = (err: Error) => reject(err)
    worker.once('error', early)
    worker.on('message', (m: FromWorker) => {
      if (m.t === 'ready') {
        worker.off('error', early)
        resolve(m)
      } else if (m.t === 'failed') {
        reject(new Error(m.message))
        void worker.terminate()
      } else if (m.t === 'events') onEvents(m.events)
      else if (m.t === 'reply') {
        const c = calls.get(m.id)
        calls.delete(m.id)
        if (m.error) c?.reject(new Error(m.error))
        else c?.resolve(m.value)
      }
      if ('state' in m) {
        state = m.state
        metrics?.setQueue?.(inFlight())
        release()
      }
    })
  })
  worker.on('error', (err) => died(err.message))
  worker.on('exit', (code) => died(`exit code ${code}`))

  const call = <T>(op: Extract<ToWorker, { t: 'call' }>['op']): Promise<T> => {
    if (dead) return Promise.reject(new Error('the observer thread has stopped'))
    flush()
    const id = nextId++
    return new Promise<T>((resolve, reject) => {
      calls.set(id, { resolve: resolve as (v: unknown) => void, reject })
      worker.postMessage({ t: 'call', id, op } satisfies ToWorker)
    })
  }
  const end = async () => {
    dead = true
    await worker.terminate()
  }
  /** The session's judgement when the worker died: nothing it judged is left, so the report says what was forwarded and skipped. */
  const orphanFinish = async (): Promise<ObserverFinish> => {
    const judge = sessionJudge(opts, pack ?? extra.pack ?? loadContracts(opts.contractsDir, { cwd: opts.cwd }))
    return { judged: await judge.report(`proxy:${opts.origin}`, side.redactor), counts: judge.counts, notRecorded: 0, timings: { compactMs: 0, judgeMs: 0 }, ...(ready.journal ? { journalKept: ready.journal } : {}) }
  }

  const side: ObserverSide = {
    offer(x) {
      own.offered++
      learn(x)
      if (dead) return skip('observer-failed')
      if (stopped) return skip('stopping')
      const kind = x.kind
      if (full()) {
        // Past the bound, a new kind of exchange still fits in the reserve (novelty.ts).
        if (inFlight() >= max + NOVEL_RESERVE || !novelty.isNew(kind, x.answeredAt)) return skip('queue-full')
        own.newKinds++
      }
      novelty.took(kind, x.answeredAt)
      post(x)
      return true
    },
    async submit(x) {
      own.offered++
      learn(x)
      while (full() && !dead && !stopped) await side.whenRoom()
      if (dead) skip('observer-failed')
      else if (stopped) skip('stopping')
      else post(x)
    },
    whenRoom() {
      if (!full() || dead || stopped) return Promise.resolve()
      return new Promise((resolve) => waiters.push(resolve))
    },
    get full() {
      return !dead && full()
    },
    get counts(): ObserverCounts {
      const c = state.counts
      const skipped = NO_SKIPS()
      for (const k of Object.keys(skipped) as SkipReason[]) skipped[k] = own.skipped[k] + c.skipped[k]
      return { offered: own.offered, captured: c.captured, judged: c.judged, skipped, queued: inFlight(), ...(own.newKinds ? { newKinds: own.newKinds } : {}) }
    },
    get redactor() {
      if (stale) {
        redactor = new Redactor({ secrets: [...secrets] })
        stale = false
      }
      return redactor
    },
    ...(ready.journal ? { journal: ready.journal } : {}),
    ...(ready.recovered ? { recovered: ready.recovered } : {}),
    removedTemps: ready.removedTemps,
    journalStats: () => state.journal,
    compactions: () => state.compactions,
    async idle() {
      if (!dead) await call('idle').catch(() => undefined)
      await incidentWork
    },
    compact: () => (dead ? Promise.resolve(undefined) : call<CompactResult | undefined>('compact').catch(() => undefined)),
    async finish() {
      stopped = true
      release()
      if (dead) return orphanFinish()
      try {
        const done = await call<ObserverFinish>('finish')
        await incidentWork
        await end()
        return done
      } catch {
        return orphanFinish()
      }
    },
    async abort() {
      stopped = true
      release()
      if (!dead) await call('abort').catch(() => undefined)
      await end()
    },
  }
  return side
}

/**
 * The observer thread's scheduling priority (Linux nice), set once its observer side is built: below
 * the request path's, so that where the cores are all busy the kernel runs the main thread (which
 * forwards), the upstream and the app first. Production's promise is that the app never waits for
 * the observer: its queue makes sure of that within the process, this between threads competing for
 * a core. The observer then falls behind sooner and samples (queue-full), which it says.
 * 10, not 19: against a thread at nice 0 it gets about a tenth of a core (1024 to 110 in the
 * kernel's weights), about what the inline observer keeps at least (a twentieth of the main
 * thread). At 19 (a sixty-eighth) three busy processes starved it: its tests timed out at 30 s.
 * Bench (npm run bench -- --only proxy, 5 rounds, 2 cores, 10 clients), the thread observer against
 * a bare proxy: at nice 0 0.72 of its throughput, p99 +3.02 ms, 99.9% judged; at 10 0.79, +0.51 ms,
 * 95.7% judged (runs a minute apart); at 19, in an earlier run, 0.81, +2.67 ms, 85% judged.
 */
export const OBSERVER_NICE = 10

/**
 * Lowers this thread's priority to OBSERVER_NICE, this thread only: on Linux a thread is a task with
 * its own id, which /proc/thread-self names, and setpriority on that id leaves the process's other
 * threads as they were. Elsewhere (no /proc), or called on the main thread, it does nothing. Returns the
 * thread id it lowered.
 */
export function yieldToRequestPath(): number | undefined {
  try {
    // `<pid>/task/<tid>`; anything else (or the main thread's own id, which is the process's) and the process is left alone.
    const m = /^(\d+)\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))
    const tid = Number(m?.[2])
    if (!m || Number(m[1]) !== process.pid || !(tid > 0) || tid === process.pid) return undefined
    setPriority(tid, OBSERVER_NICE)
    return tid
  } catch {
    return undefined
  }
}

/** The worker's side: builds the observer side from workerData and serves the main thread. */
export async function runObserverWorker(): Promise<void> {
  const port = parentPort!
  const init = workerData as Init
  const events: Event[] = []
  let scheduled = false
  let received = 0
  let side: ObserverSide | undefined
  const stateOf = (): WorkerState => {
    const counts = side!.counts
    const journal = side!.journalStats()
    return { counts: { ...counts, skipped: { ...counts.skipped } }, done: received - counts.queued, compactions: side!.compactions(), ...(journal ? { journal: { ...journal } } : {}) }
  }
  const send = () => {
    scheduled = false
    port.postMessage({ t: 'events', events: events.splice(0), state: stateOf() } satisfies FromWorker)
  }
  const emit = (e?: Event) => {
    if (e) events.push(e)
    if (!scheduled) {
      scheduled = true
      setImmediate(send)
    }
  }
  const hooks = init.hooks ?? {}
  try {
    side = await createObserverSide({
      ...init.side,
      metrics: {
        exchange: (contract, status) => emit(['exchange', contract, status]),
        skipped: (reason) => emit(['skipped', reason]),
        captured: () => emit(['captured']),
        setQueue: () => emit(),
      },
      ...(init.exchanges ? { onExchange: (x: ObservedExchange) => emit(['x', x]) } : {}),
      ...(init.incidents ? { incidents: { judged: async (contract: string, findings: readonly Finding[], at: number) => emit(['judged', contract, [...findings], at]), open: () => [], close: async () => undefined } } : {}),
      onError: (m) => emit(['error', m]),
      ...(hooks.stall || hooks.crashAt
        ? {
            beforeEach: (x: CapturedExchange) => {
              if (hooks.crashAt && x.index >= hooks.crashAt) setImmediate(() => {
                throw new Error('the observer thread crashed (a test hook)')
              })
              if (hooks.stall) {
                if (hooks.stall.length > 1) Atomics.store(hooks.stall, 1, 1)
                Atomics.wait(hooks.stall, 0, 0)
              }
            },
          }
        : {}),
    })
  } catch (err) {
    port.postMessage({ t: 'failed', message: (err as Error).message } satisfies FromWorker)
    return
  }
  // Built at the process's priority (the proxy waits for it to start); observing from here on at the observer's.
  yieldToRequestPath()
  const s = side
  port.postMessage({ t: 'ready', ...(s.journal ? { journal: s.journal } : {}), ...(s.recovered ? { recovered: s.recovered } : {}), removedTemps: s.removedTemps, state: stateOf() } satisfies FromWorker)
  // Review mode waits for room before taking the next exchange; in order, as the main thread posted them.
  let submitting: Promise<void> = Promise.resolve()
  const review = init.side.mode === 'review'
  port.on('message', (m: ToWorker) => {
    if (m.t === 'x') {
      for (const x of m.xs) {
        if (review) submitting = submitting.then(() => s.submit(x)).then(() => void received++)
        else {
          s.offer(x)
          received++
        }
      }
      emit()
      return
    }
    const run = async () => {
      if (m.op === 'finish' || m.op === 'idle') await submitting
      if (m.op === 'idle') return s.idle()
      if (m.op === 'compact') return s.compact()
      if (m.op === 'finish') return s.finish()
      return s.abort()
    }
    run().then(
      (value) => {
        scheduled = false
        port.postMessage({ t: 'events', events: events.splice(0), state: stateOf() } satisfies FromWorker)
        port.postMessage({ t: 'reply', id: m.id, value, state: stateOf() } satisfies FromWorker)
      },
      (err: unknown) => port.postMessage({ t: 'reply', id: m.id, error: (err as Error).message, state: stateOf() } satisfies FromWorker),
    )
  })
}
