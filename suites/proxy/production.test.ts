/**
 * Production mode against review mode, over real sockets: the application is never delayed by the
 * observer in production (a slow observer makes exchanges skipped and counted, never requests
 * wait), review mode waits and loses nothing, and the counts add up (forwarded = captured +
 * skipped). Also what production forwards that review does not (Accept-Encoding), and what it
 * stores: the first few shapes of an operation, big bodies as a size and a hash.
 */
import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { gzipSync } from 'node:zlib'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import type { CapturedExchange, IncidentSink } from '../../src/proxy/exchange.ts'
import { startProxy, type ProxyExchange, type ProxyOptions, type RunningProxy } from '../../src/commands/proxy.ts'
import { loadRecordings } from '../../src/recordings/store.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const ROOT = join(import.meta.dirname, '..', '..')
const CONTRACTS = join(ROOT, 'contracts/meta')
const PHONE = '106540352242922'
const TOKEN = 'EAAtesttoken0123456789'
const tmp = tempDirs('dw-proxy-prod-')
const cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined)
})

/** An upstream answering the phone number's GET with `body(n)` for the n-th request; counts what reached it. */
async function upstream(body: (n: number, gzip: boolean) => { json: unknown; gzip?: boolean } = () => ({ json: phone() })): Promise<{ url: string; hits: () => number }> {
  let hits = 0
  const server: Server = createServer((req, res) => {
    hits++
    const wantsGzip = /gzip/.test(String(req.headers['accept-encoding'] ?? ''))
    const b = body(hits, wantsGzip)
    const text = Buffer.from(JSON.stringify(b.json))
    const bytes = b.gzip ? gzipSync(text) : text
    res.writeHead(200, { 'Content-Type': 'application/json; charset=UTF-8', 'facebook-api-version': 'v23.0', 'x-fb-request-id': `R${hits}`, 'x-business-use-case-usage': '{}', 'Content-Length': bytes.length, ...(b.gzip ? { 'Content-Encoding': 'gzip' } : {}) })
    res.end(bytes)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanup.push(() => new Promise((r) => server.close(r)))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hits: () => hits }
}

function phone(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { verified_name: 'Driftwatch Test', code_verification_status: 'VERIFIED', display_phone_number: '+1 555-0100', quality_rating: 'GREEN', platform_type: 'CLOUD_API', throughput: { level: 'STANDARD' }, id: PHONE, ...extra }
}

async function proxyTo(url: string, opts: Partial<ProxyOptions> = {}): Promise<{ proxy: RunningProxy; seen: ProxyExchange[] }> {
  const seen: ProxyExchange[] = []
  const proxy = await startProxy({ upstream: url, contractsDir: CONTRACTS, cwd: ROOT, compactEveryMs: 0, env: { WHATSAPP_PHONE_NUMBER_ID: PHONE }, onExchange: (e) => seen.push(e), ...opts })
  cleanup.push(() => proxy.abort())
  return { proxy, seen }
}

async function get(proxy: RunningProxy, headers: Record<string, string> = {}): Promise<{ status: number; bytes: Buffer; headers: Record<string, unknown> }> {
  const res = await request(`${proxy.url}/v23.0/${PHONE}`, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } })
  return { status: res.statusCode, bytes: Buffer.from(await res.body.arrayBuffer()), headers: res.headers }
}

/** A gate the observer waits at: closed until `open()`. */
function gate(): { wait: () => Promise<void>; open: () => void; reached: () => number } {
  let open!: () => void
  const opened = new Promise<void>((r) => (open = r))
  let reached = 0
  return { wait: () => (reached++, opened), open: () => open(), reached: () => reached }
}

describe('proxy production mode', () => {
  it('with the observer stuck (an incident sink that does not answer), every request is answered and the rest is counted as skipped, queue-full', async () => {
    const up = await upstream()
    let release!: () => void
    const stuck = new Promise<void>((r) => (release = r))
    let judged = 0
    const incidents: IncidentSink = { judged: () => (judged++, stuck), open: () => [], close: async () => undefined }
    // What /metrics counts: every response by status on the request path, judged exchanges by the observer.
    const responded: (number | undefined)[] = []
    let observed = 0
    const { proxy } = await proxyTo(up.url, { queue: 2, incidents, metrics: { responded: (st) => responded.push(st), exchange: () => observed++ } })
    const statuses: number[] = []
    for (let i = 0; i < 20; i++) statuses.push((await get(proxy)).status)
    // Every request was forwarded and answered while the observer waited on the sink.
    expect(statuses).toEqual(Array(20).fill(200))
    expect(up.hits()).toBe(20)
    expect(judged).toBe(1)
    const st = proxy.stats()
    expect(st.exchanges).toBe(20)
    expect(st.captured).toBe(3) // the one being observed and a full queue of two
    expect(st.skipped).toEqual({ 'queue-full': 17, 'observer-failed': 0, stopping: 0 })
    expect(st.captured + st.skipped['queue-full']).toBe(st.exchanges)
    // Twenty of one kind: nothing was new, so nothing went past the bound.
    expect(st.newKinds).toBe(0)
    // Every response is counted by status, though one was judged so far.
    expect(responded).toEqual(Array(20).fill(200))
    expect(observed).toBe(1)
    release()
    const session = await proxy.close()
    expect(session.stats).toMatchObject({ exchanges: 20, captured: 3, judgedLive: 3 })
    expect(session.counts.entries).toBe(3)
    // The report says what it covers.
    expect(session.report.findings.filter((f) => f.contract === '(proxy)').map((f) => [f.severity, f.title])).toEqual([['info', 'The session report covers 3 of 20 forwarded exchanges']])
  })

  it('with the observer stuck, the first exchange of a new kind (the seed incident: a media GET answered 400, chunked) is still taken, and judged once the observer is free', async () => {
    const server: Server = createServer((req, res) => {
      if (req.url!.startsWith(`/v23.0/${PHONE}`)) {
        const b = Buffer.from(JSON.stringify(phone()))
        res.writeHead(200, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': b.length })
        return res.end(b)
      }
      // No Content-Length: node:http frames it chunked, as Meta's media endpoint did on Jan 20.
      res.writeHead(400, { 'Content-Type': 'application/json; charset=UTF-8', 'WWW-Authenticate': 'OAuth "Facebook Platform" "invalid_request"' })
      res.end(JSON.stringify({ error: { message: 'Unsupported get request.', type: 'GraphMethodException', code: 100, error_subcode: 33, fbtrace_id: 'A1' } }))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    cleanup.push(() => new Promise((r) => server.close(r)))
    let release!: () => void
    const stuck = new Promise<void>((r) => (release = r))
    const dated: { contract: string; at: number }[] = []
    const incidents: IncidentSink = { judged: (contract, _f, at) => (dated.push({ contract, at }), stuck), open: () => [], close: async () => undefined }
    const { proxy, seen } = await proxyTo(`http://127.0.0.1:${(server.address() as { port: number }).port}`, { queue: 2, incidents })
    for (let i = 0; i < 10; i++) expect((await get(proxy)).status).toBe(200)
    expect(proxy.stats()).toMatchObject({ captured: 3, newKinds: 0, skipped: { 'queue-full': 7 } })
    const media = async () => (await request(`${proxy.url}/v23.0/1037543291543636?phone_number_id=${PHONE}`, { headers: { authorization: `Bearer ${TOKEN}` } })).body.text()
    const mediaSent = Date.now()
    for (let i = 0; i < 3; i++) await media()
    for (let i = 0; i < 3; i++) await get(proxy)
    // The first media GET went past the bound; the two after it, and more phone GETs, are of kinds just taken.
    expect(proxy.stats()).toMatchObject({ exchanges: 16, captured: 4, newKinds: 1, skipped: { 'queue-full': 12 } })
    await new Promise((r) => setTimeout(r, 300))
    const released = Date.now()
    release()
    await proxy.idle()
    // It went to the front of the queue: observed right after the exchange the observer was stuck on, before the two queued.
    expect(seen.map((e) => e.path.split('?')[0])).toEqual([`/v23.0/${PHONE}`, '/v23.0/1037543291543636', `/v23.0/${PHONE}`, `/v23.0/${PHONE}`])
    // Dated by the exchange, not by when the observer got to it: the two phone GETs that waited in the queue were judged
    // after the release, and their incidents are dated before it (the media GET is an ambiguous /{id}: no incident).
    expect(dated.map((d) => d.contract)).toEqual(['phone-numbers.get', 'phone-numbers.get', 'phone-numbers.get'])
    for (const d of dated) expect(d.at).toBeLessThan(released)
    expect(dated.every((d) => d.at < mediaSent)).toBe(true)
    const session = await proxy.close()
    expect(session.stats).toMatchObject({ captured: 4, judgedLive: 4 })
    // The media GET was judged: the framing change is in the report, with its status.
    const framing = session.report.findings.filter((f) => /^Framing changed to chunked/.test(f.title))
    expect(framing.map((f) => f.evidence?.status)).toEqual([400])
  })

  it('the first of a new kind goes ahead of a queue that is not full yet (a bench run found it waiting 4.5 s behind 1,000 routine exchanges)', async () => {
    const server: Server = createServer((req, res) => {
      const b = Buffer.from(JSON.stringify(req.url!.startsWith(`/v23.0/${PHONE}`) ? phone() : { error: { message: 'x', type: 'OAuthException', code: 100, fbtrace_id: 'A' } }))
      res.writeHead(req.url!.startsWith(`/v23.0/${PHONE}`) ? 200 : 400, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': b.length })
      res.end(b)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    cleanup.push(() => new Promise((r) => server.close(r)))
    const held = gate()
    const { proxy, seen } = await proxyTo(`http://127.0.0.1:${(server.address() as { port: number }).port}`, { queue: 10, beforeObserve: (x: CapturedExchange) => (x.index === 1 ? held.wait() : undefined) })
    for (let i = 0; i < 4; i++) await get(proxy)
    await (await request(`${proxy.url}/v23.0/1037543291543636`, { headers: { authorization: `Bearer ${TOKEN}` } })).body.text()
    // Room in the queue: nothing went past the bound, nothing was skipped.
    expect(proxy.stats()).toMatchObject({ captured: 5, newKinds: 0, skipped: { 'queue-full': 0 } })
    held.open()
    await proxy.idle()
    expect(seen.map((e) => e.status)).toEqual([200, 400, 200, 200, 200])
    await proxy.close()
  })

  it('queues 128 exchanges by default in production (a deeper queue under overload only holds exchanges judged late)', async () => {
    const up = await upstream()
    const held = gate()
    const { proxy } = await proxyTo(up.url, { beforeObserve: (x: CapturedExchange) => (x.index === 1 ? held.wait() : undefined) })
    for (let i = 0; i < 140; i++) expect((await get(proxy)).status).toBe(200)
    // One being observed (held), 128 waiting, the rest skipped: nothing past the bound, all one kind.
    expect(proxy.stats()).toMatchObject({ exchanges: 140, captured: 129, newKinds: 0, skipped: { 'queue-full': 11 } })
    held.open()
    await proxy.close()
  })

  it('with an observer that keeps up, every exchange is captured and judged, and the report says nothing about coverage', async () => {
    const up = await upstream()
    const { proxy, seen } = await proxyTo(up.url, { queue: 2 })
    for (let i = 0; i < 5; i++) {
      await get(proxy)
      await proxy.idle()
    }
    const session = await proxy.close()
    expect(session.stats).toMatchObject({ exchanges: 5, captured: 5, judgedLive: 5, skipped: { 'queue-full': 0, 'observer-failed': 0, stopping: 0 } })
    expect(seen).toHaveLength(5)
    expect(session.report.findings.filter((f) => f.contract === '(proxy)')).toEqual([])
  })

  it('an observer that throws on an exchange counts it as skipped, observer-failed, and says so; the application was answered', async () => {
    const up = await upstream()
    const errors: string[] = []
    const { proxy } = await proxyTo(up.url, { onError: (m) => errors.push(m), beforeObserve: (x: CapturedExchange) => { if (x.index === 2) throw new Error('boom') } })
    for (let i = 0; i < 3; i++) expect((await get(proxy)).status).toBe(200)
    await proxy.idle()
    expect(proxy.stats()).toMatchObject({ exchanges: 3, captured: 2, skipped: { 'observer-failed': 1 } })
    expect(errors).toEqual([expect.stringMatching(/^exchange 2 \(GET \/v23\.0\/106540352242922\) was answered but not observed: boom$/)])
  })

  it('forwards Accept-Encoding: the application gets the upstream gzip bytes unchanged, and the observer inflates them to judge and record', async () => {
    const up = await upstream((_n, gz) => ({ json: phone(), gzip: gz }))
    const out = tmp.dir()
    const { proxy, seen } = await proxyTo(up.url, { recordingsDir: out })
    const res = await get(proxy, { 'accept-encoding': 'gzip' })
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(res.bytes).toEqual(gzipSync(Buffer.from(JSON.stringify(phone()))))
    await proxy.idle()
    expect(seen.map((e) => [e.contract, e.findings.map((f) => f.title)])).toEqual([['phone-numbers.get', []]])
    await proxy.close()
    const body = loadRecordings(out).get('phone-numbers.get')![0]!.observations[0]!.response!.body
    expect(body.json).toMatchObject({ id: PHONE, verified_name: expect.any(String) })
  })
})

describe('proxy review mode', () => {
  it('waits: with the observer held, new requests are not forwarded until there is room, and none is lost', async () => {
    const up = await upstream()
    const g = gate()
    const { proxy } = await proxyTo(up.url, { mode: 'review', queue: 1, beforeObserve: () => g.wait() })
    const first = await get(proxy) // observed now, held at the gate
    const second = await get(proxy) // queued: the queue is full
    expect([first.status, second.status]).toEqual([200, 200])
    while (g.reached() === 0) await new Promise((r) => setImmediate(r))
    let thirdDone = false
    const third = get(proxy).then((r) => ((thirdDone = true), r))
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
    // Backpressure: the third request waits in the proxy, the upstream has not seen it.
    expect(up.hits()).toBe(2)
    expect(thirdDone).toBe(false)
    g.open()
    expect((await third).status).toBe(200)
    const session = await proxy.close()
    expect(session.stats).toMatchObject({ exchanges: 3, captured: 3, waited: 1, skipped: { 'queue-full': 0, 'observer-failed': 0, stopping: 0 } })
    expect(session.counts.entries).toBe(3)
  })
})

describe('proxy recordings stay bounded', () => {
  it('records the first shapes of an operation and status and counts the rest; a body over the cap as its size and sha256', async () => {
    const big = 'x'.repeat(100_000)
    // Requests 1-3: one shape; 4-8: a new key each; 9: a body over the cap.
    const up = await upstream((n) => ({ json: n <= 3 ? phone() : n <= 8 ? phone({ [`extra_${n}`]: n }) : phone({ about: big }) }))
    const out = tmp.dir()
    const { proxy, seen } = await proxyTo(up.url, { recordingsDir: out, maxShapes: 4, recordBodyBytes: 64 * 1024 })
    for (let i = 0; i < 9; i++) {
      await get(proxy)
      await proxy.idle()
    }
    expect(seen.map((e) => e.counted === true)).toEqual([false, true, true, false, false, false, true, true, true])
    await proxy.close()
    const rec = loadRecordings(out).get('phone-numbers.get')![0]!
    expect(rec.exchanges).toBe(9)
    expect(rec.observations.map((o) => Object.keys(o.response!.body.json as object).filter((k) => k.startsWith('extra_')))).toEqual([[], ['extra_4'], ['extra_5'], ['extra_6']])
  })

  it('records a change of framing with the same body shape (the seed incident: Content-Length, then chunked), which a known shape would have hidden', async () => {
    let n = 0
    const server: Server = createServer((_req, res) => {
      const b = Buffer.from(JSON.stringify(phone()))
      // Requests 1-3 with a Content-Length; 4-5 without one: node:http frames them chunked.
      res.writeHead(200, { 'Content-Type': 'application/json; charset=UTF-8', ...(++n <= 3 ? { 'Content-Length': b.length } : {}) })
      res.end(b)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    cleanup.push(() => new Promise((r) => server.close(r)))
    const out = tmp.dir()
    const { proxy, seen } = await proxyTo(`http://127.0.0.1:${(server.address() as { port: number }).port}`, { recordingsDir: out, maxShapes: 4 })
    for (let i = 0; i < 5; i++) {
      await get(proxy)
      await proxy.idle()
    }
    expect(seen.map((e) => e.counted === true)).toEqual([false, true, true, false, true])
    await proxy.close()
    const rec = loadRecordings(out).get('phone-numbers.get')![0]!
    expect(rec.observations.map((o) => o.response!.framing.kind)).toEqual(['content-length', 'chunked'])
  })

  it('a body over the recording cap is recorded as its size and sha256, never whole; one under it whole', async () => {
    const big = JSON.stringify(phone({ about: 'y'.repeat(200_000) }))
    const up = await upstream((n) => ({ json: n === 1 ? phone() : JSON.parse(big) }))
    const out = tmp.dir()
    const { proxy } = await proxyTo(up.url, { recordingsDir: out, recordBodyBytes: 64 * 1024 })
    await get(proxy)
    await get(proxy)
    await proxy.close()
    const [small, large] = loadRecordings(out).get('phone-numbers.get')![0]!.observations.map((o) => o.response!.body)
    expect(small).toMatchObject({ truncated: false, json: { id: PHONE } })
    expect(large).toEqual({ size: big.length, sha256: createHash('sha256').update(big).digest('hex'), keptBytes: 0, truncated: true, jsonError: `body is ${big.length} bytes, over the 65536-byte recording cap: recorded as its size and sha256, not parsed` })
  })

  it('removes the temp file of a compaction that was interrupted, at the next start, and says which', async () => {
    const up = await upstream()
    const out = tmp.dir()
    mkdirSync(join(out, 'phone-numbers.get'))
    const stale = join(out, 'phone-numbers.get', '.proxy.json.tmp-4194303-00aa11bb')
    writeFileSync(stale, '{"version": 1, "observations": [')
    const { proxy } = await proxyTo(up.url, { recordingsDir: out })
    expect(proxy.removedTemps).toEqual([stale])
    expect(existsSync(stale)).toBe(false)
    const { proxy: again } = await proxyTo(up.url, { recordingsDir: tmp.dir() })
    expect(again.removedTemps).toEqual([])
  })
})
