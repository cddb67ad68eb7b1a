/**
 * The recording proxy under pressure, reproducing what users saw (issue 9): recording cost that
 * grew with the session, a second Ctrl-C that lost answered exchanges and left a 0-byte
 * `.proxy.json.tmp-*` file, and an unreachable upstream reported with a check mark and exit 0.
 * Real sockets on loopback: the simulator as the upstream, undici as the application.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pool } from 'undici'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { main, type CliIO } from '../../src/cli/main.ts'
import { startProxy, type ProxyExchange, type ProxyOptions, type RunningProxy } from '../../src/commands/proxy.ts'
import { journalPath } from '../../src/recordings/journal.ts'
import { loadRecordings, recordingPath } from '../../src/recordings/store.ts'
import { exitCodeOf } from '../../src/model/report.ts'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const CONTRACTS = join(ROOT, 'contracts/meta')
const tmp: string[] = []
const cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined)
})
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })))

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dw-proxy-rec-'))
  tmp.push(d)
  return d
}
const tempFiles = (d: string): string[] => readdirSync(d, { recursive: true, encoding: 'utf8' }).filter((f) => f.includes('.tmp-'))
const journalLines = (file: string): number => readFileSync(file, 'utf8').trimEnd().split('\n').length - 1

async function sim(scenario = 'baseline'): Promise<RunningSimulator> {
  const s = await startSimulator({ scenario })
  cleanup.push(() => s.close())
  return s
}

async function proxyTo(upstream: string, opts: Partial<ProxyOptions> = {}): Promise<{ proxy: RunningProxy; seen: ProxyExchange[]; errors: string[] }> {
  const seen: ProxyExchange[] = []
  const errors: string[] = []
  const proxy = await startProxy({ upstream, contractsDir: CONTRACTS, cwd: ROOT, compactEveryMs: 0, onExchange: (e) => seen.push(e), onError: (m) => errors.push(m), ...opts })
  cleanup.push(() => proxy.abort())
  return { proxy, seen, errors }
}

/** `n` GETs of the phone number, `concurrency` at a time, each answered before the call resolves. */
async function send(proxy: RunningProxy, s: RunningSimulator, n: number, concurrency = 1): Promise<number[]> {
  const pool = new Pool(proxy.url, { connections: concurrency })
  const statuses: number[] = []
  let next = 0
  const worker = async () => {
    while (next < n) {
      next++
      const res = await pool.request({ method: 'GET', path: `/v23.0/${s.credentials.phoneNumberId}`, headers: { authorization: `Bearer ${s.credentials.token}` } })
      await res.body.arrayBuffer()
      statuses.push(res.statusCode)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  await pool.close()
  return statuses
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
  return port
}

describe('recording proxy under pressure', () => {
  it('review mode writes the same bytes for the 200th exchange as for the 10th, and rewrites no recording until it compacts', async () => {
    const s = await sim()
    const out = dir()
    const { proxy } = await proxyTo(s.url, { recordingsDir: out, mode: 'review' })
    const perExchange: number[] = []
    for (let i = 0; i < 200; i++) {
      const before = proxy.stats().journalBytes
      await send(proxy, s, 1)
      await proxy.idle()
      perExchange.push(proxy.stats().journalBytes - before)
    }
    // Each exchange appends its own line and nothing else: the cost is flat, not growing with the session.
    const early = perExchange.slice(5, 15)
    const late = perExchange.slice(-10)
    expect(Math.max(...late)).toBeLessThanOrEqual(Math.max(...early) + 8) // a few more digits in sample numbers and timings
    expect(Math.min(...late)).toBeGreaterThan(0)
    expect(existsSync(recordingPath(out, 'phone-numbers.get', 'proxy'))).toBe(false)
    await proxy.compact()
    expect(loadRecordings(out).get("phone-numbers.get")![0]!.observations).toHaveLength(200)
    expect(journalLines(proxy.journal!)).toBe(200)
  })

  it('review mode: a stop at once in the middle of a burst loses no answered exchange and leaves no temp file; the next start recovers them', async () => {
    const s = await sim()
    const out = dir()
    let aborting: ReturnType<RunningProxy['abort']> | undefined
    const backlogs: number[] = []
    // Stopped from inside the 30th live line: other answers are waiting in the backlog then, others in flight, and a compaction runs.
    const { proxy } = await proxyTo(s.url, {
      recordingsDir: out,
      name: 'session',
      mode: 'review',
      onExchange: (e) => {
        backlogs.push(proxy.stats().backlog)
        // A slow terminal: each live line takes longer than the drain's slice, so answers pile up behind it.
        for (const t = performance.now(); performance.now() - t < 3; );
        if (e.index !== 30) return
        void proxy.compact().catch(() => undefined)
        aborting = proxy.abort()
      },
    })
    const pool = new Pool(proxy.url, { connections: 10 })
    const answered = (await Promise.all(Array.from({ length: 100 }, async () => {
      try {
        const res = await pool.request({ method: 'GET', path: `/v23.0/${s.credentials.phoneNumberId}`, headers: { authorization: `Bearer ${s.credentials.token}` } })
        await res.body.text()
        return res.statusCode === 200
      } catch {
        return false // abandoned in flight
      }
    }))).filter(Boolean).length
    await pool.destroy()
    const aborted = await aborting!
    expect(backlogs.at(-1)).toBeGreaterThan(0) // answered exchanges were waiting to be recorded when it stopped
    expect(aborted.stats.exchanges).toBeGreaterThanOrEqual(30)
    expect(aborted.stats.exchanges).toBeLessThan(100)
    // Every exchange the upstream answered whole is a journal line; those in flight were cut (the application lost them with the connections torn down).
    expect(aborted.stats.answered).toBeGreaterThanOrEqual(30)
    expect(aborted.stats).toMatchObject({ journaled: aborted.stats.answered, notRecorded: 0, backlog: 0 })
    expect(answered).toBeLessThanOrEqual(aborted.stats.answered)
    expect(journalLines(journalPath(out, 'session'))).toBe(aborted.stats.answered)
    expect(tempFiles(out)).toEqual([])

    const { proxy: next } = await proxyTo(s.url, { recordingsDir: out, name: 'session', mode: 'review' })
    expect(next.recovered).toMatchObject({ exchanges: aborted.stats.answered, damaged: 0, recordings: [{ contract: 'phone-numbers.get', observations: aborted.stats.answered }] })
    expect(loadRecordings(out).get('phone-numbers.get')![0]!.observations).toHaveLength(aborted.stats.answered)
    expect(readdirSync(join(out, '.journal'))).toEqual(['session.jsonl']) // the new session's own, fresh
    expect(journalLines(next.journal!)).toBe(0)
  })

  it('a first stop compacts, removes the journal and writes the report with outcome interrupted (exit 130)', async () => {
    const s = await sim()
    const out = dir()
    const reports = dir()
    const { proxy } = await proxyTo(s.url, { recordingsDir: out, reportDir: reports })
    await send(proxy, s, 5, 2)
    const session = await proxy.close({ interrupted: true })
    expect(session.report).toMatchObject({ outcome: 'interrupted', interrupted: true })
    expect(JSON.parse(readFileSync(join(reports, 'report.json'), 'utf8'))).toMatchObject({ outcome: 'interrupted', interrupted: true, summary: { entries: 5, attributed: 5 } })
    expect(exitCodeOf(session.report)).toBe(130)
    // Five answers of one shape: the first is recorded, the other four counted.
    expect(session.compaction).toMatchObject({ exchanges: 1, recordings: [{ contract: 'phone-numbers.get', observations: 1 }] })
    expect(loadRecordings(out).get('phone-numbers.get')![0]).toMatchObject({ exchanges: 5, observations: [expect.anything()] })
    expect(existsSync(journalPath(out, 'proxy'))).toBe(false)
    expect(tempFiles(out)).toEqual([])
  })

  it('closed by code (not Ctrl-C), a clean session passes', async () => {
    const s = await sim()
    const { proxy } = await proxyTo(s.url)
    await send(proxy, s, 2)
    const session = await proxy.close()
    expect(session.report.outcome).toBe('pass')
    expect(session.report.interrupted).toBeUndefined()
  })

  it('drift at --fail-on wins over interrupted: outcome drift, exit 1', async () => {
    const s = await sim('media-chunked')
    const { proxy } = await proxyTo(s.url)
    const pool = new Pool(proxy.url)
    const up = await pool.request({ method: 'POST', path: `/v23.0/${s.credentials.phoneNumberId}/media`, headers: { authorization: `Bearer ${s.credentials.token}`, 'content-type': 'multipart/form-data; boundary=b' }, body: '--b\r\nContent-Disposition: form-data; name="messaging_product"\r\n\r\nwhatsapp\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nPNG\r\n--b--\r\n' })
    const { id } = (await up.body.json()) as { id: string }
    await (await pool.request({ method: 'GET', path: `/v23.0/${id}`, headers: { authorization: `Bearer ${s.credentials.token}` } })).body.text()
    await pool.close()
    const session = await proxy.close({ interrupted: true })
    expect(session.report.findings.map((f) => [f.contract, f.check, f.severity])).toContainEqual(['media.retrieve-url', 'framing-conformance', 'breaking'])
    expect(session.report.outcome).toBe('drift')
    expect(exitCodeOf(session.report)).toBe(1)
  })

  it('an unreachable upstream: a 502 naming driftwatch, a finding with a 3 a.m. title, and an inconclusive session (exit 3)', async () => {
    const port = await closedPort()
    const { proxy, seen } = await proxyTo(`http://127.0.0.1:${port}`)
    const pool = new Pool(proxy.url)
    const res = await pool.request({ method: 'GET', path: '/v23.0/106540352242922' })
    expect(res.statusCode).toBe(502)
    expect(await res.body.json()).toEqual({ error: { message: `driftwatch proxy: the upstream http://127.0.0.1:${port} could not be reached (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port})`, type: 'DriftwatchProxy', code: 502 } })
    await pool.close()
    await proxy.idle()
    expect(seen.map((e) => e.status)).toEqual([undefined])
    const session = await proxy.close({ interrupted: true })
    expect(session.report.findings.filter((f) => f.contract === '(upstream)').map((f) => [f.check, f.title, f.samples, f.of])).toEqual([['transport', `Upstream unreachable: connect ECONNREFUSED 127.0.0.1:${port}`, 1, 1]])
    expect(session.report.results.find((r) => r.contract === '(upstream)')).toMatchObject({ status: 'inconclusive', reason: 'no exchange got a whole answer (1 tried)' })
    expect(session.report.outcome).toBe('inconclusive')
    expect(exitCodeOf(session.report)).toBe(3)
    expect(session.stats).toMatchObject({ exchanges: 1, answered: 0, failedBeforeAnswer: 1, abortedMidBody: 0 })
  })

  it('an upstream that answers: no (upstream) finding or result', async () => {
    const s = await sim()
    const { proxy } = await proxyTo(s.url)
    await send(proxy, s, 1)
    const session = await proxy.close({ interrupted: true })
    expect(session.report.findings.filter((f) => f.contract === '(upstream)')).toEqual([])
    expect(session.report.results.map((r) => r.contract)).toEqual(['phone-numbers.get'])
    expect(session.stats).toMatchObject({ answered: 1, failedBeforeAnswer: 0, abortedMidBody: 0 })
  })

  it('review mode, over the live bound: exchanges are recorded and judged in the session report, never dropped', async () => {
    const s = await sim()
    const out = dir()
    const { proxy, seen } = await proxyTo(s.url, { recordingsDir: out, liveJudgeBacklog: 0, mode: 'review' })
    await send(proxy, s, 2)
    const pool = new Pool(proxy.url)
    await (await pool.request({ method: 'GET', path: '/v23.0/me/businesses', headers: { authorization: `Bearer ${s.credentials.token}` } })).body.text()
    await pool.close()
    await proxy.idle()
    expect(seen.map((e) => [e.judged, e.findings.length, e.recording !== undefined])).toEqual([[false, 0, true], [false, 0, true], [false, 0, false]])
    const session = await proxy.close({ interrupted: true })
    expect(session.stats).toMatchObject({ judgedLive: 0, exchanges: 3, journaled: 2 })
    expect(session.report.results.map((r) => [r.contract, r.probes])).toEqual([['phone-numbers.get', 2]])
    // What the live line left out, the session report has.
    expect(session.report.findings.map((f) => f.title)).toContain('No operation describes GET /{api_version}/me/businesses')
  })

  it('under the live bound, every exchange is judged as it happens', async () => {
    const s = await sim()
    const { proxy, seen } = await proxyTo(s.url)
    const pool = new Pool(proxy.url)
    await (await pool.request({ method: 'GET', path: '/v23.0/me/businesses', headers: { authorization: `Bearer ${s.credentials.token}` } })).body.text()
    await pool.close()
    await proxy.idle()
    expect(seen.map((e) => [e.judged, e.findings.map((f) => f.title)])).toEqual([[true, ['No operation describes GET /{api_version}/me/businesses']]])
  })

  it('an exchange that cannot be recorded makes the session an error (exit 2), and its journal is kept', async () => {
    const s = await sim()
    const out = dir()
    const { writeFileSync } = await import('node:fs')
    writeFileSync(join(out, 'phone-numbers.get'), 'a file where the recording directory should go')
    const { proxy, errors } = await proxyTo(s.url, { recordingsDir: out })
    await send(proxy, s, 2)
    const session = await proxy.close({ interrupted: true })
    expect(session.stats.notRecorded).toBe(2)
    expect(session.journalKept).toBe(journalPath(out, 'proxy'))
    expect(journalLines(session.journalKept!)).toBe(2)
    expect(session.report).toMatchObject({ outcome: 'error', error: { code: 'DW_OUTPUT_FAILED', message: expect.stringContaining('2 answered exchanges were not recorded; they are kept in the journal') } })
    expect(exitCodeOf(session.report)).toBe(2)
    expect(errors.at(-1)).toMatch(/cannot write recording .*phone-numbers\.get\/proxy\.json \(ENOTDIR\): 2 exchanges of phone-numbers\.get answered but not in a recording; they are kept in the journal/)
    expect(tempFiles(out)).toEqual([])
  })
})

describe('driftwatch proxy (the command)', () => {
  function io(): CliIO & { out: string[]; err: string[]; first: AbortController; second: AbortController } {
    const out: string[] = []
    const err: string[] = []
    const first = new AbortController()
    const second = new AbortController()
    return { out, err, first, second, stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: {}, cwd: ROOT, interrupt: first.signal, halt: second.signal }
  }
  async function listening(o: { out: string[] }): Promise<string> {
    for (;;) {
      const line = o.out.find((l) => l.startsWith('driftwatch proxy listening on '))
      if (line) return /listening on (\S+),/.exec(line)![1]!
      await new Promise((r) => setImmediate(r))
    }
  }

  it('exits 3 with an unreachable upstream, saying so', async () => {
    const port = await closedPort()
    const o = io()
    const reports = dir()
    const run = main(['proxy', '--upstream', `http://127.0.0.1:${port}`, '--port', '0', '--no-record', '--out', reports, '--format', 'json'], o)
    const url = await listening(o)
    const pool = new Pool(url)
    await (await pool.request({ method: 'GET', path: '/v23.0/me' })).body.text()
    await pool.close()
    o.first.abort()
    expect(await run).toBe(3)
    expect(o.err.join('\n')).toContain('✗ GET /v23.0/me → no answer from the upstream (the application saw the same failure)')
    expect(o.out.join('\n')).toMatch(/INCONCLUSIVE: .*/)
  })

  it('listening on every address, it tells the operator to use the host\'s name, not 0.0.0.0', async () => {
    const o = io()
    const run = main(['proxy', '--upstream', 'http://127.0.0.1:9', '--host', '0.0.0.0', '--port', '0', '--no-record', '--out', dir(), '--format', 'json'], o)
    const url = await listening(o)
    o.first.abort()
    await run
    expect(url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/)
    const port = url.split(':').at(-1)
    expect(o.out.join('\n')).toContain(`Point your application's Graph API base URL at http://<this host's name or address>:${port};`)
  })

  it('an answer cut mid-body is a failure on its line, attributed or not, even under --quiet (an operator saw "✓ … 200 (no operation)")', async () => {
    // A raw upstream: a 200 head with a Content-Length of 100, ten bytes, then a reset.
    const upstream = createServer((sock) => {
      sock.once('data', () => {
        sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"data": [')
        setTimeout(() => sock.resetAndDestroy(), 20)
      })
    })
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
    const o = io()
    const run = main(['proxy', '--upstream', `http://127.0.0.1:${(upstream.address() as { port: number }).port}`, '--port', '0', '--no-record', '--out', dir(), '--format', 'json', '--quiet'], o)
    const url = await listening(o)
    const pool = new Pool(url)
    const failed = await pool.request({ method: 'GET', path: '/v23.0/reset' }).then((r) => r.body.text()).then(() => 'answered', (err: Error) => err.name)
    await pool.close()
    o.first.abort()
    await run
    await new Promise<void>((r) => upstream.close(() => r()))
    expect(failed).not.toBe('answered')
    expect(o.err.join('\n')).toContain("✗ GET /v23.0/reset → 200, cut mid-body by the upstream (the application's connection was cut too) (no operation)")
    expect(o.err.join('\n')).not.toMatch(/✓ GET \/v23\.0\/reset/)
  })

  it('a clean stop (Ctrl-C or SIGTERM, once) is how a proxy ends: PASS, exit 0, report outcome pass (issue 20)', async () => {
    const s = await sim()
    const reports = dir()
    const o = io()
    const run = main(['proxy', '--upstream', s.url, '--port', '0', '--recordings', dir(), '--out', reports, '--format', 'json', '--quiet'], o)
    const url = await listening(o)
    const pool = new Pool(url, { connections: 2 })
    for (let i = 0; i < 3; i++) await (await pool.request({ method: 'GET', path: `/v23.0/${s.credentials.phoneNumberId}`, headers: { authorization: `Bearer ${s.credentials.token}` } })).body.text()
    await pool.close()
    o.first.abort()
    expect(await run).toBe(0)
    expect(o.out.join('\n')).toMatch(/^PASS: /m)
    expect(o.out.join('\n')).not.toContain('INTERRUPTED')
    expect(JSON.parse(readFileSync(join(reports, 'report.json'), 'utf8'))).toMatchObject({ outcome: 'pass' })
  })

  it('review mode: a second Ctrl-C exits 130 at once with every answered exchange in the journal and no temp file', async () => {
    const s = await sim()
    const out = dir()
    const o = io()
    const run = main(['proxy', '--mode', 'review', '--upstream', s.url, '--port', '0', '--recordings', out, '--out', dir(), '--format', 'json', '--quiet'], o)
    const url = await listening(o)
    const pool = new Pool(url, { connections: 5 })
    await Promise.all(Array.from({ length: 20 }, async () => (await pool.request({ method: 'GET', path: `/v23.0/${s.credentials.phoneNumberId}`, headers: { authorization: `Bearer ${s.credentials.token}` } })).body.text()))
    await pool.close()
    o.first.abort()
    o.second.abort()
    expect(await run).toBe(130)
    expect(o.err.join('\n')).toMatch(/proxy stopped at once: 20 exchanges answered; 20 recorded exchanges are in .*\.journal\/proxy\.jsonl/)
    expect(journalLines(journalPath(out, 'proxy'))).toBe(20)
    expect(tempFiles(out)).toEqual([])
  })
})
