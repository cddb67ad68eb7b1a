/**
 * The observer in a worker thread (src/proxy/observer-thread.ts) against the inline one, over real
 * sockets: the same traffic gives the same findings and the same recordings; the request path
 * never waits for a worker that is stuck (exchanges are skipped and counted); close writes the
 * report, abort leaves the journal, and a worker that dies is counted and said while the
 * application keeps being served.
 */
import { createServer, type Server } from 'node:http'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import type { IncidentSink } from '../../src/proxy/exchange.ts'
import { startProxy, type ProxyOptions, type RunningProxy } from '../../src/commands/proxy.ts'
import { isMainThread } from 'node:worker_threads'
import { OBSERVER_NICE, yieldToRequestPath } from '../../src/proxy/observer-thread.ts'
import { loadRecordings } from '../../src/recordings/store.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const CONTRACTS = join(ROOT, 'contracts/meta')
const PHONE = '106540352242922'
const TOKEN = 'EAAthreadtoken0123456789'
const tmp = tempDirs('dw-proxy-thread-')
const cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined)
})

/** The phone number as the Graph API answers it; every third answer drifts (quality_rating a number, throughput gone). */
function phone(n: number): Record<string, unknown> {
  const base: Record<string, unknown> = { verified_name: 'Driftwatch Test', code_verification_status: 'VERIFIED', display_phone_number: '+1 555-0100', quality_rating: 'GREEN', platform_type: 'CLOUD_API', throughput: { level: 'STANDARD' }, id: PHONE }
  if (n % 3 === 0) {
    base.quality_rating = 3
    delete base.throughput
  }
  return base
}

async function upstream(): Promise<string> {
  let hits = 0
  const server: Server = createServer((_req, res) => {
    const body = Buffer.from(JSON.stringify(phone(++hits)))
    res.writeHead(200, { 'Content-Type': 'application/json; charset=UTF-8', 'facebook-api-version': 'v23.0', 'x-fb-request-id': `R${hits}`, 'Content-Length': body.length })
    res.end(body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanup.push(() => new Promise((r) => server.close(r)))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

async function proxyTo(url: string, opts: Partial<ProxyOptions> = {}): Promise<RunningProxy> {
  const proxy = await startProxy({ upstream: url, contractsDir: CONTRACTS, cwd: ROOT, compactEveryMs: 0, env: { WHATSAPP_PHONE_NUMBER_ID: PHONE }, observer: 'thread', ...opts })
  cleanup.push(() => proxy.abort())
  return proxy
}

async function get(proxy: RunningProxy): Promise<number> {
  const res = await request(`${proxy.url}/v23.0/${PHONE}`, { headers: { authorization: `Bearer ${TOKEN}` } })
  await res.body.arrayBuffer()
  return res.statusCode
}

/** This process's threads by their nice value (Linux: /proc/self/task/<tid>/stat, field 19). */
function niceOfThreads(): Map<number, number> {
  const out = new Map<number, number>()
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      // After the command name in parentheses (which may hold spaces): state is field 3, nice field 19.
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]))
    } catch {}
  }
  return out
}
/** Threads of this process at the observer's nice (an earlier test file's, in this worker process, may still be there: tests compare ids). */
const niced = () => new Set([...niceOfThreads()].filter(([, n]) => n === OBSERVER_NICE).map(([tid]) => tid))
const added = (before: Set<number>) => [...niced()].filter((tid) => !before.has(tid))

describe('proxy observer in a worker thread', () => {
  it.skipIf(!existsSync('/proc/thread-self'))('runs below the priority of the request path, that thread alone, once built; an inline observer lowers nothing', async () => {
    const before = niced()
    expect(niceOfThreads().get(process.pid)).toBe(0)
    const inline = await proxyTo(await upstream(), { observer: 'inline' })
    expect(await get(inline)).toBe(200)
    await inline.idle()
    expect(added(before)).toEqual([])
    await inline.close()
    const proxy = await proxyTo(await upstream())
    expect(await get(proxy)).toBe(200)
    await proxy.idle()
    // One more thread at the observer's nice, and the main thread, which forwards, as it was.
    const observer = added(before)
    expect(observer).toHaveLength(1)
    expect(niceOfThreads().get(process.pid)).toBe(0)
    await proxy.close()
    // The thread is gone once close has ended the worker; under load the kernel may list it a little longer.
    for (let i = 0; i < 500 && niced().has(observer[0]!); i++) await new Promise((r) => setTimeout(r, 20))
    expect(niced().has(observer[0]!)).toBe(false)
  })

  it.skipIf(!existsSync('/proc/thread-self') || !isMainThread)('lowers nothing when called on the main thread: the process, which forwards, keeps its priority', () => {
    const before = niced()
    expect(yieldToRequestPath()).toBeUndefined()
    expect(niceOfThreads().get(process.pid)).toBe(0)
    expect(added(before)).toEqual([])
  })

  it('judges and records the same as the inline observer on the same traffic', async () => {
    const results = []
    for (const observer of ['inline', 'thread'] as const) {
      const out = tmp.dir()
      const lines: string[] = []
      const told: string[] = []
      const metrics = { forwarded: () => told.push('forwarded'), captured: () => told.push('captured'), exchange: (c: string | undefined, s: number | undefined) => told.push(`exchange ${c} ${s}`), skipped: (r: string) => told.push(`skipped ${r}`) }
      const incidents: IncidentSink = { judged: async (c, f) => void told.push(`judged ${c} ${f.length}`), open: () => [], close: async () => undefined }
      const proxy = await proxyTo(await upstream(), { observer, recordingsDir: out, metrics, incidents, onExchange: (e) => lines.push(`${e.index} ${e.contract} ${e.judged} ${e.findings.map((f) => f.title).join('; ')}`) })
      for (let i = 0; i < 9; i++) expect(await get(proxy)).toBe(200)
      const session = await proxy.close()
      const recordings = [...loadRecordings(out)].map(([id, rs]) => [id, rs.map((r) => r.observations.map((o) => o.response?.body.json))])
      results.push({ findings: session.report.findings.map((f) => [f.contract, f.severity, f.title, f.samples]), counts: session.counts, stats: { ...session.stats, maxDiskLagMs: 0, maxSyncMs: 0, journalBytes: session.stats.journalBytes > 0 }, outcome: session.report.outcome, recordings, lines: lines.sort(), told: told.sort(), tokenSeen: JSON.stringify(recordings).includes(TOKEN) })
    }
    const [inline, thread] = results
    // The drifting answers are found (the comparison is not of two empty reports) and recorded.
    expect(inline!.outcome).toBe('drift')
    expect(inline!.findings.length).toBeGreaterThan(0)
    expect(inline!.recordings).toHaveLength(1)
    expect(inline!.lines).toHaveLength(9)
    // Metrics and incidents (which stay on the main thread) are told the same.
    expect(inline!.told.filter((t) => t.startsWith('judged phone-numbers.get'))).toHaveLength(9)
    expect(thread).toEqual(inline)
    expect(thread!.tokenSeen).toBe(false)
  })

  it('offer never waits for a stuck worker: every request is answered, the rest counted as skipped, queue-full', async () => {
    const stall = new Int32Array(new SharedArrayBuffer(4))
    const proxy = await proxyTo(await upstream(), { queue: 2, threadHooks: { stall } })
    const statuses: number[] = []
    for (let i = 0; i < 20; i++) statuses.push(await get(proxy))
    expect(statuses).toEqual(Array(20).fill(200))
    const st = proxy.stats()
    expect(st.exchanges).toBe(20)
    // The worker is blocked at its first exchange: at most the queue's two are in flight, the rest skipped.
    expect(st.skipped['queue-full']).toBeGreaterThanOrEqual(18)
    expect(st.judgedLive).toBe(0)
    expect(st.newKinds).toBe(0)
    // A new kind of exchange (another path) still goes past the bound, once; the second like it does not.
    for (let i = 0; i < 2; i++) {
      const res = await request(`${proxy.url}/v23.0/${PHONE}/message_templates`, { headers: { authorization: `Bearer ${TOKEN}` } })
      await res.body.arrayBuffer()
    }
    expect(proxy.stats()).toMatchObject({ exchanges: 22, newKinds: 1, skipped: { 'queue-full': st.skipped['queue-full'] + 1 } })
    Atomics.store(stall, 0, 1)
    Atomics.notify(stall, 0)
    const session = await proxy.close()
    expect(session.stats.captured + session.stats.skipped['queue-full']).toBe(22)
    expect(session.stats.judgedLive).toBe(session.stats.captured)
  })

  it('the first of a new kind goes ahead of the exchanges waiting for the worker, as inline', async () => {
    const server: Server = createServer((req, res) => {
      const ok = req.url!.startsWith(`/v23.0/${PHONE}`)
      const b = Buffer.from(JSON.stringify(ok ? phone(1) : { error: { message: 'x', type: 'OAuthException', code: 100, fbtrace_id: 'A' } }))
      res.writeHead(ok ? 200 : 400, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': b.length })
      res.end(b)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    cleanup.push(() => new Promise((r) => server.close(r)))
    const stall = new Int32Array(new SharedArrayBuffer(8))
    const seen: number[] = []
    const proxy = await proxyTo(`http://127.0.0.1:${(server.address() as { port: number }).port}`, { queue: 10, threadHooks: { stall }, onExchange: (e) => seen.push(e.status ?? 0) })
    expect(await get(proxy)).toBe(200)
    // The worker is on the first exchange before the others come: a busy machine (its thread runs at the lowest
    // priority) could otherwise hand it all five at once, and the new kind would rightly go ahead of the first too.
    for (let i = 0; i < 500 && Atomics.load(stall, 1) === 0; i++) await new Promise((r) => setTimeout(r, 20))
    expect(Atomics.load(stall, 1)).toBe(1)
    for (let i = 0; i < 3; i++) expect(await get(proxy)).toBe(200)
    await (await request(`${proxy.url}/v23.0/1037543291543636`, { headers: { authorization: `Bearer ${TOKEN}` } })).body.text()
    // Room in the queue: nothing went past the bound, nothing was skipped; the worker is stuck on the first.
    expect(proxy.stats()).toMatchObject({ exchanges: 5, newKinds: 0, skipped: { 'queue-full': 0 } })
    Atomics.store(stall, 0, 1)
    Atomics.notify(stall, 0)
    await proxy.idle()
    expect(seen).toEqual([200, 400, 200, 200, 200])
    await proxy.close()
  })

  it('with a worker that keeps up, nothing is skipped', async () => {
    const proxy = await proxyTo(await upstream(), { queue: 2 })
    for (let i = 0; i < 5; i++) {
      await get(proxy)
      await proxy.idle()
    }
    expect(proxy.stats()).toMatchObject({ exchanges: 5, captured: 5, judgedLive: 5, skipped: { 'queue-full': 0, 'observer-failed': 0, stopping: 0 } })
    await proxy.close()
  })

  it('close writes the session report', async () => {
    const reportDir = tmp.dir()
    const proxy = await proxyTo(await upstream(), { reportDir, formats: ['json'] })
    for (let i = 0; i < 3; i++) await get(proxy)
    const session = await proxy.close()
    expect(session.files).toEqual([expect.stringMatching(/report\.json$/)])
    const report = JSON.parse(readFileSync(join(reportDir, 'report.json'), 'utf8'))
    expect(report.outcome).toBe('drift')
    expect(report.findings.map((f: { title: string }) => f.title)).toEqual(session.report.findings.map((f) => f.title))
  })

  it('abort leaves the journal with every captured exchange, and the next start recovers it', async () => {
    const out = tmp.dir()
    const proxy = await proxyTo(await upstream(), { recordingsDir: out })
    for (let i = 0; i < 4; i++) await get(proxy)
    await proxy.idle()
    const a = await proxy.abort()
    expect(a.journal).toBeDefined()
    expect(existsSync(a.journal!)).toBe(true)
    expect(a.stats.journaled).toBeGreaterThan(0)
    const next = await proxyTo(await upstream(), { recordingsDir: out })
    // Two distinct shapes among the four answers (the drifting third is the second): two journal lines, recovered.
    expect(next.recovered?.exchanges).toBe(2)
    await next.close()
    expect(loadRecordings(out).get('phone-numbers.get')).toHaveLength(1)
  })

  it('a worker that crashes is counted observer-failed and said; the application keeps being served and close still reports', async () => {
    const errors: string[] = []
    const proxy = await proxyTo(await upstream(), { threadHooks: { crashAt: 2 }, onError: (m) => errors.push(m) })
    expect(await get(proxy)).toBe(200)
    await proxy.idle()
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      statuses.push(await get(proxy))
      await proxy.idle()
    }
    expect(statuses).toEqual(Array(6).fill(200))
    const st = proxy.stats()
    expect(st.exchanges).toBe(7)
    expect(st.skipped['observer-failed']).toBeGreaterThanOrEqual(5)
    expect(errors.filter((e) => /the observer thread stopped/.test(e))).toHaveLength(1)
    const session = await proxy.close()
    expect(session.report.findings.find((f) => f.contract === '(proxy)')?.title).toMatch(/^The session report covers \d of 7 forwarded exchanges$/)
  })
})
