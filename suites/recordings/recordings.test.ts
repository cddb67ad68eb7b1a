/**
 * Golden recordings, end to end over real sockets: personal data replaced by stable placeholders,
 * re-recording an unchanged upstream leaves every file byte for byte as it was, a check against
 * the recording is quiet, and drift scenarios are found with the right JSON paths and headers.
 * Redaction is proved by grepping every file a run wrote for the token and the phone numbers.
 */
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { runCheck } from '../../src/commands/check.ts'
import { HarnessError } from '../../src/util/errors.ts'
import { runRecord } from '../../src/commands/record.ts'
import { PersonalDataRedactor, withoutPersonalData } from '../../src/recordings/personal-data.ts'
import { sampleReport } from '../reporters/sample-report.ts'
import { chooseGolden, loadRecordings, sameBehaviour, type Recording } from '../../src/recordings/store.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { shownPath } from '../../src/util/paths.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const CONTRACTS = join(ROOT, 'contracts/meta')
const { dir } = tempDirs('dw-rec-')

function filesUnder(d: string): string[] {
  return readdirSync(d, { recursive: true, encoding: 'utf8' }).map((f) => join(d, f)).filter((f) => statSync(f).isFile())
}

const snapshot = (d: string) => Object.fromEntries(filesUnder(d).map((f) => [f, readFileSync(f, 'utf8')]))

describe('personal data placeholders', () => {
  it('replaces phone numbers, wa_id and contact names with stable, format-preserving placeholders', () => {
    const p = new PersonalDataRedactor()
    const body = {
      display_phone_number: '+1 631-555-0142',
      contacts: [{ input: '+16315550199', wa_id: '16315550199', profile: { name: 'Ana Souza' } }],
      messages: [{ id: 'wamid.HBgLMTYzMTU1NTAxOTkVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA' }],
      error: { message: 'Recipient +16315550199 is not in the allowed list' },
      name: 'hello_world',
      from: '2026-01-20',
    }
    const out = p.json(body) as typeof body
    expect(out.display_phone_number).toBe('+1 555-000-0001')
    expect(out.contacts[0]!.wa_id).toBe('15550000002')
    // The same number spelled with a '+' gets the same placeholder, spelled the same way.
    expect(out.contacts[0]!.input).toBe('+15550000002')
    expect(out.contacts[0]!.profile.name).toBe('Person 1')
    expect(out.messages[0]!.id).toBe('wamid.REDACTED1')
    expect(out.error.message).toBe('Recipient +15550000002 is not in the allowed list')
    // A template's name and a date are not personal.
    expect(out.name).toBe('hello_world')
    expect(out.from).toBe('2026-01-20')
    // Raw text gets the same replacements.
    expect(p.text('{"wa_id":"16315550199","display_phone_number":"+1 631-555-0142"}')).toBe('{"wa_id":"15550000002","display_phone_number":"+1 555-000-0001"}')
    // Stable: a second run over the same data gives the same file.
    expect(new PersonalDataRedactor().json(body)).toEqual(out)
  })
})

describe('record -> re-record -> check -> drift', () => {
  let recordings: string

  beforeAll(async () => {
    recordings = dir()
    const r = await runRecord({ target: 'sim', contractsDir: CONTRACTS, apiVersion: 'v23.0', recordingsDir: recordings, env: {}, cwd: ROOT })
    expect(r.files.every((f) => f.status === 'written')).toBe(true)
  })

  it('marks volatile values and keeps no personal data', () => {
    const all = loadRecordings(recordings)
    const media = all.get('media.retrieve-url')![0]!
    expect(media.volatile!.headers).toEqual(expect.arrayContaining(['date', 'x-fb-request-id', 'x-fb-trace-id']))
    expect(media.volatile!.body).toEqual(['/id', '/url'])
    const phone = all.get('phone-numbers.get')![0]!
    expect(phone.personalData).toBe(1)
    expect(phone.observations[0]!.response!.body.json).toMatchObject({ display_phone_number: '+1 555-000-0001' })
  })

  it('re-recording the unchanged upstream changes no file, though ports, ids and dates differ', async () => {
    const before = snapshot(recordings)
    const r = await runRecord({ target: 'sim', contractsDir: CONTRACTS, apiVersion: 'v23.0', recordingsDir: recordings, env: {}, cwd: ROOT })
    expect(r.files.map((f) => f.status)).toEqual(r.files.map(() => 'unchanged'))
    expect(snapshot(recordings)).toEqual(before)
  })

  it('re-recording a drifted upstream rewrites what changed, and only that', async () => {
    const copy = dir()
    await runRecord({ target: 'sim', contractsDir: CONTRACTS, apiVersion: 'v23.0', recordingsDir: copy, env: {}, cwd: ROOT })
    const r = await runRecord({ target: 'sim', scenario: 'media-file-size-string', name: 'sim-baseline', contractsDir: CONTRACTS, apiVersion: 'v23.0', recordingsDir: copy, env: {}, cwd: ROOT })
    const written = r.files.filter((f) => f.status === 'written').map((f) => f.file.slice(copy.length + 1))
    expect(written.sort()).toEqual(['media.retrieve-url.with-phone-number-id/sim-baseline.json', 'media.retrieve-url/sim-baseline.json'])
  })

  it('a malformed recording fails check with its path, and record repairs it (re-recording is the fix)', async () => {
    const copy = dir()
    cpSync(recordings, copy, { recursive: true })
    writeFileSync(join(copy, 'media.delete', 'sim-baseline.json'), '{"version": 1, "contract": "media.delete", "observations": [')
    const err = await runCheck({ target: 'sim', contractsDir: CONTRACTS, apiVersion: 'v23.0', recordingsDir: copy, outDir: dir(), formats: ['json'], env: {}, cwd: ROOT }).catch((e: unknown) => e)
    expect((err as HarnessError).code).toBe('DW_RECORDING_INVALID')
    expect((err as Error).message).toMatch(/media\.delete\/sim-baseline\.json is not valid JSON/)
    // The repair is named: the command that re-records exactly that file, or git to restore it.
    expect((err as Error).message).toContain(`fix: re-record it with \`driftwatch record --only media.delete --name sim-baseline --recordings ${shownPath(ROOT, copy)}\``)
    expect((err as Error).message).toContain('nothing was sent')
    // record says so before it sends anything, and only media.delete goes without its golden.
    const said: string[][] = []
    const r = await runRecord({ target: 'sim', contractsDir: CONTRACTS, apiVersion: 'v23.0', recordingsDir: copy, env: {}, cwd: ROOT, onStart: (i) => said.push(i.warnings), onProgress: () => said.push(['probe']) })
    expect(said[0]).toEqual([expect.stringMatching(/media\.delete\/sim-baseline\.json is not valid JSON.*media\.delete is compared with no golden recording this run/)])
    expect(said[1]).toEqual(['probe'])
    expect(r.files.find((f) => f.file.endsWith('media.delete/sim-baseline.json'))!.status).toBe('written')
    expect(loadRecordings(copy).get('media.delete')![0]!.observations).toHaveLength(1)
  })

  it('a check against the recording of the same upstream has zero findings', async () => {
    const r = await runCheck({ target: 'sim', contractsDir: CONTRACTS, apiVersion: 'v23.0', recordingsDir: recordings, outDir: dir(), formats: ['json'], env: {}, cwd: ROOT })
    expect(r.report.findings).toEqual([])
    expect(r.report.outcome).toBe('pass')
  })

  it('a field changing type is reported by schema-drift at its path', async () => {
    const r = await runCheck({ target: 'sim', scenario: 'media-file-size-string', only: ['media.retrieve-url'], contractsDir: CONTRACTS, apiVersion: 'v23.0', recordingsDir: recordings, outDir: dir(), formats: ['json'], env: {}, cwd: ROOT })
    expect(r.report.findings.map((f) => [f.contract, f.check, f.severity, f.title])).toEqual([['media.retrieve-url', 'schema-drift', 'breaking', '`$.file_size` was integer, is now string']])
    expect(r.report.findings[0]!.expected).toBe('$.file_size: integer')
  })

  it('a header the contract does not pin, gone since the recording, is reported by golden-diff', async () => {
    const r = await runCheck({ target: 'sim', scenario: 'graph-request-id-dropped', only: ['media.post-method'], contractsDir: CONTRACTS, apiVersion: 'v23.0', recordingsDir: recordings, outDir: dir(), formats: ['json'], env: {}, cwd: ROOT })
    const golden = r.report.findings.filter((f) => f.check === 'golden-diff')
    expect(golden.map((f) => [f.severity, f.title])).toEqual([['warning', 'Header x-fb-request-id is no longer sent']])
    expect(golden[0]!.message).toContain('Recorded: x-fb-request-id in every response of the recording "sim-baseline"')
  })

  it('a header value the contract does not pin, changed since the recording, is reported by golden-diff', async () => {
    const r = await runCheck({ target: 'sim', scenario: 'json-served-as-javascript', only: ['media.post-method'], contractsDir: CONTRACTS, apiVersion: 'v23.0', recordingsDir: recordings, outDir: dir(), formats: ['json'], env: {}, cwd: ROOT })
    expect(r.report.findings.filter((f) => f.check === 'golden-diff').map((f) => [f.severity, f.title])).toEqual([['warning', 'Header content-type was "application/json; charset=UTF-8", is now "text/javascript; charset=UTF-8"']])
  })

  it('a field the recording had and today lacks is narrowed (schema-drift, warning)', async () => {
    // error-code-unknown answers with an error that carries no error_data; the recording's errors did.
    const r = await runCheck({ target: 'sim', scenario: 'error-code-unknown', only: ['messages.send-invalid'], contractsDir: CONTRACTS, apiVersion: 'v23.0', recordingsDir: recordings, outDir: dir(), formats: ['json'], env: {}, cwd: ROOT })
    const narrowed = r.report.findings.filter((f) => f.check === 'schema-drift')
    expect(narrowed.map((f) => [f.severity, f.expected, f.actual])).toEqual([['warning', '$.error.error_data: object', '$.error.error_data: absent']])
  })

  it('chooses as golden only recordings of the same target: the baseline for sim, the same origin for a live URL', () => {
    const rec = (name: string, target: string, recordedAt: string): Recording => ({ version: 1, contract: 'c', name, target, apiVersion: 'v23.0', recordedAt, observations: [] })
    const all = new Map([['c', [rec('sim-baseline', 'sim', '2026-01-01T00:00:00Z'), rec('sim-media-chunked', 'sim', '2026-02-01T00:00:00Z'), rec('proxy', 'http://127.0.0.1:8787', '2026-03-01T00:00:00Z'), rec('live', 'https://graph.facebook.com', '2026-02-15T00:00:00Z')]]])
    expect(chooseGolden(all, 'sim').get('c')!.name).toBe('sim-baseline')
    expect(chooseGolden(all, 'https://graph.facebook.com/').get('c')!.name).toBe('live')
    expect(chooseGolden(all, 'https://graph.example.org').has('c')).toBe(false)
  })

  it('sameBehaviour tells an unchanged recording from a changed one', () => {
    const rec = loadRecordings(recordings).get('media.retrieve-url')![0]!
    const moved = structuredClone(rec)
    moved.observations[0]!.request.url = moved.observations[0]!.request.url.replace(/:\d+\//, ':1/')
    moved.observations[0]!.response!.rawHeaders = moved.observations[0]!.response!.rawHeaders.map(([n, v]) => [n, n.toLowerCase() === 'x-fb-request-id' ? 'other' : v])
    expect(sameBehaviour(rec, moved)).toBe(true)
    const changed = structuredClone(rec)
    ;(changed.observations[0]!.response!.body.json as Record<string, unknown>).file_size = '463'
    expect(sameBehaviour(rec, changed)).toBe(false)
  })
})

describe("personal data in a report's findings", () => {
  const base = sampleReport.findings[0]!
  const finding = {
    ...base,
    title: 'Recipient +16315550199 rejected',
    evidence: {
      ...base.evidence,
      bodyExcerpt: '{"display_phone_number":"+1 631-555-0142","contacts":[{"wa_id":"16315550199"}],"error":{"message":"Recipient +16315550199 is not in the allowed list and the body was cut sh',
      curl: `curl -sS -i -X POST --data-raw '{"to":"16315550199","text":{"body":"it'\\''s"}}' 'https://graph.facebook.com/v23.0/1/messages'`,
      golden: { recording: 'sim-baseline', recordedAt: '2026-11-01T00:00:00Z', bodyExcerpt: '{"display_phone_number":"+1 555-000-0002"}' },
    },
  }
  const [out] = withoutPersonalData([finding])

  it('replaces numbers in an excerpt cut short, the curl and the title with one placeholder each', () => {
    const all = JSON.stringify(out)
    expect(all).not.toContain('6315550199')
    expect(all).not.toContain('631-555-0142')
    expect(out!.title).toBe('Recipient +15550000001 rejected')
    expect(out!.evidence.curl).toContain(`"to":"15550000001"`) // learnt from the curl's body: no + to find it by
    expect(out!.evidence.bodyExcerpt).toContain('"wa_id":"15550000001"')
  })

  it('keeps placeholders already there, as in the golden recording', () => {
    expect(out!.evidence.golden!.bodyExcerpt).toBe('{"display_phone_number":"+1 555-000-0002"}')
  })
})

describe('redaction of every file written', () => {
  it('a live-style run with a known token and known phone numbers leaves none of them on disk', async () => {
    const sim = await startSimulator()
    try {
      const env = {
        WHATSAPP_ACCESS_TOKEN: sim.credentials.token,
        WHATSAPP_PHONE_NUMBER_ID: sim.credentials.phoneNumberId,
        WHATSAPP_WABA_ID: sim.credentials.wabaId,
        WHATSAPP_TEST_RECIPIENT: `+${sim.credentials.testRecipient}`,
      }
      const out = dir()
      const recs = join(out, 'recordings')
      await runRecord({ target: sim.url, contractsDir: CONTRACTS, apiVersion: 'v23.0', recordingsDir: recs, env, cwd: ROOT, minIntervalMs: 0 })
      await runCheck({ target: sim.url, contractsDir: CONTRACTS, apiVersion: 'v23.0', recordingsDir: recs, outDir: join(out, 'reports'), formats: ['json', 'md', 'junit', 'html'], env, cwd: ROOT, minIntervalMs: 0 })
      // Drifting runs too: their evidence carries bodies, headers, curls and the golden side beside them.
      for (const scenario of ['error-code-unknown', 'media-sha256-missing']) {
        sim.setScenario(scenario)
        await runCheck({ target: sim.url, contractsDir: CONTRACTS, apiVersion: 'v23.0', recordingsDir: recs, outDir: join(out, scenario), formats: ['json', 'md', 'junit', 'html'], env, cwd: ROOT, minIntervalMs: 0 })
      }
      // Warnings on every contract (an auto-upgraded version): evidence with the business number's body in it.
      sim.setScenario('baseline')
      await runCheck({ target: sim.url, contractsDir: CONTRACTS, apiVersion: 'v21.0', recordingsDir: recs, outDir: join(out, 'v21'), formats: ['json', 'md', 'junit', 'html'], env, cwd: ROOT, minIntervalMs: 0 })
      expect(readFileSync(join(out, 'v21', 'report.html'), 'utf8')).toMatch(/display_phone_number&quot;:&quot;\+1 555-000-000\d/)
      expect(readFileSync(join(out, 'error-code-unknown', 'report.html'), 'utf8')).toContain('<section class="finding"')
      expect(readFileSync(join(out, 'media-sha256-missing', 'report.html'), 'utf8')).toContain('<table class="diff">')
      const files = filesUnder(out)
      expect(files.length).toBeGreaterThan(13)
      const secrets = [sim.credentials.token, sim.credentials.testRecipient, '631-555-0142', '6315550142']
      const hits = files.flatMap((f) => secrets.filter((s) => readFileSync(f, 'utf8').includes(s)).map((s) => `${f}: ${s}`))
      expect(hits).toEqual([])
    } finally {
      await sim.close()
    }
  })
})
