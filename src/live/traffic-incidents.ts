/**
 * The proxy's IncidentSink: each judged exchange goes to the incidents `watch` keeps (same SQLite
 * file, same keys), so a drift seen by live traffic and by probes is one incident with one alert.
 *
 * Judging never waits for an alert to be delivered: `judged` decides in the state (one read, and
 * a short write transaction only when something changes) and queues the alerts; one delivery
 * chain sends them in order. A webhook that hangs delays the alerts after it (10 s deadline, two
 * retries: at most about 33 s each), never the judging of later exchanges. What a sink did not take
 * waits in the state's outbox and is tried again every 15 s on the same chain (Incidents.redeliver).
 *
 * It also records which operations traffic judged (throttled to one write per operation per
 * `coverEveryMs`), for `watch` to spend its probes elsewhere.
 */
import type { Finding } from '../model/finding.ts'
import { HistoryStore } from '../history/store.ts'
import type { IncidentSink } from '../proxy/exchange.ts'
import type { FailOn } from '../model/report.ts'
import type { Alert, AlertSink } from '../watch/alerts.ts'
import { Incidents, TRAFFIC_RECOVERY, type RecoveryRule } from './incidents.ts'

/** What TrafficIncidents reports to metrics (ProxyMetrics has these). */
export interface IncidentMetrics {
  alert(kind: Alert['kind']): void
  /** An alert some sink did not take (after its retries): the incident stays open and is not alerted again. */
  undelivered?(kind: Alert['kind']): void
  setOpen(open: readonly { contract: string; check: string; severity: string }[]): void
}

export interface TrafficIncidentsOptions {
  /** The state file `watch --state` uses (opened here, closed by close()), or an open store (left open). */
  state: string | HistoryStore
  /** The proxy's upstream (its origin is named in alerts: `live traffic to <origin>`). */
  upstream: string
  /** The target's name when the state serves several (as watch --targets names it); else none, as plain `watch`. */
  scope?: string
  /** Findings at or above this are drift (default breaking, as watch). */
  failOn?: FailOn
  /** When a drift traffic saw clears (default TRAFFIC_RECOVERY: 20 clean exchanges and 5 min). */
  recovery?: RecoveryRule
  /** Contract id -> operation traffic judges it by (coverage.ts operationOf(pack)); default identity. */
  operationOf?: (contract: string) => string | undefined
  sinks: readonly AlertSink[]
  /** Applied to every alert before it leaves (the proxy's redactor). */
  redact?: (a: Alert) => Alert
  onAlert?: (a: Alert, delivery: string[]) => void
  metrics?: IncidentMetrics
  /** At most one coverage write per operation this often (default 10 s; watch reads it with a 15 min window). */
  coverEveryMs?: number
  /** How often the outbox (alerts a sink did not take) is tried again (default 15 s; 0: never, tests call redeliver). */
  redeliverEveryMs?: number
  /** An alert from the outbox was delivered or given up on. */
  onRedelivery?: (a: Alert, said: string) => void
}

/** Contracts the judge names when no operation is known: never coverage. */
const NOT_AN_OPERATION = /^\(/

/** Live traffic's incidents over watch's state: implements the proxy's IncidentSink. */
export class TrafficIncidents implements IncidentSink {
  readonly incidents: Incidents
  private readonly store: HistoryStore
  private readonly owned: boolean
  private readonly coverEveryMs: number
  private readonly covered = new Map<string, { writtenAt: number; pending: number; at: number }>()
  private delivering: Promise<void> = Promise.resolve()
  private current: readonly { contract: string; check: string; severity: string }[]
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(private readonly opts: TrafficIncidentsOptions) {
    this.owned = typeof opts.state === 'string'
    this.store = typeof opts.state === 'string' ? new HistoryStore(opts.state) : opts.state
    this.coverEveryMs = opts.coverEveryMs ?? 10_000
    this.incidents = new Incidents({
      store: this.store,
      ...(opts.scope ? { scope: opts.scope } : {}),
      target: `live traffic to ${origin(opts.upstream)}`,
      source: 'traffic',
      failOn: opts.failOn ?? 'breaking',
      recovery: opts.recovery ?? TRAFFIC_RECOVERY,
      ...(opts.operationOf ? { operationOf: opts.operationOf } : {}),
      sinks: opts.sinks,
      ...(opts.redact ? { redact: opts.redact } : {}),
      onAlert: (a, delivery) => {
        opts.metrics?.alert(a.kind)
        if (delivery.some((d) => !d.endsWith(': delivered'))) opts.metrics?.undelivered?.(a.kind)
        opts.onAlert?.(a, delivery)
      },
      ...(opts.onRedelivery ? { onRedelivery: opts.onRedelivery } : {}),
    })
    this.current = this.incidents.open()
    opts.metrics?.setOpen(this.current)
    // The outbox: alerts an earlier session (or this one) could not deliver, tried again on the delivery chain, in order.
    const every = opts.redeliverEveryMs ?? 15_000
    if (every > 0 && opts.sinks.some((s) => s.id)) {
      const tick = () => {
        if (this.closed) return
        this.delivering = this.delivering.then(() => this.incidents.redeliver().catch(() => undefined))
      }
      setImmediate(tick).unref()
      this.timer = setInterval(tick, every)
      this.timer.unref()
    }
  }

  /** Tries the outbox now (the timer does this every redeliverEveryMs). */
  redeliver(now?: number): Promise<void> {
    this.delivering = this.delivering.then(() => this.incidents.redeliver(now).catch(() => undefined))
    return this.delivering
  }

  /** Decides in the state at once; alerts are queued for the delivery chain (see `settled`). */
  async judged(contract: string, findings: readonly Finding[], at: number): Promise<void> {
    this.cover(contract, at)
    const decision = this.incidents.record({ judged: [contract], findings, at })
    this.current = decision.open
    this.opts.metrics?.setOpen(this.current)
    for (const a of decision.alerts) this.delivering = this.delivering.then(() => this.incidents.raise(a).then(() => undefined, () => undefined))
  }

  open(): readonly { contract: string; check: string; severity: string }[] {
    return this.current
  }

  /** Resolves when every alert queued so far has been delivered (or given up on). */
  settled(): Promise<void> {
    return this.delivering
  }

  /** Delivers what is queued, writes pending coverage, closes the state if it opened it. */
  async close(): Promise<void> {
    // What is still in the outbox stays there for the next session: a stop never waits on a hook that is down.
    if (this.timer) clearInterval(this.timer)
    this.closed = true
    await this.delivering
    for (const [contract, c] of this.covered) if (c.pending > 0) this.store.cover(contract, c.at, c.pending, this.opts.scope)
    this.covered.clear()
    if (this.owned) this.store.close()
  }

  private cover(contract: string, at: number): void {
    if (NOT_AN_OPERATION.test(contract)) return
    const c = this.covered.get(contract) ?? { writtenAt: -Infinity, pending: 0, at }
    c.pending++
    c.at = Math.max(c.at, at)
    if (at - c.writtenAt >= this.coverEveryMs) {
      this.store.cover(contract, c.at, c.pending, this.opts.scope)
      c.writtenAt = at
      c.pending = 0
    }
    this.covered.set(contract, c)
  }
}

/** The upstream's origin, never its path or credentials. */
function origin(upstream: string): string {
  try {
    return new URL(upstream).origin
  } catch {
    return 'the upstream'
  }
}
