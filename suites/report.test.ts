/** Outcome, exit codes and history: the decisions a nightly job and an on-call engineer act on. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Finding, Severity } from '../src/finding.ts'
import { carrySince, exitCodeOf, outcomeOf, settle, summarize, type ContractResult, type Report } from '../src/report.ts'
import { Redactor } from '../src/transport/redact.ts'
import { writeReports } from '../src/write-reports.ts'
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
})
