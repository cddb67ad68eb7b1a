/**
 * `driftwatch verify`: a HAR written by hand from the HAR 1.2 spec (headers as {name, value}
 * arrays, a base64 media body, an HTTP/2 entry with pseudo-headers, a token in a query string)
 * holding both 2026 incidents, and driftwatch's own recordings. Findings are asserted exactly;
 * every file written is grepped for the token and the phone number the HAR carries.
 */
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { HarnessError } from '../../src/util/errors.ts'
import { NO_OPERATION, UNATTRIBUTED } from '../../src/judge/index.ts'
import { runVerify } from '../../src/commands/verify.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const HAR = join(import.meta.dirname, 'fixtures', 'meta-media.har')
const TOKEN = 'EAAGhar0fixture0token0not0real0ZDZD'
const { dir } = tempDirs('dw-verify-')

const ENV = { WHATSAPP_PHONE_NUMBER_ID: '106540352242922' }
const verify = (input: string, out = dir(), contractsDir = 'contracts/meta') => runVerify({ input, contractsDir, recordingsDir: 'recordings/meta', outDir: out, formats: ['json', 'md', 'junit'], env: ENV, cwd: ROOT })

function captureIO() {
  const out: string[] = []
  const err: string[] = []
  return { io: { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s), cwd: ROOT, env: ENV }, out, err }
}

describe('verify a HAR', () => {
  it('attributes each entry to the operation it is, and says exactly what drifted', async () => {
    const { report, counts } = await verify(HAR)
    expect(counts).toEqual({ entries: 6, attributed: 5, unattributed: 1 })
    expect(report.summary).toMatchObject({ entries: 6, attributed: 5, unattributed: 1 })
    expect(report.target).toBe('har:suites/verify/fixtures/meta-media.har')
    expect(report.findings.map((f) => [f.contract, f.check, f.severity]).sort()).toEqual(
      [
        // Jan 20 2026: the optional phone_number_id made Meta answer 190 to a token the plain retrieve just used, chunked.
        ['media.retrieve-url', 'parameter-rejection', 'breaking'],
        ['media.retrieve-url', 'framing-conformance', 'breaking'],
        // Feb 6 2026: our client sent POST with method=get to a media id the traffic had named, and this server accepted it.
        ['media.retrieve-url', 'consumer-method', 'breaking'],
        ['media.retrieve-url', 'method-conformance', 'breaking'],
        [NO_OPERATION, 'attribution', 'info'],
      ].sort(),
    )
    const byContract = Object.fromEntries(report.results.map((r) => [r.contract, r]))
    // The download (sha256 and size checked against the retrieve that handed out its URL) and the HTTP/2 phone number pass.
    expect(byContract['media.retrieve-url']).toMatchObject({ status: 'failed', probes: 3 })
    expect(byContract['media.download']).toMatchObject({ status: 'passed', probes: 1 })
    expect(byContract['phone-numbers.get']).toMatchObject({ status: 'passed', probes: 1 })
    expect(Object.keys(byContract).sort()).toEqual(['media.download', 'media.retrieve-url', 'phone-numbers.get'])
    const unmatched = report.findings.find((f) => f.contract === NO_OPERATION)!
    expect(unmatched.title).toBe('No operation describes GET /{api_version}/me/businesses')
    expect(unmatched.message).toContain('suites/verify/fixtures/meta-media.har entry 6')
    const consumer = report.findings.find((f) => f.check === 'consumer-method')!
    expect(consumer.title).toBe('Our client sent POST where the endpoint takes GET or DELETE')
    expect(consumer.message).toContain('with body method=get')
    expect(consumer.message).toContain('id 1390000000004242 is a media item (media.retrieve-url answered for it (suites/verify/fixtures/meta-media.har entry 1))')
    const trigger = report.findings.find((f) => f.check === 'parameter-rejection')!
    expect(trigger.title).toBe('Status 400 instead of 200 with query parameter phone_number_id')
    expect(trigger.message).toContain('The same request without phone_number_id succeeded in this traffic (200, 2026-01-20T09:14:02.118Z)')
  })

  it('lists traffic to hosts no operation touches once per host, not once per request', async () => {
    const har = JSON.parse(readFileSync(HAR, 'utf8'))
    const asset = (path: string) => ({ ...har.log.entries[5], request: { ...har.log.entries[5].request, url: `https://fonts.example.net${path}`, headers: [] } })
    har.log.entries.push(asset('/a.woff2'), asset('/b.woff2'), asset('/css?family=Inter'))
    const file = join(dir(), 'browser.har')
    writeFileSync(file, JSON.stringify(har))
    const { report } = await verify(file)
    const unmatched = report.findings.filter((f) => f.contract === NO_OPERATION).map((f) => [f.title, f.samples])
    expect(unmatched).toEqual([
      ['No operation describes GET /{api_version}/me/businesses', 1],
      ['No operation covers fonts.example.net', 3],
    ])
    expect(report.summary).toMatchObject({ entries: 9, attributed: 5, unattributed: 4 })
  })

  it('keeps no token and no phone number in any report it writes', async () => {
    const out = dir()
    await verify(HAR, out)
    const files = readdirSync(out)
    expect(files.sort()).toEqual(['junit.xml', 'report.json', 'report.md'])
    for (const f of files) {
      const text = readFileSync(join(out, f), 'utf8')
      expect(text, f).not.toContain(TOKEN)
      expect(text, f).not.toContain('415-555-0123')
    }
  })

  it('judges an entry whose exporter left the body out on status and headers only', async () => {
    const har = JSON.parse(readFileSync(HAR, 'utf8'))
    // The retrieve, without its body, after the upload that named its media id.
    const upload = { ...har.log.entries[0], request: { ...har.log.entries[0].request, method: 'POST', url: 'https://graph.facebook.com/v23.0/106540352242922/media' }, response: { ...har.log.entries[0].response, content: { size: 27, mimeType: 'application/json; charset=UTF-8', text: '{"id":"1390000000004242"}' }, headers: har.log.entries[0].response.headers.map((h: { name: string; value: string }) => (h.name === 'Content-Length' ? { ...h, value: '25' } : h)) } }
    har.log.entries = [upload, har.log.entries[0]]
    delete har.log.entries[1].response.content.text
    const file = join(dir(), 'no-body.har')
    writeFileSync(file, JSON.stringify(har))
    const { report } = await verify(file)
    expect(report.findings).toEqual([])
    expect(report.results.map((r) => [r.contract, r.status])).toEqual([['media.upload', 'passed'], ['media.retrieve-url', 'passed']])
    // Truncate the declared length: a transport finding, judged without the body.
    har.log.entries[1].response.headers = har.log.entries[1].response.headers.filter((h: { name: string }) => h.name !== 'Content-Length').concat([{ name: 'Transfer-Encoding', value: 'chunked' }])
    writeFileSync(file, JSON.stringify(har))
    expect((await verify(file)).report.findings.map((f) => [f.contract, f.check, f.title])).toEqual([['media.retrieve-url', 'framing-conformance', 'Framing changed to chunked (contract: content-length)']])
  })

  it('an entry whose operation the traffic does not settle is unattributed, with its candidates, and never judged on a guess', async () => {
    const har = JSON.parse(readFileSync(HAR, 'utf8'))
    har.log.entries = [har.log.entries[0]]
    delete har.log.entries[0].response.content.text
    const file = join(dir(), 'unsettled.har')
    writeFileSync(file, JSON.stringify(har))
    const { report } = await verify(file)
    expect(report.findings.map((f) => [f.contract, f.check, f.severity])).toEqual([[UNATTRIBUTED, 'attribution', 'info']])
    expect(report.findings[0]!.message).toContain('To settle it, set WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_WABA_ID')
    expect(report.outcome).toBe('inconclusive')
  })

  it('reads status 0 (a request the browser aborted) as no response: info, not drift, and nothing attributed is inconclusive', async () => {
    const har = JSON.parse(readFileSync(HAR, 'utf8'))
    har.log.entries = [har.log.entries[0]]
    har.log.entries[0].response = { status: 0, statusText: '', httpVersion: '', headers: [], cookies: [], content: { size: 0, mimeType: 'x-unknown' }, redirectURL: '', headersSize: -1, bodySize: -1 }
    const file = join(dir(), 'aborted.har')
    writeFileSync(file, JSON.stringify(har))
    const { report } = await verify(file)
    // Without an answer nothing says whether /{id} was a media item or a phone number: unattributed, and only what both agree on is said.
    expect(report.findings.map((f) => [f.contract, f.check, f.severity])).toEqual([
      [UNATTRIBUTED, 'attribution', 'info'],
      [UNATTRIBUTED, 'transport', 'info'],
    ])
    expect(report.findings[0]!.title).toMatch(/^Unattributed: GET \/\{api_version\}\/\{id\} could be .*media\.retrieve-url.*phone-numbers\.get/)
    expect(report.findings[1]!.title).toBe('Upstream unreachable (DW_HAR_NO_RESPONSE)')
    expect(report.summary).toMatchObject({ entries: 1, attributed: 0, unattributed: 1 })
    expect(report.outcome).toBe('inconclusive')
  })

  it('hostile entries are findings or attribution notes, never an internal error: a body nested 50,000 deep, a broken percent-escape', async () => {
    const har = JSON.parse(readFileSync(HAR, 'utf8'))
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`
    const first = har.log.entries[0]
    const nested = { ...first, response: { ...first.response, content: { size: deep.length, mimeType: 'application/json; charset=UTF-8', text: deep }, headers: first.response.headers.map((h: { name: string; value: string }) => (h.name === 'Content-Length' ? { ...h, value: String(deep.length) } : h)) } }
    const broken = { ...har.log.entries[5], request: { ...har.log.entries[5].request, url: 'https://graph.facebook.com/v23.0/%E0%A4%A' } }
    har.log.entries = [first, nested, broken]
    const file = join(dir(), 'hostile.har')
    writeFileSync(file, JSON.stringify(har))
    const { report } = await verify(file)
    expect(report.outcome).toBe('drift')
    expect(report.findings.map((f) => [f.contract, f.check, f.severity, f.title])).toEqual([
      ['media.retrieve-url', 'body-schema-conformance', 'breaking', 'Body nested deeper than 256 levels'],
      [NO_OPERATION, 'attribution', 'info', 'No operation describes GET /{api_version}/%E0%A4%A'],
    ])
    expect(report.findings[0]!.message).toContain('nested deeper than 256 levels')
    const cli = captureIO()
    expect(await main(['verify', file, '--out', dir(), '--quiet'], cli.io)).toBe(1)
    expect(cli.err.join('\n')).not.toContain('DW_INTERNAL')
  })

  it('fails a malformed HAR with the file, the JSON path and what is wrong', async () => {
    const har = JSON.parse(readFileSync(HAR, 'utf8'))
    har.log.entries[2].response.status = '400'
    const file = join(dir(), 'broken.har')
    writeFileSync(file, JSON.stringify(har))
    const err = await verify(file).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HarnessError)
    expect((err as HarnessError).code).toBe('DW_HAR_INVALID')
    expect((err as Error).message).toMatch(/broken\.har: log\.entries\[2\]\.response\.status must be a number/)
    writeFileSync(file, '{"log": ')
    await expect(verify(file)).rejects.toThrow(/broken\.har is not valid JSON/)
  })

  it('exits 1 on drift and 2 on a missing file, from the CLI', async () => {
    const a = captureIO()
    expect(await main(['verify', HAR, '--out', dir(), '--quiet'], a.io)).toBe(1)
    expect(a.out[0]).toMatch(/^DRIFT: /)
    const b = captureIO()
    expect(await main(['verify', 'nope.har'], b.io)).toBe(2)
    expect(b.err.join('\n')).toContain('nope.har does not exist')
    const c = captureIO()
    expect(await main(['verify'], c.io)).toBe(2)
    expect(c.err.join('\n')).toContain('verify takes one HAR file, cassette or recordings directory')
  })
})

describe('verify recordings', () => {
  it('passes the committed golden recordings against the contracts they were made for', async () => {
    const { report, counts } = await verify('recordings/meta')
    expect(counts.entries).toBeGreaterThanOrEqual(13)
    expect(counts.unattributed).toBe(0)
    expect(report.findings).toEqual([])
    expect(report.results.every((r) => r.status === 'passed')).toBe(true)
  })

  it('reports drift in a recording that was edited to show file_size as a string', async () => {
    const copy = dir()
    cpSync(join(ROOT, 'recordings/meta'), copy, { recursive: true })
    const file = join(copy, 'media.retrieve-url', 'sim-baseline.json')
    const rec = JSON.parse(readFileSync(file, 'utf8'))
    rec.observations[0].response.body.json.file_size = '463'
    writeFileSync(file, JSON.stringify(rec))
    const { report } = await verify(copy)
    expect(report.findings.map((f) => [f.contract, f.check, f.title])).toEqual([['media.retrieve-url', 'schema-drift', '`$.file_size` was integer, is now string']])
  })
})
