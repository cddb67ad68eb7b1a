/**
 * `watch` against the simulator over real sockets: switching to a seed scenario raises exactly one
 * alert (received by a webhook server), switching back raises one recovery, a restart does not
 * re-alert an open drift, and the metrics scrape is Prometheus text. The budget is set high so the
 * loop runs at test speed; pacing itself is tested on the schedule.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { main, type CliIO } from '../../src/cli/index.ts'
import { loadContracts } from '../../src/contracts/load.ts'
import { openSession, type Session } from '../../src/runner/session.ts'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'
import { slackPayload, webhookSink, type Alert } from '../../src/watch/alerts.ts'
import { serveMetrics, WatchMetrics } from '../../src/watch/metrics.ts'
import { buildUnits, DAY_MS, parseBudget, Schedule } from '../../src/watch/schedule.ts'
import { HistoryStore } from '../../src/history/store.ts'
import { runWatch, type CycleEvent, type WatchOptions } from '../../src/commands/watch.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'dw-watch-'))
  cleanup.push(() => rmSync(d, { recursive: true, force: true }))
  return d
}

/** A webhook receiver on loopback: every JSON body it is sent. */
async function receiver(status = 200): Promise<{ url: string; got: Record<string, unknown>[] }> {
  const got: Record<string, unknown>[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString('utf8')))
    req.on('end', () => {
      got.push(JSON.parse(body) as Record<string, unknown>)
      res.writeHead(status)
      res.end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got }
}

async function simAndSession(): Promise<{ sim: RunningSimulator; session: Session }> {
  const sim = await startSimulator()
  cleanup.push(() => sim.close())
  const c = sim.credentials
  const session = await openSession({ target: sim.url, contractsDir: 'contracts/meta', minIntervalMs: 0, env: { WHATSAPP_ACCESS_TOKEN: c.token, WHATSAPP_PHONE_NUMBER_ID: c.phoneNumberId, WHATSAPP_WABA_ID: c.wabaId, WHATSAPP_TEST_RECIPIENT: c.testRecipient } })
  cleanup.push(() => session.close())
  return { sim, session }
}

/** Runs watch in the background until `until` says stop (checked after every cycle). */
function watchUntil(opts: Omit<WatchOptions, 'signal'>, until: (e: CycleEvent) => boolean): Promise<Awaited<ReturnType<typeof runWatch>>> {
  const stop = new AbortController()
  return runWatch({
    ...opts,
    signal: stop.signal,
    onCycle: (e) => {
      opts.onCycle?.(e)
      if (until(e) || e.n > 400) stop.abort()
    },
  })
}

const FAST = 500_000_000 // requests a day: a day-share of 0.17 ms, so cycles follow each other at test speed

describe('watch', () => {
  it('alerts once when a seed incident starts, once when it clears, and not again after a restart', async () => {
    const { sim, session } = await simAndSession()
    const hook = await receiver()
    const state = join(tmp(), 'state.db')
    const ranSince = new Map<string, number>()
    const counting = (e: CycleEvent) => {
      for (const c of e.unit.contracts) ranSince.set(c, (ranSince.get(c) ?? 0) + 1)
    }
    const everyContractRan = (times: number) => session.pack.probes.every((p) => (ranSince.get(p.id) ?? 0) >= times)
    let store = new HistoryStore(state)
    cleanup.push(() => store.close())
    const base = { session, apiVersion: 'v23.0', perDay: FAST, sinks: [webhookSink(hook.url)], random: () => 0.5, onCycle: counting } as const

    // Baseline: a whole pass, nothing alerted.
    await watchUntil({ ...base, store }, () => everyContractRan(1))
    expect(hook.got).toEqual([])

    // Jan 20: the media endpoint switches to chunked framing. Two contracts drift; one incident, one alert.
    sim.setScenario('media-chunked')
    ranSince.clear()
    await watchUntil({ ...base, store }, () => everyContractRan(3))
    expect(hook.got).toHaveLength(1)
    expect(hook.got[0]).toMatchObject({ source: 'driftwatch', kind: 'drift', check: 'framing-conformance', severity: 'breaking' })
    expect(['media.retrieve-url', 'media.retrieve-url.with-phone-number-id']).toContain(hook.got[0]!.contract)
    // The alert says how to see it again: the check against the same target (here the test's own simulator), just that contract.
    expect(hook.got[0]!.rerun).toBe(`npx driftwatch check --target ${session.label} --only ${String(hook.got[0]!.contract)} --out reports/rerun --no-history`)
    expect(store.openDrifts().map((d) => d.contract).sort()).toEqual(['media.retrieve-url', 'media.retrieve-url.with-phone-number-id'])

    // Restart (a new process would open the same file): the drift is still there, and is not alerted again.
    store.close()
    store = new HistoryStore(state)
    ranSince.clear()
    await watchUntil({ ...base, store }, () => everyContractRan(2))
    expect(hook.got).toHaveLength(1)

    // Meta rolls back: one recovery, after the drift has been gone for two judged runs.
    sim.setScenario('baseline')
    ranSince.clear()
    await watchUntil({ ...base, store }, () => everyContractRan(3))
    expect(hook.got.map((a) => a.kind)).toEqual(['drift', 'recovery'])
    expect(hook.got[1]).toMatchObject({ kind: 'recovery', contract: hook.got[0]!.contract, since: hook.got[0]!.since })
    expect(store.openDrifts()).toEqual([])
    expect(store.alerts().map((a) => [a.kind, a.delivered])).toEqual([
      ['drift', expect.stringContaining('delivered')],
      ['recovery', expect.stringContaining('delivered')],
    ])
  })

  it('alerts once for Feb 6 (a fleet split per connection), from fresh-connection samples', async () => {
    const { sim, session } = await simAndSession()
    const hook = await receiver()
    const store = new HistoryStore(join(tmp(), 'state.db'))
    cleanup.push(() => store.close())
    sim.setScenario('media-post-intermittent')
    let postRuns = 0
    await watchUntil({ session, store, apiVersion: 'v23.0', perDay: FAST, sinks: [webhookSink(hook.url)], random: () => 0.5 }, (e) => (postRuns += e.unit.contracts.includes('media.post-method') ? 1 : 0) >= 3)
    expect(hook.got).toHaveLength(1)
    expect(hook.got[0]).toMatchObject({ kind: 'drift', contract: 'media.post-method', severity: 'breaking' })
  })

  it('keeps watching when a webhook refuses, and records the alert as undelivered (kept in the outbox)', async () => {
    const { sim, session } = await simAndSession()
    const hook = await receiver(500)
    const store = new HistoryStore(join(tmp(), 'state.db'))
    cleanup.push(() => store.close())
    sim.setScenario('media-chunked')
    const delivered: string[][] = []
    const r = await runWatch({ session, store, apiVersion: 'v23.0', perDay: FAST, sinks: [webhookSink(hook.url, { retryDelayMs: 1 })], only: undefined, maxCycles: 12, onAlert: (_a, d) => delivered.push(d) } as WatchOptions)
    expect(r.cycles).toBe(12)
    expect(delivered[0]![0]).toMatch(/^json webhook http:\/\/127\.0\.0\.1:\d+: not delivered \(HTTP 500\); kept in the outbox, next attempt in 30 s$/)
    // Two retries; the twelve cycles took less than the outbox's first 30 s, so no more.
    expect(hook.got.length).toBeGreaterThanOrEqual(3)
    expect(store.alerts()[0]!.delivered).toContain('not delivered')
    expect(store.queuedCount()).toBe(1)
  })

  it('serves Prometheus text and a health endpoint', async () => {
    const { session } = await simAndSession()
    const store = new HistoryStore(join(tmp(), 'state.db'))
    cleanup.push(() => store.close())
    const metrics = new WatchMetrics()
    await runWatch({ session, store, apiVersion: 'v23.0', perDay: FAST, sinks: [], metrics, maxCycles: 5 })
    let healthy = true
    const server = await serveMetrics(metrics, 0, () => ({ ok: healthy, detail: { lastCycleSecondsAgo: 1 } }))
    cleanup.push(() => server.close())
    const res = await fetch(`${server.url}/metrics`)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await res.text()
    // Prometheus text exposition format: every sample line is `name{labels} value`, every metric has HELP and TYPE.
    const names = new Set<string>()
    for (const line of text.split('\n').filter(Boolean)) {
      if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
        names.add(line.split(' ')[2]!)
        continue
      }
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? -?(\d+(\.\d+)?(e[+-]?\d+)?|\+Inf|NaN)$/)
      expect(names.has(line.split(/[{ ]/)[0]!.replace(/_(bucket|sum|count)$/, ''))).toBe(true)
    }
    expect(text).toContain('driftwatch_requests_total ')
    expect(text).toMatch(/driftwatch_probe_duration_seconds_bucket\{le="0\.05",target="http:\/\/127\.0\.0\.1:\d+",contract="phone-numbers\.get"\} \d+/)
    expect(text).toContain(`driftwatch_budget_requests_per_day ${FAST}`)
    expect(text).toMatch(/driftwatch_last_successful_cycle_timestamp_seconds \d+/)
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    healthy = false
    const sick = await fetch(`${server.url}/healthz`)
    expect(sick.status).toBe(503)
    expect(await sick.json()).toMatchObject({ status: 'unhealthy' })
  })
})

describe('the schedule', () => {
  const pack = loadContracts('contracts/meta')
  const units = buildUnits(pack.probes, pack.probes, undefined, 3)

  it('builds each unit with what it needs and the cleanup that undoes it', () => {
    expect(units.find((u) => u.id === 'media.upload')!.contracts).toEqual(['media.upload', 'media.delete'])
    expect(units.find((u) => u.id === 'media.download')!.contracts).toEqual(['media.upload', 'media.retrieve-url', 'media.download', 'media.delete'])
    expect(units.find((u) => u.id === 'phone-numbers.get')!.cost).toBe(1)
  })

  it('spreads requests evenly over the day: the next cycle waits its requests\' share', () => {
    const s = new Schedule(units, { perDay: 960, random: () => 0.5 })
    const first = s.next(0)
    expect(first.waitMs).toBe(0)
    s.done(first.unit, 0, 4, { healthy: true, ran: first.unit.contracts, open: new Set(), changed: new Set() })
    expect(s.next(0).waitMs).toBe(4 * (DAY_MS / 960)) // 4 requests × 90 s
  })

  it('probes the stale and the hot first, and cheap before dear', () => {
    const s = new Schedule(units, { perDay: 960, random: () => 0.5 })
    const t = 10 * DAY_MS
    for (const [id, c] of s.contracts) c.lastRunAt = t - (id === 'templates.list' ? 60_000 : 50_000)
    expect(s.next(t).unit.id).toBe('templates.list') // the stalest single contract, cost 1
    s.contracts.get('auth.invalid-token')!.open = true
    expect(s.next(t).unit.id).toBe('auth.invalid-token') // open drift: 4× weight
    s.contracts.get('auth.invalid-token')!.open = false
    s.contracts.get('media.download')!.lastRunAt = t - 120_000
    const d = s.next(t)
    expect(d.unit.id).toBe('media.download') // the cheapest unit with media.download, not the post-method one that also reads it
    expect(d.unit.cost).toBe(4)
    expect(d.why).toBe('media.download is the most urgent (last run 2 min ago)')
  })

  it('opens the breaker on an unhealthy cycle, doubling, and tests with the preflight', () => {
    const s = new Schedule(units, { perDay: 1_000_000, random: () => 0.5, preflight: 'phone-numbers.get' })
    const u = s.next(0).unit
    s.done(u, 0, 1, { healthy: false, ran: [], open: new Set(), changed: new Set() })
    const d1 = s.next(0)
    expect(d1.unit.id).toBe('phone-numbers.get')
    expect(d1.waitMs).toBe(60_000)
    expect(d1.why).toContain('breaker half-open')
    s.done(d1.unit, 60_000, 1, { healthy: false, ran: [], open: new Set(), changed: new Set() })
    expect(s.next(60_000).waitMs).toBe(120_000)
    s.done(d1.unit, 180_000, 1, { healthy: true, ran: ['phone-numbers.get'], open: new Set(), changed: new Set() })
    expect(s.breakerOpen(180_000)).toBe(false)
    expect(s.next(180_000).why).not.toContain('breaker')
  })

  it('reads budgets per day, hour or minute, and refuses nonsense', () => {
    expect(parseBudget('1000/day')).toBe(1000)
    expect(parseBudget('40/hour')).toBe(960)
    expect(() => parseBudget('500')).toThrow('--budget needs a unit: 500/day, 500/hour or 500/minute?')
    expect(parseBudget('500/d')).toBe(500)
    expect(() => parseBudget('lots')).toThrow(/--budget must be requests per day, hour or minute/)
    expect(() => parseBudget('0/day')).toThrow(/at least 1 a day/)
  })
})

describe('alert payloads', () => {
  const alert: Alert = { kind: 'drift', key: 'media.download framing-conformance', contract: 'media.download', check: 'framing-conformance', severity: 'breaking', title: 'Transfer-Encoding: chunked instead of Content-Length', message: 'Received: chunked', target: 'https://graph.facebook.com', since: '2026-01-20T09:00:00.000Z', at: '2026-01-20T09:00:00.000Z' }
  it('gives Slack a text line and blocks', () => {
    const p = slackPayload(alert) as { text: string; blocks: { type: string }[] }
    expect(p.text).toBe('DRIFT breaking on media.download (https://graph.facebook.com): Transfer-Encoding: chunked instead of Content-Length [framing-conformance, since 2026-01-20T09:00:00.000Z]')
    expect(p.blocks.map((b) => b.type)).toEqual(['section', 'section', 'context'])
  })
  it("shows the rerun in Slack when the finding has one (probes), and nothing for it when not (traffic)", () => {
    const withRerun = slackPayload({ ...alert, rerun: 'driftwatch check --target https://graph.facebook.com --only media.download' }) as { blocks: { type: string; text?: { text: string } }[] }
    expect(withRerun.blocks.map((b) => b.text?.text ?? '').join('\n')).toContain('Re-run: ```driftwatch check --target https://graph.facebook.com --only media.download```')
    const without = slackPayload(alert) as { blocks: { text?: { text: string } }[] }
    expect(JSON.stringify(without)).not.toContain('Re-run')
  })
  it('picks the Slack format for a Slack hook, and never prints the hook path', () => {
    expect(webhookSink('https://hooks.slack.com/services/T000/B000/SECRETSECRET').label).toBe('slack webhook https://hooks.slack.com')
    expect(webhookSink('json=https://alerts.example.com/x?token=abc').label).toBe('json webhook https://alerts.example.com')
    expect(() => webhookSink('ftp://x')).toThrow(/http\(s\) URL/)
  })
})

describe('driftwatch watch (the command)', () => {
  const io = (over: Partial<CliIO> = {}) => {
    const out: string[] = []
    const err: string[] = []
    return { out, err, io: { stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l), env: {}, cwd: ROOT, ...over } satisfies CliIO }
  }

  it('stops after the cycle in flight on SIGTERM, exits 0, and keeps the state', async () => {
    const stop = new AbortController()
    const dir = tmp()
    const t = io({ interrupt: stop.signal })
    const lines = t.out
    const pushed = t.io.stdout
    t.io.stdout = (l) => {
      pushed(l)
      if (l.includes('cycle 3 ')) stop.abort()
    }
    const code = await main(['watch', '--budget', '5000000/day', '--state', join(dir, 'w.db')], t.io)
    expect(code).toBe(0)
    expect(lines.filter((l) => / cycle \d+ /.test(l))).toHaveLength(3)
    expect(lines.join('\n')).toContain(`/__sim/scenario -d '{"scenario":"media-chunked"}'`) // the way to see it catch drift
    expect(lines.at(-1)).toMatch(/^watch stopped after 3 cycles, \d+ requests, 0 alerts; 0 drifts open \(kept in the state\)$/)
    const kept = new HistoryStore(join(dir, 'w.db'))
    expect(kept.cycles()).toHaveLength(3)
    kept.close()
  })

  it('with --cycles, exits 1 while a drift is open, and alerts through the webhook and stdout', async () => {
    const hook = await receiver()
    const dir = tmp()
    const t = io()
    const code = await main(['watch', '--scenario', 'media-chunked', '--budget', '500000000/day', '--cycles', '12', '--state', join(dir, 'w.db'), '--alert-webhook', hook.url, '--quiet'], t.io)
    expect(code).toBe(1)
    expect(t.out.filter((l) => l.startsWith('ALERT DRIFT breaking on media.retrieve-url'))).toHaveLength(1)
    expect(hook.got).toHaveLength(1)
    expect(t.out.some((l) => / cycle \d+ .*: ok$/.test(l))).toBe(false) // --quiet: only cycles that need attention
    expect(t.out.join('\n')).toContain(`/__sim/scenario -d '{"scenario":"baseline"}'`) // already chunked: the hint is the way back
  })

  it('watches every target of a targets file at once, alerting per target, in one state file', async () => {
    const hook = await receiver()
    const dir = tmp()
    writeFileSync(join(dir, 't.yaml'), 'targets:\n  - { name: calm, target: sim }\n  - { name: rolling, target: sim, scenario: media-chunked }\n')
    const t = io()
    const code = await main(['watch', '--targets', join(dir, 't.yaml'), '--budget', '500000000/day', '--cycles', '12', '--state', join(dir, 'w.db'), '--alert-webhook', hook.url, '--quiet'], t.io)
    expect(code).toBe(1)
    expect(hook.got.map((a) => [a.target, a.kind])).toEqual([['rolling', 'drift']])
    const kept = new HistoryStore(join(dir, 'w.db'))
    expect(kept.openDrifts('rolling').length).toBeGreaterThan(0)
    expect(kept.openDrifts('calm')).toEqual([])
    expect(kept.openDrifts()).toEqual([]) // unscoped (a single-target watch) sees none of them
    expect(kept.contractStates('calm').size).toBe(13)
    kept.close()
  })

  it('refuses a bad budget and a bad webhook before sending anything', async () => {
    const t = io()
    expect(await main(['watch', '--budget', 'lots'], t.io)).toBe(2)
    expect(t.err.join('\n')).toContain('--budget must be requests per day, hour or minute')
    const u = io()
    expect(await main(['watch', '--alert-webhook', 'not a url'], u.io)).toBe(2)
    expect(u.err.join('\n')).toContain('--alert-webhook needs an http(s) URL')
  })
})
