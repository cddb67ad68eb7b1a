/**
 * `driftwatch webhook` as a library call: the receiver in front of the app (webhooks/receiver.ts)
 * with what the command composes around it: the judging of each accepted body off the forwarding
 * path (a bounded queue), incidents over watch's state, the receiver's alerts and its metrics
 * server. It listens before it touches the disk, so a busy port fails the start with nothing left
 * behind. Stopping has two steps, so the caller can say what the receiver did before the session
 * is judged: `stop` (in-flight deliveries finish, or are cut at `halt`), then `finish` (what was
 * accepted is judged to the end and the session report written). The CLI
 * (cli/commands/webhook.ts) parses the flags and prints.
 */
import { dirname } from 'node:path'
import { TrafficIncidents } from '../live/traffic-incidents.ts'
import type { Finding } from '../model/finding.ts'
import type { FailOn, Report } from '../model/report.ts'
import type { FormatId } from '../reporters/index.ts'
import { Redactor } from '../transport/redact.ts'
import { assertWritable } from '../util/preflight.ts'
import type { Alert, AlertSink } from '../watch/alerts.ts'
import type { MetricsServer } from '../watch/metrics.ts'
import { startReceiver, type ReceiverEvent } from '../webhooks/receiver.ts'
import { ReceiverAlerts } from '../webhooks/receiver-alerts.ts'
import type { WebhookJournal } from '../webhooks/receiver-journal.ts'
import { ReceiverMetrics, serveReceiverMetrics, type ReceiverCounts } from '../webhooks/receiver-metrics.ts'
import { QueuedSink } from '../webhooks/receiver-sink.ts'
import { ReceiverJudging } from '../webhooks/receiver-judging.ts'
import { writeReports } from './write-reports.ts'

export { total } from '../webhooks/receiver-metrics.ts'
export type { ReceiverCounts, ReceiverEvent }

/** How to run the receiver command. */
export interface WebhookReceiverOptions {
  /** The app's webhook URL; the request's path (when not `/`) and query are appended to its path. */
  forward: string
  /** Meta's app secret: the HMAC key of X-Hub-Signature-256 (never printed, redacted from everything written). */
  appSecret: string
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0 (a free port). */
  port?: number
  /** Where the session report goes at stop, and the journal in `.journal/`. */
  outDir: string
  /** The pack whose webhooks/ judge each delivery. */
  contractsDir: string
  cwd: string
  /** Golden recordings of earlier webhook traffic: a field that appeared since is info naming it. */
  recordingsDir?: string
  /** Watch's state file: a drift in the deliveries opens an incident there (one alert, one recovery). */
  state?: string
  /** Where alerts are POSTed (the receiver's own, and the state's drifts). */
  sinks?: readonly AlertSink[]
  /** The lowest severity that is drift (default breaking). */
  failOn?: FailOn
  /** Report files to write at stop besides report.json (default json, md). */
  formats?: readonly FormatId[]
  /** Meta gets a 504 when the app has not answered within this long (default 10 s). */
  appTimeoutMs?: number
  /** Deliveries in a row the app fails (or that fail the signature) before an alert. */
  alertAfter?: number
  /** Serve Prometheus /metrics and /healthz on this port (0 picks one). */
  metricsPort?: number
  metricsHost?: string
  /** One event per request (never a body, a query or a signature). */
  onEvent?: (e: ReceiverEvent) => void
  /** Each accepted body's findings above info, as it is judged. */
  onFindings?: (findings: readonly Finding[], delivery: number) => void
  /** Each alert raised (the receiver's, and the state's drifts), with what its delivery to each sink said. */
  onAlert?: (a: Alert, delivery: string[]) => void
}

/** How the receiver stopped: gracefully (in-flight deliveries finished) or cut at `halt`. */
export interface WebhookStop {
  counts: ReceiverCounts
  graceful: boolean
}

/** The session, judged whole after a graceful stop. */
export interface WebhookSession {
  /** Settled at failOn; inconclusive when nothing was delivered to judge. */
  report: Report
  /** Report files written. */
  files: string[]
  /** Deliveries judged, and how many were attributed to a webhook contract. */
  judged: { entries: number; attributed: number; unattributed: number }
  /** Deliveries not judged because the judge was behind (they were forwarded). */
  skipped: number
  /** Signed bodies that were not JSON. */
  notJson: number
}

/** A running receiver. */
export interface RunningWebhookReceiver {
  /** http://host:port Meta's callback URL points at (through TLS in front). */
  url: string
  /** The app's webhook URL as alerts and the report name it: origin and path, no query. */
  target: string
  /** The journal (created with the first accepted delivery). */
  journal: WebhookJournal
  /** The metrics server's base URL, with metricsPort. */
  metricsUrl?: string
  counts(): ReceiverCounts
  /**
   * Stops taking deliveries: in-flight ones finish (within 30 s), the alerts are given up to 15 s to
   * go out, the metrics server stops. When `halt` aborts first, deliveries in flight are cut (Meta
   * retries them) and alerts are not awaited.
   */
  stop(halt?: AbortSignal): Promise<WebhookStop>
  /** After `stop`: judges what was accepted to the end, closes the state and writes the session report; after a stop cut at `halt`, only closes the state (undefined). */
  finish(): Promise<WebhookSession | undefined>
}

/** Starts the receiver command: judging, alerts and metrics first, then listens, then the disk (out, state). */
export async function startWebhookReceiver(opts: WebhookReceiverOptions): Promise<RunningWebhookReceiver> {
  const { cwd, outDir } = opts
  const failOn = opts.failOn ?? 'breaking'
  const sinks = opts.sinks ?? []
  const target = (() => {
    try {
      const t = new URL(opts.forward)
      return `${t.origin}${t.pathname}`
    } catch {
      return opts.forward
    }
  })()
  const startedAt = new Date().toISOString()
  // The app secret never leaves, even quoted inside a body.
  const redactor = new Redactor({ secrets: [opts.appSecret], personal: [] })
  // The contracts load before anything listens (a bad pack fails at once); nothing is written here.
  const judging = new ReceiverJudging({
    contractsDir: opts.contractsDir,
    cwd,
    since: startedAt,
    ...(opts.recordingsDir ? { recordingsDir: opts.recordingsDir } : {}),
    redactor,
    failOn,
    ...(opts.onFindings ? { onFindings: opts.onFindings } : {}),
  })
  // Judging runs off the forwarding path: a bounded queue, one body at a time.
  const sink = new QueuedSink((body, info) => judging.take(body, info))
  const metrics = new ReceiverMetrics({ sinkSkipped: () => sink.stats.skipped })
  const alerts = new ReceiverAlerts({ sinks, ...(opts.alertAfter !== undefined ? { after: opts.alertAfter } : {}), target, ...(opts.onAlert ? { onAlert: opts.onAlert } : {}) })
  // Listen first: a busy port must fail before anything is created on disk.
  const receiver = await startReceiver({
    forward: opts.forward,
    appSecret: opts.appSecret,
    ...(opts.host ? { host: opts.host } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    outDir,
    sink,
    metrics,
    alerts,
    ...(opts.appTimeoutMs !== undefined ? { appTimeoutMs: opts.appTimeoutMs } : {}),
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
  })
  let server: MetricsServer | undefined
  try {
    if (opts.metricsPort !== undefined) server = await serveReceiverMetrics(metrics, opts.metricsPort, opts.metricsHost ?? '127.0.0.1')
    await assertWritable(outDir, '--out', cwd)
    if (opts.state) {
      await assertWritable(dirname(opts.state), '--state', cwd)
      judging.incidents = new TrafficIncidents({
        state: opts.state,
        upstream: target,
        failOn: failOn === 'never' ? 'breaking' : failOn,
        sinks,
        redact: (a) => redactor.deep(a),
        ...(opts.onAlert ? { onAlert: opts.onAlert } : {}),
      })
    }
  } catch (err) {
    await server?.close()
    await receiver.abort()
    throw err
  }
  let graceful = false
  return {
    url: receiver.url,
    target,
    journal: receiver.journal,
    ...(server ? { metricsUrl: server.url } : {}),
    counts: () => receiver.counts(),
    async stop(halt) {
      const closing = receiver.close()
      const halted = new Promise<undefined>((done) => {
        if (halt?.aborted) done(undefined)
        halt?.addEventListener('abort', () => done(undefined), { once: true })
      })
      const closed = await Promise.race([closing, halted])
      graceful = closed !== undefined
      // Cut short: deliveries still in flight are cut (Meta got no answer, so it retries them) and alerts are not awaited.
      const counts = closed ?? (await receiver.abort())
      if (closed) await Promise.race([alerts.settled(), new Promise((r) => setTimeout(r, 15_000).unref())])
      await server?.close()
      return { counts, graceful }
    },
    async finish() {
      if (!graceful) {
        await judging.incidents?.close()
        return undefined
      }
      // What was accepted is judged to the end, then the session report is written (as verify's for a capture).
      await sink.close()
      await judging.incidents?.close()
      const report = await judging.report(`webhook:${target}`, startedAt)
      const written = await writeReports(report, { outDir, formats: opts.formats ?? ['json', 'md'], redactor, cwd, failOn })
      return { report: written.report, files: written.files, judged: judging.counts, skipped: sink.stats.skipped, notJson: judging.notJson }
    },
  }
}
