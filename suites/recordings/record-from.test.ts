/**
 * Captured traffic as the baseline: `record --from` turns a HAR into golden recordings (one file
 * per operation the traffic settles, redacted like `record`), re-recording the same traffic
 * changes no byte, and `verify` of today's traffic compares it with yesterday's: a header that
 * appears is news (info, naming the header and the golden's date), one that disappears a warning.
 * Ids minted per run inside error messages never churn a recording.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { runRecordFromTraffic } from '../../src/commands/record.ts'
import { PersonalDataRedactor } from '../../src/recordings/personal-data.ts'
import { loadRecordings, prepareRecording, writeRecording, type Recording } from '../../src/recordings/store.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { runVerify } from '../../src/commands/verify.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const HAR = join(ROOT, 'suites', 'verify', 'fixtures', 'meta-media.har')
const TOKEN = 'EAAGhar0fixture0token0not0real0ZDZD'
const ENV = { WHATSAPP_PHONE_NUMBER_ID: '106540352242922' }
const { dir } = tempDirs('dw-record-from-')

const files = (d: string): string[] => readdirSync(d, { recursive: true, encoding: 'utf8' }).map((f) => join(d, f)).filter((f) => statSync(f).isFile())

describe('record --from', () => {
  it('writes one recording per operation the traffic settles, redacted, and nothing for what it does not', async () => {
    const out = dir()
    const r = await runRecordFromTraffic({ input: HAR, contractsDir: 'contracts/meta', recordingsDir: out, env: ENV, cwd: ROOT })
    expect(r.files.map((f) => [relative(out, f.file), f.status]).sort()).toEqual([
      ['media.download/meta-media.json', 'written'],
      ['media.retrieve-url/meta-media.json', 'written'],
      ['phone-numbers.get/meta-media.json', 'written'],
    ])
    // The POST with method=get (consumer drift) and /me/businesses (no operation) are not goldens.
    expect(r.counts).toEqual({ entries: 6, attributed: 5, unattributed: 1 })
    const recs = loadRecordings(out)
    const retrieve = recs.get('media.retrieve-url')![0]!
    expect(retrieve).toMatchObject({ contract: 'media.retrieve-url', name: 'meta-media', target: 'https://graph.facebook.com', apiVersion: 'v23.0' })
    expect(retrieve.observations.map((o) => [o.request.method, o.response?.status])).toEqual([['GET', 200], ['GET', 400]])
    expect(recs.get('media.download')![0]!.target).toBe('https://lookaside.fbsbx.com')
    for (const f of files(out)) {
      const text = readFileSync(f, 'utf8')
      expect(text, f).not.toContain(TOKEN)
      expect(text, f).not.toContain('415-555-0123')
    }
    // The same traffic again: nothing but volatile values could differ, so no file is touched.
    const again = await runRecordFromTraffic({ input: HAR, contractsDir: 'contracts/meta', recordingsDir: out, env: ENV, cwd: ROOT })
    expect(again.files.map((f) => f.status)).toEqual(['unchanged', 'unchanged', 'unchanged'])
  })

  it("verify compares today's traffic with yesterday's recording: a new header is news, a missing one a warning", async () => {
    const out = dir()
    await runRecordFromTraffic({ input: HAR, contractsDir: 'contracts/meta', recordingsDir: out, env: ENV, cwd: ROOT })
    const har = JSON.parse(readFileSync(HAR, 'utf8'))
    const headers = har.log.entries[0].response.headers as { name: string; value: string }[]
    har.log.entries[0].response.headers = [...headers.filter((h) => h.name !== 'x-fb-rev'), { name: 'x-fb-experiment', value: 'on' }]
    const today = join(dir(), 'today.har')
    writeFileSync(today, JSON.stringify(har))
    const { report } = await runVerify({ input: today, contractsDir: 'contracts/meta', recordingsDir: out, outDir: dir(), formats: ['json'], env: ENV, cwd: ROOT })
    const golden = report.findings.filter((f) => f.check === 'golden-diff').map((f) => [f.contract, f.severity, f.title])
    expect(golden).toEqual([
      ['media.retrieve-url', 'warning', 'Header x-fb-rev is no longer sent'],
      ['media.retrieve-url', 'info', 'New header x-fb-experiment'],
    ])
    expect(report.findings.find((f) => f.title === 'New header x-fb-experiment')!.message).toContain('Recorded: no x-fb-experiment in the recording "meta-media" of 2026-01-20 09:14 UTC')
    // Without the recordings, the same traffic gives no golden-diff at all.
    const alone = await runVerify({ input: today, contractsDir: 'contracts/meta', outDir: dir(), formats: ['json'], env: ENV, cwd: ROOT })
    expect(alone.report.findings.filter((f) => f.check === 'golden-diff')).toEqual([])
  })

  it('from the CLI: --out and --format write the reports asked for (they were accepted and ignored), and none unless asked', async () => {
    const lines: string[] = []
    const io = { stdout: (s: string) => lines.push(s), stderr: (s: string) => lines.push(s), cwd: ROOT, env: ENV }
    const reports = dir()
    expect(await main(['record', '--from', HAR, '--recordings', dir(), '--out', reports, '--format', 'json,md,html'], io)).toBe(0)
    expect(readdirSync(reports).sort()).toEqual(['report.html', 'report.json', 'report.md'])
    expect(JSON.parse(readFileSync(join(reports, 'report.json'), 'utf8'))).toMatchObject({ target: expect.stringContaining('meta-media.har') })
    expect(readFileSync(join(reports, 'report.json'), 'utf8')).not.toContain(TOKEN)
    expect(lines.join('\n')).toMatch(/Reports: \S*report\.json, \S*report\.md, \S*report\.html/)
    // Without --out or --format: recordings only, as before.
    // The checkout's reports/ may not exist yet (a fresh clone, this file first): none is none.
    const listed = () => (existsSync(join(ROOT, 'reports')) ? readdirSync(join(ROOT, 'reports')).sort() : [])
    const before = listed()
    expect(await main(['record', '--from', HAR, '--recordings', dir()], io)).toBe(0)
    expect(listed()).toEqual(before)
  })

  it('traffic that drifts: the note to review before committing is on stdout, beside the headline it qualifies', async () => {
    const out: string[] = []
    const err: string[] = []
    const drifting = join(ROOT, 'suites/verify/fixtures/meta-media.har')
    expect(await main(['record', '--from', drifting, '--recordings', dir()], { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: {}, cwd: ROOT })).toBe(0)
    expect(out.join('\n')).toContain('Note: this traffic drifts from the operations')
    expect(err.join('\n')).not.toContain('Note: this traffic drifts')
  })

  it('from the CLI: --from takes no probing flags, and says what it left out', async () => {
    const out: string[] = []
    const err: string[] = []
    const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s), cwd: ROOT, env: ENV }
    const recordings = dir()
    expect(await main(['record', '--from', HAR, '--recordings', recordings, '--name', 'yesterday'], io)).toBe(0)
    // The count is what the files hold: the POST to a media id (a method the endpoint does not take) is attributed, not recorded.
    const held = ['media.retrieve-url', 'media.download', 'phone-numbers.get'].reduce((n, id) => n + (JSON.parse(readFileSync(join(recordings, id, 'yesterday.json'), 'utf8')) as Recording).observations.length, 0)
    expect(held).toBe(4)
    expect(out.join('\n')).toMatch(/Recorded 4 of 6 exchanges as 3 operations in .*: 3 written \(.*media\.retrieve-url\/yesterday\.json.*\), 0 unchanged but for volatile values; 2 not recorded \(unattributed, no operation, or a method the endpoint does not take/)
    expect(err.join('\n')).toContain('? No operation describes GET /{api_version}/me/businesses: not recorded')
    expect(await main(['record', '--from', HAR, '--target', 'sim'], io)).toBe(2)
    expect(err.join('\n')).toContain('--from records captured traffic and sends nothing: --target does not apply')
  })
})

describe('re-recording never churns a file because an error message embeds a freshly minted id', () => {
  it('an id inside an error message, www-authenticate and the request URL is not a change', async () => {
    const out = dir()
    const errorOf = (id: string): Recording => {
      const message = `Unsupported post request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`
      const text = JSON.stringify({ error: { message, type: 'GraphMethodException', code: 100, error_subcode: 33, fbtrace_id: 'Abc' } })
      return {
        version: 1,
        contract: 'media.post-method',
        name: 'live',
        target: 'https://graph.facebook.com',
        apiVersion: 'v23.0',
        recordedAt: '2026-11-24T00:00:00.000Z',
        observations: [
          {
            contract: 'media.post-method',
            sample: 1,
            startedAt: '2026-11-24T00:00:00.000Z',
            request: { method: 'POST', url: `https://graph.facebook.com/v23.0/${id}?phone_number_id=106540352242922`, headers: [], bodySize: 10, bodyExcerpt: 'method=get', tokenSent: true },
            response: { status: 400, statusText: 'Bad Request', rawHeaders: [['Content-Type', 'application/json; charset=UTF-8'], ['WWW-Authenticate', `OAuth "Facebook Platform" "invalid_request" "${message}"`]], framing: { kind: 'content-length', declaredLength: text.length, bytesRead: text.length }, body: { size: text.length, sha256: 'x', keptBytes: text.length, truncated: false, text, json: JSON.parse(text) } },
            timings: { totalMs: 1 },
          },
        ],
      }
    }
    const redactor = new Redactor()
    expect((await writeRecording(out, prepareRecording(errorOf('1390000000007919'), new PersonalDataRedactor()), redactor)).status).toBe('written')
    expect((await writeRecording(out, prepareRecording(errorOf('1390000000008888'), new PersonalDataRedactor()), redactor)).status).toBe('unchanged')
    // A real change in the message still counts.
    const changed = errorOf('1390000000008888')
    ;(changed.observations[0]!.response!.body.json as { error: { code: number } }).error.code = 131009
    expect((await writeRecording(out, prepareRecording(changed, new PersonalDataRedactor()), redactor)).status).toBe('written')
  })
})

describe('record --from: the headline and the exit code agree (issue 20: it printed "DRIFT:" and exited 0)', () => {
  const drifted = { object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '16315550142', phone_number_id: '106540352242922' }, statuses: [{ id: 'wamid.X', status: 'failed', timestamp: '1698266945', recipient_id: '16315550199', errors: [{ code: '131026', title: 'Message undeliverable' }] }] } }] }] }
  const run = async (failOn: string[]) => {
    const d = dir()
    writeFileSync(join(d, 'e.jsonl'), `${JSON.stringify(drifted)}\n`)
    const out: string[] = []
    const code = await main(['record', '--from', 'e.jsonl', '--recordings', 'recs', '--contracts', join(ROOT, 'contracts/meta'), ...failOn], { stdout: (l) => out.push(l), stderr: () => undefined, env: {}, cwd: d })
    return { code, headline: out.find((l) => /^(PASS|DRIFT|INCONCLUSIVE|RECORDED)/.test(l)) ?? '' }
  }

  it('by default (--fail-on never) a drifting capture is recorded: RECORDED WITH DRIFT, never PASS, naming what is below the threshold, exit 0', async () => {
    const r = await run([])
    expect(r.code).toBe(0)
    expect(r.headline).toMatch(/^RECORDED WITH DRIFT: \d+ contracts \(1 with drift, \d+ without, .*1 breaking.*none fails with --fail-on never/)
  })

  it('with --fail-on breaking: DRIFT and exit 1', async () => {
    const r = await run(['--fail-on', 'breaking'])
    expect(r.code).toBe(1)
    expect(r.headline).toMatch(/^DRIFT: /)
  })
})

describe('record --from says what verify says, and lists every exchange it did not record (issue 20)', () => {
  /** record --from <file> from the CLI: its lines, stdout and stderr apart. */
  async function recordFrom(file: string, ...args: string[]) {
    const out: string[] = []
    const err: string[] = []
    const code = await main(['record', '--from', file, '--recordings', dir(), ...args], { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: {}, cwd: ROOT })
    return { code, out, err }
  }
  /** `2 not recorded` in the Recorded line. */
  const saidNotRecorded = (out: string[]) => Number(/; (\d+) not recorded/.exec(out.find((l) => l.startsWith('Recorded ')) ?? '')?.[1])
  /** The exchanges the `... : not recorded` lines account for (`(2×)` counts two). */
  const listedNotRecorded = (err: string[]) => err.filter((l) => / not recorded( \(|$)/.test(l)).reduce((n, l) => n + Number(/\((\d+)×\)/.exec(l)?.[1] ?? 1), 0)

  it('drifting traffic: the finding lines the note points at, as verify prints them, every unrecorded exchange, and no PASS', async () => {
    const r = await recordFrom(HAR)
    expect(r.code).toBe(0)
    const headline = r.out.find((l) => /^[A-Z]+/.test(l))!
    expect(headline).toMatch(/^RECORDED WITH DRIFT: 3 contracts \(1 with drift, 2 without, 0 skipped, 0 inconclusive\), 5 entries judged, findings: 4 breaking, 0 warning, 1 info; none fails with --fail-on never/)
    expect(r.out.join('\n')).not.toMatch(/^PASS/m)
    // The note refers to lines above: they are there, with the titles verify prints.
    expect(r.out.join('\n')).toContain('Note: this traffic drifts from the operations (the lines marked ! or ✗ above')
    expect(r.err).toContainEqual(expect.stringMatching(/^  ! media\.retrieve-url: 3 entries from .*meta-media\.har; Status 400 instead of 200 with query parameter phone_number_id; Framing changed to chunked/))
    expect(r.err).toContainEqual(expect.stringMatching(/^  re-run: npx driftwatch verify \S*meta-media\.har /))
    // 2 not recorded, and 2 listed: the POST with method=get and the path no operation describes.
    expect(saidNotRecorded(r.out)).toBe(2)
    expect(r.err).toContain('  ! media.retrieve-url: Our client sent POST where the endpoint takes GET or DELETE: not recorded (a method the endpoint does not take)')
    expect(r.err).toContain('  ? No operation describes GET /{api_version}/me/businesses: not recorded')
    expect(listedNotRecorded(r.err)).toBe(2)
  })

  it('at --fail-on breaking the same lines fail (✗) and the headline is DRIFT, exit 1, as verify', async () => {
    const r = await recordFrom(HAR, '--fail-on', 'breaking')
    expect(r.code).toBe(1)
    expect(r.out.find((l) => /^[A-Z]+/.test(l))).toMatch(/^DRIFT: 3 contracts \(2 passed, 1 with drift/)
    expect(r.err).toContainEqual(expect.stringMatching(/^  ✗ media\.retrieve-url: 3 entries/))
    expect(r.err).toContain('  ✗ media.retrieve-url: Our client sent POST where the endpoint takes GET or DELETE: not recorded (a method the endpoint does not take)')
  })

  it('a capture with many kinds of unrecorded exchanges lists them all: the count said is the count listed', async () => {
    const r = await recordFrom(join(ROOT, 'suites/verify/fixtures/cloud-api-traffic.har'))
    expect(r.code).toBe(0)
    expect(saidNotRecorded(r.out)).toBe(6)
    expect(listedNotRecorded(r.err)).toBe(6)
  })

  it('clean traffic: PASS, no note, no drift line, and nothing said to be listed when nothing was left out', async () => {
    const r = await recordFrom(join(ROOT, 'suites/webhooks/fixtures/webhooks.jsonl'))
    expect(r.code).toBe(0)
    expect(r.out.find((l) => /^[A-Z]+/.test(l))).toMatch(/^PASS: 9 contracts \(9 passed, 0 with drift/)
    expect(r.out.join('\n')).not.toContain('Note:')
    expect(r.err.filter((l) => /^  [!✗] /.test(l))).toEqual([])
    expect(r.out.find((l) => l.startsWith('Recorded '))).toMatch(/; 0 not recorded$/)
  })
})
