/**
 * `driftwatch verify`: a HAR written by hand from the HAR 1.2 spec (headers as {name, value}
 * arrays, a base64 media body, an HTTP/2 entry with pseudo-headers, a token in a query string),
 * and driftwatch's own recordings. Findings are asserted exactly; every file written is grepped
 * for the token and the phone number the HAR carries.
 */
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli.ts'
import { HarnessError } from '../../src/errors.ts'
import { runVerify, UNMATCHED } from '../../src/verify/verify.ts'
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
  it('judges each entry under the contract it matches, and says exactly what drifted', async () => {
    const { report, entries } = await verify(HAR)
    expect(entries).toBe(6)
    expect(report.target).toBe('har:suites/verify/fixtures/meta-media.har')
    expect(report.findings.map((f) => [f.contract, f.check, f.severity]).sort()).toEqual(
      [
        // Feb 6 2026: our client sent POST with method=get, and this server accepted it.
        ['media.post-method', 'consumer-method', 'breaking'],
        ['media.post-method', 'method-conformance', 'breaking'],
        // Jan 20 2026: the optional phone_number_id made Meta answer 190, chunked.
        ['media.retrieve-url.with-phone-number-id', 'status-conformance', 'breaking'],
        ['media.retrieve-url.with-phone-number-id', 'framing-conformance', 'breaking'],
        [UNMATCHED, 'contract-match', 'info'],
      ].sort(),
    )
    const byContract = Object.fromEntries(report.results.map((r) => [r.contract, r]))
    // The clean entries pass: retrieve, the base64 download (sha256 and size checked against the retrieve before it), the HTTP/2 phone number.
    expect(byContract['media.retrieve-url']).toMatchObject({ status: 'passed', probes: 1 })
    expect(byContract['media.download']).toMatchObject({ status: 'passed', probes: 1 })
    expect(byContract['phone-numbers.get']).toMatchObject({ status: 'passed', probes: 1 })
    expect(byContract['templates.list']).toMatchObject({ status: 'skipped', reason: 'not in the traffic of suites/verify/fixtures/meta-media.har' })
    const unmatched = report.findings.find((f) => f.contract === UNMATCHED)!
    expect(unmatched.title).toBe('No contract describes GET /v23.0/me/businesses')
    expect(unmatched.message).toContain('suites/verify/fixtures/meta-media.har entry 6')
    const consumer = report.findings.find((f) => f.check === 'consumer-method')!
    expect(consumer.title).toBe('Our client sent POST where the endpoint takes GET or DELETE')
    expect(consumer.message).toContain('with body method=get')
    expect(report.findings.find((f) => f.check === 'status-conformance')!.title).toBe('Status 400 instead of 200 with query parameter phone_number_id')
  })

  it('lists traffic to hosts no contract touches once per host, not once per request', async () => {
    const har = JSON.parse(readFileSync(HAR, 'utf8'))
    const asset = (path: string) => ({ ...har.log.entries[5], request: { ...har.log.entries[5].request, url: `https://fonts.example.net${path}`, headers: [] } })
    har.log.entries.push(asset('/a.woff2'), asset('/b.woff2'), asset('/css?family=Inter'))
    const file = join(dir(), 'browser.har')
    writeFileSync(file, JSON.stringify(har))
    const { report } = await verify(file)
    const unmatched = report.findings.filter((f) => f.contract === UNMATCHED).map((f) => [f.title, f.samples])
    expect(unmatched).toEqual([
      ['No contract describes GET /v23.0/me/businesses', 1],
      ['No contract covers fonts.example.net (3 entries)', 3],
    ])
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
    har.log.entries = [har.log.entries[0]]
    delete har.log.entries[0].response.content.text
    const file = join(dir(), 'no-body.har')
    writeFileSync(file, JSON.stringify(har))
    const { report } = await verify(file)
    expect(report.findings).toEqual([])
    expect(report.results.find((r) => r.contract === 'media.retrieve-url')).toMatchObject({ status: 'passed' })
  })

  it('reads status 0 (a request the browser aborted) as no response: info, not drift', async () => {
    const har = JSON.parse(readFileSync(HAR, 'utf8'))
    har.log.entries = [har.log.entries[0]]
    har.log.entries[0].response = { status: 0, statusText: '', httpVersion: '', headers: [], cookies: [], content: { size: 0, mimeType: 'x-unknown' }, redirectURL: '', headersSize: -1, bodySize: -1 }
    const file = join(dir(), 'aborted.har')
    writeFileSync(file, JSON.stringify(har))
    const { report } = await verify(file)
    expect(report.findings.map((f) => [f.contract, f.check, f.severity, f.title])).toEqual([['media.retrieve-url', 'transport', 'info', 'Upstream unreachable (DW_HAR_NO_RESPONSE)']])
    expect(report.results.find((r) => r.contract === 'media.retrieve-url')).toMatchObject({ status: 'inconclusive', reason: expect.stringContaining('none with a usable response') })
    expect(report.outcome).toBe('inconclusive')
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
    expect(c.err.join('\n')).toContain('verify takes one HAR file or recordings directory')
  })
})

describe('verify recordings', () => {
  it('passes the committed golden recordings against the contracts they were made for', async () => {
    const { report, entries } = await verify('recordings/meta')
    expect(entries).toBeGreaterThanOrEqual(13)
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
