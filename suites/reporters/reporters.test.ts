/**
 * Reporters against golden files. Regenerate after an intended format change with
 * UPDATE_GOLDEN=1 npx vitest run suites/reporters, and review the diff like code.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FORMATS } from '../../src/cli/index.ts'
import { reporters } from '../../src/reporters/index.ts'
import { settle } from '../../src/model/report.ts'
import { block, escapeXml, untrusted, untrusting } from '../../src/render/index.ts'
import { sampleReport } from './sample-report.ts'

const GOLDEN = join(import.meta.dirname, 'golden')

describe.each(Object.values(reporters).map((r) => [r.id, r] as const))('%s reporter', (_id, reporter) => {
  it('matches its golden file', () => {
    const out = reporter.render(untrusting(sampleReport))
    const file = join(GOLDEN, reporter.fileName)
    if (process.env.UPDATE_GOLDEN) writeFileSync(file, out)
    // A missing golden is a failure, not a new baseline: a test that writes what it compares with cannot fail.
    expect(existsSync(file), `${file} is missing: run UPDATE_GOLDEN=1 npx vitest run suites/reporters and review it`).toBe(true)
    expect(out).toBe(readFileSync(file, 'utf8'))
  })
})

describe('report.json', () => {
  it('round-trips to the same report', () => {
    expect(JSON.parse(reporters.json.render(untrusting(sampleReport)))).toEqual(sampleReport)
  })
})

describe('report.md of traffic (verify, proxy)', () => {
  const traffic = { ...sampleReport, target: 'har:traffic.har', summary: { ...sampleReport.summary, entries: 74, attributed: 71, unattributed: 3 } }
  it('says how many exchanges were read, attributed and not, instead of requests sent', () => {
    const md = reporters.md.render(untrusting(traffic))
    expect(md).toContain('| Exchanges | 74 read: 71 attributed to an operation, 3 not (each said why under "What changed") |')
    expect(md).not.toContain('| Requests sent |')
  })
  it('says when the traffic happened apart from the run, labelled capture time; every other time is run time, UTC', () => {
    const captured = { ...traffic, captured: { from: '2026-02-06T15:00:00.000Z', to: '2026-02-06T16:00:00.000Z' } }
    const md = reporters.md.render(untrusting(captured))
    expect(md).toContain('| Traffic captured | 2026-02-06T15:00:00.000Z to 2026-02-06T16:00:00.000Z (capture time, by the capture\'s clock) |')
    expect(md).toContain('; times in UTC (ISO 8601); run time: when the run started, except "Traffic captured": capture time |')
    expect(md).toContain('| Samples | First seen (run time) | Last good (run time) |')
    const html = reporters.html.render(untrusting(captured))
    expect(html).toContain('<dt>Traffic captured</dt><dd>2026-02-06T15:00:00.000Z to 2026-02-06T16:00:00.000Z (capture time, by the capture\'s clock)</dd>')
    expect(html).toContain('<dt>Times</dt><dd>UTC (ISO 8601); run time: when the run started, except "Traffic captured": capture time</dd>')
    // A run with no capture (check, the proxy) has one clock: the time base is still said, capture time is not.
    const plain = reporters.md.render(untrusting(traffic))
    expect(plain).not.toMatch(/Traffic captured|capture time/)
    expect(plain).toContain('; times in UTC (ISO 8601); run time: when the run started |')
  })
  it('an inconclusive run where nothing was attributed says so', () => {
    const none = { ...traffic, outcome: 'inconclusive' as const, findings: [], summary: { ...traffic.summary, breaking: 0, warning: 0, attributed: 0, unattributed: 74, inconclusive: 0 } }
    expect(reporters.md.render(untrusting(none)).split('\n')[0]).toBe('# driftwatch: INCONCLUSIVE: no exchange could be attributed to an operation')
  })
})

describe('report.md', () => {
  const md = reporters.md.render(untrusting(sampleReport))
  it('opens with the outcome and a summary table an on-call engineer reads first', () => {
    const top = md.split('\n').slice(0, 12).join('\n')
    expect(top).toContain('# driftwatch: DRIFT: 1 breaking, 2 warning')
    expect(top).toContain('| Contracts | 4: 0 passed, 3 with drift, 1 skipped, 0 inconclusive |')
  })
  it('lists what changed worst first, and marks what is new', () => {
    const rows = md.split('\n').filter((l) => /^\| \d+ \|/.test(l))
    expect(rows[0]).toContain('🔴 breaking')
    expect(rows[0]).toContain('| 2026-11-22T02:00:00.000Z (new this run) |')
    expect(rows[1]).toContain('2026-11-20T02:00:00.000Z')
  })
  it('shows one cause seen on several contracts as one row, naming them', () => {
    const rows = md.split('\n').filter((l) => l.includes('Requested v21.0, served v22.0'))
    expect(rows.filter((l) => l.startsWith('| '))).toHaveLength(1)
    expect(rows[0]).toContain('`phone-numbers.get`, `media.upload`')
    expect(rows[0]).toContain('| 4/4 |')
    expect(md).toContain('- **Contracts (2):** `phone-numbers.get`')
  })
  it('keeps per-contract findings in report.json (grouping is presentation)', () => {
    const written = JSON.parse(reporters.json.render(untrusting(sampleReport))) as typeof sampleReport
    expect(written.findings.filter((f) => f.check === 'api-version').map((f) => f.contract)).toEqual(['phone-numbers.get', 'media.upload'])
  })
  it('cannot be broken out of by backticks in content', () => {
    expect(String(block(untrusted('a ``` b')))).toBe('````\na ``` b\n````')
  })
})

describe('junit.xml', () => {
  const xml = reporters.junit.render(untrusting(sampleReport))
  it('has one testcase per contract, failures for drift and skipped with the reason', () => {
    expect(xml.match(/<testcase /g)).toHaveLength(4)
    expect(xml).toContain('<failure type="breaking" message="Framing changed to chunked (contract: content-length)">')
    expect(xml).toContain('<skipped message="skipped: needs {test_recipient}: set WHATSAPP_TEST_RECIPIENT to run it"/>')
    expect(xml).toMatch(/<testsuites name="driftwatch" tests="4" failures="1" errors="0" skipped="1" time="3.250">/)
  })
  it('fails exactly what --fail-on fails: a warning below it is output, not a failure', () => {
    const warningOnly = sampleReport.results.find((r) => sampleReport.findings.filter((f) => f.contract === r.contract).every((f) => f.severity === 'warning') && sampleReport.findings.some((f) => f.contract === r.contract))!
    const at = (failOn: 'breaking' | 'warning' | 'never') => reporters.junit.render(untrusting(settle(sampleReport, failOn)))
    expect(at("breaking")).toMatch(/failures="1"/)
    expect(at('breaking')).toMatch(new RegExp(`name="${warningOnly.contract.replace(/\./g, '\\.')}"[^>]*>\\n\\s*<system-out>\\[warning\\]`))
    expect(at('warning')).toMatch(/failures="3"/)
    expect(at('never')).toMatch(/failures="0"/)
    expect(at('never')).not.toContain('<failure')
  })
  it('escapes markup, and shows the characters XML forbids instead of sending them', () => {
    expect(escapeXml(untrusted('a<b>&"c\'\u0001'))).toBe('a&lt;b&gt;&amp;&quot;c&apos;\\x01')
    expect(xml).not.toContain('<tags>')
  })
})

describe('CLI --format names', () => {
  it('are exactly the reporters registered', () => {
    expect([...FORMATS].sort()).toEqual(Object.keys(reporters).sort())
  })
})

describe('report.md never carries raw control characters', () => {
  it('escapes C0 and C1 controls and line separators in header values; plain text passes untouched', async () => {
    const { printable } = await import('../../src/render/index.ts')
    expect(printable('a\u0085b\u009bc\u0007d\u2028e')).toBe('a\\x85b\\x9bc\\x07d\\u2028e')
    expect(printable('Transfer-Encoding: chunked; café ✓')).toBe('Transfer-Encoding: chunked; café ✓')
  })
  it('a text body holding C1 controls is described as bytes, not dumped', async () => {
    const { isBinaryText } = await import('../../src/model/observation.ts')
    expect(isBinaryText('{"ok":true}\u0085')).toBe(true)
    expect(isBinaryText('{"name":"José"}')).toBe(false)
  })
})
