/**
 * Live traffic's incidents (TrafficIncidents over watch's state): one alert for a drift however
 * many exchanges show it, none on clean traffic, one recovery after the rule's window, an
 * intermittent drift kept as one incident, and probes and traffic sharing one incident through
 * two handles on one state file (as two processes would). Alerts are delivered to a real webhook
 * server on loopback, as JSON and as Slack.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { HistoryStore } from '../../src/history/store.ts'
import { Incidents, TRAFFIC_RECOVERY, TrafficIncidents, type TrafficIncidentsOptions } from '../../src/live/index.ts'
import { webhookSink, type Alert } from '../../src/watch/alerts.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { at, finding } from './fixtures.ts'
import { webhookReceiver, type Receiver } from './webhook-receiver.ts'

const tmp = tempDirs('dw-live-')
const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

const UPSTREAM = 'https://graph.facebook.com'

async function hook(): Promise<Receiver> {
  const r = await webhookReceiver()
  cleanup.push(() => r.close())
  return r
}

function traffic(state: string | HistoryStore, over: Partial<TrafficIncidentsOptions> = {}): TrafficIncidents {
  const t = new TrafficIncidents({ state, upstream: `${UPSTREAM}/v23.0?access_token=secret`, sinks: [], ...over })
  cleanup.push(() => t.close())
  return t
}

function store(file: string): HistoryStore {
  const s = new HistoryStore(file)
  cleanup.push(() => s.close())
  return s
}

describe('live traffic incidents', () => {
  it('raises exactly one alert for a drift seen on many exchanges, with the first drifting exchange as evidence', async () => {
    const h = await hook()
    const t = traffic(join(tmp.dir(), 'state.db'), { sinks: [webhookSink(h.url)] })
    for (let i = 0; i < 60; i++) await t.judged('media.retrieve-url', i % 3 === 2 ? [finding('media.retrieve-url', { n: i })] : [], at(i))
    await t.settled()
    expect(h.got).toHaveLength(1)
    expect(h.got[0]).toMatchObject({ source: 'driftwatch', seenBy: 'traffic', kind: 'drift', contract: 'media.retrieve-url', check: 'framing-conformance', target: `live traffic to ${UPSTREAM}`, evidence: { request: `GET ${UPSTREAM}/v23.0/1002`, status: 200 } })
    expect(JSON.stringify(h.got)).not.toContain('secret')
    expect(t.open()).toEqual([expect.objectContaining({ contract: 'media.retrieve-url', check: 'framing-conformance' })])
  })

  it('counts an alert no webhook took as undelivered (the incident stays open; the outbox sends it again, below); a delivered one is not counted', async () => {
    const h = await hook()
    const undelivered: string[] = []
    const metrics = { alert: () => undefined, setOpen: () => undefined, undelivered: (k: string) => void undelivered.push(k) }
    // A port nothing listens on: the sink gives up after its retries.
    const dead = webhookSink('http://127.0.0.1:9/hook', { timeoutMs: 500, retryDelayMs: 1 })
    const t = traffic(join(tmp.dir(), 'state.db'), { sinks: [dead], metrics })
    for (let i = 0; i < 5; i++) await t.judged('media.retrieve-url', [finding('media.retrieve-url', { n: i })], at(i))
    await t.settled()
    expect(undelivered).toEqual(['drift'])
    const ok = traffic(join(tmp.dir(), 'state.db'), { sinks: [webhookSink(h.url)], metrics })
    await ok.judged('media.upload', [finding('media.upload', { n: 1 })], at(10))
    await ok.settled()
    expect(h.got).toHaveLength(1)
    expect(undelivered).toEqual(['drift'])
  })

  describe('the outbox: alerts a hook did not take are sent again', () => {
    const fast = (url: string) => webhookSink(url, { timeoutMs: 2000, retryDelayMs: 1 })

    it('keeps an alert the hook refused, and delivers it once the hook is back and the backoff has passed', async () => {
      const h = await hook()
      h.answerWith(503)
      const file = join(tmp.dir(), 'state.db')
      const delivery: string[][] = []
      const t = traffic(file, { sinks: [fast(h.url)], redeliverEveryMs: 0, onAlert: (_a, d) => void delivery.push(d) })
      await t.judged('media.retrieve-url', [finding('media.retrieve-url')], at(0))
      await t.settled()
      expect(h.got).toHaveLength(3) // the sink's own three attempts
      expect(delivery[0]![0]).toMatch(/HTTP 503.*kept in the outbox, next attempt in 30 s/)
      const s = store(file)
      expect(s.queuedCount()).toBe(1)
      h.answerWith(200)
      await t.redeliver(Date.now() + 10_000) // not due yet
      expect(h.got).toHaveLength(3)
      await t.redeliver(Date.now() + 31_000)
      expect(h.got).toHaveLength(4)
      expect(h.got[3]).toMatchObject({ kind: 'drift', contract: 'media.retrieve-url', check: 'framing-conformance' })
      expect(s.queuedCount()).toBe(0)
      expect(s.alerts().at(-1)!.delivered).toMatch(/delivered on attempt 2/)
      await t.redeliver(Date.now() + 3_600_000) // nothing left: no second copy
      expect(h.got).toHaveLength(4)
    })

    it('keeps the order: a recovery raised while its drift waits is queued behind it, and both arrive drift first', async () => {
      const h = await hook()
      h.answerWith(500)
      const file = join(tmp.dir(), 'state.db')
      const t = traffic(file, { sinks: [fast(h.url)], redeliverEveryMs: 0 })
      await t.judged('media.retrieve-url', [finding('media.retrieve-url')], at(0))
      for (let i = 1; i <= 25; i++) await t.judged('media.retrieve-url', [], at(i * 20))
      await t.settled()
      expect(t.open()).toEqual([])
      // Three attempts for the drift; the recovery went straight behind it, unsent.
      expect(h.got.map((g) => g.kind)).toEqual(['drift', 'drift', 'drift'])
      expect(store(file).queuedCount()).toBe(2)
      h.answerWith(200)
      await t.redeliver(Date.now() + 31_000)
      expect(h.got.slice(3).map((g) => g.kind)).toEqual(['drift', 'recovery'])
    })

    it('survives a restart: what one session could not deliver, the next one (same state, same hook) delivers', async () => {
      const h = await hook()
      h.answerWith(502)
      const file = join(tmp.dir(), 'state.db')
      const first = traffic(file, { sinks: [fast(h.url)], redeliverEveryMs: 0 })
      await first.judged('media.upload', [finding('media.upload')], at(0))
      await first.close()
      h.answerWith(200)
      const second = traffic(file, { sinks: [fast(h.url)], redeliverEveryMs: 0 })
      await second.redeliver(Date.now() + 60_000)
      expect(h.got.map((g) => `${g.kind} ${g.contract}`)).toEqual(['drift media.upload', 'drift media.upload', 'drift media.upload', 'drift media.upload'])
      expect(store(file).queuedCount()).toBe(0)
    })

    it('gives up after a day, and says so in the state', async () => {
      const h = await hook()
      h.answerWith(500)
      const file = join(tmp.dir(), 'state.db')
      const said: string[] = []
      const t = traffic(file, { sinks: [fast(h.url)], redeliverEveryMs: 0, onRedelivery: (_a, s) => void said.push(s) })
      await t.judged('media.upload', [finding('media.upload')], at(0))
      await t.settled()
      await t.redeliver(Date.now() + 25 * 3_600_000)
      expect(h.got).toHaveLength(3)
      expect(said).toEqual([expect.stringMatching(/given up after 1 attempts over 25 h \(last: not delivered \(HTTP 500\)\)/)])
      const s = store(file)
      expect(s.queuedCount()).toBe(0)
      expect(s.alerts().at(-1)!.delivered).toMatch(/given up/)
    })

    it('keeps nothing when the hook takes the alert', async () => {
      const h = await hook()
      const file = join(tmp.dir(), 'state.db')
      const t = traffic(file, { sinks: [fast(h.url)], redeliverEveryMs: 0 })
      await t.judged('media.upload', [finding('media.upload')], at(0))
      await t.settled()
      await t.redeliver(Date.now() + 3_600_000)
      expect(h.got).toHaveLength(1)
      expect(store(file).queuedCount()).toBe(0)
    })
  })

  it('raises none on clean traffic, and records which operations it covered', async () => {
    const h = await hook()
    const file = join(tmp.dir(), 'state.db')
    const t = traffic(file, { sinks: [webhookSink(h.url)], coverEveryMs: 10_000 })
    for (let i = 0; i < 100; i++) await t.judged(i % 2 ? 'messages.send-text' : '(unattributed)', i % 2 ? [] : [finding('(unattributed)', { check: 'attribution', severity: 'info' })], at(i))
    await t.close()
    expect(h.got).toEqual([])
    const s = store(file)
    expect(s.openDrifts()).toEqual([])
    // The last exchange (at 99 s) is written at close; unattributed exchanges cover nothing.
    expect([...s.coveredSince(at(0))]).toEqual([['messages.send-text', at(99)]])
    expect(s.coveredSince(at(100)).size).toBe(0)
  })

  it('clears after 20 clean exchanges and 5 quiet minutes: one recovery, not before', async () => {
    const h = await hook()
    const t = traffic(join(tmp.dir(), 'state.db'), { sinks: [webhookSink(h.url)] })
    await t.judged('media.download', [finding('media.download')], at(0))
    // Many clean exchanges, but within the quiet time: still open.
    for (let s = 1; s < 300; s++) await t.judged('media.download', [], at(s))
    await t.settled()
    expect(h.got.map((a) => a.kind)).toEqual(['drift'])
    expect(t.open()).toHaveLength(1)
    await t.judged('media.download', [], at(300))
    await t.settled()
    expect(h.got.map((a) => a.kind)).toEqual(['drift', 'recovery'])
    expect(h.got[1]).toMatchObject({ seenBy: 'traffic', contract: 'media.download', since: new Date(at(0)).toISOString(), at: new Date(at(300)).toISOString() })
    expect(t.open()).toEqual([])
  })

  it('counts the quiet time from the last exchange that drifted, even one whose time was not written (at most one write a second)', async () => {
    const h = await hook()
    const t = traffic(join(tmp.dir(), 'state.db'), { sinks: [webhookSink(h.url)] })
    await t.judged('media.download', [finding('media.download')], at(0))
    // Seen again 0.9 s later: the state keeps 0 s (written once a second), but this is the last sighting.
    await t.judged('media.download', [finding('media.download')], at(0.9))
    for (let i = 1; i <= TRAFFIC_RECOVERY.cleanRuns; i++) await t.judged('media.download', [], at(i))
    // 300 s after the first sighting, 299.1 s after the last: not quiet yet.
    await t.judged('media.download', [], at(300))
    await t.settled()
    expect(h.got.map((a) => a.kind)).toEqual(['drift'])
    await t.judged('media.download', [], at(300.9))
    await t.settled()
    expect(h.got.map((a) => a.kind)).toEqual(['drift', 'recovery'])
    expect(h.got[1]).toMatchObject({ at: new Date(at(300.9)).toISOString() })
  })

  it('an earlier sighting judged after a later one (the first of a new kind is judged first) does not move the quiet time back', async () => {
    const h = await hook()
    const t = traffic(join(tmp.dir(), 'state.db'), { sinks: [webhookSink(h.url)] })
    await t.judged('media.download', [finding('media.download')], at(0))
    await t.judged('media.download', [finding('media.download')], at(0.9))
    await t.judged('media.download', [finding('media.download')], at(0.5)) // answered earlier, judged later
    for (let i = 1; i <= TRAFFIC_RECOVERY.cleanRuns; i++) await t.judged('media.download', [], at(i))
    await t.judged('media.download', [], at(300.6)) // 299.7 s after the last sighting (0.9 s)
    await t.settled()
    expect(h.got.map((a) => a.kind)).toEqual(['drift'])
    await t.judged('media.download', [], at(300.9))
    await t.settled()
    expect(h.got.map((a) => a.kind)).toEqual(['drift', 'recovery'])
  })

  it('does not clear on time alone: an operation called rarely needs its 20 clean exchanges', async () => {
    const h = await hook()
    const t = traffic(join(tmp.dir(), 'state.db'), { sinks: [webhookSink(h.url)] })
    await t.judged('templates.list', [finding('templates.list')], at(0))
    for (let i = 1; i < TRAFFIC_RECOVERY.cleanRuns; i++) await t.judged('templates.list', [], at(i * 3600))
    await t.settled()
    expect(h.got.map((a) => a.kind)).toEqual(['drift'])
    await t.judged('templates.list', [], at(TRAFFIC_RECOVERY.cleanRuns * 3600))
    await t.settled()
    expect(h.got.map((a) => a.kind)).toEqual(['drift', 'recovery'])
  })

  it('keeps an intermittent drift (1 exchange in 10) as one incident, where two clean runs would flap', async () => {
    // Feb 6 2026: some of Meta's servers misbehaved, others did not. One exchange a second, 1 in 10 drifting, for an hour.
    const drifting = (i: number) => (i * 7919) % 10 === 3
    const sequence = async (t: TrafficIncidents) => {
      for (let i = 0; i < 3600; i++) await t.judged('media.retrieve-url', drifting(i) ? [finding('media.retrieve-url', { n: i })] : [], at(i))
      await t.settled()
    }
    const kept: Alert[] = []
    await sequence(traffic(join(tmp.dir(), 'a.db'), { onAlert: (a) => kept.push(a) }))
    expect(kept.map((a) => a.kind)).toEqual(['drift'])

    const flapping: Alert[] = []
    await sequence(traffic(join(tmp.dir(), 'b.db'), { onAlert: (a) => flapping.push(a), recovery: { cleanRuns: 2, quietMs: 0 } }))
    expect(flapping.length).toBeGreaterThan(100)
  })

  it('delivers in order without holding judging: a slow webhook delays the next alert, not the next exchange', async () => {
    const h = await hook()
    h.hold()
    const t = traffic(join(tmp.dir(), 'state.db'), { sinks: [webhookSink(h.url)], recovery: { cleanRuns: 3, quietMs: 1_000 } })
    await t.judged('media.upload', [finding('media.upload')], at(0))
    await h.received(1)
    // The drift alert is held at the hook; judging goes on, and clears the drift meanwhile.
    for (let s = 1; s <= 5; s++) await t.judged('media.upload', [], at(s))
    expect(t.open()).toEqual([])
    expect(h.got).toHaveLength(1)
    h.release()
    await t.settled()
    expect(h.got.map((a) => a.kind)).toEqual(['drift', 'recovery'])
  })

  it('gives a Slack hook a message that says it came from live traffic', async () => {
    const h = await hook()
    const t = traffic(join(tmp.dir(), 'state.db'), { sinks: [webhookSink(`slack=${h.url}`)] })
    await t.judged('media.retrieve-url', [finding('media.retrieve-url')], at(0))
    await t.settled()
    expect(h.got).toHaveLength(1)
    const body = h.got[0] as { text: string; blocks: { type: string; text?: { text: string }; elements?: { text: string }[] }[] }
    expect(body.text).toContain(`DRIFT breaking on media.retrieve-url (live traffic to ${UPSTREAM})`)
    expect(body.blocks.at(-1)!.elements![0]!.text).toContain('seen in live traffic')
    expect(JSON.stringify(body)).toContain('Reproduce:')
  })

  it('a Slack message from watch does not claim live traffic', async () => {
    const h = await hook()
    const s = store(join(tmp.dir(), 'state.db'))
    const probes = new Incidents({ store: s, target: 'sim', source: 'probes', recovery: { cleanRuns: 2, quietMs: 0 }, sinks: [webhookSink(`slack=${h.url}`)] })
    const d = probes.record({ judged: ['media.retrieve-url'], findings: [finding('media.retrieve-url')], at: at(0) })
    for (const a of d.alerts) await probes.raise(a)
    expect(h.got).toHaveLength(1)
    expect(JSON.stringify(h.got[0])).not.toContain('live traffic')
  })
})

describe('one incident, whoever saw it (two handles on one state file)', () => {
  const probesOn = (s: HistoryStore, alerts: Alert[]) => new Incidents({ store: s, target: 'sim', source: 'probes', recovery: { cleanRuns: 2, quietMs: TRAFFIC_RECOVERY.quietMs }, sinks: [], onAlert: (a) => alerts.push(a) })
  const raiseAll = async (i: Incidents, d: { alerts: Alert[] }) => {
    for (const a of d.alerts) await i.raise(a)
  }

  it('what traffic opened, watch does not alert again; a new drift watch sees still alerts', async () => {
    const file = join(tmp.dir(), 'state.db')
    const fromTraffic: Alert[] = []
    const fromProbes: Alert[] = []
    const t = traffic(file, { onAlert: (a) => fromTraffic.push(a) })
    const probes = probesOn(store(file), fromProbes)
    await t.judged('media.retrieve-url', [finding('media.retrieve-url')], at(0))
    await t.settled()
    await raiseAll(probes, probes.record({ judged: ['media.retrieve-url'], findings: [finding('media.retrieve-url')], at: at(30) }))
    expect(fromTraffic.map((a) => a.kind)).toEqual(['drift'])
    expect(fromProbes).toEqual([])
    // Another contract, another cause: a new incident, alerted by whoever sees it.
    await raiseAll(probes, probes.record({ judged: ['templates.list'], findings: [finding('templates.list', { check: 'body-schema-conformance', title: 'data[0].status is not a string' })], at: at(40) }))
    expect(fromProbes.map((a) => [a.kind, a.contract])).toEqual([['drift', 'templates.list']])
  })

  it('what watch opened, traffic does not alert again', async () => {
    const file = join(tmp.dir(), 'state.db')
    const fromTraffic: Alert[] = []
    const fromProbes: Alert[] = []
    const probes = probesOn(store(file), fromProbes)
    await raiseAll(probes, probes.record({ judged: ['media.download'], findings: [finding('media.download')], at: at(0) }))
    const t = traffic(file, { onAlert: (a) => fromTraffic.push(a) })
    for (let i = 1; i <= 10; i++) await t.judged('media.download', [finding('media.download')], at(i))
    await t.settled()
    expect(fromProbes.map((a) => a.kind)).toEqual(['drift'])
    expect(fromTraffic).toEqual([])
    expect(t.open()).toHaveLength(1)
  })

  it('a drift only probes saw clears on its operation\'s 20th clean exchange, not its 19th', async () => {
    const file = join(tmp.dir(), 'state.db')
    const fromTraffic: Alert[] = []
    const probes = probesOn(store(file), [])
    await raiseAll(probes, probes.record({ judged: ['media.download'], findings: [finding('media.download')], at: at(0) }))
    const t = traffic(file, { onAlert: (a) => fromTraffic.push(a) })
    for (let i = 1; i < TRAFFIC_RECOVERY.cleanRuns; i++) await t.judged('media.download', [], at(i))
    await t.settled()
    expect(fromTraffic).toEqual([])
    await t.judged('media.download', [], at(TRAFFIC_RECOVERY.cleanRuns))
    await t.settled()
    expect(fromTraffic.map((a) => [a.kind, a.seenBy])).toEqual([['recovery', 'traffic']])
  })

  it('a drift traffic saw is not cleared by two clean probe runs within traffic\'s quiet time; after it, it is', async () => {
    const file = join(tmp.dir(), 'state.db')
    const fromProbes: Alert[] = []
    const t = traffic(file)
    await t.judged('media.download', [finding('media.download')], at(0))
    const probes = probesOn(store(file), fromProbes)
    await raiseAll(probes, probes.record({ judged: ['media.download'], findings: [], at: at(60) }))
    await raiseAll(probes, probes.record({ judged: ['media.download'], findings: [], at: at(120) }))
    expect(fromProbes).toEqual([])
    await raiseAll(probes, probes.record({ judged: ['media.download'], findings: [], at: at(301) }))
    expect(fromProbes.map((a) => a.kind)).toEqual(['recovery'])
  })

  it('does not open one incident twice when the other process opened it between a read and the write', async () => {
    const file = join(tmp.dir(), 'state.db')
    /** The read-only first look of a process that read just before the other one wrote. */
    class ReadBeforeTheOtherWrote extends HistoryStore {
      private stale = true
      override openDrifts(scope?: string) {
        if (!this.stale) return super.openDrifts(scope)
        this.stale = false
        return []
      }
    }
    const late = new ReadBeforeTheOtherWrote(file)
    cleanup.push(() => late.close())
    const a = new Incidents({ store: store(file), target: 'sim', source: 'probes', recovery: TRAFFIC_RECOVERY, sinks: [] })
    const b = new Incidents({ store: late, target: 'proxy', source: 'traffic', recovery: TRAFFIC_RECOVERY, sinks: [] })
    const run = { judged: ['media.upload'], findings: [finding('media.upload')], at: at(0) }
    expect(a.record(run).alerts).toHaveLength(1)
    // b's first look saw nothing open; its write transaction reads again and finds a's drift.
    expect(b.record(run).alerts).toEqual([])
    const db = new Database(file, { readonly: true })
    cleanup.push(() => db.close())
    expect(db.prepare('SELECT COUNT(*) AS n FROM incidents').get()).toEqual({ n: 1 })
    expect(db.prepare('SELECT COUNT(*) AS n FROM drifts').get()).toEqual({ n: 1 })
  })
  it('two processes judging the same drift at once raise one alert between them, and neither fails on the lock', async () => {
    const file = join(tmp.dir(), 'state.db')
    store(file).close() // created before either starts
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'traffic-child.ts'), file, '400'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    while (!out.includes('ready') && child.exitCode === null) await new Promise((r) => setTimeout(r, 5))
    const fromProbes: Alert[] = []
    const probes = probesOn(store(file), fromProbes)
    // Both write while the other does: the probes side records the same drift as fast as it can until the child is done.
    const done = new Promise<number | null>((r) => child.on('exit', r))
    let exited = false
    void done.then(() => (exited = true))
    let runs = 0
    while (!exited) {
      await raiseAll(probes, probes.record({ judged: ['media.upload'], findings: [finding('media.upload')], at: Date.now() }))
      runs++
      await new Promise((r) => setImmediate(r))
    }
    expect(await done, err).toBe(0)
    const fromTraffic = JSON.parse(out.trim().split('\n').at(-1)!) as string[]
    expect(runs).toBeGreaterThan(0)
    expect([...fromTraffic, ...fromProbes.map((a) => a.kind)]).toEqual(['drift'])
    const db = new Database(file, { readonly: true })
    cleanup.push(() => db.close())
    expect(db.prepare('SELECT COUNT(*) AS n FROM incidents').get()).toEqual({ n: 1 })
  }, 60_000)
})

describe('the state file', () => {
  it('upgrades a version-2 file: its open drift stays open, coverage is kept from then on', () => {
    const file = join(tmp.dir(), 'old.db')
    const old = new Database(file)
    old.exec(`CREATE TABLE cycles (id INTEGER PRIMARY KEY, command TEXT NOT NULL DEFAULT 'watch', started_at TEXT NOT NULL, finished_at TEXT NOT NULL, target TEXT NOT NULL, unit TEXT NOT NULL, contracts TEXT NOT NULL, requests INTEGER NOT NULL, outcome TEXT NOT NULL, healthy INTEGER NOT NULL);
      CREATE TABLE drifts (key TEXT PRIMARY KEY, group_key TEXT NOT NULL, contract TEXT NOT NULL, check_id TEXT NOT NULL, severity TEXT NOT NULL, title TEXT NOT NULL, opened_at TEXT NOT NULL, last_seen_at TEXT NOT NULL, alerted_at TEXT, clean_runs INTEGER NOT NULL DEFAULT 0);
      INSERT INTO drifts VALUES ('media.download framing-conformance', 'media.download framing-conformance', 'media.download', 'framing-conformance', 'breaking', 'chunked', '2026-01-20T09:00:00.000Z', '2026-01-20T09:00:00.000Z', '2026-01-20T09:00:00.000Z', 1);
      PRAGMA user_version = 2;`)
    old.close()
    const s = store(file)
    expect(s.openDrifts()).toEqual([{ key: 'media.download framing-conformance', group: 'media.download framing-conformance', contract: 'media.download', check: 'framing-conformance', severity: 'breaking', title: 'chunked', openedAt: '2026-01-20T09:00:00.000Z', lastSeenAt: '2026-01-20T09:00:00.000Z', alertedAt: '2026-01-20T09:00:00.000Z', cleanRuns: 1 }])
    s.cover('media.download', at(5))
    expect([...s.coveredSince(at(0))]).toEqual([['media.download', at(5)]])
    const raw = new Database(file, { readonly: true })
    cleanup.push(() => raw.close())
    expect(raw.pragma('user_version', { simple: true })).toBe(3)
  })

  it('refuses a file from a newer driftwatch, and leaves it as it was', () => {
    const file = join(tmp.dir(), 'new.db')
    const db = new Database(file)
    db.pragma('user_version = 4')
    db.close()
    expect(() => new HistoryStore(file)).toThrow(/written by a newer driftwatch \(state version 4; this one reads 3\)/)
  })

  it('keeps coverage per scope: one target\'s traffic covers nothing of another\'s', () => {
    const s = store(join(tmp.dir(), 'state.db'))
    s.cover('media.upload', at(1), 1, 'lab-a')
    s.cover('media.upload', at(2), 4)
    expect([...s.coveredSince(at(0), 'lab-a')]).toEqual([['media.upload', at(1)]])
    expect([...s.coveredSince(at(0))]).toEqual([['media.upload', at(2)]])
    expect(s.coveredSince(at(0), 'lab-b').size).toBe(0)
  })
})
