/**
 * The recording proxy over real sockets: our typed media client talks to the simulator through
 * it. What the client receives is what the upstream sent (bytes, status, chunked framing); every
 * exchange is checked and recorded, redacted; a client sending POST with method=get is flagged
 * as consumer drift the moment it happens.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { MetaMediaClient, type ClientCall } from '../../src/client/meta-media-client.ts'
import { startProxy, type ProxyExchange, type ProxyMode, type RunningProxy } from '../../src/commands/proxy.ts'
import { loadRecordings } from '../../src/recordings/store.ts'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const CONTRACTS = join(ROOT, 'contracts/meta')
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6360000000000500010d0a2db40000000049454e44ae426082', 'hex')
const tmp: string[] = []
const running: (RunningProxy | RunningSimulator)[] = []
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.close()
})
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })))

async function setup(scenario = 'baseline', mode: ProxyMode = 'production') {
  const sim = await startSimulator({ scenario })
  running.push(sim)
  const out = mkdtempSync(join(tmpdir(), 'dw-proxy-'))
  tmp.push(out)
  const seen: ProxyExchange[] = []
  const proxy = await startProxy({ upstream: sim.url, contractsDir: CONTRACTS, recordingsDir: out, cwd: ROOT, mode, onExchange: (e) => seen.push(e) })
  running.push(proxy)
  const client = new MetaMediaClient({ baseUrl: proxy.url, apiVersion: 'v23.0', token: sim.credentials.token, allowHosts: [new URL(sim.url).host] })
  return { sim, proxy, out, seen, client }
}

/** A client with the Feb 6 2026 bug: retrieves with POST and method=get in the body. */
class LegacyClient extends MetaMediaClient {
  protected override send(call: ClientCall) {
    if (call.method !== 'GET' || call.url.pathname.includes('attachments')) return super.send(call)
    return super.send({ ...call, method: 'POST', headers: { ...call.headers, 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from('method=get') })
  }
}

const files = (d: string): string[] => readdirSync(d, { recursive: true, encoding: 'utf8' }).map((f) => join(d, f)).filter((f) => statSync(f).isFile())

describe('driftwatch proxy', () => {
  it('review mode: passes a good client through unchanged, checks and records every exchange, redacted', async () => {
    const { sim, proxy, out, seen, client } = await setup('baseline', 'review')
    const { id } = await client.upload(sim.credentials.phoneNumberId, { bytes: PNG, filename: 'dot.png', mimeType: 'image/png' })
    const meta = await client.retrieve(id)
    const media = await client.download(meta) // the URL names the upstream's own host: straight there, as from lookaside
    expect(media.sha256).toBe(createHash('sha256').update(PNG).digest('hex'))
    await client.delete(id)
    await proxy.idle()
    expect(seen.map((e) => [e.method, e.contract, e.status])).toEqual([
      ['POST', 'media.upload', 200],
      ['GET', 'media.retrieve-url', 200],
      ['DELETE', 'media.delete', 200],
    ])
    expect(seen.flatMap((e) => e.findings)).toEqual([])
    // Asked for gzip, the proxy asks the upstream for identity: a compressed body could not be checked.
    const gz = await request(`${proxy.url}/v23.0/${sim.credentials.phoneNumberId}`, { headers: { authorization: `Bearer ${sim.credentials.token}`, 'accept-encoding': 'gzip, deflate, br' } })
    expect(await gz.body.json()).toMatchObject({ id: sim.credentials.phoneNumberId })
    await proxy.idle()
    expect(seen.at(-1)!.findings).toEqual([])
    await proxy.compact()
    const recs = loadRecordings(out)
    expect(recs.get('phone-numbers.get')![0]!.observations[0]!.request.headers.map(([n]) => n.toLowerCase())).not.toContain('accept-encoding')
    expect([...recs.keys()].sort()).toEqual(['media.delete', 'media.retrieve-url', 'media.upload', 'phone-numbers.get'])
    expect(recs.get('media.retrieve-url')![0]).toMatchObject({ name: 'proxy', target: new URL(sim.url).origin })
    for (const f of files(out)) expect(readFileSync(f, 'utf8'), f).not.toContain(sim.credentials.token)
  })

  it('flags POST with method=get as consumer drift, live, whatever the upstream answers', async () => {
    const { sim, proxy, seen, client } = await setup()
    const legacy = new LegacyClient({ baseUrl: proxy.url, apiVersion: 'v23.0', token: sim.credentials.token })
    // An id the session has not seen: the body's method=get says the client meant GET, whichever operation it was after.
    await expect(legacy.retrieve('1390000000007919')).rejects.toThrow()
    await proxy.idle()
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ attribution: 'wrong-method' })
    expect(seen[0]!.contract).toBeUndefined()
    expect(seen[0]!.findings.map((f) => [f.contract, f.check, f.severity, f.title])).toEqual([['(unattributed)', 'consumer-method', 'breaking', 'Our client sent POST where the endpoint takes GET']])
    // An id the session's own upload named: the media endpoint, which takes GET and DELETE; nothing is recorded for it.
    const { id } = await client.upload(sim.credentials.phoneNumberId, { bytes: PNG, filename: 'dot.png', mimeType: 'image/png' })
    await expect(legacy.retrieve(id)).rejects.toThrow()
    await proxy.idle()
    expect(seen.at(-1)).toMatchObject({ contract: 'media.retrieve-url', attribution: 'wrong-method' })
    expect(seen.at(-1)!.recording).toBeUndefined()
    expect(seen.at(-1)!.findings.map((f) => [f.check, f.severity, f.title])).toEqual([['consumer-method', 'breaking', 'Our client sent POST where the endpoint takes GET or DELETE']])
  })

  it('keeps the upstream framing: a chunked response reaches the client chunked, and is reported', async () => {
    const { sim, proxy, seen, client } = await setup('media-chunked')
    const { id } = await client.upload(sim.credentials.phoneNumberId, { bytes: PNG, filename: 'dot.png', mimeType: 'image/png' })
    const res = await request(`${proxy.url}/v23.0/${id}`, { headers: { authorization: `Bearer ${sim.credentials.token}` } })
    const body = await res.body.json()
    expect(res.headers['transfer-encoding']).toBe('chunked')
    expect(res.headers['content-length']).toBeUndefined()
    expect(body).toMatchObject({ id, mime_type: 'image/png' })
    await proxy.idle()
    const retrieve = seen.find((e) => e.contract === 'media.retrieve-url')!
    expect(retrieve.findings.map((f) => [f.check, f.severity])).toEqual([['framing-conformance', 'breaking']])
  })

  it('says so when an exchange cannot be recorded, and still answers the application', async () => {
    const sim = await startSimulator()
    running.push(sim)
    const out = mkdtempSync(join(tmpdir(), 'dw-proxy-'))
    tmp.push(out)
    writeFileSync(join(out, 'phone-numbers.get'), 'a file where the recording directory should go')
    const errors: string[] = []
    const proxy = await startProxy({ upstream: sim.url, contractsDir: CONTRACTS, recordingsDir: out, cwd: ROOT, onError: (m) => errors.push(m) })
    running.push(proxy)
    const res = await request(`${proxy.url}/v23.0/${sim.credentials.phoneNumberId}`, { headers: { authorization: `Bearer ${sim.credentials.token}` } })
    expect(res.statusCode).toBe(200)
    await res.body.json()
    await proxy.idle()
    expect(errors).toEqual([expect.stringMatching(/^exchange 1 \(GET \/v23\.0\/\d+\) was answered but cannot be recorded: cannot write recording .*phone-numbers\.get\/proxy\.json \(ENOTDIR\); it is kept in the journal .*\.journal\/proxy\.jsonl$/)])
    expect(errors[0]).not.toContain(sim.credentials.token)
  })

  it('lists a request no operation describes instead of dropping it, and answers 502 when the upstream is gone', async () => {
    const { sim, proxy, seen } = await setup()
    const res = await request(`${proxy.url}/v23.0/me/businesses`, { headers: { authorization: `Bearer ${sim.credentials.token}` } })
    await res.body.text()
    await proxy.idle()
    expect(seen[0]!.findings.map((f) => [f.contract, f.check, f.severity, f.title])).toEqual([['(no operation)', 'attribution', 'info', 'No operation describes GET /{api_version}/me/businesses']])
    await sim.close()
    running.splice(running.indexOf(sim), 1)
    const gone = await request(`${proxy.url}/v23.0/${sim.credentials.phoneNumberId}`)
    expect(gone.statusCode).toBe(502)
    expect(await gone.body.json()).toMatchObject({ error: { type: 'DriftwatchProxy', message: expect.stringMatching(/^driftwatch proxy: the upstream http:\/\/127.0.0.1:\d+ could not be reached \(ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:\d+\)$/) } })
  })

  it('a start that cannot listen leaves no journal behind, so the next start recovers nothing; a session with exchanges keeps its journal on abort', async () => {
    const { sim, proxy } = await setup()
    const dir = mkdtempSync(join(tmpdir(), 'dw-proxy-start-'))
    tmp.push(dir)
    const port = Number(new URL(proxy.url).port)
    await expect(startProxy({ upstream: sim.url, port, contractsDir: CONTRACTS, recordingsDir: dir, compactEveryMs: 0 })).rejects.toThrow(/cannot listen|EADDRINUSE/)
    expect(files(dir).filter((f) => f.includes('.journal'))).toEqual([])
    const next = await startProxy({ upstream: sim.url, port: 0, contractsDir: CONTRACTS, recordingsDir: dir, compactEveryMs: 0 })
    expect(next.recovered).toBeUndefined()
    const res = await request(`${next.url}/v23.0/${sim.credentials.phoneNumberId}`, { headers: { authorization: `Bearer ${sim.credentials.token}` } })
    await res.body.text()
    await next.idle()
    await next.abort()
    expect(files(dir).filter((f) => f.includes('.journal')).length).toBeGreaterThan(0)
  })
})
