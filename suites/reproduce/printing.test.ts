/**
 * Where a person reads a finding's rerun: under its contract's progress line on the terminal, and
 * one "Re-run:" line in its report.md detail. The rerun is built from names and URLs that can come
 * from a report or the wire, so both places must show it inert: no escape sequence reaches the
 * terminal, no backtick ends the Markdown code span.
 */
import { describe, expect, it } from 'vitest'
import { progressLine } from '../../src/cli/lines.ts'
import type { Finding } from '../../src/model/finding.ts'
import { untrusting } from '../../src/render/index.ts'
import type { ContractResult } from '../../src/model/report.ts'
import { reporters } from '../../src/reporters/index.ts'
import { sampleReport } from '../reporters/sample-report.ts'

const RERUN = 'npx driftwatch check --target sim --scenario media-chunked --only media.retrieve-url --out reports/rerun --no-history'

function finding(over: Partial<Finding> = {}): Finding {
  return { ...sampleReport.findings[0]!, rerun: RERUN, ...over }
}

const result = (status: ContractResult['status']): ContractResult => ({ contract: 'media.retrieve-url', title: 'Retrieve media URL', file: 'contracts/meta/media.retrieve-url.yaml', request: 'GET /{api_version}/{media_id}', status, probes: 1, durationMs: 12 })

describe('the progress line', () => {
  it('says the rerun under a contract with drift, once however many of its findings share it', () => {
    const { mark, text } = progressLine({ index: 5, total: 13, result: result('failed'), findings: [finding(), finding({ check: 'golden-diff', title: 'Another' })] }, 'breaking')
    expect(mark).toBe('✗')
    expect(text.split('\n')).toEqual([expect.stringContaining('media.retrieve-url'), `      re-run: ${RERUN}`])
  })

  it('says nothing more for a contract that passed, or whose only findings are info', () => {
    expect(progressLine({ index: 1, total: 13, result: result('passed'), findings: [] }, 'breaking').text).not.toContain('re-run')
    expect(progressLine({ index: 1, total: 13, result: result('passed'), findings: [finding({ severity: 'info' })] }, 'breaking').text).not.toContain('re-run')
  })

  it('shows control characters in a rerun instead of sending them to the terminal', () => {
    const { text } = progressLine({ index: 1, total: 1, result: result('failed'), findings: [finding({ rerun: "driftwatch verify 'a\u001b[2Jb\nc.har'" })] }, 'breaking')
    const [, rerun] = text.split('\n')
    expect(rerun).toContain('re-run: driftwatch verify')
    expect(text).not.toContain('\u001b')
    expect(text.split('\n')).toHaveLength(2)
  })
})

describe('report.md', () => {
  it("gives a finding's detail one Re-run line with the command as code", () => {
    const md = reporters.md.render(untrusting({ ...sampleReport, findings: [finding()] }))
    expect(md.split('\n').filter((l) => l.includes('Re-run'))).toEqual([`- **Re-run:** \`${RERUN}\``])
  })

  it('has no Re-run line for a finding without a rerun', () => {
    const { rerun: _, ...without } = finding()
    expect(reporters.md.render(untrusting({ ...sampleReport, findings: [without] }))).not.toContain('Re-run')
  })

  it('keeps a rerun holding backticks inside its code span', () => {
    const md = reporters.md.render(untrusting({ ...sampleReport, findings: [finding({ rerun: "driftwatch verify 'x`rm -rf`.har'" })] }))
    const line = md.split('\n').find((l) => l.startsWith('- **Re-run:**'))!
    // The span's fence is longer than any backtick run inside, so the command stays one code span.
    expect(line).toBe("- **Re-run:** ``driftwatch verify 'x`rm -rf`.har'``")
  })
})
