/** Outcome, exit codes and history: the decisions a nightly job and an on-call engineer act on. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Finding, Severity } from '../src/model/finding.ts'
import { carrySince, ciRunFrom, exitCodeOf, outcomeOf, resultsFailingFirst, settle, summarize, type ContractResult, type Report } from '../src/model/report.ts'
import { applyPast } from '../src/history/since.ts'
import { reportProblem } from '../src/model/report-schema.ts'
import { Redactor } from '../src/transport/redact.ts'
import { writeReports } from '../src/commands/write-reports.ts'
import { sampleReport } from './reporters/sample-report.ts'

const finding = (severity: Severity, title = 't', since = '2026-11-22T00:00:00.000Z'): Finding => ({ contract: 'c', check: 'k', severity, title, message: 'm', expected: 'e', actual: 'a', evidence: {}, samples: 1, of: 1, since, new: true })
const result = (status: ContractResult['status']): ContractResult => ({ contract: 'c', title: 'c', file: 'f', request: 'GET /', status, probes: 1, durationMs: 1 })

function report(findings: Finding[], results: ContractResult[]): Report {
  const summary = summarize(results, findings)
  return { ...sampleReport, findings, results, summary, outcome: outcomeOf(summary) }
}

describe('outcome and exit code', () => {
  it('passes clean runs (0)', () => {
    const r = report([], [result('passed')])
    expect(r.outcome).toBe('pass')
    expect(exitCodeOf(r, 'breaking')).toBe(0)
  })
  it('fails on findings at or above --fail-on (1), not below', () => {
    const r = report([finding('warning')], [result('failed')])
    // One rule: a warning below --fail-on breaking is a pass, with the contract passed and counted so.
    expect(settle(r, 'breaking')).toMatchObject({ outcome: 'pass', failOn: 'breaking', summary: { passed: 1, failed: 0, warning: 1 } })
    expect(settle(r, 'warning')).toMatchObject({ outcome: 'drift', summary: { passed: 0, failed: 1 } })
    expect(exitCodeOf(r, 'breaking')).toBe(0)
    expect(exitCodeOf(r, 'warning')).toBe(1)
    expect(exitCodeOf(r, 'never')).toBe(0)
  })
  it('info findings alone never fail a run at the default threshold', () => {
    expect(exitCodeOf(report([finding('info')], [result('passed')]), 'breaking')).toBe(0)
  })
  it('is inconclusive (3) when a contract could not be judged and nothing reached the threshold', () => {
    const r = report([finding('info')], [result('inconclusive'), result('passed')])
    expect(r.outcome).toBe('inconclusive')
    expect(exitCodeOf(r, 'breaking')).toBe(3)
    expect(exitCodeOf(report([finding('warning')], [result('inconclusive'), result('failed')]), 'breaking')).toBe(3)
  })
  it('is inconclusive (3) when every contract was skipped: nothing was judged, so it is not a pass', () => {
    const r = report([], [result('skipped'), result('skipped')])
    expect(r.outcome).toBe('inconclusive')
    expect(exitCodeOf(r, 'breaking')).toBe(3)
    // One judged contract is enough for a pass; the skipped ones are listed as skipped.
    expect(report([], [result('skipped'), result('passed')]).outcome).toBe('pass')
  })
  it('drift wins over inconclusive: breaking drift somewhere is actionable (1)', () => {
    expect(exitCodeOf(report([finding('breaking')], [result('inconclusive'), result('failed')]), 'breaking')).toBe(1)
  })
  it('a harness error is 2', () => {
    expect(exitCodeOf({ ...report([], []), outcome: 'error' }, 'never')).toBe(2)
  })
})

describe('since', () => {
  it('keeps the first-seen time of a finding the previous report already had', () => {
    const prev = { findings: [finding('breaking', 'old', '2026-11-01T02:00:00.000Z')] }
    const now = carrySince([finding('breaking', 'old'), finding('breaking', 'fresh')], prev)
    expect(now.map((f) => [f.title, f.since, f.new])).toEqual([
      ['old', '2026-11-01T02:00:00.000Z', false],
      ['fresh', '2026-11-22T00:00:00.000Z', true],
    ])
  })
})

describe('last good run', () => {
  const prevAt = '2026-11-21T02:00:05.000Z'
  it('is the previous report\'s start when the contract passed in it (run time: the history and first seen date a run at its start)', () => {
    const previous = { findings: [], results: [result('passed')], startedAt: prevAt, finishedAt: '2026-11-21T02:03:40.000Z' }
    const [f] = carrySince([finding('breaking', 'fresh')], previous)
    expect(f!.lastGood).toBe(prevAt)
  })
  it('is carried from the previous report\'s finding while the contract keeps failing, and unknown when neither says', () => {
    const old = { ...finding('breaking', 'old', '2026-11-01T02:00:00.000Z'), lastGood: '2026-10-31T02:00:00.000Z' }
    const [carried, fresh] = carrySince([finding('breaking', 'old'), finding('breaking', 'fresh')], { findings: [old], results: [result('failed')], startedAt: prevAt })
    expect(carried!.lastGood).toBe('2026-10-31T02:00:00.000Z')
    expect(fresh!.lastGood).toBeUndefined()
    expect(carrySince([finding('breaking')], undefined)[0]!.lastGood).toBeUndefined()
  })
  it('from the history: the latest run the contract passed in, or the previous report\'s if later; none when it never passed', () => {
    const point = (at: string, status: string, contract = 'c') => ({ at, target: 'sim', contract, status, durationMs: 1, requests: 1 })
    const past = { results: [point('2026-11-10T00:00:00.000Z', 'passed'), point('2026-11-11T00:00:00.000Z', 'passed'), point('2026-11-12T00:00:00.000Z', 'failed'), point('2026-11-13T00:00:00.000Z', 'passed', 'other')], findings: new Map() }
    expect(applyPast([finding('breaking')], past, 'sim')[0]!.lastGood).toBe('2026-11-11T00:00:00.000Z')
    expect(applyPast([{ ...finding('breaking'), lastGood: '2026-11-12T06:00:00.000Z' }], past, 'sim')[0]!.lastGood).toBe('2026-11-12T06:00:00.000Z')
    expect(applyPast([finding('breaking')], { ...past, results: past.results.filter((p) => p.status !== 'passed' || p.contract === 'other') }, 'sim')[0]!.lastGood).toBeUndefined()
    expect(applyPast([finding('breaking')], past, 'another target')[0]!.lastGood).toBeUndefined()
  })
})

describe('contract rows, failing first', () => {
  const row = (contract: string, status: ContractResult['status']): ContractResult => ({ ...result(status), contract })
  it('puts contracts with breaking, then warning, then info findings first, then the unjudged, then the passed, in report order within each', () => {
    const results = [row('ok1', 'passed'), row('info', 'passed'), row('skip', 'skipped'), row('warn', 'failed'), row('ok2', 'passed'), row('break', 'failed'), row('inc', 'inconclusive')]
    const findings = [{ ...finding('info'), contract: 'info' }, { ...finding('warning'), contract: 'warn' }, { ...finding('breaking'), contract: 'break' }, { ...finding('info'), contract: 'break' }]
    expect(resultsFailingFirst(results, findings).map((r) => r.contract)).toEqual(['break', 'warn', 'info', 'inc', 'skip', 'ok1', 'ok2'])
  })
  it('keeps the report order when nothing failed', () => {
    const results = [row('b', 'passed'), row('a', 'passed'), row('c', 'passed')]
    expect(resultsFailingFirst(results, []).map((r) => r.contract)).toEqual(['b', 'a', 'c'])
  })
})

describe('the CI run', () => {
  const gh = { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/app', GITHUB_RUN_ID: '123', GITHUB_SHA: 'a'.repeat(40) }
  it('is read from GitHub Actions\' variables: the run page, and the repository at the commit for contract files', () => {
    expect(ciRunFrom(gh)).toEqual({ run: 'https://github.com/acme/app/actions/runs/123', files: `https://github.com/acme/app/blob/${'a'.repeat(40)}` })
    expect(ciRunFrom({ ...gh, GITHUB_RUN_ATTEMPT: '2', GITHUB_SHA: undefined })).toEqual({ run: 'https://github.com/acme/app/actions/runs/123/attempts/2' })
  })
  it('is absent outside CI, or when a variable is not what GitHub sets', () => {
    expect(ciRunFrom({})).toBeUndefined()
    expect(ciRunFrom({ ...gh, GITHUB_RUN_ID: undefined })).toBeUndefined()
    expect(ciRunFrom({ ...gh, GITHUB_SERVER_URL: 'javascript:alert(1)//' })).toBeUndefined()
    expect(ciRunFrom({ ...gh, GITHUB_REPOSITORY: 'acme/app/../../x' })).toBeUndefined()
  })
})

describe('writing reports', () => {
  const dirs: string[] = []
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))
  const out = () => {
    const d = mkdtempSync(join(tmpdir(), 'dw-out-'))
    dirs.push(d)
    return d
  }

  it('writes the asked formats plus report.json, leaves no temp files, and redacts a last time', async () => {
    const dir = out()
    const leaky = { ...sampleReport, findings: [{ ...sampleReport.findings[0]!, message: 'echoed s3cr3t-token-value-123' }] }
    const { files } = await writeReports(leaky, { outDir: dir, formats: ['md'], redactor: new Redactor({ secrets: ['s3cr3t-token-value-123'] }), cwd: dir })
    expect(files).toEqual(['report.json', 'report.md'])
    expect(readdirSync(dir).sort()).toEqual(['report.json', 'report.md'])
    for (const f of files) expect(readFileSync(join(dir, f), 'utf8')).not.toContain('s3cr3t-token-value-123')
  })

  it('carries since from the previous report.json, and ignores a corrupt one', async () => {
    const dir = out()
    const first = await writeReports(sampleReport, { outDir: dir, formats: [], redactor: new Redactor() })
    expect(first.report.findings[0]!.new).toBe(true)
    const second = await writeReports({ ...sampleReport, startedAt: '2026-11-23T02:00:00.000Z', findings: sampleReport.findings.map((f) => ({ ...f, since: '2026-11-23T02:00:00.000Z', new: true })) }, { outDir: dir, formats: [], redactor: new Redactor() })
    expect(second.report.findings[0]).toMatchObject({ since: '2026-11-22T02:00:00.000Z', new: false })
    writeFileSync(join(dir, 'report.json'), '{ half written')
    const third = await writeReports(sampleReport, { outDir: dir, formats: [], redactor: new Redactor() })
    expect(third.report.findings[0]!.new).toBe(true)
  })

  it('records the CI run in report.json (valid against its schema) and links it and the contract files from the reports', async () => {
    const dir = out()
    const env = { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/app', GITHUB_RUN_ID: '77', GITHUB_SHA: 'b'.repeat(40) }
    const { report } = await writeReports(sampleReport, { outDir: dir, formats: ['md', 'html'], redactor: new Redactor(), cwd: dir, env })
    expect(report.ci).toEqual({ run: 'https://github.com/acme/app/actions/runs/77', files: `https://github.com/acme/app/blob/${'b'.repeat(40)}` })
    expect(reportProblem(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')))).toBeUndefined()
    const html = readFileSync(join(dir, 'report.html'), 'utf8')
    expect(html).toContain('<a href="https://github.com/acme/app/actions/runs/77" rel="noopener noreferrer">')
    expect(html).toContain(`<a class="file" href="https://github.com/acme/app/blob/${'b'.repeat(40)}/contracts/meta/media.upload.yaml">contracts/meta/media.upload.yaml</a>`)
    const md = readFileSync(join(dir, 'report.md'), 'utf8')
    expect(md).toContain('[CI run](https://github.com/acme/app/actions/runs/77)')
    expect(md).toContain(`[contracts/meta/media.upload.yaml](https://github.com/acme/app/blob/${'b'.repeat(40)}/contracts/meta/media.upload.yaml)`)
  })

  it('outside CI records no run; report.html links contract files relative to itself, report.md links nothing', async () => {
    const root = out()
    const dir = join(root, 'reports', 'latest')
    const { report } = await writeReports(sampleReport, { outDir: dir, formats: ['md', 'html'], redactor: new Redactor(), cwd: root, env: {} })
    expect(report.ci).toBeUndefined()
    const html = readFileSync(join(dir, 'report.html'), 'utf8')
    expect(html).toContain('<a class="file" href="../../contracts/meta/media.upload.yaml">contracts/meta/media.upload.yaml</a>')
    expect(html).not.toContain('<dt>CI run</dt>')
    const md = readFileSync(join(dir, 'report.md'), 'utf8')
    expect(md).not.toMatch(/\]\(/)
    expect(md).not.toContain('CI run')
  })
})
