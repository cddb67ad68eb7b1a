/**
 * Reports that agree: the exit code, the headline, the progress marks, report.json, report.md and
 * junit.xml all follow one rule from --fail-on. Each case reproduces what a user saw before.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import type { Report } from '../../src/model/report.ts'
import { rawServer, type RawServer } from '../helpers/raw-server.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const tmp: string[] = []
const servers: RawServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function run(args: string[], env: Record<string, string> = {}) {
  const out = mkdtempSync(join(tmpdir(), 'dw-agree-'))
  tmp.push(out)
  const stdout: string[] = []
  const stderr: string[] = []
  const code = await main([...args, '--out', out], { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l), env, cwd: ROOT })
  const read = (f: string) => readFileSync(join(out, f), 'utf8')
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n'), report: JSON.parse(read('report.json')) as Report, md: read('report.md'), junit: read('junit.xml') }
}

describe('one rule from --fail-on', () => {
  it('warnings only (--api-version v21.0): exit 0, PASS, ! not ✗, and JUnit has no failure', async () => {
    const r = await run(['check', '--api-version', 'v21.0'])
    expect(r.report.summary.warning).toBeGreaterThan(0)
    expect(r.report.summary.breaking).toBe(0)
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^PASS: 13 contracts \(\d+ passed, 0 with drift/)
    expect(r.stdout).toContain('below --fail-on breaking')
    expect(r.stderr).not.toContain('✗')
    expect(r.stderr).toMatch(/\] ! media\.upload .*warning: Requested v21\.0, served v22\.0/)
    expect(r.report).toMatchObject({ outcome: 'pass', failOn: 'breaking' })
    expect(r.md).toMatch(/^# driftwatch: PASS: no drift at --fail-on breaking \(\d+ warning below it\)/)
    expect(r.junit).toMatch(/<testsuites name="driftwatch" tests="13" failures="0"/)
  })

  it('the same run with --fail-on warning: exit 1, DRIFT, ✗, and JUnit fails the same contracts', async () => {
    const r = await run(['check', '--api-version', 'v21.0', '--fail-on', 'warning'])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^DRIFT: /)
    expect(r.stderr).toContain('✗')
    const failed = r.report.results.filter((x) => x.status === 'failed').length
    expect(failed).toBeGreaterThan(0)
    expect(r.junit).toMatch(new RegExp(`<testsuites name="driftwatch" tests="13" failures="${failed}"`))
    expect(r.md).toMatch(/^# driftwatch: DRIFT: \d+ warning/)
  })
})

describe('the headline names drift outside the contracts', () => {
  /** A HAR of entries `[method, path, form body?, status, response body]`, as a browser would save it. */
  function har(entries: [string, string, string | undefined, number, string][]): string {
    const dir = mkdtempSync(join(tmpdir(), 'dw-agree-har-'))
    tmp.push(dir)
    const file = join(dir, 'traffic.har')
    const entry = ([method, path, form, status, body]: (typeof entries)[number], i: number) => ({
      startedDateTime: new Date(Date.UTC(2026, 11, 1, 10, 0, i)).toISOString(),
      time: 5,
      request: { method, url: `https://graph.facebook.com${path}`, httpVersion: 'HTTP/1.1', headers: [{ name: 'Authorization', value: 'Bearer x' }], queryString: [], cookies: [], headersSize: -1, bodySize: form?.length ?? 0, ...(form ? { postData: { mimeType: 'application/x-www-form-urlencoded', text: form } } : {}) },
      response: { status, statusText: '', httpVersion: 'HTTP/1.1', headers: [{ name: 'Content-Type', value: 'application/json; charset=UTF-8' }], cookies: [], content: { size: body.length, mimeType: 'application/json', text: body }, redirectURL: '', headersSize: -1, bodySize: body.length },
      cache: {},
      timings: { send: 0, wait: 5, receive: 0 },
    })
    writeFileSync(file, JSON.stringify({ log: { version: '1.2', creator: { name: 'test', version: '1' }, entries: entries.map(entry) } }))
    return file
  }
  const error = JSON.stringify({ error: { message: 'Unsupported post request.', type: 'GraphMethodException', code: 100, error_subcode: 33, fbtrace_id: 'AbC' } })

  it('a POST with method=get to an id nothing names is drift with no contract row: the headline says where it is', async () => {
    // The id is unknown (no WHATSAPP_* set, nothing earlier named it): the exchange is unattributed, its finding breaking.
    const r = await run(['verify', har([['POST', '/v23.0/1390000000007919', 'method=get', 405, error]]), '--no-history'])
    expect(r.code).toBe(1)
    expect(r.report.findings.some((f) => f.contract === '(unattributed)' && f.severity === 'breaking')).toBe(true)
    expect(r.stdout).toMatch(/^DRIFT: 0 contracts \(0 passed, 0 with drift, 0 skipped, 0 inconclusive; outside them: \(unattributed\) 1 finding\), 0 entries judged, findings: 1 breaking/)
  })

  it('info about traffic outside the contracts (a path no operation has) stays out of the headline', async () => {
    const r = await run(['verify', har([['GET', '/v23.0/me/businesses', undefined, 200, '{"data":[]}']]), '--no-history'])
    expect(r.report.findings.map((f) => [f.contract, f.severity])).toEqual([['(no operation)', 'info']])
    expect(r.stdout).not.toContain('outside them')
    // Unless info is what fails the run.
    const strict = await run(['verify', har([['GET', '/v23.0/me/businesses', undefined, 200, '{"data":[]}']]), '--no-history', '--fail-on', 'info'])
    expect(strict.code).toBe(1)
    expect(strict.stdout).toMatch(/^DRIFT: 0 contracts \(0 passed, 0 with drift, 0 skipped, 0 inconclusive; outside them: \(no operation\) 1 finding\)/)
  })
})

describe('one cause, one row; bytes described, never dumped; a reproduction per finding', () => {
  it('random binary under a JSON content type over 3 samples is one "Body is not JSON" finding, 3 of 3, with hex and a curl line', async () => {
    const server = await rawServer(() => {
      const b = randomBytes(300)
      return { bytes: Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${b.length}\r\nfacebook-api-version: v23.0\r\n\r\n`, 'latin1'), b]) }
    })
    servers.push(server)
    const token = 'EAAGm0PX4ZCpsBAsecretvalue123'
    const r = await run(['check', '--target', server.url, '--only', 'phone-numbers.get', '--samples', '3'], { WHATSAPP_ACCESS_TOKEN: token, WHATSAPP_PHONE_NUMBER_ID: '106540352242922', WHATSAPP_WABA_ID: '102290129340398' })
    const notJson = r.report.findings.filter((f) => f.title === 'Body is not JSON')
    expect(notJson).toHaveLength(1)
    expect(notJson[0]).toMatchObject({ samples: 3, of: 3 })
    expect(r.md.match(/\| Body is not JSON \|/g)).toHaveLength(1)
    expect(r.md).toMatch(/<not UTF-8 text, 300 bytes, sha256 [0-9a-f]{64}; first bytes: ([0-9a-f]{2} ){31}[0-9a-f]{2}>/)
    expect(r.md).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFD]/)
    expect(r.md).toContain(`curl -sS -i -H "Authorization: Bearer $WHATSAPP_ACCESS_TOKEN" '${server.url}/v23.0/106540352242922'`)
    for (const text of [r.md, r.junit, JSON.stringify(r.report), r.stdout, r.stderr]) expect(text).not.toContain(token)
  })

  it('a text body stays quoted as text (the quiet side)', async () => {
    const body = '{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"fbtrace_id":"AbC"}}'
    const server = await rawServer(() => ({ bytes: `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nfacebook-api-version: v23.0\r\n\r\n${body}` }))
    servers.push(server)
    const r = await run(['check', '--target', server.url, '--only', 'phone-numbers.get'], { WHATSAPP_ACCESS_TOKEN: 'EAAGm0PX4ZCpsBAsecretvalue123', WHATSAPP_PHONE_NUMBER_ID: '106540352242922', WHATSAPP_WABA_ID: '102290129340398' })
    expect(r.md).toContain('(#100) Invalid parameter')
    expect(r.md).not.toContain('first bytes:')
  })
})
