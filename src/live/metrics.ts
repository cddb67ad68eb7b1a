/**
 * `proxy --metrics-port`: the proxy's Prometheus metrics and its health, served by the server
 * `watch` uses (src/watch/metrics.ts serveMetrics).
 *
 * A plain method API (`forwarded()`, `exchange(op, status)`, `skipped(reason)`, `setQueue(n)` ...)
 * that the request path and the observer call from the main thread; nothing here does I/O.
 * Label values are bounded: an operation is one of the pack's ids or `unattributed`; a status is
 * a code from 100 to 599, `other`, or `none` (no answer).
 *
 * Health (/healthz): 503 with the reason when the observer has failed, or when it has skipped every
 * exchange offered to it for longer than the health window (default 60 s) while exchanges keep
 * coming; 200 with the counts otherwise (an idle proxy is healthy).
 */
import { Counter, Gauge, Registry } from 'prom-client'
import type { SkipReason } from '../proxy/exchange.ts'
import { serveMetrics, type Health, type MetricsServer } from '../watch/metrics.ts'

/** How long the observer may skip every exchange before /healthz says 503. */
export const DEFAULT_HEALTH_WINDOW_MS = 60_000

/** The label for an exchange no operation of the pack was attributed to. */
export const UNATTRIBUTED_LABEL = 'unattributed'

export interface ProxyMetricsOptions {
  /** The pack's operation ids: the only values the `operation` label takes besides `unattributed`. */
  operations: readonly string[]
  /** Default DEFAULT_HEALTH_WINDOW_MS. */
  healthWindowMs?: number
  /** Epoch ms (tests). */
  now?: () => number
}

const SKIP_REASONS: readonly SkipReason[] = ['queue-full', 'observer-failed', 'stopping']

/** The proxy's counters and gauges on their own registry, and its health. */
export class ProxyMetrics {
  readonly registry = new Registry()
  private readonly exchanges = new Counter({ name: 'driftwatch_proxy_exchanges_total', help: 'Exchanges judged, by operation (unattributed when none) and response status (none when no answer)', labelNames: ['operation', 'status'] as const, registers: [this.registry] })
  private readonly forwardedTotal = new Counter({ name: 'driftwatch_proxy_forwarded_total', help: 'Exchanges the proxy forwarded to the upstream', registers: [this.registry] })
  private readonly responsesTotal = new Counter({ name: 'driftwatch_proxy_responses_total', help: 'Every exchange forwarded, by the status the application got (none when the upstream did not answer): counted on the request path, never sampled; driftwatch_proxy_exchanges_total has the judged ones by operation', labelNames: ['status'] as const, registers: [this.registry] })
  private readonly capturedTotal = new Counter({ name: 'driftwatch_proxy_captured_total', help: 'Exchanges taken into the observer queue', registers: [this.registry] })
  private readonly judgedTotal = new Counter({ name: 'driftwatch_proxy_judged_total', help: 'Exchanges the observer judged, attributed to an operation or not (driftwatch_proxy_exchanges_total has them by operation)', registers: [this.registry] })
  private readonly skippedTotal = new Counter({ name: 'driftwatch_proxy_skipped_total', help: 'Exchanges forwarded but not captured or not judged, by reason', labelNames: ['reason'] as const, registers: [this.registry] })
  private readonly queue = new Gauge({ name: 'driftwatch_proxy_queue_depth', help: 'Exchanges waiting for the observer', registers: [this.registry] })
  private readonly share = new Gauge({ name: 'driftwatch_proxy_observer_share', help: 'Share of the main thread the observer may take now (production adapts it: 0.5 while forwarding leaves the thread idle, down to 0.05 while forwarding keeps it busy; what it cannot keep up with is skipped)', registers: [this.registry] })
  private readonly driftsOpen = new Gauge({ name: 'driftwatch_proxy_drifts_open', help: 'Drifts open now in the shared state (traffic and watch), by contract, check and severity', labelNames: ['contract', 'check', 'severity'] as const, registers: [this.registry] })
  private readonly alertsTotal = new Counter({ name: 'driftwatch_proxy_alerts_total', help: 'Alerts raised from live traffic, by kind (drift, recovery)', labelNames: ['kind'] as const, registers: [this.registry] })
  private readonly undeliveredTotal = new Counter({ name: 'driftwatch_proxy_alerts_undelivered_total', help: 'Alerts a sink (webhook) did not take after its retries, by kind: kept in the state\'s outbox and sent again every 15 s with backoff, for up to a day', labelNames: ['kind'] as const, registers: [this.registry] })

  private readonly operations: ReadonlySet<string>
  private readonly windowMs: number
  private readonly now: () => number
  private readonly counts = { forwarded: 0, captured: 0, judged: 0, queued: 0, alertsUndelivered: 0, skipped: { 'queue-full': 0, 'observer-failed': 0, stopping: 0 } as Record<SkipReason, number> }
  private open = 0
  private failure: string | undefined
  /** Since when every exchange offered was skipped (undefined once one is captured). */
  private skippingSince: number | undefined
  private lastSkipAt = -Infinity

  constructor(opts: ProxyMetricsOptions) {
    this.operations = new Set(opts.operations)
    this.windowMs = opts.healthWindowMs ?? DEFAULT_HEALTH_WINDOW_MS
    this.now = opts.now ?? Date.now
    // Every series present from the first scrape: a rate over a counter that appears late misses its first increments.
    for (const reason of SKIP_REASONS) this.skippedTotal.inc({ reason }, 0)
    for (const kind of ['drift', 'recovery']) {
      this.alertsTotal.inc({ kind }, 0)
      this.undeliveredTotal.inc({ kind }, 0)
    }
  }

  /** The request path forwarded an exchange. */
  forwarded(n = 1): void {
    this.forwardedTotal.inc(n)
    this.counts.forwarded += n
  }

  /** An exchange was forwarded and answered with `status` (undefined: no answer came), whether or not it is judged. */
  responded(status: number | undefined): void {
    this.responsesTotal.inc({ status: statusLabel(status) })
  }

  /** The observer took an exchange into its queue. */
  captured(n = 1): void {
    this.capturedTotal.inc(n)
    this.counts.captured += n
    this.skippingSince = undefined
  }

  /** An exchange was judged: `operation` as attributed (undefined: none), `status` as answered (undefined: no answer). */
  exchange(operation: string | undefined, status: number | undefined): void {
    this.exchanges.inc({ operation: operation !== undefined && this.operations.has(operation) ? operation : UNATTRIBUTED_LABEL, status: statusLabel(status) })
    this.judgedTotal.inc()
    this.counts.judged++
  }

  /** An exchange was forwarded but not captured (or captured and dropped). */
  skipped(reason: SkipReason, n = 1): void {
    this.skippedTotal.inc({ reason }, n)
    this.counts.skipped[reason] += n
    const at = this.now()
    this.skippingSince ??= at
    this.lastSkipAt = at
  }

  /** Exchanges waiting in the observer's queue now. */
  setQueue(n: number): void {
    this.queue.set(n)
    this.counts.queued = n
  }

  /** The observer's share of the main thread now (0-1). */
  setShare(share: number): void {
    this.share.set(share)
  }

  /** Replaces the open drifts (TrafficIncidents.open()). */
  setOpen(open: readonly { contract: string; check: string; severity: string }[]): void {
    this.driftsOpen.reset()
    for (const o of open) this.driftsOpen.inc({ contract: o.contract, check: o.check, severity: o.severity })
    this.open = open.length
  }

  /** An alert was raised from live traffic. */
  alert(kind: 'drift' | 'recovery'): void {
    this.alertsTotal.inc({ kind })
  }

  /** An alert a sink did not take: counted, and shown on /healthz (which stays 200: the proxy still forwards and judges). */
  undelivered(kind: 'drift' | 'recovery'): void {
    this.undeliveredTotal.inc({ kind })
    this.counts.alertsUndelivered++
  }

  /** The observer failed (its worker died, its state cannot be written): /healthz says 503 with this reason until cleared with undefined. */
  failed(reason: string | undefined): void {
    this.failure = reason
  }

  /** What /healthz answers. */
  health(): Health {
    const now = this.now()
    const counts = { ...this.counts, skipped: { ...this.counts.skipped }, driftsOpen: this.open }
    if (this.failure !== undefined) return { ok: false, detail: { reason: `observer failed: ${this.failure}`, ...counts } }
    const since = this.skippingSince
    if (since !== undefined && now - since >= this.windowMs && now - this.lastSkipAt < this.windowMs) {
      return { ok: false, detail: { reason: `the observer has skipped every exchange for ${Math.round((now - since) / 1000)} s (the proxy forwards them unobserved)`, ...counts } }
    }
    return { ok: true, detail: counts }
  }
}

function statusLabel(status: number | undefined): string {
  if (status === undefined) return 'none'
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other'
}

/** Serves the proxy's /metrics and /healthz on `host:port` (0 picks a free port). */
export function serveProxyMetrics(metrics: ProxyMetrics, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  return serveMetrics(metrics, port, () => metrics.health(), host, 'proxy')
}
