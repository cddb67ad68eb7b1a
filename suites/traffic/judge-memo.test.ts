/**
 * The judge memo (IncrementalJudge reusing what an exchange gave for a later one with the same
 * judge key) changes no report: verify with the memo on and off writes the same findings, results
 * and summary, on varied real-shaped traffic, the fixtures and hostile captures. And each check's
 * projection holds what its drafts' titles and severities read: exchanges with equal projections
 * get the same drafts, over the fixtures' exchanges and variants of them (another status, framing,
 * method, headers dropped or changed, another body), against every operation.
 */
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { titlesOf, type CheckContext } from '../../src/checks/check.ts'
import { allChecks } from '../../src/checks/index.ts'
import { operationExpectation, probeExpectation, rejectedMethodExpectation, type Expectation } from '../../src/contracts/expectation.ts'
import type { ResponseExpectation } from '../../src/contracts/types.ts'
import type { ContractPack } from '../../src/contracts/types.ts'
import { runVerify } from '../../src/commands/verify.ts'
import { checkContext, viewsOf } from '../../src/judge/index.ts'
import type { Observation } from '../../src/model/observation.ts'
import type { Report } from '../../src/model/report.ts'
import { inferredKey, judgeMemo } from '../../src/traffic/incremental-judge.ts'
import { inferSchema } from '../../src/schema/infer.ts'
import { MAX_WALK_DEPTH } from '../../src/util/json.ts'
import { openTraffic } from '../../src/traffic/read.ts'
import { hostileHar } from '../fuzz/hostile-traffic.ts'
import { Rng } from '../fuzz/seed.ts'
import { writeLargeHar } from '../helpers/large-har.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const ENV = { WHATSAPP_PHONE_NUMBER_ID: '106540352242922', WHATSAPP_WABA_ID: '102290129340398' }
const tmp = tempDirs('dw-judge-memo-')
const FIXTURES = [
  ...readdirSync(join(ROOT, 'suites', 'verify', 'fixtures')).filter((f) => /\.(har|ya?ml)$/.test(f)).map((f) => join('suites', 'verify', 'fixtures', f)),
  ...readdirSync(join(ROOT, 'suites', 'traffic', 'fixtures')).filter((f) => /\.(har|ya?ml)$/.test(f)).map((f) => join('suites', 'traffic', 'fixtures', f)),
]
/** Hostile captures from the fuzz suite's generator (fixed seeds: the same files every run). */
const HOSTILE = 24

afterEach(() => {
  judgeMemo.enabled = true
})

/** A report as it reads but for the run's own times. */
function comparable(r: Report): unknown {
  const { startedAt: _s, finishedAt: _f, ...rest } = r
  return { ...rest, findings: r.findings.map(({ since: _since, ...f }) => f) }
}

/** verify on one input with the memo on or off; the report and how many exchanges the memo counted without judging. */
async function verify(input: string, memo: boolean): Promise<{ report: Report | string; reused: number }> {
  judgeMemo.enabled = memo
  const before = judgeMemo.reused
  try {
    const { report } = await runVerify({ input, contractsDir: 'contracts/meta', outDir: tmp.dir(), formats: ['json'], env: ENV, cwd: ROOT })
    return { report, reused: judgeMemo.reused - before }
  } catch (e) {
    // A capture verify refuses is refused the same way either way.
    return { report: `${(e as { code?: string }).code}: ${(e as Error).message}`, reused: judgeMemo.reused - before }
  } finally {
    judgeMemo.enabled = true
  }
}

async function inputs(): Promise<string[]> {
  const varied = join(tmp.dir(), 'varied.har')
  await writeLargeHar(varied, { entries: 3000, varied: true })
  const hostile: string[] = []
  for (let i = 0; i < HOSTILE; i++) {
    const file = join(tmp.dir(), 'traffic.har')
    writeFileSync(file, hostileHar(new Rng(20261207).fork(i)).bytes)
    hostile.push(file)
  }
  return [varied, ...FIXTURES.map((f) => join(ROOT, f)), ...hostile]
}

describe('the judge memo', () => {
  it('changes no report: verify with it on and off, on varied traffic, the fixtures and hostile captures', async () => {
    let reused = 0
    let judged = 0
    for (const input of await inputs()) {
      const on = await verify(input, true)
      const off = await verify(input, false)
      expect(off.reused, input).toBe(0)
      if (typeof on.report === 'string' || typeof off.report === 'string') {
        expect(on.report, input).toEqual(off.report)
        continue
      }
      judged++
      reused += on.reused
      expect(comparable(on.report), input).toEqual(comparable(off.report))
    }
    // The comparison means something: most captures were judged, and most of the varied traffic's exchanges were counted without judging.
    expect(judged).toBeGreaterThan(FIXTURES.length)
    expect(reused).toBeGreaterThan(2000)
  }, 240_000)

  it("holds each check to its projection: equal projections, the same drafts' severities and titles", async () => {
    const { pack, observations } = await exchanges()
    const expectations = everyExpectation(pack)
    // Downloads are checked against metadata: some agree with the bytes, some do not.
    const media = (o: Observation) => (o.request.url.includes('fbsbx') || o.request.url.includes('lookaside') ? { sha256: o.request.url.length % 2 ? 'ab' : (o.response?.body.sha256 ?? ''), size: '1024', mimeType: 'image/jpeg' } : undefined)
    const byKey = new Map<string, { titles: string; o: Observation }>()
    let compared = 0
    let memoised = 0
    observations.forEach((o, i) => {
      // Each exchange against a handful of expectations (all of them would take minutes), each in both contexts a judge gives.
      for (let k = 0; k < 6; k++) {
        const e = (i * 7 + k * 13) % expectations.length
        const exp = expectations[e]!
        const plain = checkContext(exp, { pack, since: 'T', media })
        const beside: CheckContext = { ...plain, schemaDrift: { deltas: [], observationIndex: [] } }
        const views = viewsOf(exp, [o])
        for (const [label, ctx] of [['plain', plain], ['beside schema-drift', beside]] as const) {
          for (const check of allChecks) {
            if (!check.project || views[check.needs].length === 0) continue
            const key = check.project(o, exp, ctx)
            if (key === undefined) continue
            memoised++
            const titles = titlesOf(check.run([o], exp, ctx))
            const id = `${check.id}\u0000${label}\u0000${e}\u0000${key}`
            const first = byKey.get(id)
            if (!first) byKey.set(id, { titles, o })
            else {
              compared++
              if (titles !== first.titles) expect.soft(titles, `${check.id} (${label}) against ${exp.id}: projection ${JSON.stringify(key)} holds ${o.request.method} ${o.request.url} ${o.response?.status} and ${first.o.request.method} ${first.o.request.url} ${first.o.response?.status}`).toBe(first.titles)
            }
          }
        }
      }
    })
    // Enough exchanges shared a projection that a key leaving something out would be caught.
    expect(compared).toBeGreaterThan(10_000)
    expect(memoised).toBeGreaterThan(compared)
  }, 120_000)
})

describe('a body class key (keepBody)', () => {
  it('is the inferred schema as JSON, written out directly', async () => {
    const { observations } = await exchanges()
    let deep: unknown = 1
    for (let i = 0; i < MAX_WALK_DEPTH + 5; i++) deep = i % 2 ? [deep] : { a: deep }
    const bodies: unknown[] = [
      ...observations.map((o) => o.response?.body.json).filter((j) => j !== undefined),
      {}, [], [[]], [{}], [{ a: 1 }, { b: 's' }], [1, 'x', null, 2.5], { '10': 1, '9': 2, b: 3 }, { '9': 1, '10': 2, b: 'x' }, { '4294967294': 1, '4294967295': 2, '01': 3, '0': 4, a: [{ '2': 1, '1': [5] }] }, [[1], [2, 3]],
      JSON.parse('{"__proto__": 1, "a": 2}'), JSON.parse('{"__proto__": "x", "a": 2}'), JSON.parse('{"__proto__": {"b": 1}}'), JSON.parse('{"a": 2}'),
      { 'a"b': 1 }, { 'a\u0000b': { c: [true, false] } }, { '\ud800': 1 }, { é: null }, deep, { x: deep }, 1, 'text', null, true, 1.5,
    ]
    for (const b of bodies) expect(inferredKey(b), JSON.stringify(b)?.slice(0, 200)).toBe(JSON.stringify(inferSchema([b])))
  }, 60_000)
})

function everyExpectation(pack: ContractPack): Expectation[] {
  const out = pack.operations.map((op) => operationExpectation(op))
  for (const p of pack.probes) out.push(probeExpectation(p, pack.operation(p.operation)!))
  for (const op of pack.operations.slice(0, 6)) out.push(rejectedMethodExpectation(op, op.request.method === 'GET' ? 'POST' : 'GET', [op.request.method]))
  // The shipped pack gives every status the same header rules; a user's pack may not. Expectations whose responses
  // differ by status in headers, framing and content type make a projection that leaves out the status fail here.
  for (const op of pack.operations.slice(0, 8)) {
    const base = operationExpectation(op)
    const ok = base.responses[0]!
    const headers = (required: string, forbidden: string, pattern: [string, string]): ResponseExpectation['headers'] => ({
      required: [{ name: required, severity: 'breaking' }],
      forbidden: [{ name: forbidden, severity: 'warning' }],
      patterns: [{ name: pattern[0], pattern: pattern[1], severity: 'warning' }],
    })
    out.push({
      ...base,
      id: `${base.id} (rules by status)`,
      status: [200, 201, 204],
      anyError: true,
      responses: [
        { ...ok, statuses: [200], framing: 'content-length', contentType: 'application/json', headers: headers('x-fb-request-id', 'transfer-encoding', ['content-type', '^application/json']) },
        { ...ok, statuses: [201, 204], framing: 'chunked', contentType: 'text/plain', headers: headers('etag', 'content-length', ['x-fb-debug', '^[0-9]+$']) },
        { ...ok, statuses: 'error', framing: 'any', contentType: 'text/html', headers: headers('www-authenticate', 'x-fb-trace-id', ['content-type', '^text/']) },
      ],
    })
  }
  return out
}

/** The fixtures' exchanges, hostile captures' exchanges, and variants of each that change one thing a check reads. */
async function exchanges(): Promise<{ pack: ContractPack; observations: Observation[] }> {
  let pack: ContractPack | undefined
  const base: Observation[] = []
  const files = FIXTURES.map((f) => join(ROOT, f))
  for (let i = 0; i < HOSTILE; i++) {
    const file = join(tmp.dir(), 'traffic.har')
    writeFileSync(file, hostileHar(new Rng(20261207).fork(i)).bytes)
    files.push(file)
  }
  for (const input of files) {
    try {
      const t = await openTraffic({ input, contractsDir: 'contracts/meta', env: ENV, cwd: ROOT })
      pack = t.pack
      base.push(...t.entries.map((e) => e.observation))
    } catch {}
  }
  const bodies = base.map((o) => o.response?.body).filter((b) => b !== undefined)
  const out: Observation[] = []
  base.forEach((o, i) => {
    out.push(o)
    const r = o.response
    if (!r) return
    const v = (response: Partial<NonNullable<Observation['response']>>, request: Partial<Observation['request']> = {}) => out.push({ ...o, request: { ...o.request, ...request }, response: { ...r, ...response } })
    for (const status of [200, 400, 404, 405, 429, 500, 503]) v({ status })
    v({}, { method: ['GET', 'POST', 'DELETE', 'get'][i % 4]! })
    v({ framing: { ...r.framing, kind: (['chunked', 'content-length', 'close-delimited', 'none'] as const)[i % 4]! } })
    v({ body: bodies[(i * 31) % bodies.length]! })
    v({ status: 400, body: bodies[(i * 17) % bodies.length]! })
    for (const name of ['content-type', 'facebook-api-version', 'x-fb-request-id', 'www-authenticate']) v({ rawHeaders: r.rawHeaders.filter(([n]) => n.toLowerCase() !== name) })
    v({ rawHeaders: r.rawHeaders.map(([n, x]) => [n, n.toLowerCase() === 'content-type' ? ['text/html', 'application/json; charset=latin1', 'application/json'][i % 3]! : x] as [string, string]) })
    v({ rawHeaders: r.rawHeaders.map(([n, x]) => [n, n.toLowerCase() === 'facebook-api-version' ? ['v19.0', 'v21.0', 'v23.0'][i % 3]! : x] as [string, string]) })
    // An error envelope with one field of another type, or without it.
    const err = (r.body.json as { error?: Record<string, unknown> } | undefined)?.error
    if (err && typeof err === 'object') {
      for (const [k, field] of ['message', 'type', 'code', 'error_subcode', 'fbtrace_id', 'is_transient'].entries()) {
        const { [field]: _gone, ...without } = err
        for (const value of [undefined, '1', 1, 1.5, null, [], {}, true].slice((i + k) % 4, ((i + k) % 4) + 4)) v({ body: { ...r.body, json: { error: value === undefined ? without : { ...err, [field]: value } } } })
      }
    }
  })
  return { pack: pack!, observations: out }
}
