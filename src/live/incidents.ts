/**
 * Incidents, one rule for probes and live traffic: a drift (a contract and check at or above the
 * alert threshold) opens the first time it is seen, stays open while it is seen, and clears after
 * it has not been seen long enough. Drifts on one contract (or one operation), or the same cause
 * on several contracts, are one incident: one alert when it opens, one recovery when its last
 * drift clears.
 *
 * The state is the SQLite file `watch` keeps (src/history/store.ts), and `watch` and `proxy` may
 * write it from two processes at once: every decision re-reads the open drifts inside one write
 * transaction (BEGIN IMMEDIATE), so what one process opened the other sees as open, and neither
 * alerts it again. A run that changes nothing (clean traffic, no drift open on its contract) only
 * reads.
 */
import type { Finding } from '../model/finding.ts'
import { severityRank } from '../model/finding.ts'
import type { HistoryStore, OpenDrift } from '../history/store.ts'
import { failsAt, type FailOn } from '../model/report.ts'
import { deliver, type Alert, type AlertSink } from '../watch/alerts.ts'

/** When a drift counts as cleared. */
export interface RecoveryRule {
  /** Judged runs of its contract in a row without it (a probe cycle or one live exchange each count one). */
  cleanRuns: number
  /** For a drift live traffic saw: also this long (ms) since traffic last saw it. */
  quietMs: number
}

/**
 * Traffic's rule: at least 20 clean exchanges of the operation in a row AND 5 minutes since
 * traffic last saw the drift. An intermittent drift on 1 exchange in 10 comes back long before 5
 * minutes at any rate that makes 20 exchanges; an operation called once an hour is not cleared by
 * the clock alone.
 */
export const TRAFFIC_RECOVERY: RecoveryRule = { cleanRuns: 20, quietMs: 5 * 60_000 }

/** How stale the time live traffic last saw an open drift may be in the state. */
const SEEN_EVERY_MS = 1_000

/** Who judged: `probes` (watch) or live `traffic` (proxy). */
export type IncidentSource = 'probes' | 'traffic'

export interface IncidentsOptions {
  store: HistoryStore
  /** The target's name when one state file serves several (watch --targets); keys start with `<scope>/`. */
  scope?: string
  /** Named in alerts: the target's name, or `live traffic to <upstream>`. */
  target: string
  source: IncidentSource
  /** Findings at or above this are drift (default breaking). */
  failOn?: FailOn
  recovery: RecoveryRule
  /**
   * The operation whose live traffic stands for a contract (identity for an operation id; a probe's
   * operation when traffic exercises what the probe does; undefined else): traffic's clean exchanges
   * count toward a drift on it, and drifts on one operation are one incident. Default: identity.
   */
  operationOf?: (contract: string) => string | undefined
  sinks: readonly AlertSink[]
  /** Applied to every alert before it leaves (the findings are redacted already; one more pass). */
  redact?: (a: Alert) => Alert
  onAlert?: (a: Alert, delivery: string[]) => void
  /** An alert from the outbox was delivered, or given up on: what happened, in words. */
  onRedelivery?: (a: Alert, said: string) => void
}

/**
 * Sending again what a sink did not take: after 30 s, doubling to at most 15 min between attempts,
 * for a day (a hook down for a weekend is someone's to notice on /metrics and in `history`).
 */
export const REDELIVERY = { firstMs: 30_000, maxMs: 15 * 60_000, giveUpMs: 24 * 3_600_000, leaseMs: 120_000 }

function retryDelay(attempts: number): number {
  return Math.min(REDELIVERY.maxMs, REDELIVERY.firstMs * 2 ** Math.max(0, attempts - 1))
}

/** One judged run: a watch cycle, or one live exchange. */
export interface Judgement {
  /** Contracts judged (passed or failed): their open drifts not in `findings` ran clean once more. */
  judged: readonly string[]
  findings: readonly Finding[]
  /** Epoch ms. */
  at: number
}

/** What a judged run decided. */
export interface Decision {
  /** Alerts to raise, in order (drafted, not yet redacted or delivered). */
  alerts: Alert[]
  /** Contracts whose drifts opened or cleared. */
  changed: Set<string>
  /** The worst finding per drift key seen in the run (at or above the threshold). */
  seen: Map<string, Finding>
  /** Drifts open after the run. */
  open: OpenDrift[]
}

interface Plan extends Decision {
  save: OpenDrift[]
  close: string[]
  openIncidents: OpenDrift[]
  closeIncidents: string[]
  /** Drifts traffic saw again whose time was not written (SEEN_EVERY_MS): key -> when. */
  seenUnsaved: Map<string, number>
}

/** Open drifts and incidents over the shared state; `record` one judged run, `raise` its alerts. */
export class Incidents {
  private readonly failOn: FailOn
  private readonly operationOf: (contract: string) => string | undefined
  /**
   * When traffic last saw each open drift, where that is later than the state says: the state is
   * written at most once a SEEN_EVERY_MS, and the quiet time of a recovery counts from the last
   * sighting, not from the last write (the operator review: a recovery up to a second early).
   */
  private readonly seenAt = new Map<string, number>()

  constructor(readonly opts: IncidentsOptions) {
    this.failOn = opts.failOn ?? 'breaking'
    this.operationOf = opts.operationOf ?? ((c) => c)
  }

  /** The state key of a drift: `[<scope>/]<contract> <check>`. */
  key(contract: string, check: string): string {
    return `${this.opts.scope ? `${this.opts.scope}/` : ''}${contract} ${check}`
  }

  /** Drifts open now, as the file says (another process may have changed them). */
  open(): OpenDrift[] {
    return this.opts.store.openDrifts(this.opts.scope)
  }

  /**
   * Applies one judged run to the state and returns what it decided. Reads first; only when
   * something changes does it take the write lock, re-read, and decide again from what is there.
   */
  record(j: Judgement): Decision {
    const { store } = this.opts
    const first = this.plan(this.open(), j)
    if (!writes(first)) return this.remember(first)
    return this.remember(store.atomically(() => {
      const p = this.plan(this.open(), j)
      for (const d of p.openIncidents) store.openIncident(d)
      for (const d of p.save) store.saveDrift(d)
      for (const k of p.close) store.closeDrift(k)
      for (const g of p.closeIncidents) store.closeIncident(g, new Date(j.at).toISOString())
      return p
    }))
  }

  /** Keeps the sightings a plan did not write; forgets those written or closed. */
  private remember(p: Plan): Plan {
    for (const d of p.save) if (d.trafficSeenAt !== undefined && Date.parse(d.trafficSeenAt) >= (this.seenAt.get(d.key) ?? Infinity)) this.seenAt.delete(d.key)
    for (const k of p.close) this.seenAt.delete(k)
    // The latest sighting wins: exchanges are judged out of order (the first of a new kind goes first).
    for (const [k, at] of p.seenUnsaved) this.seenAt.set(k, Math.max(at, this.seenAt.get(k) ?? -Infinity))
    return p
  }

  /**
   * Redacts, delivers to every sink, and records the alert with how each delivery went. A sink
   * that does not take it (after its own retries) gets it again later from the outbox (redeliver);
   * a sink with alerts already waiting gets this one behind them, so a recovery never arrives
   * before its drift.
   */
  async raise(drafted: Alert, now = Date.now()): Promise<string[]> {
    const alert = this.opts.redact ? this.opts.redact(drafted) : drafted
    const { store } = this.opts
    const delivery = await Promise.all(
      this.opts.sinks.map(async (sink) => {
        const waiting = sink.id ? store.queuedAlerts(sink.id) : []
        if (waiting.length > 0) {
          store.queueAlert(sink.id!, JSON.stringify(alert), now, 0, waiting.at(-1)!.nextAt, `queued behind ${waiting.length} undelivered`)
          return `${sink.label}: queued behind ${waiting.length} undelivered alert${waiting.length === 1 ? '' : 's'}`
        }
        const [said] = await deliver(alert, [sink])
        if (said!.endsWith(': delivered') || !sink.id) return said!
        store.queueAlert(sink.id, JSON.stringify(alert), now, 1, now + retryDelay(1), said!.slice(sink.label.length + 2))
        return `${said}; kept in the outbox, next attempt in ${Math.round(retryDelay(1) / 1000)} s`
      }),
    )
    store.addAlert({ at: alert.at, kind: alert.kind, key: alert.key, title: alert.title, delivered: delivery.join('; ') })
    this.opts.onAlert?.(alert, delivery)
    return delivery
  }

  /**
   * Sends again, in order, what this process's sinks did not take: each sink's oldest waiting
   * alert first, stopping at the first that fails (it and those behind it wait their turn). An
   * alert still undelivered REDELIVERY.giveUpMs after its first attempt is dropped and the state
   * says so. Safe with watch and proxy on one state file: each attempt is claimed first.
   */
  async redeliver(now = Date.now()): Promise<void> {
    const { store } = this.opts
    for (const sink of this.opts.sinks) {
      if (!sink.id) continue
      for (const row of store.queuedAlerts(sink.id)) {
        const alert = JSON.parse(row.alert) as Alert
        if (now - row.firstAt >= REDELIVERY.giveUpMs) {
          store.dropAlert(row.id)
          const said = `${sink.label}: given up after ${row.attempts} attempts over ${Math.round((now - row.firstAt) / 3_600_000)} h (last: ${row.lastError})`
          store.addAlert({ at: new Date(now).toISOString(), kind: alert.kind, key: alert.key, title: alert.title, delivered: said })
          this.opts.onRedelivery?.(alert, said)
          continue
        }
        if (row.nextAt > now || !store.claimAlert(row, now + REDELIVERY.leaseMs)) break
        const [said] = await deliver(alert, [sink])
        if (said!.endsWith(': delivered')) {
          store.dropAlert(row.id)
          const done = `${said} on attempt ${row.attempts + 1}, ${Math.round((now - row.firstAt) / 1000)} s after the first`
          store.addAlert({ at: new Date(now).toISOString(), kind: alert.kind, key: alert.key, title: alert.title, delivered: done })
          this.opts.onRedelivery?.(alert, done)
          continue
        }
        store.retryAlert(row.id, row.attempts + 1, now + retryDelay(row.attempts + 1), said!.slice(sink.label.length + 2))
        break
      }
    }
  }

  /** Pure: the open drifts and one run in, what changes out. */
  private plan(current: readonly OpenDrift[], j: Judgement): Plan {
    const { recovery, source, target } = this.opts
    const drifts = new Map(current.map((d) => [d.key, { ...d }]))
    const now = new Date(j.at).toISOString()
    const plan: Plan = { alerts: [], changed: new Set(), seen: new Map(), open: [], save: [], close: [], openIncidents: [], closeIncidents: [], seenUnsaved: new Map() }

    // The worst finding per contract and check, at or above the threshold.
    for (const f of j.findings) {
      if (!failsAt(f.severity, this.failOn)) continue
      const k = this.key(f.contract, f.check)
      const prev = plan.seen.get(k)
      if (!prev || severityRank(f.severity) > severityRank(prev.severity)) plan.seen.set(k, f)
    }
    const sameOperation = (a: string, b: string) => {
      const oa = this.operationOf(a)
      return oa !== undefined && oa === this.operationOf(b)
    }
    for (const [k, f] of plan.seen) {
      const open = drifts.get(k)
      const traffic = source === 'traffic' ? { trafficSeenAt: now } : {}
      if (open) {
        // Never earlier than it was: exchanges are judged out of order (the first of a new kind goes first).
        const seen = source === 'traffic' && open.trafficSeenAt !== undefined && open.trafficSeenAt > now ? { trafficSeenAt: open.trafficSeenAt } : traffic
        const d: OpenDrift = { ...open, severity: severityRank(f.severity) > severityRank(open.severity) ? f.severity : open.severity, title: f.title, lastSeenAt: open.lastSeenAt > now ? open.lastSeenAt : now, cleanRuns: 0, ...seen }
        drifts.set(k, d)
        // A drift on every exchange is written once a second, not once an exchange: only when it was last seen matters, to the second.
        const same = d.severity === open.severity && d.title === open.title && open.cleanRuns === 0
        if (!(source === 'traffic' && same && open.trafficSeenAt !== undefined && j.at - Date.parse(open.trafficSeenAt) < SEEN_EVERY_MS)) plan.save.push(d)
        else plan.seenUnsaved.set(k, Math.max(j.at, this.seenAt.get(k) ?? -Infinity))
        continue
      }
      // One incident, one alert: join the group of an open drift on this contract (or operation), or of the same cause elsewhere.
      const others = [...drifts.values()]
      const joined = others.find((d) => d.contract === f.contract || sameOperation(d.contract, f.contract)) ?? others.find((d) => d.check === f.check && d.title === f.title)
      const d: OpenDrift = { key: k, group: joined?.group ?? k, contract: f.contract, check: f.check, severity: f.severity, title: f.title, openedAt: now, lastSeenAt: now, cleanRuns: 0, ...traffic }
      plan.changed.add(f.contract)
      if (!joined) {
        d.alertedAt = now
        plan.openIncidents.push(d)
        const ev = f.evidence
        plan.alerts.push({ kind: 'drift', key: k, contract: f.contract, check: f.check, severity: f.severity, title: f.title, message: f.message, evidence: { ...(ev.request ? { request: ev.request } : {}), ...(ev.status !== undefined ? { status: ev.status } : {}), ...(ev.curl ? { curl: ev.curl } : {}) }, ...(f.rerun ? { rerun: f.rerun } : {}), target, since: now, at: now, seenBy: source })
      }
      drifts.set(k, d)
      plan.save.push(d)
    }

    // Probes judge a contract by its id; an exchange judges an operation, and with it the probes traffic stands for.
    const judged = new Set(j.judged)
    const ranClean = (d: OpenDrift) => judged.has(d.contract) || (source === 'traffic' && judged.has(this.operationOf(d.contract) ?? '\u0000'))
    for (const [k, d] of [...drifts]) {
      if (plan.seen.has(k) || !ranClean(d)) continue
      const seenAt = Math.max(d.trafficSeenAt === undefined ? -Infinity : Date.parse(d.trafficSeenAt), this.seenAt.get(k) ?? -Infinity)
      const quiet = seenAt === -Infinity || j.at - seenAt >= recovery.quietMs
      if (d.cleanRuns + 1 < recovery.cleanRuns || !quiet) {
        // Counting stops at the rule's number: a drift waiting out its quiet time costs no write per exchange.
        if (d.cleanRuns < recovery.cleanRuns) plan.save.push({ ...d, cleanRuns: d.cleanRuns + 1 })
        drifts.set(k, { ...d, cleanRuns: Math.min(recovery.cleanRuns, d.cleanRuns + 1) })
        continue
      }
      drifts.delete(k)
      plan.close.push(k)
      plan.changed.add(d.contract)
      if ([...drifts.values()].some((o) => o.group === d.group)) continue // the incident is not over yet
      const lead = this.opts.store.incident(d.group) ?? d
      plan.closeIncidents.push(d.group)
      plan.alerts.push({ kind: 'recovery', key: d.group, contract: lead.contract, check: lead.check, severity: lead.severity, title: lead.title, target, since: lead.openedAt, at: now, seenBy: source })
    }
    plan.open = [...drifts.values()]
    return plan
  }
}

function writes(p: Plan): boolean {
  return p.save.length + p.close.length + p.openIncidents.length + p.closeIncidents.length > 0
}
