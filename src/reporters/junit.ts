/**
 * junit.xml: one testcase per contract, so CI systems show drift as failed tests. Findings at or
 * above the report's --fail-on are failures (the same rule as the exit code and the headline);
 * skipped and inconclusive contracts are skipped with their reason; findings below the threshold
 * go to system-out, so a job that driftwatch passed is not failed by its own JUnit file. Every
 * value from the report is escaped by the `xml` tag (src/render/xml.ts).
 */
import type { Finding } from '../model/finding.ts'
import { contractLabel, failsAt, sameContract, type FailOn, type Report } from '../model/report.ts'
import { untrusted, xml, type Untrusted, type Untrusting, type Xml } from '../render/index.ts'
import type { Reporter } from './reporter.ts'

type F = Untrusting<Finding>

function seconds(ms: number): Untrusted {
  return untrusted(Number.isFinite(ms) ? (ms / 1000).toFixed(3) : '0.000')
}

function findingText(f: F): Untrusted {
  return untrusted(`[${f.severity}] ${f.check}: ${f.title} (${f.samples} of ${f.of} samples)\n${f.message}\nExpected: ${f.expected}\nActual: ${f.actual}${f.evidence.request ? `\nRequest: ${f.evidence.request}` : ''}`)
}

/** Renders the report as JUnit XML. */
export const junitReporter: Reporter = {
  id: 'junit',
  fileName: 'junit.xml',
  render(report: Untrusting<Report>) {
    const total = Date.parse(report.finishedAt) - Date.parse(report.startedAt)
    const failOn = report.failOn ?? untrusted('breaking')
    const fails = (f: F) => failsAt(f.severity, failOn as FailOn)
    const failures = report.results.filter((r) => report.findings.some((f) => sameContract(f, r) && fails(f))).length
    const skipped = report.results.filter((r) => r.status === 'skipped' || r.status === 'inconclusive').length
    const lines: Xml[] = [
      xml`<?xml version="1.0" encoding="UTF-8"?>`,
      xml`<testsuites name="driftwatch" tests="${report.results.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(total)}">`,
      xml`  <testsuite name="driftwatch ${report.target}" tests="${report.results.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(total)}" timestamp="${report.startedAt}">`,
      xml`    <properties>`,
      xml`      <property name="target" value="${report.target}"/>`,
      ...(report.scenario ? [xml`      <property name="scenario" value="${report.scenario}"/>`] : []),
      xml`      <property name="apiVersion" value="${report.apiVersion}"/>`,
      xml`      <property name="outcome" value="${report.outcome}"/>`,
      xml`      <property name="failOn" value="${failOn}"/>`,
      xml`    </properties>`,
    ]
    for (const r of report.results) {
      const group = untrusted(r.contract.split('.')[0] ?? r.contract)
      const mine = report.findings.filter((f) => sameContract(f, r))
      const bad = mine.filter(fails)
      const info = mine.filter((f) => !fails(f))
      const open = xml`    <testcase classname="driftwatch.${r.target ? xml`${r.target}.` : undefined}${group}" name="${untrusted(contractLabel(r))}" file="${r.file}" time="${seconds(r.durationMs)}"`
      const body: Xml[] = []
      if (bad.length > 0) {
        const first = bad[0]!
        const title = bad.length > 1 ? untrusted(`${first.title} (+${bad.length - 1} more)`) : first.title
        body.push(xml`      <failure type="${first.severity}" message="${title}">${untrusted(bad.map(findingText).join('\n\n'))}</failure>`)
      } else if (r.status === 'skipped' || r.status === 'inconclusive') {
        body.push(xml`      <skipped message="${untrusted(`${r.status}: ${r.reason ?? ''}`)}"/>`)
      }
      if (info.length > 0) body.push(xml`      <system-out>${untrusted(info.map(findingText).join('\n\n'))}</system-out>`)
      lines.push(body.length ? xml`${open}>\n${body.map((b) => xml`${b}\n`)}    </testcase>` : xml`${open}/>`)
    }
    lines.push(xml`  </testsuite>`, xml`</testsuites>`, xml``)
    return lines.map(String).join('\n')
  },
}
