/**
 * `driftwatch watch` as a library call: probe continuously under a request budget, keep state in
 * SQLite, alert once per new drift and once when it clears.
 *
 * One cycle = one unit (schedule.ts) run as a small check: contract -> probe -> observation ->
 * checks -> findings, exactly as `check` does; then the findings go to the incidents
 * (src/live/incidents.ts, shared with the proxy's live traffic). A drift is one contract and check:
 * it opens (alert) the first time it is seen, stays open while it is seen (no alert), and clears
 * (recovery alert) after `recoverAfter` judged runs of its contract without it, so an intermittent
 * drift (Feb 6 2026) that one cycle happens to miss does not flap.
 *
 * Contracts live traffic judged within the traffic window are not probed (src/live/coverage.ts):
 * the budget goes to the others.
 *
 * `startWatch` is the whole command: one session per target (or the one target), the state file,
 * the metrics server and its health, then `runWatch` for every target at once; a start that fails
 * leaves no state file it made behind. The CLI (cli/commands/watch.ts) parses and prints.
 */
import { existsSync } from 'node:fs'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FailOn } from '../model/report.ts'
import type { Finding } from '../model/finding.ts'
import { DEFAULT_RETRY } from '../runner/retry.ts'
import { runContracts } from '../runner/run.ts'
import { rerunsOf } from './check.ts'
import { openSession, type Session, type SessionOptions } from '../runner/session.ts'
import type { Alert, AlertSink } from '../watch/alerts.ts'
import { coveredProbes, DEFAULT_TRAFFIC_WINDOW_MS, Incidents, operationOf, TRAFFIC_RECOVERY } from '../live/index.ts'
import { serveMetrics, WatchMetrics, type MetricsServer } from '../watch/metrics.ts'
import { buildUnits, DAY_MS, Schedule, type Unit } from '../watch/schedule.ts'
import { HistoryStore, type OpenDrift } from '../history/store.ts'
import { loadTargets, targetEnvironment } from '../targets/targets-file.ts'
import { missingFolders, removeMade } from '../util/preflight.ts'

export { DAY_MS, parseBudget } from '../watch/schedule.ts'
export type { Session } from '../runner/session.ts'

/** Time for the loop; the bench runs it faster than real time (pacing and priorities unchanged). */
export interface WatchClock {
  now(): number
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const realClock: WatchClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : {}).catch(() => undefined),
}

/** A clock that runs `scale` times faster than real time from now on. */
export function scaledClock(scale: number): WatchClock {
  const t0 = Date.now()
  return {
    now: () => t0 + (Date.now() - t0) * scale,
    sleep: (ms, signal) => sleep(ms / scale, undefined, signal ? { signal } : {}).catch(() => undefined),
  }
}

/** One finished cycle, for a live display. */
export interface CycleEvent {
  /** The target's name (watch --targets), else the target label. */
  target: string
  n: number
  unit: Unit
  why: string
  startedAt: string
  requests: number
  healthy: boolean
  outcome: string
  /** Findings at or above the threshold this cycle. */
  drift: Finding[]
  /** Contracts not probed because live traffic judged their operation within the traffic window. */
  covered: number
  /** When the breaker holds probing back after this cycle, until when (ISO). */
  breakerUntil?: string
}

export interface WatchOptions {
  session: Session
  /**
   * The target's name when one state file serves several targets (watch --targets): drifts,
   * schedule and cycles are kept apart by it, and alerts name it.
   */
  scope?: string
  store: HistoryStore
  apiVersion: string
  perDay: number
  /** Findings at or above this are drift and alerted (default breaking). */
  failOn?: FailOn
  sinks: readonly AlertSink[]
  metrics?: WatchMetrics
  /** Samples per repeatable contract per cycle (default WATCH_SAMPLES). */
  samples?: number
  connection?: 'fresh' | 'reuse'
  /** Judged runs without a drift before it counts as cleared (default 2). */
  recoverAfter?: number
  /**
   * Contracts whose operation live traffic (driftwatch proxy on this state file) judged within
   * this many ms are not probed (default DEFAULT_TRAFFIC_WINDOW_MS, 15 min).
   */
  trafficWindowMs?: number
  clock?: WatchClock
  random?: () => number
  /** Stop after the cycle in flight (SIGTERM, first Ctrl-C). */
  signal?: AbortSignal
  /** Abandon the cycle in flight too (second Ctrl-C). */
  halt?: AbortSignal
  /** Stop after this many cycles (tests, one-shot CI use). */
  maxCycles?: number
  onCycle?: (e: CycleEvent) => void
  onAlert?: (a: Alert, delivery: string[]) => void
}

export interface WatchResult {
  cycles: number
  requests: number
  alerts: number
  open: OpenDrift[]
}

/**
 * The most samples a repeatable contract takes in a cycle, unless --samples says otherwise: three,
 * the least a method-rejection probe takes. Cycles stay cheap; the fleet is covered over many cycles.
 */
export const WATCH_SAMPLES = 3


/** Runs until the signal (or maxCycles). Never throws for upstream behaviour. */
export async function runWatch(opts: WatchOptions): Promise<WatchResult> {
  const { session, store } = opts
  const scope = opts.scope
  const targetName = scope ?? session.label
  const clock = opts.clock ?? realClock
  const probes = session.pack.probes
  const preflight = probes.find((p) => p.preflight)?.id
  const units = buildUnits(probes, session.selected.map((s) => s.probe), opts.samples, WATCH_SAMPLES)
  const schedule = new Schedule(units, { perDay: opts.perDay, ...(opts.random ? { random: opts.random } : {}), ...(preflight ? { preflight } : {}) })
  schedule.restore(store.contractStates(scope))
  const trafficWindowMs = opts.trafficWindowMs ?? DEFAULT_TRAFFIC_WINDOW_MS
  let alerts = 0
  const incidents = new Incidents({
    store,
    ...(scope ? { scope } : {}),
    target: targetName,
    source: 'probes',
    failOn: opts.failOn ?? 'breaking',
    // A drift live traffic saw also waits out traffic's quiet time: a probe that happens to miss an intermittent one does not clear it.
    recovery: { cleanRuns: Math.max(1, opts.recoverAfter ?? 2), quietMs: TRAFFIC_RECOVERY.quietMs },
    operationOf: operationOf(session.pack),
    sinks: opts.sinks,
    // Built from findings already redacted; one more pass all the same, since the payload leaves the machine.
    redact: (a) => session.redactor.deep(a),
    onAlert: (a, delivery) => {
      opts.metrics?.alerts.inc({ kind: a.kind })
      opts.onAlert?.(a, delivery)
      alerts++
    },
  })
  let open = incidents.open()
  const rerunOf = rerunsOf(session, {})
  opts.metrics?.budget.set(opts.perDay)
  opts.metrics?.setOpen(targetName, open)
  const last = store.lastHealthyCycle()
  if (last) opts.metrics?.lastSuccess.set(Date.parse(last) / 1000)
  let cycles = 0
  let requests = 0

  const iso = () => new Date(clock.now()).toISOString()

  while (!opts.signal?.aborted && (opts.maxCycles === undefined || cycles < opts.maxCycles)) {
    // What live traffic judged lately (driftwatch proxy on the same state file) is not probed.
    const fresh = trafficWindowMs > 0 ? store.coveredSince(clock.now() - trafficWindowMs, scope) : new Map<string, number>()
    const covered = coveredProbes(probes, fresh)
    opts.metrics?.trafficCovered.set({ target: targetName }, covered.size)
    const decision = schedule.nextExcept(clock.now(), covered)
    if (!decision) {
      // Everything is covered: look again when the first coverage goes stale.
      const staleAt = Math.min(...fresh.values()) + trafficWindowMs
      await clock.sleep(Math.max(1_000, staleAt - clock.now()), opts.signal)
      continue
    }
    if (decision.waitMs > 0) await clock.sleep(decision.waitMs, opts.signal)
    if (opts.signal?.aborted) break
    const unit = decision.unit
    const startedAt = iso()
    const report = await runContracts({
      pack: session.pack,
      target: session.label,
      baseUrl: session.baseUrl,
      apiVersion: opts.apiVersion,
      variables: session.variables,
      transport: session.transport,
      only: unit.contracts,
      ...(unit.id === preflight ? {} : { preflight: false }),
      ...(opts.samples ? { samples: opts.samples } : { samplesCap: WATCH_SAMPLES }),
      ...(opts.connection ? { connection: opts.connection } : {}),
      // SIGTERM lets the cycle in flight finish; only a second one abandons it.
      ...(opts.halt ? { signal: opts.halt } : {}),
      golden: session.golden,
      // No waiting out downtime inside a cycle: the breaker backs off between cycles instead.
      retry: { ...DEFAULT_RETRY, budgetMs: 0 },
    })
    cycles++
    const at = clock.now()
    const spent = report.results.reduce((n, r) => n + r.probes, 0)
    requests += spent
    const judged = report.results.filter((r) => r.status === 'passed' || r.status === 'failed').map((r) => r.contract)
    const healthy = !report.results.some((r) => r.status === 'inconclusive' || (r.status === 'skipped' && /token was rejected|interrupted/.test(r.reason ?? '')))

    // Each drift alert carries the finding's rerun: `npx driftwatch check --target ... --only <contract> --out reports/rerun --no-history`, what the on-call engineer runs first.
    const decided = incidents.record({ judged, findings: report.findings.map(rerunOf), at })
    // First what earlier cycles (or the proxy on this state) could not deliver, then this cycle's, in order.
    await incidents.redeliver(at)
    for (const a of decided.alerts) await incidents.raise(a, at)
    open = decided.open
    const changed = decided.changed
    const now = new Date(at).toISOString()

    const openContracts = new Set(open.map((d) => d.contract))
    schedule.done(unit, at, spent, { healthy, ran: judged, open: openContracts, changed })
    store.saveContractStates(schedule.contracts, scope)
    store.addCycle({ startedAt, finishedAt: now, target: targetName, unit: unit.id, contracts: unit.contracts, requests: spent, outcome: report.outcome, healthy }, report.findings, report.results)
    const m = opts.metrics
    if (m) {
      m.requests.inc(spent)
      m.requestsToday.set(store.spentOn(now.slice(0, 10)))
      m.cycles.inc({ outcome: report.outcome })
      for (const r of report.results) if (r.probes > 0) m.probeSeconds.observe({ target: targetName, contract: r.contract }, r.durationMs / 1000)
      m.setOpen(targetName, open)
      if (healthy) m.lastSuccess.set(at / 1000)
      m.breakerOpen.set(schedule.breakerOpen(at) ? 1 : 0)
    }
    opts.onCycle?.({ target: targetName, n: cycles, unit, why: decision.why, startedAt, requests: spent, healthy, outcome: report.outcome, drift: [...decided.seen.values()], covered: covered.size, ...(schedule.breakerOpen(at) ? { breakerUntil: new Date(schedule.breakerOpenUntil).toISOString() } : {}) })
  }
  return { cycles, requests, alerts, open }
}


/** How to start a watch: what runWatch takes for each target, and where the targets and the state are. */
export interface StartWatchOptions extends Omit<WatchOptions, 'session' | 'scope' | 'store' | 'metrics' | 'onCycle'> {
  /** How each target's session opens (contracts, golden recordings, env, cwd...); `target` and `scenario` name the one target unless `targetsFile` is given. */
  sessions: SessionOptions
  /** A targets file (as check --targets): every target at once, each with its own budget, schedule and credentials, in one state file. */
  targetsFile?: string
  /** The SQLite state (the history database): open drifts, the schedule, cycles. Created when absent, and removed again when the start fails. */
  state: string
  /** Serve Prometheus /metrics and /healthz on this port (0 picks one); none when undefined. */
  metricsPort?: number
  /** Address for the metrics server (default 127.0.0.1). */
  metricsHost?: string
  /** Each finished cycle; `scope` is the target's name from the targets file (undefined for the one target). */
  onCycle?: (e: CycleEvent, scope: string | undefined) => void
}

/** A target being watched: its name in the targets file (none for the one target) and its open session. */
export interface WatchedTarget {
  scope?: string
  session: Session
}

/** A started watch: what it watches, before the first cycle; `run` runs it to the end. */
export interface RunningWatch {
  targets: readonly WatchedTarget[]
  /** Drifts the state holds open from earlier runs (alerted then, not again). */
  openBefore: number
  /** The metrics server's base URL (`/metrics`, `/healthz`), when one was asked for. */
  metricsUrl?: string
  /** Redacts every target's secrets from a line (what the caller prints goes through it). */
  redact(text: string): string
  /** Runs every target's cycles until the signal (or maxCycles), then stops the metrics server and closes the sessions and the state. */
  run(): Promise<WatchResult>
  /** Stops without running (the sessions, the metrics server and the state close). */
  close(): Promise<void>
}

/**
 * `driftwatch watch` as a library call: opens the state, a session per target and the metrics
 * server, and resolves once all are up (the first cycle starts with `run`). A start that fails (no
 * contracts, a bad targets file, a busy metrics port) closes what it opened and removes the state
 * file it created, then throws.
 */
export async function startWatch(opts: StartWatchOptions): Promise<RunningWatch> {
  const { sessions, state, perDay } = opts
  const madeState = !existsSync(state)
  const madeFolders = missingFolders(dirname(state))
  const store = new HistoryStore(state)
  // One session per target: its own token, simulator or connections, and pacing.
  const watched: WatchedTarget[] = []
  const closeAll = async () => {
    for (const w of watched) await w.session.close()
    store.close()
  }
  const failedStart = async (err: unknown): Promise<never> => {
    await closeAll()
    if (madeState) removeMade([state, `${state}-wal`, `${state}-shm`, `${state}-journal`], madeFolders)
    throw err
  }
  try {
    if (opts.targetsFile === undefined) watched.push({ session: await openSession(sessions) })
    else {
      const { target: _t, scenario: _s, ...common } = sessions
      for (const t of loadTargets(opts.targetsFile, sessions.cwd)) watched.push({ scope: t.name, session: await openSession({ ...common, target: t.target, ...(t.scenario ? { scenario: t.scenario } : {}), env: targetEnvironment(t, sessions.env) }) })
    }
  } catch (err) {
    await failedStart(err)
  }
  const metrics = new WatchMetrics()
  let lastCycleAt = Date.now()
  const breakers = new Map<string, string | undefined>()
  const server: MetricsServer | undefined =
    opts.metricsPort === undefined
      ? undefined
      : await serveMetrics(metrics, opts.metricsPort, () => {
          const staleMs = Date.now() - lastCycleAt
          const limit = Math.max(3 * (DAY_MS / perDay) * 20, 60_000)
          const open = [...breakers].filter(([, until]) => until !== undefined)
          const ok = open.length === 0 && staleMs < limit
          return { ok, detail: { lastCycleSecondsAgo: Math.round(staleMs / 1000), ...(open.length ? { breakerOpenUntil: Object.fromEntries(open) } : {}), budgetPerDay: perDay } }
        }, opts.metricsHost ?? '127.0.0.1').catch(failedStart)
  const openBefore = store.openDrifts().length + watched.reduce((n, w) => n + (w.scope ? store.openDrifts(w.scope).length : 0), 0)
  const close = async () => {
    await server?.close()
    await closeAll()
  }
  const { targetsFile: _f, state: _st, metricsPort: _p, metricsHost: _h, sessions: _s, onCycle, ...each } = opts
  return {
    targets: watched,
    openBefore,
    ...(server ? { metricsUrl: server.url } : {}),
    redact: (line) => watched.reduce((l, w) => w.session.redactor.text(l), line),
    async run() {
      const results = await Promise.all(
        watched.map((w) =>
          runWatch({
            ...each,
            session: w.session,
            ...(w.scope ? { scope: w.scope } : {}),
            store,
            metrics,
            onCycle: (e) => {
              lastCycleAt = Date.now()
              breakers.set(e.target, e.breakerUntil)
              onCycle?.(e, w.scope)
            },
          }),
        ),
      )
      await close()
      return { cycles: results.reduce((n, r) => n + r.cycles, 0), requests: results.reduce((n, r) => n + r.requests, 0), alerts: results.reduce((n, r) => n + r.alerts, 0), open: results.flatMap((r) => r.open) }
    },
    close,
  }
}
