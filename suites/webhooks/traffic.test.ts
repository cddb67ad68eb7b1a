/**
 * Webhook traffic in the commands that read captures. A HAR of webhook POSTs no longer gives
 * "nothing attributed" (exit 3): report.json counts its bodies (entries, attributed, unattributed)
 * and lists the webhook contracts; a file of bodies (JSON list, JSONL) is read the same; API
 * entries next to webhooks are judged as before. `record --from` webhook traffic makes goldens,
 * and verify of later traffic names a field that appeared since (info), and stays quiet on the
 * same traffic.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { runRecordFromTraffic } from '../../src/commands/record.ts'
import { runVerify } from '../../src/commands/verify.ts'
import { looksLikeWebhookFile } from '../../src/webhooks/traffic.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { body, inbound, status, statuses, text } from './helpers.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const API_HAR = join(ROOT, 'suites', 'verify', 'fixtures', 'meta-media.har')
const { dir } = tempDirs('dw-webhook-traffic-')
const ENV = { WHATSAPP_PHONE_NUMBER_ID: '106540352242922' }

/** A HAR entry: Meta's POST of a webhook body to the application, answered 200. */
function harEntry(b: unknown): unknown {
  const text = JSON.stringify(b)
  return {
    startedDateTime: '2026-12-01T10:00:00.000Z',
    time: 4,
    request: { method: 'POST', url: 'https://app.example.com/whatsapp/webhook', httpVersion: 'HTTP/1.1', headers: [{ name: 'Content-Type', value: 'application/json' }, { name: 'X-Hub-Signature-256', value: 'sha256=00' }], queryString: [], cookies: [], headersSize: -1, bodySize: text.length, postData: { mimeType: 'application/json', text } },
    response: { status: 200, statusText: 'OK', httpVersion: 'HTTP/1.1', headers: [], cookies: [], content: { size: 0, mimeType: 'text/plain', text: '' }, redirectURL: '', headersSize: -1, bodySize: 0 },
    cache: {},
    timings: { send: 0, wait: 4, receive: 0 },
  }
}

function har(file: string, entries: unknown[]): string {
  writeFileSync(file, JSON.stringify({ log: { version: '1.2', creator: { name: 'test', version: '1' }, entries } }))
  return file
}

const BODIES = [body(inbound(text())), body(statuses(status('sent', 10))), body(statuses(status('delivered', 11))), body({ field: 'flows', value: { event: 'FLOW_STATUS_CHANGE' } })]

const report = (out: string) => JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'))

describe('verify: webhook captures', () => {
  it('counts the bodies of a HAR of webhook POSTs and judges them: pass, not "nothing attributed"', async () => {
    const out = dir()
    const file = har(join(out, 'webhooks.har'), BODIES.map(harEntry))
    const code = await main(['verify', file, '--out', out, '--no-history', '--format', 'json'], { env: ENV, cwd: ROOT, stdout: () => {}, stderr: () => {} })
    const r = report(out)
    expect(r.summary).toMatchObject({ entries: 4, attributed: 3, unattributed: 1, breaking: 0 })
    expect(r.outcome).toBe('pass')
    expect(code).toBe(0)
    expect(r.results.map((x: { contract: string }) => x.contract)).toEqual(['webhook.envelope', 'webhook.messages.text', 'webhook.statuses.sent', 'webhook.statuses.delivered'])
    // The person's number and text are in the HAR, never in the report.
    expect(readFileSync(join(out, 'report.json'), 'utf8')).not.toMatch(/16315551234|4111 1111/)
  })

  it('exits 1 on a breaking webhook drift in the same capture (the quiet twin above exits 0)', async () => {
    const out = dir()
    const { from: _from, ...noFrom } = text()
    const file = har(join(out, 'webhooks.har'), [...BODIES, body(inbound(noFrom))].map(harEntry))
    const code = await main(['verify', file, '--out', out, '--no-history', '--format', 'json'], { env: ENV, cwd: ROOT, stdout: () => {}, stderr: () => {} })
    expect(code).toBe(1)
    expect(report(out).findings.filter((f: { severity: string }) => f.severity === 'breaking').map((f: { title: string }) => f.title)).toEqual(['`$.messages[*].from` is required by the contract and is now missing (in 1 of 2 samples)'])
  })

  it('judges API entries and webhook POSTs of one HAR each by their own contracts', async () => {
    const out = dir()
    const api = JSON.parse(readFileSync(API_HAR, 'utf8')).log.entries as unknown[]
    const file = har(join(out, 'mixed.har'), [...api, ...BODIES.slice(0, 2).map(harEntry)])
    const { report: r } = await runVerify({ input: file, contractsDir: 'contracts/meta', outDir: out, formats: ['json'], env: ENV, cwd: ROOT })
    expect(r.summary).toMatchObject({ entries: api.length + 2 })
    expect(r.results.some((x) => x.contract === 'media.retrieve-url')).toBe(true)
    expect(r.results.some((x) => x.contract === 'webhook.statuses.sent')).toBe(true)
  })

  it.each([
    ['a JSON list of bodies', (f: string) => writeFileSync(f, JSON.stringify(BODIES, null, 2))],
    ['JSONL, one body a line', (f: string) => writeFileSync(f, `${BODIES.map((b) => JSON.stringify(b)).join('\n')}\n`)],
  ])('reads %s', async (_what, write) => {
    const out = dir()
    const file = join(out, 'bodies.json')
    write(file)
    const { report: r } = await runVerify({ input: file, contractsDir: 'contracts/meta', outDir: out, formats: ['json'], env: ENV, cwd: ROOT })
    expect(r.target).toMatch(/^webhooks:/)
    expect(r.summary).toMatchObject({ entries: 4, attributed: 3, unattributed: 1 })
  })

  it('tells a file of webhook bodies from a HAR and a cassette by its first bytes', () => {
    expect(looksLikeWebhookFile('{"object":"whatsapp_business_account","entry":[')).toBe(true)
    expect(looksLikeWebhookFile('[\n  {\n    "object": "whatsapp_business_account"')).toBe(true)
    expect(looksLikeWebhookFile('{"log":{"entries":[{"request":{"postData":{"text":"{\\"object\\": \\"whatsapp_business_account\\"')).toBe(false)
    expect(looksLikeWebhookFile('---\nhttp_interactions:\n')).toBe(false)
  })
})

describe('record --from: webhook goldens', () => {
  it('records webhook traffic per contract; verify then names a field new since the golden (info), and nothing on the same traffic', async () => {
    const work = dir()
    const recordings = join(work, 'recordings')
    const yesterday = har(join(work, 'yesterday.har'), BODIES.map(harEntry))
    const rec = await runRecordFromTraffic({ input: yesterday, contractsDir: 'contracts/meta', recordingsDir: recordings, env: ENV, cwd: ROOT })
    expect(rec.files.map((f) => f.file.slice(recordings.length + 1)).sort()).toEqual(['webhook.messages.text/yesterday.json', 'webhook.statuses.delivered/yesterday.json', 'webhook.statuses.sent/yesterday.json'])
    expect(readFileSync(join(recordings, 'webhook.messages.text', 'yesterday.json'), 'utf8')).not.toMatch(/16315551234|4111 1111|Kerry/)

    const same = dir()
    const r1 = await runVerify({ input: yesterday, contractsDir: 'contracts/meta', recordingsDir: recordings, outDir: same, formats: ['json'], env: ENV, cwd: ROOT })
    expect(r1.report.findings.filter((f) => f.check === 'schema-drift')).toEqual([])

    const grown = [body(inbound(text())), body(statuses(status('sent', 10, { recipient_locale: 'pt_BR' })))]
    const today = har(join(work, 'today.har'), grown.map(harEntry))
    const r2 = await runVerify({ input: today, contractsDir: 'contracts/meta', recordingsDir: recordings, outDir: dir(), formats: ['json'], env: ENV, cwd: ROOT })
    expect(r2.report.findings.filter((f) => f.check === 'schema-drift').map((f) => [f.severity, f.contract, f.title])).toEqual([
      ['info', 'webhook.statuses.sent', expect.stringMatching(/^`\$\.statuses\[\*\]\.recipient_locale` \(string\) is new since the recording/)],
    ])
  })
})
