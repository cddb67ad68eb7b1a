/**
 * The gate's report files: `--format` is obeyed, html included (it was accepted and ignored:
 * `gate --format html --out D` wrote gate.json alone), and what the pact files say is escaped.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { GateReport } from '../../src/commands/gate.ts'
import { writeGateReport } from '../../src/commands/gate-report.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const { dir } = tempDirs('dw-gate-report-')

const report: GateReport = {
  version: 1,
  startedAt: '2026-12-07T04:00:00.000Z',
  finishedAt: '2026-12-07T04:00:01.000Z',
  outcome: 'fail',
  pacts: ['pacts/app-whatsapp.json'],
  summary: { interactions: 2, passed: 1, failed: 1 },
  interactions: [
    { pact: 'pacts/app-whatsapp.json', description: 'reads a media URL', states: [], request: 'GET /v23.0/1', contract: 'media.retrieve-url', status: 'passed', problems: [] },
    { pact: 'pacts/app-whatsapp.json', description: '<img src=x onerror=alert(1)>', states: [], request: 'GET /v23.0/2', contract: 'media.retrieve-url', status: 'failed', problems: [{ source: 'recording', message: '$.file_size: was string, is now integer' }] },
  ],
}

describe('gate report files', () => {
  it('writes gate.html when --format asks for html, failing interactions first and pact text escaped', async () => {
    const out = dir()
    const files = await writeGateReport(report, out, out, ['html'])
    expect(files).toEqual(['gate.json', 'gate.html'])
    const page = readFileSync(join(out, 'gate.html'), 'utf8')
    expect(page).toContain('driftwatch gate: FAILED: 1 of 2 interactions')
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(page).not.toContain('<img')
    expect(page.indexOf('onerror')).toBeLessThan(page.indexOf('reads a media URL'))
    expect(page).toContain("Content-Security-Policy")
    expect(existsSync(join(out, 'gate.md'))).toBe(false)
  })

  it('writes no gate.html unless asked', async () => {
    const out = dir()
    expect(await writeGateReport(report, out, out, ['json', 'md', 'junit'])).toEqual(['gate.json', 'gate.md', 'junit.xml'])
    expect(existsSync(join(out, 'gate.html'))).toBe(false)
  })
})
