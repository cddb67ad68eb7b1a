/**
 * `webhook --metrics-port`: the receiver's Prometheus counters and its health, served by the
 * server `watch` and `proxy` use (src/watch/metrics.ts serveMetrics). Every series is present
 * from the first scrape; label values are closed sets. Health (/healthz) is 503 only when the
 * receiver cannot keep its own promise (the journal cannot be written); an app that fails is the
 * app's health, shown in the detail and alerted on, not a reason to restart the receiver.
 */
import { Counter, Gauge, Registry } from 'prom-client'
import { serveMetrics, type Health, type MetricsServer } from '../watch/metrics.ts'

/** Why a delivery was refused without being forwarded. */
export type RejectReason = 'missing-signature' | 'bad-signature' | 'too-large'
/** Why the app did not take a forwarded delivery. */
export type AppErrorReason = 'unreachable' | 'timeout' | 'reset' | 'status-other' | 'status-5xx'

const REJECT_REASONS: readonly RejectReason[] = ['missing-signature', 'bad-signature', 'too-large']
const APP_ERROR_REASONS: readonly AppErrorReason[] = ['unreachable', 'timeout', 'reset', 'status-other', 'status-5xx']

/** Counts a running receiver keeps (the summary line and /healthz read them). */
export interface ReceiverCounts {
  /** POST deliveries read whole. */
  received: number
  /** Accepted deliveries sent on to the app. */
  forwarded: number
  /** Forwarded deliveries the app answered 2xx. */
  delivered: number
  rejected: Record<RejectReason, number>
  appErrors: Record<AppErrorReason, number>
  /** Deliveries on disk in the journal. */
  journaled: number
  /** Deliveries the journal could not take (forwarded all the same). */
  journalFailed: number
  /** GET verification requests forwarded. */
  verifications: number
  /** Requests neither GET nor POST (answered 405, not forwarded). */
  otherMethods: number
  /** Failed deliveries in a row (0 after a 2xx). */
  failingStreak: number
}

/** The receiver's counters on their own registry. */
export class ReceiverMetrics {
  readonly registry = new Registry()
  private readonly receivedTotal = new Counter({ name: 'driftwatch_webhook_received_total', help: 'Webhook deliveries (POST) received', registers: [this.registry] })
  private readonly forwardedTotal = new Counter({ name: 'driftwatch_webhook_forwarded_total', help: 'Deliveries with a good signature forwarded to the app', registers: [this.registry] })
  private readonly deliveredTotal = new Counter({ name: 'driftwatch_webhook_delivered_total', help: 'Forwarded deliveries the app answered 2xx', registers: [this.registry] })
  private readonly rejectedTotal = new Counter({ name: 'driftwatch_webhook_rejected_total', help: 'Deliveries refused and not forwarded, by reason', labelNames: ['reason'] as const, registers: [this.registry] })
  private readonly appErrorsTotal = new Counter({ name: 'driftwatch_webhook_app_errors_total', help: 'Forwarded deliveries the app did not take, by reason (Meta was answered so that it retries)', labelNames: ['reason'] as const, registers: [this.registry] })
  private readonly journaledTotal = new Counter({ name: 'driftwatch_webhook_journaled_total', help: 'Deliveries on disk in the journal before forwarding', registers: [this.registry] })
  private readonly journalFailedTotal = new Counter({ name: 'driftwatch_webhook_journal_failed_total', help: 'Deliveries the journal could not take (forwarded all the same)', registers: [this.registry] })
  private readonly verificationsTotal = new Counter({ name: 'driftwatch_webhook_verifications_total', help: 'GET verification requests forwarded to the app', registers: [this.registry] })
  private readonly inflightGauge = new Gauge({ name: 'driftwatch_webhook_inflight', help: 'Deliveries being forwarded now', registers: [this.registry] })
  private readonly streakGauge = new Gauge({ name: 'driftwatch_webhook_app_failing_streak', help: 'Deliveries in a row the app did not take (0 after one it answered 2xx)', registers: [this.registry] })

  readonly counts: ReceiverCounts = {
    received: 0,
    forwarded: 0,
    delivered: 0,
    rejected: { 'missing-signature': 0, 'bad-signature': 0, 'too-large': 0 },
    appErrors: { unreachable: 0, timeout: 0, reset: 0, 'status-other': 0, 'status-5xx': 0 },
    journaled: 0,
    journalFailed: 0,
    verifications: 0,
    otherMethods: 0,
    failingStreak: 0,
  }
  private journalError: string | undefined

  constructor(opts: { sinkSkipped?: () => number } = {}) {
    for (const reason of REJECT_REASONS) this.rejectedTotal.inc({ reason }, 0)
    for (const reason of APP_ERROR_REASONS) this.appErrorsTotal.inc({ reason }, 0)
    const skipped = opts.sinkSkipped
    new Gauge({
      name: 'driftwatch_webhook_judge_skipped',
      help: 'Accepted deliveries not handed to the judge (its queue was full)',
      registers: [this.registry],
      collect() {
        this.set(skipped ? skipped() : 0)
      },
    })
  }

  received(): void {
    this.receivedTotal.inc()
    this.counts.received++
  }

  rejected(reason: RejectReason): void {
    this.rejectedTotal.inc({ reason })
    this.counts.rejected[reason]++
  }

  journaled(): void {
    this.journaledTotal.inc()
    this.counts.journaled++
  }

  /** A delivery the journal could not take; `error` is shown on /healthz (503) from now on. */
  journalFailed(error: string): void {
    this.journalFailedTotal.inc()
    this.counts.journalFailed++
    this.journalError = error
  }

  forwarded(): void {
    this.forwardedTotal.inc()
    this.counts.forwarded++
  }

  delivered(): void {
    this.deliveredTotal.inc()
    this.counts.delivered++
    this.counts.failingStreak = 0
    this.streakGauge.set(0)
  }

  appError(reason: AppErrorReason): void {
    this.appErrorsTotal.inc({ reason })
    this.counts.appErrors[reason]++
    this.counts.failingStreak++
    this.streakGauge.set(this.counts.failingStreak)
  }

  verification(): void {
    this.verificationsTotal.inc()
    this.counts.verifications++
  }

  otherMethod(): void {
    this.counts.otherMethods++
  }

  setInflight(n: number): void {
    this.inflightGauge.set(n)
  }

  /** What /healthz answers. */
  health(): Health {
    const detail = { ...this.counts, rejected: { ...this.counts.rejected }, appErrors: { ...this.counts.appErrors } }
    if (this.journalError !== undefined) return { ok: false, detail: { reason: `the journal cannot be written (${this.journalError}): deliveries are forwarded but not kept`, ...detail } }
    return { ok: true, detail }
  }
}

/** Serves the receiver's /metrics and /healthz on `host:port` (0 picks a free port). */
export function serveReceiverMetrics(metrics: ReceiverMetrics, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  return serveMetrics(metrics, port, () => metrics.health(), host, 'webhook')
}

/** Sum of a reason table. */
export function total(table: Record<string, number>): number {
  return Object.values(table).reduce((a, b) => a + b, 0)
}
