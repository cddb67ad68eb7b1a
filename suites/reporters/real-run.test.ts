/**
 * The 3am report from real runs on the simulator (the Jan 20 2026 incident): a passing run, then the
 * chunked one twice. The framing finding carries the golden recording's headers (so report.html and
 * report.md can put its framing beside now's), and its last good run is the passing run before it.
 * Every time shown for a run is its start (one time base): first seen, last good, the timeline's
 * boxes and `driftwatch history`.
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
let third: Report
let secondHtml: string
let secondMd: string

beforeAll(async () => {
  const run = async (scenario: string) => {
    await main(['check', '--scenario', scenario, '--out', out, '--format', 'json,md,html', '--quiet'], io)
    return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report
  }
  first = await run('baseline')
  second = await run('media-chunked')
  secondHtml = readFileSync(join(out, 'report.html'), 'utf8')
  secondMd = readFileSync(join(out, 'report.md'), 'utf8')
  third = await run('media-chunked')
}, 120_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('a chunked run after a passing one', () => {
  it('dates the framing finding: first seen this run, last good the passing run', () => {
    const f = second.findings.find((x) => x.check === 'framing-conformance' && x.contract === 'media.retrieve-url')!
    expect(f).toMatchObject({ new: true, lastGood: first.startedAt })
    expect(f.since >= second.startedAt && f.since <= second.finishedAt, f.since).toBe(true)
    expect(first.findings.filter((x) => x.check === 'framing-conformance')).toEqual([])
  })
  it("carries the golden recording's headers in the framing finding's evidence, and both reports show golden vs now", () => {
    const f = second.findings.find((x) => x.check === 'framing-conformance')!
    expect(f.evidence.golden?.headers?.some(([n]) => n.toLowerCase() === 'content-length')).toBe(true)
    expect(f.evidence.headers?.some(([n, v]) => n.toLowerCase() === 'transfer-encoding' && v === 'chunked')).toBe(true)
    const html = secondHtml
    expect(html).toMatch(/<tr class="change"><th>Transfer-Encoding<\/th><td class="absent">absent<\/td><td>chunked<\/td><\/tr>/)
    expect(secondMd).toMatch(/Framing, golden vs now: the recording `[^`]+` of \S+ \(200\) had `Content-Length: \d+`; this run \(200\) has `Transfer-Encoding: chunked`/)
  })
  it('names the cause and the endpoint at the top of both reports', () => {
    expect(secondMd.split('\n')[0]).toBe('# driftwatch: DRIFT: 2 breaking — `GET /{api_version}/{media_id}`: Framing changed to chunked (contract: content-length) (breaking), and on 1 more endpoint')
    expect(secondHtml).toContain('<span class="cause"><code>GET /{api_version}/{media_id}</code>: Framing changed to chunked')
  })
})

describe('one time base: every time shown for a run is its start', () => {
  // A run against Meta can take minutes: its start and its finish are different times.
  it('the runs took time', () => {
    for (const r of [first, second, third]) expect(r.startedAt < r.finishedAt, `${r.startedAt} ${r.finishedAt}`).toBe(true)
  })
  it("the third run's report: first seen is run 2's start and last good run 1's, in report.md and report.html", () => {
    const f = third.findings.find((x) => x.check === 'framing-conformance' && x.contract === 'media.retrieve-url')!
    expect(f).toMatchObject({ new: false, since: second.startedAt, lastGood: first.startedAt })
    const md = readFileSync(join(out, 'report.md'), 'utf8')
    expect(md).toContain(`| ${second.startedAt} | ${first.startedAt} |`)
    expect(md).toContain(`- **First seen:** ${second.startedAt}; **last good:** ${first.startedAt}`)
    expect(md).toContain('times in UTC (ISO 8601); run time: when the run started')
    const html = readFileSync(join(out, 'report.html'), 'utf8')
    expect(html).toContain(`<td>${second.startedAt}</td><td>${first.startedAt}</td>`)
    expect(html).toContain(`<dt>First seen</dt><dd>${second.startedAt}</dd></div><div><dt>Last good</dt><dd>${first.startedAt}</dd>`)
    expect(html).toContain('<dt>Times</dt><dd>UTC (ISO 8601); run time: when the run started</dd>')
    for (const r of [first, second]) expect(html).not.toContain(r.finishedAt)
  })
  it("report.html's timeline dates each box at its run's start: green run 1, red runs 2 and 3", () => {
    const row = readFileSync(join(out, 'report.html'), 'utf8').split('\n').find((l) => l.startsWith('<tr id="media.retrieve-url"'))!
    const boxes = [...row.matchAll(/<rect [^>]*class="(\w+)"><title>([^:]+:[^:]+:[^:]+): (\w+)/g)].map((m) => [m[1], m[2]])
    expect(boxes).toEqual([
      ['pass', first.startedAt],
      ['drift', second.startedAt],
      ['drift', third.startedAt],
    ])
  })
  it('`driftwatch history` says the same times: the episode appeared at run 2\'s start, the runs span run 1\'s start to run 3\'s', async () => {
    const said: string[] = []
    await main(['history', '--out', out, '--json'], { ...io, stdout: (l: string) => said.push(l) })
    const h = JSON.parse(said.join('\n')) as { findings: { contract: string; check: string; episodes: { appearedAt: string }[] }[] }
    expect(h.findings.find((x) => x.contract === 'media.retrieve-url' && x.check === 'framing-conformance')!.episodes.map((e) => e.appearedAt)).toEqual([second.startedAt])
    const text: string[] = []
    await main(['history', '--out', out], { ...io, stdout: (l: string) => text.push(l) })
    const shown = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`
    expect(text[0]).toContain(`(${shown(first.startedAt)} to ${shown(third.startedAt)})`)
  })
})
