/**
 * IncrementalJudge says what judge() says over the same exchanges, without holding them: every
 * finding (title, message, samples, of, evidence), the status and what was usable, on the traffic
 * fixtures as captured, reversed (a token error before the success it is compared with), with
 * answers that flip between samples, with bodies that drift from the schema, and against a golden
 * recording. And it stays bounded: identities beyond its limit are forgotten, splits never.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { allChecks } from '../../src/checks/index.ts'
import { operationExpectation, type Expectation } from '../../src/contracts/expectation.ts'
import { judge, type Golden } from '../../src/judge/index.ts'
import type { Observation } from '../../src/model/observation.ts'
import { trafficState } from '../../src/traffic/attribute.ts'
import { IncrementalJudge, LIMITS } from '../../src/traffic/incremental-judge.ts'
import { TrafficJudge } from '../../src/traffic/judge-traffic.ts'
import { openTraffic } from '../../src/traffic/read.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const ENV = { WHATSAPP_PHONE_NUMBER_ID: '106540352242922', WHATSAPP_WABA_ID: '102290129340398' }
const SINCE = '2026-11-25T00:00:00.000Z'
/** Checks that fired in the comparisons: the ones across exchanges must be among them, or the comparison proves little. */
const fired = new Set<string>()

/** Each fixture's exchanges with bodies, grouped by the operation the traffic judge attributes them to. */
async function groups(file: string) {
  const { pack, entries } = await openTraffic({ input: join(import.meta.dirname, '..', 'verify', 'fixtures', file), contractsDir: 'contracts/meta', env: ENV, cwd: ROOT })
  const t = new TrafficJudge({ pack, state: trafficState({ phoneNumberId: ENV.WHATSAPP_PHONE_NUMBER_ID, wabaId: ENV.WHATSAPP_WABA_ID }), since: SINCE, contractsDir: 'contracts/meta', label: file })
  const byOp = new Map<string, { exp: Expectation; observations: Observation[] }>()
  for (const e of entries) {
    const p = t.place(e)
    if (p.kind !== 'attributed' || !e.hasBody) continue
    const g = byOp.get(p.exp.id) ?? { exp: p.exp, observations: [] }
    g.observations.push(e.observation)
    byOp.set(p.exp.id, g)
  }
  return { pack, groups: [...byOp.values()] }
}

/** The same request again, answered another way: what sample-consistency exists for. */
function flipped(o: Observation): Observation {
  if (!o.response) return o
  return { ...o, response: { ...o.response, status: 500, framing: { ...o.response.framing, kind: 'chunked' } } }
}

/** The body with its first number field turned into a string: what schema-drift exists for. Its text says the same, as every capture's does (the JSON is parsed from it). */
function drifted(o: Observation): Observation {
  const json = o.response?.body.json
  if (!json || typeof json !== 'object' || Array.isArray(json)) return o
  const entry = Object.entries(json).find(([, v]) => typeof v === 'number' || typeof v === 'boolean')
  if (!entry) return o
  const changed = { ...json, [entry[0]]: String(entry[1]) }
  const text = JSON.stringify(changed)
  return { ...o, response: { ...o.response!, body: { ...o.response!.body, json: changed, text, size: Buffer.byteLength(text), keptBytes: Buffer.byteLength(text) } } }
}

const variants: [string, (list: Observation[]) => Observation[]][] = [
  ['as captured', (l) => l],
  ['reversed', (l) => [...l].reverse()],
  ['with answers that flip', (l) => l.flatMap((o, i) => (i % 2 ? [o, flipped(o), o] : [o, o]))],
  ['with bodies that drift', (l) => l.flatMap((o, i) => (i % 3 ? [o] : [o, drifted(o)]))],
  ['with headers that come and go', (l) => l.map((o, i) => (i % 2 && o.response ? { ...o, response: { ...o.response, rawHeaders: [...o.response.rawHeaders.slice(1), ['X-New-Header', `v${i % 3}`]] } } : o))],
]

describe.each(['cloud-api-traffic.har', 'meta-media.har'])('IncrementalJudge gives judge()’s verdict on %s', (file) => {
  it.each(variants)('%s, alone and against a golden recording', async (_name, vary) => {
    const { pack, groups: all } = await groups(file)
    expect(all.length).toBeGreaterThan(0)
    let findings = 0
    for (const { exp, observations } of all) {
      const list = vary(observations)
      // The traffic as captured is the golden of the varied traffic: golden-diff and schema-drift against a recording run too.
      const golden: Golden = { name: 'captured', recordedAt: '2026-02-01T00:00:00.000Z', observations }
      for (const opts of [{ pack, since: SINCE, checks: allChecks }, { pack, since: SINCE, checks: allChecks, golden }]) {
        const whole = await judge(exp, list, opts)
        const inc = new IncrementalJudge(exp, opts)
        for (const o of list) await inc.add(o)
        expect(await inc.verdict(), `${exp.id}`).toEqual(whole)
        findings += whole.findings.length
        for (const f of whole.findings) fired.add(f.check)
      }
    }
    // Not a quiet comparison: the variants make the checks across exchanges fire.
    if (_name !== 'as captured') expect(findings).toBeGreaterThan(0)
  })
})

it('compared verdicts in which every check across exchanges fired', () => {
  expect([...fired].filter((c) => ['sample-consistency', 'golden-diff', 'schema-drift', 'parameter-rejection', 'graph-error'].includes(c)).sort()).toEqual(['golden-diff', 'graph-error', 'parameter-rejection', 'sample-consistency', 'schema-drift'])
})

describe('IncrementalJudge stays bounded', () => {
  const exp = async () => {
    const { pack } = await openTraffic({ input: 'recordings/meta', contractsDir: 'contracts/meta', env: ENV, cwd: ROOT })
    return { pack, exp: operationExpectation(pack.operation('phone-numbers.get')!) }
  }
  const read = (id: number, status: number): Observation => ({
    contract: '',
    sample: 1,
    startedAt: SINCE,
    request: { method: 'GET', url: `https://graph.facebook.com/v21.0/${id}`, headers: [], bodySize: 0, tokenSent: true },
    response: { status, statusText: '', rawHeaders: [['Content-Type', 'application/json']], framing: { kind: 'content-length', bytesRead: 2 }, body: { size: 2, sha256: '', keptBytes: 2, truncated: false, text: '{}', json: {} } },
    timings: { totalMs: 1 },
  })

  it('forgets identities seen once beyond its limit, but never one whose answers split', async () => {
    const { pack, exp: e } = await exp()
    const j = new IncrementalJudge(e, { pack, since: SINCE, checks: allChecks.filter((c) => c.id === 'sample-consistency') })
    await j.add(read(1, 200))
    await j.add(read(1, 500))
    for (let i = 2; i < LIMITS.identities * 2; i++) await j.add(read(i, 200))
    expect((j as unknown as { identities: Map<string, unknown> }).identities.size).toBeLessThanOrEqual(LIMITS.identities)
    const v = await j.verdict()
    expect(v.findings.map((f) => [f.title, f.samples, f.of])).toEqual([['Inconsistent status across samples: 1× 200, 1× 500', 1, LIMITS.identities * 2]])
  })

  it('says nothing when no identity split', async () => {
    const { pack, exp: e } = await exp()
    const j = new IncrementalJudge(e, { pack, since: SINCE, checks: allChecks.filter((c) => c.id === 'sample-consistency') })
    for (let i = 0; i < 50; i++) await j.add(read(i % 5, 200))
    expect((await j.verdict()).findings).toEqual([])
  })

  it('keeps no identity for requests that change something (samples of nothing)', async () => {
    const { pack, exp: e } = await exp()
    const j = new IncrementalJudge(e, { pack, since: SINCE, checks: allChecks })
    for (let i = 0; i < 100; i++) await j.add(read(i, 200), { unique: true })
    expect((j as unknown as { identities: Map<string, unknown> }).identities.size).toBe(0)
  })
})

describe('IncrementalJudge remembers a body text’s class per schema', () => {
  const body = '{"verified_name":"Driftwatch Support","id":"106540352242922"}'
  const read = (query: string): Observation => ({
    contract: '',
    sample: 1,
    startedAt: SINCE,
    request: { method: 'GET', url: `https://graph.facebook.com/v21.0/106540352242922${query}`, headers: [], bodySize: 0, tokenSent: true },
    response: { status: 200, statusText: 'OK', rawHeaders: [['Content-Type', 'application/json']], framing: { kind: 'content-length', bytesRead: body.length }, body: { size: body.length, sha256: '', keptBytes: body.length, truncated: false, text: body, json: JSON.parse(body) } },
    timings: { totalMs: 1 },
  })

  it('judges the same text again under another schema (fields= narrows it), as judge() does', async () => {
    const { pack } = await openTraffic({ input: 'recordings/meta', contractsDir: 'contracts/meta', env: ENV, cwd: ROOT })
    const exp = operationExpectation(pack.operation('phone-numbers.get')!)
    const opts = { pack, since: SINCE, checks: allChecks }
    // Asked for verified_name, the body is whole; asked for everything, it lacks what the schema requires.
    const list = [read('?fields=verified_name'), read('?fields=verified_name'), read(''), read('')]
    const inc = new IncrementalJudge(exp, opts)
    for (const o of list) await inc.add(o)
    const whole = await judge(exp, list, opts)
    expect(whole.findings.filter((f) => f.check === 'schema-drift').length).toBeGreaterThan(0)
    expect(await inc.verdict()).toEqual(whole)
  })
})
