/**
 * The last line a command prints: for the proxy its count is every exchange read (attributed or
 * not), as the `judged:` line above it says; for check the requests its contracts sent.
 */
import { describe, expect, it } from 'vitest'
import { finalLine } from '../../src/cli/lines.ts'
import type { Report, Summary } from '../../src/model/report.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const { dir: tempDir } = tempDirs('dw-final-line-')

function report(summary: Partial<Summary>): Report {
  return {
    version: 1,
    target: 'proxy:http://127.0.0.1:1',
    startedAt: '2026-12-07T00:00:00.000Z',
    finishedAt: '2026-12-07T00:00:01.000Z',
    outcome: 'inconclusive',
    failOn: 'breaking',
    summary: { contracts: 1, probes: 0, passed: 0, failed: 0, skipped: 0, inconclusive: 1, breaking: 0, warning: 0, info: 0, ...summary },
    results: [],
    findings: [],
  } as unknown as Report
}

describe('finalLine', () => {
  it('counts the proxy\'s exchanges as its summary does: 2 read, none attributed, is "2 exchanges", not 0', () => {
    expect(finalLine(report({ entries: 2, attributed: 0, unattributed: 2 }), '0.1', 'exchanges')).toMatch(/, 2 exchanges, findings:/)
    expect(finalLine(report({ entries: 1, attributed: 1, unattributed: 0, probes: 1 }), '0.1', 'exchanges')).toMatch(/, 1 exchange, findings:/)
  })

  it('counts requests sent for check, whatever else the summary holds', () => {
    expect(finalLine(report({ probes: 7 }), '0.1')).toMatch(/, 7 requests, findings:/)
  })
})

describe('finalLine over targets (issue 20: "--shard 1/2" printed "PASS on 0 of 2 targets")', () => {
  const withTargets = (outcome: Report['outcome'], outcomes: Report['outcome'][], shard?: { index: number; of: number }) =>
    ({ ...report({}), outcome, targets: outcomes.map((o, i) => ({ name: `t${i}`, outcome: o })), ...(shard ? { shard } : {}) }) as unknown as Report

  it('a passing shard counts its own targets, and says which shard', () => {
    const line = finalLine(withTargets('pass', ['pass'], { index: 1, of: 2 }), '0.1')
    expect(line).toMatch(/^PASS on its 1 target \(shard 1 of 2\): /)
    expect(line).not.toMatch(/on 0 of/)
  })

  it('a passing run says all its targets passed', () => {
    expect(finalLine(withTargets('pass', ['pass', 'pass']), '0.1')).toMatch(/^PASS on all 2 targets: /)
  })

  it('drift counts the targets that drifted, out of the shard\'s', () => {
    expect(finalLine(withTargets('drift', ['pass', 'drift', 'drift']), '0.1')).toMatch(/^DRIFT on 2 of 3 targets: /)
    expect(finalLine(withTargets('drift', ['drift', 'pass'], { index: 2, of: 3 }), '0.1')).toMatch(/^DRIFT on 1 of its 2 targets \(shard 2 of 3\): /)
  })

  it('an outcome no target has on its own (interrupted) names the targets without a count', () => {
    expect(finalLine(withTargets('interrupted', ['pass', 'drift']), '0.1')).toMatch(/^INTERRUPTED across 2 targets: /)
  })
})

describe('the final line and report.md say the same duration (issue 20: report.md said 188 ms where stdout said 1.4 s)', () => {
  it('check: the seconds on stdout are the report\'s run time, and the run counts the simulator\'s start', async () => {
    const { main } = await import('../../src/cli/main.ts')
    const { mkdtempSync, readFileSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const d = tempDir()
    const out: string[] = []
    await main(['check', '--out', d, '--format', 'json,md', '--no-history', '--only', 'phone-numbers.get'], { stdout: (l) => out.push(l), stderr: () => undefined, env: {}, cwd: join(import.meta.dirname, '..', '..') })
    const shown = /\((\d+\.\d) s\)$/.exec(out.find((l) => /^(PASS|DRIFT)/.test(l)) ?? '')?.[1]
    const report = JSON.parse(readFileSync(join(d, 'report.json'), 'utf8')) as { startedAt: string; finishedAt: string }
    const ms = Date.parse(report.finishedAt) - Date.parse(report.startedAt)
    expect(shown).toBe((ms / 1000).toFixed(1))
    const md = readFileSync(join(d, 'report.md'), 'utf8')
    expect(md).toContain(`(${ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`})`)
  }, 60_000)
})
