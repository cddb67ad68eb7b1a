/**
 * Fleet-aware sampling (issue 10): a fleet split per connection is invisible to samples that share
 * one keep-alive connection, and visible to samples over fresh connections; the finding says what
 * separates the failing samples. Real sockets on loopback, real simulator.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { sampleConsistencyCheck, separation, serverAttributes } from '../../src/checks/sample-consistency.ts'
import { loadContracts } from '../../src/contracts/load.ts'
import type { Observation } from '../../src/model/observation.ts'
import type { Report } from '../../src/model/report.ts'
import { runContracts } from '../../src/runner/run.ts'
import { NEW_BUILD_REV, REFUSES } from '../../src/simulator/scenarios/media-post-intermittent.ts'
import { CONTROL_PATH, startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'
import { DEFAULT_TOKEN_HOSTS, HostPolicy } from '../../src/transport/host-policy.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { Transport, type PreparedRequest, type ResolveAll } from '../../src/transport/transport.ts'

const pack = loadContracts('contracts/meta')
const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

async function sim(opts: Parameters<typeof startSimulator>[0] = {}): Promise<RunningSimulator> {
  const s = await startSimulator(opts)
  cleanup.push(() => s.close())
  return s
}

function transportFor(s: RunningSimulator, resolve?: ResolveAll): Transport {
  const t = new Transport({ token: s.credentials.token, hostPolicy: new HostPolicy({ allowHosts: [...DEFAULT_TOKEN_HOSTS, new URL(s.url).host, 'fleet.test'] }), redactor: new Redactor({ secrets: [s.credentials.token] }), timeoutMs: 5_000, ...(resolve ? { resolve } : {}) })
  cleanup.push(() => t.close())
  return t
}

async function check(connection: 'fresh' | 'reuse'): Promise<{ report: Report; observations: Observation[] }> {
  const s = await sim({ scenario: 'media-post-intermittent' })
  const observations: Observation[] = []
  const report = await runContracts({
    pack,
    target: 'sim',
    baseUrl: s.url,
    apiVersion: 'v23.0',
    variables: { phone_number_id: s.credentials.phoneNumberId, waba_id: s.credentials.wabaId, test_recipient: undefined },
    transport: transportFor(s),
    only: ['media.post-method'],
    connection,
    onObservations: (_p, obs) => observations.push(...obs),
  })
  return { report, observations: observations.filter((o) => o.contract === 'media.post-method') }
}

describe('a fleet split per connection (media-post-intermittent)', () => {
  it('is missed by samples over one reused connection: they all meet one server', async () => {
    const { report, observations } = await check('reuse')
    expect(observations).toHaveLength(8)
    expect(observations.every((o) => o.connection?.mode === 'shared')).toBe(true)
    expect(observations.slice(1).every((o) => o.connection?.reused === true)).toBe(true)
    expect(new Set(observations.map((o) => o.response?.status))).toEqual(new Set([405]))
    expect(report.findings.filter((f) => f.contract === 'media.post-method')).toEqual([])
  })

  it('is caught by samples over fresh connections, and the finding names the build that refuses', async () => {
    const { report, observations } = await check('fresh')
    expect(observations.every((o) => o.connection?.mode === 'fresh' && o.connection.reused === false && o.connection.remoteAddress === '127.0.0.1')).toBe(true)
    const split = report.findings.find((f) => f.check === 'sample-consistency')
    expect(split).toMatchObject({ contract: 'media.post-method', severity: 'breaking', title: 'Inconsistent status across samples: 5× 200, 3× 405' })
    expect(split!.message).toContain('The 8 samples went over 8 fresh connections to 1 address (127.0.0.1).')
    expect(split!.message).toContain(`What separates them: the 3 samples with status 405 all carried x-fb-rev ${NEW_BUILD_REV}; the 5 samples with status 200 all carried x-fb-rev 1029384756.`)
    expect(report.findings.find((f) => f.check === 'method-conformance')).toMatchObject({ samples: 5, of: 8 })
    // Each fresh connection met the next server of the fleet in turn (round-robin), whichever came first:
    // the statuses seen are the fleet's pattern (405 where a server refuses), rotated.
    const pattern = REFUSES.map((refuses) => (refuses ? 405 : 200))
    const rotations = pattern.map((_, i) => [...pattern.slice(i), ...pattern.slice(0, i)])
    expect(rotations).toContainEqual(observations.map((o) => o.response?.status))
  })
})

describe('fresh connections', () => {
  const probe = (url: string, connection: PreparedRequest['connection']): PreparedRequest => ({ contract: 't', sample: 1, method: 'GET', url, headers: [], auth: 'none', connection })

  it('take the addresses a host resolves to in turn, each a new connection', async () => {
    const s = await sim({ alsoListenOn: ['127.0.0.2'] })
    const port = new URL(s.url).port
    const t = transportFor(s, async () => [
      { address: '127.0.0.1', family: 4 },
      { address: '127.0.0.2', family: 4 },
    ])
    const before = s.connections
    const seen: Observation[] = []
    for (let i = 0; i < 4; i++) seen.push(await t.send(probe(`http://fleet.test:${port}/v23.0/debug_token`, 'fresh')))
    expect(seen.map((o) => o.connection?.remoteAddress)).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.1', '127.0.0.2'])
    expect(seen.every((o) => o.connection?.mode === 'fresh' && !o.connection.reused && o.response !== undefined)).toBe(true)
    expect(s.connections - before).toBe(4)
  })

  it('are not used for shared requests: those reuse one keep-alive connection', async () => {
    const s = await sim()
    const t = transportFor(s)
    const before = s.connections
    const seen: Observation[] = []
    for (let i = 0; i < 3; i++) seen.push(await t.send(probe(`${s.url}/v23.0/debug_token`, 'shared')))
    expect(seen.map((o) => o.connection?.reused)).toEqual([false, true, true])
    expect(seen.every((o) => o.connection?.mode === 'shared' && o.connection.remoteAddress === '127.0.0.1')).toBe(true)
    expect(s.connections - before).toBe(1)
  })

  it('say plainly when the host resolves to nothing, without sending', async () => {
    const s = await sim()
    const t = transportFor(s, async () => [])
    const o = await t.send(probe('http://nowhere.test:1/v23.0/x', 'fresh'))
    expect(o.response).toBeUndefined()
    expect(o.transportError).toMatchObject({ code: 'ENOTFOUND', phase: 'connect', unreachable: true })
    expect(o.transportError!.message).toContain('nowhere.test resolves to no address')
  })
})

describe('the simulator fleet', () => {
  it('pins a backend per connection, round-robin', async () => {
    const s = await sim({ scenario: 'media-post-intermittent', fleetSize: 8 })
    const t = transportFor(s)
    const revs: string[] = []
    for (let i = 0; i < 8; i++) {
      const o = await t.send({ contract: 't', sample: i + 1, method: 'GET', url: `${s.url}/v23.0/${s.credentials.phoneNumberId}`, headers: [], auth: 'bearer', connection: 'fresh' })
      revs.push(o.response!.rawHeaders.find(([n]) => n.toLowerCase() === 'x-fb-rev')![1])
    }
    expect(revs).toEqual(REFUSES.map((r) => (r ? NEW_BUILD_REV : '1029384756')))
  })

  it('switches scenario while running through its control endpoint, and refuses an unknown one', async () => {
    const s = await sim()
    const post = (body: string) => fetch(`${s.url}${CONTROL_PATH}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
    expect(await (await fetch(`${s.url}${CONTROL_PATH}`)).json()).toMatchObject({ scenario: 'baseline' })
    const ok = await post(JSON.stringify({ scenario: 'media-chunked' }))
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ scenario: 'media-chunked', previous: 'baseline' })
    expect(s.scenario.name).toBe('media-chunked')
    const bad = await post(JSON.stringify({ scenario: 'media-chunkd' }))
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: string }).error).toContain('unknown scenario "media-chunkd"')
    expect((await post('not json')).status).toBe(400)
    expect(s.scenario.name).toBe('media-chunked')
  })
})

describe('what separates the samples', () => {
  const obs = (status: number, address: string | undefined, headers: [string, string][], mode: 'fresh' | 'shared' = 'fresh'): Observation => ({
    contract: 'c',
    sample: 1,
    startedAt: '2026-11-25T00:00:00Z',
    request: { method: 'POST', url: 'https://graph.facebook.com/v23.0/1', headers: [], bodySize: 0, tokenSent: true },
    response: { status, statusText: '', rawHeaders: headers, framing: { kind: 'content-length', bytesRead: 0 }, body: { size: 0, sha256: '', keptBytes: 0, truncated: false } },
    timings: { totalMs: 1 },
    ...(address ? { connection: { mode, reused: mode === 'shared', remoteAddress: address } } : {}),
  })
  const exp = { request: 'POST /{api_version}/{media_id}' } as Parameters<typeof sampleConsistencyCheck.run>[1]

  it('names the address the failing samples shared', () => {
    const o = [obs(405, '157.240.22.35', []), obs(200, '157.240.1.1', []), obs(405, '157.240.22.35', []), obs(200, '157.240.2.2', []), obs(200, '157.240.1.1', [])]
    const [f] = sampleConsistencyCheck.run(o, exp, {} as never) as { message: string }[]
    expect(f!.message).toContain('What separates them: the 2 samples with status 405 all came from 157.240.22.35; the 3 samples with status 200 came from 2 addresses (157.240.1.1, 157.240.2.2).')
  })

  it('does not name a per-request id, nor an attribute both sides share', () => {
    const o = [obs(405, '10.0.0.1', [['x-fb-debug', 'a']]), obs(200, '10.0.0.1', [['x-fb-debug', 'b']]), obs(200, '10.0.0.1', [['x-fb-debug', 'c']])]
    const text = separation([{ label: '200', indexes: [1, 2] }, { label: '405', indexes: [0] }], o, 'status')
    expect(text).toContain('Nothing recorded separates them (remote address, x-fb-debug overlap or differ on every sample).')
    expect(text).not.toContain('What separates')
  })

  it('says when every sample shared one connection', () => {
    const o = [obs(405, '10.0.0.1', [], 'shared'), obs(200, '10.0.0.1', [], 'shared')]
    expect(separation([{ label: '200', indexes: [1] }, { label: '405', indexes: [0] }], o, 'status')).toContain('The 2 samples shared one keep-alive connection to 10.0.0.1: one server answered differently over time.')
  })

  it('reads what a response names about its server', () => {
    expect(serverAttributes(obs(200, '1.2.3.4', [['X-FB-Rev', '7'], ['Server', 'proxygen']]))).toEqual([
      ['address', '1.2.3.4'],
      ['x-fb-rev', '7'],
      ['server', 'proxygen'],
    ])
  })
})
