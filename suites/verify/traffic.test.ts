/**
 * `driftwatch verify` on traffic as an application makes it: fixtures/cloud-api-traffic.har (built by
 * cloud-api-traffic.build.mjs) holds 72 exchanges with the Cloud API and two other hosts: every kind
 * of message send, mark-as-read and typing indicators, the media chain with unversioned paths,
 * phone numbers, the business profile, templates (edited by POST on their id), WABA analytics
 * picked by fields=, errors the application asked for (an unknown id 123123, deleted media, a
 * closed customer service window, a template renamed upstream, a create sent twice), a `/{id}`
 * nothing names, and an expired token.
 *
 * What each exchange is was written by a person next to the exchange (expected.json), not taken
 * from driftwatch: attribution is held to it entry by entry. Judged against the operations, this
 * traffic is not drift: no breaking finding, no warning. The same traffic with one answer changed
 * is drift, named where it is, so the quiet run above is not a blind one.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli.ts'
import { runRecordFromTraffic } from '../../src/record.ts'
import { openTraffic } from '../../src/traffic/read.ts'
import { trafficState } from '../../src/traffic/attribute.ts'
import { TrafficJudge, type Placement } from '../../src/traffic/judge-traffic.ts'
import { runVerify } from '../../src/verify/verify.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const HAR = join(import.meta.dirname, 'fixtures', 'cloud-api-traffic.har')
const CASSETTE = join(import.meta.dirname, 'fixtures', 'cloud-api-traffic.cassette.yml')
const EXPECTED = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'cloud-api-traffic.expected.json'), 'utf8')) as {
  configured: { WHATSAPP_PHONE_NUMBER_ID: string; WHATSAPP_WABA_ID: string }
  token: string
  entries: { entry: number; request: string; operation?: string; unattributed?: string[]; none?: true; why: string }[]
}
const ENV = { ...EXPECTED.configured }
const { dir } = tempDirs('dw-traffic-')

function verdict(p: Placement): { operation?: string; unattributed?: string[]; none?: true } {
  switch (p.kind) {
    case 'attributed':
      return { operation: p.exp.operation.id }
    case 'wrong-method':
      return { operation: `${p.exp?.operation.id ?? '?'} (wrong method)` }
    case 'unattributed':
      return { unattributed: p.candidates.map((c) => c.id).sort() }
    case 'none':
      return { none: true }
  }
}

/** The fixture with one exchange's answer replaced (Content-Length kept true to the new body). */
function withAnswer(entryNumber: number, answer: unknown): string {
  const har = JSON.parse(readFileSync(HAR, 'utf8')) as { log: { entries: { response: { content: { text: string; size: number }; headers: { name: string; value: string }[]; bodySize: number } }[] } }
  const r = har.log.entries[entryNumber - 1]!.response
  r.content.text = JSON.stringify(answer)
  r.content.size = r.bodySize = Buffer.byteLength(r.content.text)
  for (const h of r.headers) if (h.name.toLowerCase() === 'content-length') h.value = String(r.content.size)
  const file = join(dir(), 'changed.har')
  writeFileSync(file, JSON.stringify(har))
  return file
}

/** The fixture with a copy of one exchange, answered with a Graph error, inserted before another (1-based). */
function withRepeat(entryNumber: number, before: number): string {
  const har = JSON.parse(readFileSync(HAR, 'utf8')) as { log: { entries: { response: { status: number; content: { text: string; size: number }; headers: { name: string; value: string }[]; bodySize: number } }[] } }
  const copy = structuredClone(har.log.entries[entryNumber - 1]!)
  const r = copy.response
  r.status = 400
  r.content.text = JSON.stringify({ error: { message: '(#100) Invalid parameter', type: 'OAuthException', code: 100, fbtrace_id: 'AbCdEfGhIjKlMnOpQrStUv' } })
  r.content.size = r.bodySize = Buffer.byteLength(r.content.text)
  for (const h of r.headers) if (h.name.toLowerCase() === 'content-length') h.value = String(r.content.size)
  har.log.entries.splice(before - 1, 0, copy)
  const file = join(dir(), 'repeated.har')
  writeFileSync(file, JSON.stringify(har))
  return file
}

const entryOf = (what: string) => EXPECTED.entries.find((e) => e.request.startsWith(what))!

describe.each([
  ['a HAR', HAR, 'har:suites/verify/fixtures/cloud-api-traffic.har'],
  ['a Ruby VCR cassette', CASSETTE, 'cassette:suites/verify/fixtures/cloud-api-traffic.cassette.yml'],
])('verify on traffic as an application makes it, as %s', (_kind, input, target) => {
  it('attributes every exchange to what a person says it is', async () => {
    const { pack, entries } = await openTraffic({ input, contractsDir: 'contracts/meta', env: ENV, cwd: ROOT })
    expect(entries).toHaveLength(EXPECTED.entries.length)
    const judge = new TrafficJudge({ pack, state: trafficState({ phoneNumberId: ENV.WHATSAPP_PHONE_NUMBER_ID, wabaId: ENV.WHATSAPP_WABA_ID }), since: '2026-11-25T00:00:00.000Z', contractsDir: 'contracts/meta', label: 'cloud-api-traffic' })
    const got = entries.map((e, i) => ({ entry: i + 1, request: EXPECTED.entries[i]!.request, ...verdict(judge.place(e)) }))
    const want = EXPECTED.entries.map(({ why: _why, ...e }) => ({ ...e, ...(e.unattributed ? { unattributed: [...e.unattributed].sort() } : {}) }))
    expect(got).toEqual(want)
    // Every operation in the pack is met at least once: this is the surface SDKs call.
    const met = new Set(EXPECTED.entries.map((e) => e.operation).filter(Boolean))
    expect(pack.operations.filter((op) => !met.has(op.id)).map((op) => op.id)).toEqual([])
  })

  it('finds no drift in it, and says only what a person would want to know', async () => {
    const out = dir()
    const { report, counts } = await verify(input, out)
    expect(report.target).toBe(target)
    const attributed = EXPECTED.entries.filter((e) => e.operation).length
    expect(counts).toEqual({ entries: EXPECTED.entries.length, attributed, unattributed: EXPECTED.entries.length - attributed })
    expect(report.findings.filter((f) => f.severity !== 'info').map((f) => `${f.contract} ${f.check}: ${f.title}`)).toEqual([])
    expect(report.outcome).toBe('pass')
    // Info is what happened, not noise: errors the application got, an expired token, what could not be attributed.
    expect([...new Set(report.findings.map((f) => f.check))].sort()).toEqual(['attribution', 'credentials', 'graph-error'])
    const titles = report.findings.map((f) => f.title)
    expect(titles).toContain('Unattributed: GET /{api_version}/{id} could be templates.get or waba.get')
    expect(titles).toContain('No operation covers crm.example.com (2 entries)')
    expect(titles).toContain('The application got Graph error 131047 (OAuthException)')
    // The token the traffic carries appears in no file verify wrote.
    for (const f of readdirSync(out)) expect(readFileSync(join(out, f), 'utf8'), f).not.toContain(EXPECTED.token)
  })
})

describe('verify on traffic as an application makes it', () => {
  it('takes the cassette recorded with record --from as the golden of the HAR, and finds them alike', async () => {
    const recordings = dir()
    const rec = await runRecordFromTraffic({ input: CASSETTE, contractsDir: 'contracts/meta', recordingsDir: recordings, env: ENV, cwd: ROOT })
    expect(rec.files).toHaveLength(36)
    const { report } = await runVerify({ input: HAR, contractsDir: 'contracts/meta', recordingsDir: recordings, outDir: dir(), formats: ['json'], env: ENV, cwd: ROOT })
    expect(report.findings.filter((f) => f.check === 'golden-diff' || f.check === 'schema-drift' || f.severity !== 'info').map((f) => `${f.contract}: ${f.title}`)).toEqual([])
    // And they were compared: the upload answered without a header the recording has is told.
    const har = JSON.parse(readFileSync(HAR, 'utf8')) as { log: { entries: { request: { url: string }; response: { headers: { name: string }[] } }[] } }
    const upload = har.log.entries.find((e) => e.request.url.endsWith('/media'))!
    upload.response.headers = upload.response.headers.filter((h) => h.name !== 'Strict-Transport-Security')
    const changed = join(dir(), 'changed.har')
    writeFileSync(changed, JSON.stringify(har))
    const again = await runVerify({ input: changed, contractsDir: 'contracts/meta', recordingsDir: recordings, outDir: dir(), formats: ['json'], env: ENV, cwd: ROOT })
    expect(again.report.findings.filter((f) => f.check === 'golden-diff').map((f) => `${f.contract}: ${f.title}`)).toEqual(['media.upload: Header strict-transport-security is no longer sent'])
  })

  it('exits 0 from the CLI, as the README runs it: with no ids configured, the traffic names them', async () => {
    const lines: string[] = []
    const code = await main(['verify', HAR, '--out', dir()], { stdout: (s) => lines.push(s), stderr: (s) => lines.push(s), cwd: ROOT, env: {} })
    const attributed = EXPECTED.entries.filter((e) => e.operation).length
    expect(lines.join('')).toContain(`PASS: 36 contracts (36 passed, 0 with drift, 0 skipped, 0 inconclusive), ${attributed} entries judged, findings: 0 breaking, 0 warning`)
    expect(code).toBe(0)
  })

  it('is not blind: one answer changed in the same traffic is drift, under the operation it belongs to', async () => {
    // The WABA analytics answer without its analytics object (the misattributed exchange, now judged right).
    const analytics = entryOf('GET /v19.0/102290129340398?fields=analytics')
    const a = await verify(withAnswer(analytics.entry, { id: EXPECTED.configured.WHATSAPP_WABA_ID }), dir())
    expect(a.report.findings.filter((f) => f.severity === 'breaking').map((f) => [f.contract, f.check])).toEqual([['waba.analytics', 'schema-drift']])
    // A mark-as-read answered like a send: Meta changed what status=read returns.
    const read = EXPECTED.entries.find((e) => e.operation === 'messages.mark-as-read')!
    const b = await verify(withAnswer(read.entry, { messaging_product: 'whatsapp', contacts: [{ input: '16505551234', wa_id: '16505551234' }], messages: [{ id: 'wamid.X' }] }), dir())
    expect(b.report.findings.filter((f) => f.severity === 'breaking').map((f) => [f.contract, f.check])).toEqual([['messages.mark-as-read', 'schema-drift']])
  })
})

describe('sample consistency in captured traffic', () => {
  const inconsistent = async (file: string) => (await verify(file, dir())).report.findings.filter((f) => f.check === 'sample-consistency').map((f) => [f.contract, f.title])

  it('fires when the same read, with nothing changed in between, gets another status', async () => {
    const retrieve = entryOf('GET /1037543291543636')
    const del = entryOf('DELETE /1037543291543636')
    expect(await inconsistent(withRepeat(retrieve.entry, del.entry))).toEqual([['media.retrieve-url', 'Inconsistent status across samples: 1× 200, 1× 400']])
  })

  it('stays quiet when a change on the node comes between (a retrieve after a delete finds nothing)', async () => {
    const retrieve = entryOf('GET /1037543291543636')
    const del = entryOf('DELETE /1037543291543636')
    expect(await inconsistent(withRepeat(retrieve.entry, del.entry + 1))).toEqual([])
  })

  it('stays quiet on a create sent twice ("created", then "already exists"), which the fixture holds', async () => {
    expect(EXPECTED.entries.filter((e) => e.operation === 'templates.create').map((e) => e.request)).toEqual(['POST /v21.0/102290129340398/message_templates', 'POST /v21.0/102290129340398/message_templates'])
    expect(await inconsistent(HAR)).toEqual([])
  })
})

function verify(input: string, out: string) {
  return runVerify({ input, contractsDir: 'contracts/meta', recordingsDir: 'recordings/meta', outDir: out, formats: ['json', 'md'], env: ENV, cwd: ROOT })
}
