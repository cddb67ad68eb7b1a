/**
 * `watch` next to `driftwatch proxy` on one state file (issue 18, item 5): contracts live traffic
 * judged within the traffic window are not probed, stale coverage is, and an incident one of them
 * opened is not alerted again by the other. Real simulator, real webhook server, real findings.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Finding } from '../../src/model/finding.ts'
import { main, type CliIO } from '../../src/cli/index.ts'
import { HistoryStore } from '../../src/history/store.ts'
import { DEFAULT_TRAFFIC_WINDOW_MS, operationOf, TrafficIncidents } from '../../src/live/index.ts'
import { openSession, type Session } from '../../src/runner/session.ts'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'
import { webhookSink } from '../../src/watch/alerts.ts'
import { WatchMetrics } from '../../src/watch/metrics.ts'
import { runWatch, type CycleEvent, type WatchClock, type WatchOptions } from '../../src/commands/watch.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { webhookReceiver, type Receiver } from '../live/webhook-receiver.ts'

const tmp = tempDirs('dw-watch-traffic-')
const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

const FAST = 500_000_000 // requests a day (a day-share of 0.17 ms): cycles follow each other at test speed

async function simAndSession(only?: string[]): Promise<{ sim: RunningSimulator; session: Session }> {
  const sim = await startSimulator()
  cleanup.push(() => sim.close())
  const c = sim.credentials
  const session = await openSession({ target: sim.url, contractsDir: 'contracts/meta', minIntervalMs: 0, ...(only ? { only } : {}), env: { WHATSAPP_ACCESS_TOKEN: c.token, WHATSAPP_PHONE_NUMBER_ID: c.phoneNumberId, WHATSAPP_WABA_ID: c.wabaId, WHATSAPP_TEST_RECIPIENT: c.testRecipient } })
  cleanup.push(() => session.close())
  return { sim, session }
}

function store(file: string): HistoryStore {
  const s = new HistoryStore(file)
  cleanup.push(() => s.close())
  return s
}

async function hook(): Promise<Receiver> {
  const r = await webhookReceiver()
  cleanup.push(() => r.close())
  return r
}

/** The proxy's incidents on the same file, as a second process would have them. */
function proxyOn(file: string, session: Session, sinks: WatchOptions['sinks'] = []): TrafficIncidents {
  const t = new TrafficIncidents({ state: file, upstream: session.baseUrl, sinks, operationOf: operationOf(session.pack) })
  cleanup.push(() => t.close())
  return t
}

/** Runs watch until every contract outside `skip` ran `times` times; returns every cycle. */
async function watchPasses(opts: Omit<WatchOptions, 'signal' | 'onCycle'>, times: number, skip: ReadonlySet<string> = new Set()): Promise<CycleEvent[]> {
  const stop = new AbortController()
  const events: CycleEvent[] = []
  const ran = new Map<string, number>()
  const due = opts.session.selected.map((s) => s.probe.id).filter((id) => !skip.has(id))
  await runWatch({
    ...opts,
    signal: stop.signal,
    onCycle: (e) => {
      events.push(e)
      for (const c of e.unit.contracts) ran.set(c, (ran.get(c) ?? 0) + 1)
      if (due.every((id) => (ran.get(id) ?? 0) >= times) || e.n > 100) stop.abort()
    },
  })
  return events
}

/** Probes traffic of these operations stands for (2xx, not a variant): templates.list covers its next page too. */
const TRAFFIC_OPS = ['phone-numbers.get', 'templates.list', 'messages.send-text']
const COVERED = new Set(['phone-numbers.get', 'templates.list', 'templates.list.next-page', 'messages.send-text'])

describe('watch and live traffic: coverage', () => {
  it('spends no probe on contracts live traffic judged within the window, and says how many', async () => {
    const { session } = await simAndSession()
    const file = join(tmp.dir(), 'state.db')
    const proxy = proxyOn(file, session)
    for (const op of TRAFFIC_OPS) await proxy.judged(op, [], Date.now())
    await proxy.close()
    const metrics = new WatchMetrics()
    const events = await watchPasses({ session, store: store(file), apiVersion: 'v23.0', perDay: FAST, sinks: [], random: () => 0.5, metrics }, 2, COVERED)
    expect(events.length).toBeGreaterThan(5)
    expect(events.flatMap((e) => e.unit.contracts).filter((c) => COVERED.has(c))).toEqual([])
    expect(new Set(events.map((e) => e.covered))).toEqual(new Set([COVERED.size]))
    expect(await metrics.registry.getSingleMetricAsString('driftwatch_traffic_covered_contracts')).toContain(`driftwatch_traffic_covered_contracts{target="${session.label}"} ${COVERED.size}`)
    // Error answers are still probed: applications do not send a bad token or a bad message on purpose.
    expect(events.some((e) => e.unit.contracts.includes('auth.invalid-token'))).toBe(true)
    expect(events.some((e) => e.unit.contracts.includes('messages.send-invalid'))).toBe(true)
  })

  it('probes them again once that traffic is older than the window, or with --traffic-window 0', async () => {
    const { session } = await simAndSession()
    const file = join(tmp.dir(), 'state.db')
    const s = store(file)
    for (const op of TRAFFIC_OPS) s.cover(op, Date.now() - DEFAULT_TRAFFIC_WINDOW_MS - 1_000)
    const stale = await watchPasses({ session, store: s, apiVersion: 'v23.0', perDay: FAST, sinks: [], random: () => 0.5 }, 1)
    for (const c of COVERED) expect(stale.some((e) => e.unit.contracts.includes(c)), c).toBe(true)
    expect(stale.every((e) => e.covered === 0)).toBe(true)

    const fresh = join(tmp.dir(), 'fresh.db')
    const f = store(fresh)
    for (const op of TRAFFIC_OPS) f.cover(op, Date.now())
    const off = await watchPasses({ session, store: f, apiVersion: 'v23.0', perDay: FAST, sinks: [], random: () => 0.5, trafficWindowMs: 0 }, 1)
    for (const c of COVERED) expect(off.some((e) => e.unit.contracts.includes(c)), c).toBe(true)
  })

  it('when traffic covers everything it watches, waits until the first coverage goes stale, spending nothing', async () => {
    const { session } = await simAndSession(['templates.*'])
    const s = store(join(tmp.dir(), 'state.db'))
    const t0 = Date.UTC(2026, 0, 20, 9, 0, 0)
    s.cover('templates.list', t0 - 60_000)
    s.cover('phone-numbers.get', t0 - 30_000) // the preflight, which every selection holds
    const stop = new AbortController()
    const waits: number[] = []
    const clock: WatchClock = {
      now: () => t0,
      async sleep(ms) {
        waits.push(ms)
        stop.abort()
      },
    }
    const r = await runWatch({ session, store: s, apiVersion: 'v23.0', perDay: FAST, sinks: [], clock, signal: stop.signal })
    expect(r).toMatchObject({ cycles: 0, requests: 0 })
    expect(waits).toEqual([DEFAULT_TRAFFIC_WINDOW_MS - 60_000])
  })
})

describe('watch and live traffic: one incident', () => {
  /** The findings watch's probes produce for media.retrieve-url in the Jan 20 scenario (the judge's own, not a fixture's). */
  async function janTwentyFindings(): Promise<Finding[]> {
    const { sim, session } = await simAndSession(['media.retrieve-url'])
    sim.setScenario('media-chunked')
    const events = await watchPasses({ session, store: store(join(tmp.dir(), 'scratch.db')), apiVersion: 'v23.0', perDay: FAST, sinks: [] }, 1)
    const found = events.flatMap((e) => e.drift).filter((f) => f.contract === 'media.retrieve-url')
    expect(found.length).toBeGreaterThan(0)
    return found
  }

  it('an incident live traffic opened is not alerted again by watch', async () => {
    const findings = await janTwentyFindings()
    const { sim, session } = await simAndSession()
    const h = await hook()
    const file = join(tmp.dir(), 'state.db')
    const proxy = proxyOn(file, session, [webhookSink(h.url)])
    for (let i = 0; i < 5; i++) await proxy.judged('media.retrieve-url', findings, Date.now())
    await proxy.settled()
    expect(h.got.map((a) => [a.kind, a.seenBy, a.contract])).toEqual([['drift', 'traffic', 'media.retrieve-url']])

    sim.setScenario('media-chunked')
    const events = await watchPasses({ session, store: store(file), apiVersion: 'v23.0', perDay: FAST, sinks: [webhookSink(h.url)], random: () => 0.5, trafficWindowMs: 0 }, 2)
    expect(events.some((e) => e.drift.some((f) => f.contract === 'media.retrieve-url.with-phone-number-id'))).toBe(true) // watch saw it too
    expect(h.got).toHaveLength(1)
  })

  it('an incident watch opened is not alerted again by live traffic; a new one is', async () => {
    const { sim, session } = await simAndSession()
    const h = await hook()
    const file = join(tmp.dir(), 'state.db')
    sim.setScenario('media-chunked')
    const events = await watchPasses({ session, store: store(file), apiVersion: 'v23.0', perDay: FAST, sinks: [webhookSink(h.url)], random: () => 0.5 }, 1)
    expect(h.got.map((a) => [a.kind, a.seenBy])).toEqual([['drift', 'probes']])
    const seen = events.flatMap((e) => e.drift).filter((f) => f.contract === 'media.retrieve-url')

    const proxy = proxyOn(file, session, [webhookSink(h.url)])
    for (let i = 0; i < 5; i++) await proxy.judged('media.retrieve-url', seen, Date.now())
    await proxy.settled()
    expect(h.got).toHaveLength(1)
    // A drift on another operation, another cause: live traffic alerts it.
    await proxy.judged('messages.send-template', [{ ...seen[0]!, contract: 'messages.send-template', check: 'body-schema-conformance', title: 'messages[0].id is missing' }], Date.now())
    await proxy.settled()
    expect(h.got.map((a) => [a.kind, a.seenBy, a.contract])).toEqual([
      ['drift', 'probes', expect.stringMatching(/^media\.retrieve-url/)],
      ['drift', 'traffic', 'messages.send-template'],
    ])
  })
})

describe('driftwatch watch --traffic-window (the command)', () => {
  const ROOT = join(import.meta.dirname, '..', '..')
  const io = () => {
    const out: string[] = []
    const err: string[] = []
    return { out, err, io: { stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l), env: {}, cwd: ROOT } satisfies CliIO }
  }

  it('says on each cycle line how many contracts live traffic covers, and none without coverage', async () => {
    const file = join(tmp.dir(), 'w.db')
    const s = new HistoryStore(file)
    for (const op of TRAFFIC_OPS) s.cover(op, Date.now())
    s.close()
    const t = io()
    expect(await main(['watch', '--budget', '5000000/day', '--cycles', '3', '--state', file, '--traffic-window', '900'], t.io)).toBe(0)
    const cycles = t.out.filter((l) => / cycle \d+ /.test(l))
    expect(cycles).toHaveLength(3)
    for (const l of cycles) expect(l).toMatch(/; 4 covered by live traffic\): ok$/)
    const u = io()
    expect(await main(['watch', '--budget', '5000000/day', '--cycles', '3', '--state', join(tmp.dir(), 'other.db')], u.io)).toBe(0)
    expect(u.out.filter((l) => l.includes('covered by live traffic'))).toEqual([])
  })

  it('refuses a window that is not a number of seconds', async () => {
    const t = io()
    expect(await main(['watch', '--traffic-window', 'soon'], t.io)).toBe(2)
    expect(t.err.join('\n')).toContain('--traffic-window')
  })
})
