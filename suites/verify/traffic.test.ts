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
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { runRecordFromTraffic } from '../../src/commands/record.ts'
import { openTraffic } from '../../src/traffic/read.ts'
import { trafficState } from '../../src/traffic/attribute.ts'
import { TrafficJudge, type Placement } from '../../src/traffic/judge-traffic.ts'
import { runVerify } from '../../src/commands/verify.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { shownPath } from '../../src/util/paths.ts'

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
function withRepeat(entryNumber: number, before: number, token?: string): string {
  const har = JSON.parse(readFileSync(HAR, 'utf8')) as { log: { entries: { request: { headers: { name: string; value: string }[] }; response: { status: number; content: { text: string; size: number }; headers: { name: string; value: string }[]; bodySize: number } }[] } }
  const copy = structuredClone(har.log.entries[entryNumber - 1]!)
  // Another tenant's request: the same URL with another access token.
  if (token) {
    const auth = copy.request.headers.filter((h) => h.name.toLowerCase() === 'authorization')
    expect(auth).toHaveLength(1)
    auth[0]!.value = `Bearer ${token}`
  }
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
    // Info is what happened, not noise: each error the application got (one per error exchange of the
    // fixture, under its operation), the expired token, and what could not be attributed and why.
    expect(report.findings.map((f) => [f.contract, f.check, f.title, f.samples]).sort()).toEqual(
      [
        ['(no operation)', 'attribution', 'No operation covers crm.example.com', 2],
        ['(no operation)', 'attribution', 'No operation covers hooks.slack.com', 1],
        ['(no operation)', 'attribution', 'No operation describes GET /{api_version}/me/businesses', 1],
        ['(unattributed)', 'attribution', 'Unattributed: GET /{api_version}/{id} could be media.retrieve-url, phone-numbers.get, templates.get or waba.get', 1],
        ['(unattributed)', 'attribution', 'Unattributed: GET /{api_version}/{id} could be templates.get or waba.get', 1],
        ['media.retrieve-url', 'graph-error', 'The application got Graph error 100/33 (GraphMethodException)', 1],
        ['messages.mark-as-read', 'graph-error', 'The application got Graph error 100 (OAuthException)', 1],
        ['messages.send-media-by-id', 'graph-error', 'The application got Graph error 100 (OAuthException)', 1],
        ['messages.send-template', 'graph-error', 'The application got Graph error 132001 (OAuthException)', 1],
        ['messages.send-text', 'graph-error', 'The application got Graph error 100 (OAuthException)', 1],
        ['messages.send-text', 'graph-error', 'The application got Graph error 131026 (OAuthException)', 1],
        ['messages.send-text', 'graph-error', 'The application got Graph error 131047 (OAuthException)', 1],
        ['messages.send-text', 'graph-error', 'The application got Graph error 131056 (OAuthException)', 1],
        ['phone-numbers.get', 'credentials', 'Access token rejected: Graph error 190/463 (the token expired)', 1],
        ['phone-numbers.register', 'graph-error', 'The application got Graph error 100/33 (GraphMethodException)', 1],
        ['templates.create', 'graph-error', 'The application got Graph error 100/2388024 (OAuthException)', 1],
        ['templates.delete-by-name', 'graph-error', 'The application got Graph error 100/2593002 (OAuthException)', 1],
      ].sort(),
    )
    // The unknown id 123123 answered with an error: no "got Graph error" under a guessed operation.
    const unknown = report.findings.find((f) => f.title.startsWith('Unattributed: GET /{api_version}/{id} could be media'))!
    expect(unknown.message).toContain('GET /v21.0/123123')
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

describe('damaged traffic', () => {
  it('is judged entry by entry: a 50,000-deep body, a broken percent-escape, a URL that does not parse end nothing but themselves', async () => {
    type E = { request: { url: string; postData?: { text: string } }; response: { content: { text: string; size: number }; headers: { name: string; value: string }[]; bodySize: number } }
    const har = JSON.parse(readFileSync(HAR, 'utf8')) as { log: { entries: E[] } }
    const [phone, phoneFields] = har.log.entries as [E, E]
    const send = har.log.entries.find((e) => e.request.postData?.text.includes('"type":"text"'))!
    const deepAnswer = structuredClone(phone)
    deepAnswer.response.content.text = `${'['.repeat(50_000)}${']'.repeat(50_000)}`
    deepAnswer.response.content.size = deepAnswer.response.bodySize = 100_000
    for (const h of deepAnswer.response.headers) if (h.name === 'Content-Length') h.value = '100000'
    const brokenEscape = structuredClone(phoneFields)
    brokenEscape.request.url = 'https://graph.facebook.com/v19.0/%E0%A4%A/messages'
    const deepRequest = structuredClone(send)
    deepRequest.request.postData!.text = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`
    const unparsable = structuredClone(phone)
    unparsable.request.url = 'http://[::1'
    har.log.entries = [deepAnswer, brokenEscape, deepRequest, unparsable, phone]
    const file = join(dir(), 'damaged.har')
    writeFileSync(file, JSON.stringify(har))

    const lines: string[] = []
    const out = dir()
    const code = await main(['verify', file, '--out', out], { stdout: (s) => lines.push(s), stderr: (s) => lines.push(s), cwd: ROOT, env: {} })
    expect(lines.join('')).not.toMatch(/DW_INTERNAL|internal error/i)
    expect(code).toBe(1)
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { summary: { entries: number }; findings: { severity: string; check: string; title: string; message: string }[] }
    expect(report.summary.entries).toBe(5)
    const titles = report.findings.map((f) => f.title)
    expect(titles).toContain(`Unreadable URL in ${relativeToRoot(file)} entry 4`)
    expect(titles).toContain('No operation describes GET /{api_version}/%E0%A4%A/messages')
    // The 50,000-deep answer is too deep to judge whichever GET /{id} it was; the finding names what each candidate expects, not one of them as "the contract".
    const deep = report.findings.find((f) => f.title === 'Body nested deeper than 256 levels')!
    expect(deep.message).toContain('nested deeper than 256 levels')
    expect(deep.message).toContain('Contract (every candidate finds this): media.retrieve-url: JSON matching media-url.json; phone-numbers.get: JSON matching phone-number.json; templates.get: JSON matching template.json; waba.get: JSON matching waba.json')
  })
})

describe('sample consistency in captured traffic', () => {
  const inconsistent = async (file: string) => (await verify(file, dir())).report.findings.filter((f) => f.check === 'sample-consistency').map((f) => [f.contract, f.title])

  it('fires when the same read, with nothing changed in between, gets another status', async () => {
    const retrieve = entryOf('GET /1037543291543636')
    const del = entryOf('DELETE /1037543291543636')
    expect(await inconsistent(withRepeat(retrieve.entry, del.entry))).toEqual([['media.retrieve-url', 'Inconsistent status across samples: 1× 200, 1× 400']])
  })

  it('stays quiet when the other answer went to another credential (a multi-tenant app: one tenant\'s 400 is not an intermittent 200)', async () => {
    const retrieve = entryOf('GET /1037543291543636')
    const del = entryOf('DELETE /1037543291543636')
    const file = withRepeat(retrieve.entry, del.entry, 'EAAothertenant0000000000000000')
    expect(await inconsistent(file)).toEqual([])
    // The fingerprint told them apart; the token itself is in no report.
    const out = dir()
    await verify(file, out)
    for (const f of readdirSync(out)) expect(readFileSync(join(out, f), 'utf8')).not.toContain('EAAothertenant')
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

/** A path as messages show it: relative inside the checkout, absolute outside it (the temp folders). */
const relativeToRoot = (file: string) => shownPath(ROOT, file)

function verify(input: string, out: string) {
  return runVerify({ input, contractsDir: 'contracts/meta', recordingsDir: 'recordings/meta', outDir: out, formats: ['json', 'md'], env: ENV, cwd: ROOT })
}
