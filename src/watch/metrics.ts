/**
 * `watch --metrics-port`: Prometheus metrics (prom-client, its own registry) and a health endpoint.
 * The server (serveMetrics) also serves the proxy's (src/live/metrics.ts).
 *
 * - `/metrics`: open findings by contract/check/severity, probe latency histogram, requests spent
 *   against the budget, cycles, breaker state, last successful cycle, contracts live traffic covers.
 * - `/healthz`: 200 while cycles succeed (or none was due yet), 503 with the reason when the last
 *   successful cycle is older than three budget intervals or the breaker is open.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { HarnessError } from '../util/errors.ts'

export class WatchMetrics {
  readonly registry = new Registry()
  readonly openFindings = new Gauge({ name: 'driftwatch_open_findings', help: 'Findings open now (drift watch at or above the alert threshold), by target, contract, check and severity', labelNames: ['target', 'contract', 'check', 'severity'] as const, registers: [this.registry] })
  readonly probeSeconds = new Histogram({ name: 'driftwatch_probe_duration_seconds', help: 'Time to run one contract (all its samples), by target and contract', labelNames: ['target', 'contract'] as const, buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] })
  readonly requests = new Counter({ name: 'driftwatch_requests_total', help: 'Requests sent to the upstream', registers: [this.registry] })
  readonly requestsToday = new Gauge({ name: 'driftwatch_requests_today', help: 'Requests sent today (UTC), against driftwatch_budget_requests_per_day', registers: [this.registry] })
  readonly budget = new Gauge({ name: 'driftwatch_budget_requests_per_day', help: 'The request budget (--budget)', registers: [this.registry] })
  readonly cycles = new Counter({ name: 'driftwatch_cycles_total', help: 'Cycles run, by outcome', labelNames: ['outcome'] as const, registers: [this.registry] })
  readonly alerts = new Counter({ name: 'driftwatch_alerts_total', help: 'Alerts raised, by kind (drift, recovery)', labelNames: ['kind'] as const, registers: [this.registry] })
  readonly lastSuccess = new Gauge({ name: 'driftwatch_last_successful_cycle_timestamp_seconds', help: 'Unix time of the last cycle that reached a healthy upstream', registers: [this.registry] })
  readonly trafficCovered = new Gauge({ name: 'driftwatch_traffic_covered_contracts', help: 'Contracts not probed because live traffic (driftwatch proxy, same state) judged their operation within --traffic-window, by target', labelNames: ['target'] as const, registers: [this.registry] })
  readonly breakerOpen = new Gauge({ name: 'driftwatch_breaker_open', help: '1 while the circuit breaker holds probing back (downtime, throttling, rejected token)', registers: [this.registry] })

  private readonly open = new Map<string, readonly { contract: string; check: string; severity: string }[]>()

  /** Replaces one target's open findings in the gauge (each target's watch loop reports its own). */
  setOpen(target: string, open: readonly { contract: string; check: string; severity: string }[]): void {
    this.open.set(target, open)
    this.openFindings.reset()
    for (const [t, list] of this.open) for (const o of list) this.openFindings.inc({ target: t, contract: o.contract, check: o.check, severity: o.severity })
  }
}

/** A running metrics/health server. */
export interface MetricsServer {
  url: string
  close(): Promise<void>
}

/** What /healthz answers: 200 when ok, else 503; `detail` is the JSON body's other fields. */
export interface Health {
  ok: boolean
  detail: Record<string, unknown>
}

/**
 * Serves /metrics (the registry's Prometheus text) and /healthz on loopback (or `host`), for
 * `watch` and `proxy` alike. `health` says whether the command is healthy and why not.
 */
export async function serveMetrics(metrics: { registry: Registry }, port: number, health: () => Health, host = '127.0.0.1', command = 'watch'): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType })
          res.end(text)
        })
        .catch(() => {
          res.writeHead(500)
          res.end()
        })
      return
    }
    if (path === '/healthz' || path === '/health') {
      const h = health()
      const body = JSON.stringify({ status: h.ok ? 'ok' : 'unhealthy', ...h.detail })
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' })
      res.end(body)
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end(`driftwatch ${command} serves /metrics and /healthz\n`)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new HarnessError('DW_USAGE', `--metrics-port ${port}: cannot listen on ${host}:${port} (${err.code ?? err.message}); pick another port, or 0 for a free one`)))
    server.listen(port, host, () => resolve())
  })
  const addr = server.address() as AddressInfo
  return {
    url: `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
