/**
 * The 3am report from real runs on the simulator (the Jan 20 2026 incident): a passing run, then the
 * chunked one. The framing finding carries the golden recording's headers (so report.html and
 * report.md can put its framing beside now's), and its last good run is the passing run before it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import type { Report } from '../../src/model/report.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const dir = mkdtempSync(join(tmpdir(), 'dw-3am-'))
const out = join(dir, 'latest')
const io = { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: ROOT }
let first: Report
let second: Report

beforeAll(async () => {
  const run = async (scenario: string) => {
    await main(['check', '--scenario', scenario, '--out', out, '--format', 'json,md,html', '--quiet'], io)
    return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report
  }
  first = await run('baseline')
  second = await run('media-chunked')
}, 120_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('a chunked run after a passing one', () => {
  it('dates the framing finding: first seen this run, last good the passing run', () => {
    const f = second.findings.find((x) => x.check === 'framing-conformance' && x.contract === 'media.retrieve-url')!
    expect(f).toMatchObject({ new: true, lastGood: first.finishedAt })
    expect(f.since >= second.startedAt && f.since <= second.finishedAt, f.since).toBe(true)
    expect(first.findings.filter((x) => x.check === 'framing-conformance')).toEqual([])
  })
  it("carries the golden recording's headers in the framing finding's evidence, and both reports show golden vs now", () => {
    const f = second.findings.find((x) => x.check === 'framing-conformance')!
    expect(f.evidence.golden?.headers?.some(([n]) => n.toLowerCase() === 'content-length')).toBe(true)
    expect(f.evidence.headers?.some(([n, v]) => n.toLowerCase() === 'transfer-encoding' && v === 'chunked')).toBe(true)
    const html = readFileSync(join(out, 'report.html'), 'utf8')
    expect(html).toMatch(/<tr class="change"><th>Transfer-Encoding<\/th><td class="absent">absent<\/td><td>chunked<\/td><\/tr>/)
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/Framing, golden vs now: the recording `[^`]+` of \S+ \(200\) had `Content-Length: \d+`; this run \(200\) has `Transfer-Encoding: chunked`/)
  })
  it('names the cause and the endpoint at the top of both reports', () => {
    expect(readFileSync(join(out, 'report.md'), 'utf8').split('\n')[0]).toBe('# driftwatch: DRIFT: 2 breaking — `GET /{api_version}/{media_id}`: Framing changed to chunked (contract: content-length) (breaking), and on 1 more endpoint')
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<span class="cause"><code>GET /{api_version}/{media_id}</code>: Framing changed to chunked')
  })
})
