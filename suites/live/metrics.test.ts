/**
 * The proxy's /metrics and /healthz over a real socket: every series with its labels and counts,
 * label values bounded whatever the traffic says, and health that turns 503 when the observer has
 * failed or has skipped everything for longer than the window, and stays 200 otherwise.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ProxyMetrics, serveProxyMetrics } from '../../src/live/index.ts'
import type { MetricsServer } from '../../src/watch/metrics.ts'

const servers: MetricsServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
})

async function serve(m: ProxyMetrics): Promise<MetricsServer> {
  const s = await serveProxyMetrics(m, 0)
  servers.push(s)
  return s
}

/** Sample lines of the Prometheus text: `name{labels}` -> value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  const out = new Map<string, number>()
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue
    const cut = line.lastIndexOf(' ')
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)))
  }
  return out
}

async function health(url: string): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${url}/healthz`)
  return { status: res.status, body: (await res.json()) as Record<string, any> }
}

const OPERATIONS = ['media.upload', 'media.retrieve-url', 'messages.send-text']

describe('proxy metrics', () => {
  it('counts exchanges by operation and status, and what was forwarded, captured, judged and skipped', async () => {
    const m = new ProxyMetrics({ operations: OPERATIONS })
    const s = await serve(m)
    m.forwarded(7)
    for (const st of [200, 200, 200, 400, 500, undefined, 200]) m.responded(st)
    m.captured(4)
    m.exchange('media.upload', 200)
    m.exchange('media.upload', 200)
    m.exchange('messages.send-text', 400)
    m.exchange(undefined, undefined)
    m.skipped('queue-full', 3)
    m.setQueue(2)
    m.setShare(0.1)
    m.setOpen([{ contract: 'media.retrieve-url', check: 'framing-conformance', severity: 'breaking' }])
    m.alert('drift')
    m.undelivered('drift')
    const got = await scrape(s.url)
    const want: [string, number][] = [
      ['driftwatch_proxy_exchanges_total{operation="media.upload",status="200"}', 2],
      ['driftwatch_proxy_exchanges_total{operation="messages.send-text",status="400"}', 1],
      ['driftwatch_proxy_exchanges_total{operation="unattributed",status="none"}', 1],
      ['driftwatch_proxy_forwarded_total', 7],
      ['driftwatch_proxy_responses_total{status="200"}', 4],
      ['driftwatch_proxy_responses_total{status="400"}', 1],
      ['driftwatch_proxy_responses_total{status="500"}', 1],
      ['driftwatch_proxy_responses_total{status="none"}', 1],
      ['driftwatch_proxy_captured_total', 4],
      ['driftwatch_proxy_judged_total', 4],
      ['driftwatch_proxy_skipped_total{reason="queue-full"}', 3],
      ['driftwatch_proxy_skipped_total{reason="observer-failed"}', 0],
      ['driftwatch_proxy_queue_depth', 2],
      ['driftwatch_proxy_observer_share', 0.1],
      ['driftwatch_proxy_drifts_open{contract="media.retrieve-url",check="framing-conformance",severity="breaking"}', 1],
      ['driftwatch_proxy_alerts_total{kind="drift"}', 1],
      ['driftwatch_proxy_alerts_total{kind="recovery"}', 0],
      ['driftwatch_proxy_alerts_undelivered_total{kind="drift"}', 1],
      ['driftwatch_proxy_alerts_undelivered_total{kind="recovery"}', 0],
    ]
    expect(want.map(([k]) => [k, got.get(k)])).toEqual(want)
  })

  it('starts at zero: no exchange series, counters at 0, no drift open', async () => {
    const s = await serve(new ProxyMetrics({ operations: OPERATIONS }))
    const got = await scrape(s.url)
    expect([...got.keys()].filter((k) => k.startsWith('driftwatch_proxy_exchanges_total'))).toEqual([])
    expect([...got.keys()].filter((k) => k.startsWith('driftwatch_proxy_drifts_open{'))).toEqual([])
    expect(got.get('driftwatch_proxy_forwarded_total')).toBe(0)
    expect(got.get('driftwatch_proxy_skipped_total{reason="queue-full"}')).toBe(0)
  })

  it('keeps label values bounded: unknown operations are unattributed, odd statuses are other', async () => {
    const m = new ProxyMetrics({ operations: OPERATIONS })
    const s = await serve(m)
    for (let i = 0; i < 50; i++) m.exchange(`made-up.${i}"}\n`, 1000 + i)
    m.exchange('media.upload', 99)
    m.exchange('media.upload', 204.5)
    const got = await scrape(s.url)
    const series = [...got.keys()].filter((k) => k.startsWith('driftwatch_proxy_exchanges_total'))
    expect(series.sort()).toEqual(['driftwatch_proxy_exchanges_total{operation="media.upload",status="other"}', 'driftwatch_proxy_exchanges_total{operation="unattributed",status="other"}'])
    expect(got.get('driftwatch_proxy_exchanges_total{operation="unattributed",status="other"}')).toBe(50)
  })

  it('replaces the open drifts when they clear', async () => {
    const m = new ProxyMetrics({ operations: OPERATIONS })
    const s = await serve(m)
    m.setOpen([{ contract: 'media.upload', check: 'status-conformance', severity: 'breaking' }])
    m.setOpen([])
    expect([...(await scrape(s.url)).keys()].filter((k) => k.startsWith('driftwatch_proxy_drifts_open{'))).toEqual([])
  })
})

describe('proxy health', () => {
  it('is 200 with the counts while the observer keeps up, idle included', async () => {
    let now = 0
    const m = new ProxyMetrics({ operations: OPERATIONS, healthWindowMs: 60_000, now: () => now })
    const s = await serve(m)
    m.forwarded(3)
    m.captured(3)
    m.exchange('media.upload', 200)
    now = 3_600_000 // an hour without traffic
    const h = await health(s.url)
    expect(h.status).toBe(200)
    expect(h.body).toMatchObject({ status: 'ok', forwarded: 3, captured: 3, judged: 1, queued: 0, driftsOpen: 0, skipped: { 'queue-full': 0 } })
  })

  it('stays 200 while some exchanges are skipped and others captured, or skipping lasted less than the window', async () => {
    let now = 0
    const m = new ProxyMetrics({ operations: OPERATIONS, healthWindowMs: 60_000, now: () => now })
    const s = await serve(m)
    for (; now < 300_000; now += 1_000) {
      m.skipped('queue-full')
      if (now % 10_000 === 0) m.captured()
    }
    expect((await health(s.url)).status).toBe(200)
    const n = new ProxyMetrics({ operations: OPERATIONS, healthWindowMs: 60_000, now: () => now })
    const t = await serve(n)
    const start = now
    for (; now < start + 59_000; now += 1_000) n.skipped('queue-full')
    expect((await health(t.url)).status).toBe(200)
  })

  it('is 503 with the reason when every exchange has been skipped for longer than the window, and 200 again once one is captured', async () => {
    let now = 0
    const m = new ProxyMetrics({ operations: OPERATIONS, healthWindowMs: 60_000, now: () => now })
    const s = await serve(m)
    m.captured()
    for (; now <= 61_000; now += 1_000) {
      m.forwarded()
      m.skipped('queue-full')
    }
    const sick = await health(s.url)
    expect(sick.status).toBe(503)
    expect(sick.body).toMatchObject({ status: 'unhealthy', reason: expect.stringMatching(/^the observer has skipped every exchange for 6\d s/), skipped: { 'queue-full': 62 } })
    m.captured()
    expect((await health(s.url)).status).toBe(200)
    // Skipping that stopped (no traffic for a window) is not a failing observer.
    for (; now <= 200_000; now += 1_000) m.skipped('queue-full')
    expect((await health(s.url)).status).toBe(503)
    now += 60_000
    expect((await health(s.url)).status).toBe(200)
  })

  it('is 503 while the observer has failed, with why, until cleared', async () => {
    const m = new ProxyMetrics({ operations: OPERATIONS })
    const s = await serve(m)
    m.failed('worker exited with code 1')
    const sick = await health(s.url)
    expect(sick.status).toBe(503)
    expect(sick.body.reason).toBe('observer failed: worker exited with code 1')
    m.failed(undefined)
    expect((await health(s.url)).status).toBe(200)
  })

  it('answers 404 elsewhere, naming the proxy', async () => {
    const s = await serve(new ProxyMetrics({ operations: OPERATIONS }))
    const res = await fetch(`${s.url}/`)
    expect(res.status).toBe(404)
    expect(await res.text()).toBe('driftwatch proxy serves /metrics and /healthz\n')
  })
})
