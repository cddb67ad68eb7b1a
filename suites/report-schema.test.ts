/**
 * report.json has a schema, and what merge, diff and the next run read is held to it: a crafted
 * shard report (markup where a severity goes, a string where a request count goes, a field no
 * version writes) is refused naming the file and the field, before any of it is rendered. And the
 * schema cannot drift from the writers: every report the commands write here validates.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main, type CliIO } from '../src/cli/index.ts'
import type { Report } from '../src/model/report.ts'
import { reportProblem } from '../src/model/report-schema.ts'
import { readPreviousReport } from '../src/commands/write-reports.ts'
import { tempDirs } from './helpers/temp-dirs.ts'
import { sampleReport } from './reporters/sample-report.ts'

const ROOT = join(import.meta.dirname, '..')
const tmp = tempDirs('dw-schema-')

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const io: CliIO = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: {}, cwd: ROOT }
  const code = await main(args, io)
  return { code, out: out.join('\n'), err: err.join('\n') }
}

const read = (dir: string) => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report

describe('every report the commands write is a valid report.json', () => {
  it('check (pass and drift), check --targets, a shard, merge and verify', async () => {
    const d = tmp.dir()
    const runs: [string, string[]][] = [
      ['check', ['check', '--out', join(d, 'pass'), '--no-history', '--quiet']],
      ['check drift', ['check', '--scenario', 'media-chunked', '--out', join(d, 'drift'), '--no-history', '--quiet']],
      ['check --targets', ['check', '--targets', 'examples/targets-lab.yaml', '--out', join(d, 'lab'), '--no-history', '--quiet']],
      ['shard 1/2', ['check', '--targets', 'examples/targets-lab.yaml', '--shard', '1/2', '--out', join(d, 's1'), '--no-history', '--quiet']],
      ['shard 2/2', ['check', '--targets', 'examples/targets-lab.yaml', '--shard', '2/2', '--out', join(d, 's2'), '--no-history', '--quiet']],
      ['merge', ['merge', join(d, 's1', 'report.json'), join(d, 's2', 'report.json'), '--out', join(d, 'merged'), '--no-history']],
      ['verify', ['verify', 'suites/verify/fixtures/meta-media.har', '--out', join(d, 'verify'), '--no-history', '--quiet']],
    ]
    for (const [what, args] of runs) {
      const r = await run(args)
      expect([0, 1], `${what}: ${r.err}`).toContain(r.code)
      const dir = args[args.indexOf('--out') + 1]!
      expect(reportProblem(read(dir)), what).toBeUndefined()
    }
    // Traffic reports say when the traffic happened, apart from the run's own times.
    expect(read(join(d, 'verify')).captured).toEqual({ from: '2026-01-20T09:14:02.118Z', to: '2026-02-06T15:42:00.000Z' })
  })

  it('the sample report the reporter goldens are made from is one too', () => {
    expect(reportProblem(JSON.parse(JSON.stringify(sampleReport)))).toBeUndefined()
  })
})

describe('a report that is not one is refused, naming the file and the field', () => {
  const valid = () => JSON.parse(JSON.stringify(sampleReport)) as Record<string, any>

  it.each([
    ['markup as a severity', (r: Record<string, any>) => (r.findings[0].severity = '<img src=x onerror=alert(1)>'), /findings\[0\]\.severity must be one of breaking, warning, info \(got "<img src=x onerror=alert\(1\)>"\)/],
    ['an HTML string as a request count', (r: Record<string, any>) => (r.results[1].probes = '<b>3</b>'), /results\[1\]\.probes must be integer \(got "<b>3<\/b>"\)/],
    ['a field report.json does not have', (r: Record<string, any>) => (r.findings[0].evidence.onclick = 'x'), /findings\[0\]\.evidence\.onclick is not a field of report\.json version 1/],
    ['a required field missing', (r: Record<string, any>) => delete r.summary.breaking, /summary\.breaking is missing/],
    ['another version', (r: Record<string, any>) => (r.version = 2), /version must be 1 \(got 2\)/],
    ['a count no run reaches', (r: Record<string, any>) => (r.findings[0].samples = 1e30), /findings\[0\]\.samples must be <= 1000000000000 \(got 1e\+30\)/],
    ['a status no HTTP answer has', (r: Record<string, any>) => (r.findings[0].evidence.status = -1), /findings\[0\]\.evidence\.status must be >= 0 \(got -1\)/],
    ['markup where a time goes', (r: Record<string, any>) => (r.findings[1].since = '<script>x</script>'), /findings\[1\]\.since must match format "date-time" \(got "<script>x<\/script>"\)/],
    ['a header that is not a name and a value', (r: Record<string, any>) => (r.findings[0].evidence.headers = [['only-a-name']]), /findings\[0\]\.evidence\.headers\[0\] must NOT have fewer than 2 items/],
  ])('%s', async (_what, spoil, message) => {
    const d = tmp.dir()
    const good = join(d, 'good.json')
    const bad = join(d, 'bad.json')
    writeFileSync(good, JSON.stringify(valid()))
    const r = valid()
    spoil(r)
    writeFileSync(bad, JSON.stringify(r))
    expect(reportProblem(r)).toMatch(message)
    for (const args of [['merge', good, bad, '--out', join(d, 'out'), '--no-history'], ['diff', good, bad]]) {
      const res = await run(args)
      expect(res.code, args[0]).toBe(2)
      expect(res.err).toContain(`${bad} is not a valid driftwatch report.json (version 1):`)
      expect(res.err).toMatch(message)
      expect(res.err).toContain('[DW_REPORT_INVALID]')
    }
  })

  it('the same files, unspoiled, merge and diff', async () => {
    const d = tmp.dir()
    const a = join(d, 'a.json')
    writeFileSync(a, JSON.stringify(valid()))
    expect((await run(['diff', a, a])).code).toBe(0)
  })

  it('a previous report.json in --out that is not valid is not read for "since"', () => {
    const d = tmp.dir()
    writeFileSync(join(d, 'report.json'), JSON.stringify(valid()))
    expect(readPreviousReport(d)?.findings).toHaveLength(sampleReport.findings.length)
    const r = valid()
    r.findings[0].since = { toString: 'x' }
    writeFileSync(join(d, 'report.json'), JSON.stringify(r))
    expect(readPreviousReport(d)).toBeUndefined()
  })
})
