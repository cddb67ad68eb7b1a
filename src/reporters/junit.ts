/**
 * junit.xml: one testcase per contract, so CI systems show drift as failed tests. Findings at or
 * above the report's --fail-on are failures (the same rule as the exit code and the headline);
 * skipped and inconclusive contracts are skipped with their reason; findings below the threshold
 * go to system-out, so a job that driftwatch passed is not failed by its own JUnit file.
 */
import type { Finding } from '../finding.ts'
import { contractLabel, failsAt, sameContract, type Report } from '../report.ts'
import type { Reporter } from './reporter.ts'

/** Escapes text for XML content and attributes, dropping characters XML 1.0 forbids. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3)
}

function findingText(f: Finding): string {
  return `[${f.severity}] ${f.check}: ${f.title} (${f.samples} of ${f.of} samples)\n${f.message}\nExpected: ${f.expected}\nActual: ${f.actual}${f.evidence.request ? `\nRequest: ${f.evidence.request}` : ''}`
}

/** Renders the report as JUnit XML. */
export const junitReporter: Reporter = {
  id: 'junit',
  fileName: 'junit.xml',
  render(report: Report) {
    const total = Date.parse(report.finishedAt) - Date.parse(report.startedAt)
    const failOn = report.failOn ?? 'breaking'
    const fails = (f: Finding) => failsAt(f.severity, failOn)
    const failures = report.results.filter((r) => report.findings.some((f) => sameContract(f, r) && fails(f))).length
    const skipped = report.results.filter((r) => r.status === 'skipped' || r.status === 'inconclusive').length
    const lines = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<testsuites name="driftwatch" tests="${report.results.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(total)}">`,
      `  <testsuite name="driftwatch ${xmlEscape(report.target)}" tests="${report.results.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(total)}" timestamp="${xmlEscape(report.startedAt)}">`,
      `    <properties>`,
      `      <property name="target" value="${xmlEscape(report.target)}"/>`,
      ...(report.scenario ? [`      <property name="scenario" value="${xmlEscape(report.scenario)}"/>`] : []),
      `      <property name="apiVersion" value="${xmlEscape(report.apiVersion)}"/>`,
      `      <property name="outcome" value="${report.outcome}"/>`,
      `      <property name="failOn" value="${failOn}"/>`,
      `    </properties>`,
    ]
    for (const r of report.results) {
      const group = r.contract.split('.')[0] ?? r.contract
      const mine = report.findings.filter((f) => sameContract(f, r))
      const bad = mine.filter(fails)
      const info = mine.filter((f) => !fails(f))
      const open = `    <testcase classname="driftwatch.${r.target ? `${xmlEscape(r.target)}.` : ''}${xmlEscape(group)}" name="${xmlEscape(contractLabel(r))}" file="${xmlEscape(r.file)}" time="${seconds(r.durationMs)}"`
      const body: string[] = []
      if (bad.length > 0) {
        const first = bad[0]!
        const title = bad.length > 1 ? `${first.title} (+${bad.length - 1} more)` : first.title
        body.push(`      <failure type="${first.severity}" message="${xmlEscape(title)}">${xmlEscape(bad.map(findingText).join('\n\n'))}</failure>`)
      } else if (r.status === 'skipped' || r.status === 'inconclusive') {
        body.push(`      <skipped message="${xmlEscape(`${r.status}: ${r.reason ?? ''}`)}"/>`)
      }
      if (info.length > 0) body.push(`      <system-out>${xmlEscape(info.map(findingText).join('\n\n'))}</system-out>`)
      lines.push(body.length ? `${open}>\n${body.join('\n')}\n    </testcase>` : `${open}/>`)
    }
    lines.push('  </testsuite>', '</testsuites>', '')
    return lines.join('\n')
  },
}
