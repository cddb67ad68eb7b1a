/** gate.json (canonical) and gate.md, written atomically. */
import { join } from 'node:path'
import { ensureDir, writeFileAtomic } from '../util/atomic-write.ts'
import { HarnessError } from '../util/errors.ts'
import type { FormatId } from '../reporters/index.ts'
import { cell, cellCode, code, cspHash, html, joinHtml, joinMd, md, text, untrusted, untrusting, xml, type Html, type Md, type Untrusting, type Xml } from '../render/index.ts'
import type { GateReport } from './gate.ts'
import { shownPath } from '../util/paths.ts'

/** Renders the gate report as Markdown: a summary, then each interaction with its problems. Pact files are input: every value is placed escaped. */
export function renderGateMarkdown(report: GateReport): string {
  const r: Untrusting<GateReport> = untrusting(report)
  const s = r.summary
  const lines: Md[] = [
    md`# driftwatch gate: ${r.outcome === 'pass' ? md`PASSED` : md`FAILED: ${s.failed} of ${s.interactions} interaction${s.interactions === 1 ? undefined : md`s`}`}`,
    md``,
    md`Pacts: ${joinMd(r.pacts.map(text), md`, `)}. Run ${text(r.startedAt)}.`,
    md``,
    md`| Interaction | Request | Contract | Result |`,
    md`|---|---|---|---|`,
    ...r.interactions.map((i) => md`| ${cell(i.description)} | ${cellCode(i.request)} | ${i.contract ? cellCode(i.contract) : md`none`} | ${i.status === 'passed' ? md`✅ passed` : md`❌ failed`} |`),
    md``,
  ]
  for (const i of r.interactions.filter((x) => x.problems.length)) {
    lines.push(md`## ${text(i.description)}`, md``, md`${code(i.request)} (${text(i.pact)})${i.contractFile ? md`, described by ${text(i.contractFile)}` : undefined}${i.replayedFrom ? md`, replayed from ${text(i.replayedFrom)}` : undefined}`, md``)
    for (const p of i.problems) lines.push(md`- **${p.source === 'contract' ? md`As contracted` : md`As last recorded`}:** ${text(p.message)}`)
    lines.push(md``)
  }
  return joinMd(lines, md`\n`).toString()
}

/** Renders the gate report as JUnit XML: one testcase per pact interaction, a failure per failing one. */
export function renderGateJunit(report: GateReport): string {
  const r: Untrusting<GateReport> = untrusting(report)
  const secs = untrusted(((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(3))
  const s = r.summary
  const lines: Xml[] = [
    xml`<?xml version="1.0" encoding="UTF-8"?>`,
    xml`<testsuites name="driftwatch gate" tests="${s.interactions}" failures="${s.failed}" errors="0" skipped="0" time="${secs}">`,
    xml`  <testsuite name="driftwatch gate" tests="${s.interactions}" failures="${s.failed}" errors="0" skipped="0" time="${secs}" timestamp="${r.startedAt}">`,
  ]
  for (const i of r.interactions) {
    const open = xml`    <testcase classname="driftwatch.gate.${i.contract ?? untrusted('unknown')}" name="${i.description}" file="${i.pact}"`
    if (i.status === 'passed') lines.push(xml`${open}/>`)
    else {
      const all = untrusted(i.problems.map((p) => `${p.source === 'contract' ? 'As contracted' : 'As last recorded'}: ${p.message}`).join('\n'))
      lines.push(xml`${open}>`, xml`      <failure type="breaking" message="${i.problems[0]?.message ?? untrusted('failed')}">${all}</failure>`, xml`    </testcase>`)
    }
  }
  lines.push(xml`  </testsuite>`, xml`</testsuites>`, xml``)
  return lines.map(String).join('\n')
}

const GATE_STYLE = html`body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 16px 48px;color:#1d1d1f}
h1{padding:12px 16px;color:#fff;margin:0 -16px 12px}h1.pass{background:#1f7a3a}h1.fail{background:#b3261e}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #ddd;vertical-align:top}
code{font:12px ui-monospace,monospace}.failed{color:#b3261e;font-weight:700}`

/** Renders gate.html: one self-contained page, no script, no network (CSP), failing interactions first; every pact value escaped. */
export function renderGateHtml(report: GateReport): string {
  const r: Untrusting<GateReport> = untrusting(report)
  const s = r.summary
  const rows = [...r.interactions].sort((a, b) => Number(a.status === 'passed') - Number(b.status === 'passed'))
  const row = (i: (typeof rows)[number]): Html =>
    html`<tr><td>${i.status === 'passed' ? html`passed` : html`<span class="failed">failed</span>`}</td><td>${i.description}</td><td><code>${i.request}</code></td><td>${i.contract ? html`<code>${i.contract}</code>` : html`none`}</td><td>${joinHtml(i.problems.map((p) => html`<div>${p.source === 'contract' ? html`As contracted` : html`As last recorded`}: ${p.message}</div>`))}</td></tr>`
  return `${joinHtml(
    [
      html`<!doctype html>`,
      html`<html lang="en"><head><meta charset="utf-8">`,
      html`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-${cspHash(GATE_STYLE)}'; base-uri 'none'; form-action 'none'">`,
      html`<meta name="referrer" content="no-referrer"><title>driftwatch gate: ${r.outcome === 'pass' ? html`PASSED` : html`FAILED`}</title><style>${GATE_STYLE}</style></head><body>`,
      html`<h1 class="${r.outcome === 'pass' ? html`pass` : html`fail`}">driftwatch gate: ${r.outcome === 'pass' ? html`PASSED` : html`FAILED: ${s.failed} of ${s.interactions} interaction${s.interactions === 1 ? undefined : html`s`}`}</h1>`,
      html`<p>Pacts: ${joinHtml(r.pacts.map((p) => html`${p}`), html`, `)}. Run ${r.startedAt}.</p>`,
      html`<table><thead><tr><th>Result</th><th>Interaction</th><th>Request</th><th>Contract</th><th>Problems</th></tr></thead><tbody>${rows.map(row)}</tbody></table>`,
      html`</body></html>`,
    ],
    html`\n`,
  )}\n`
}

/** Writes gate.json and the asked formats (gate.md, gate.html, junit.xml) into `dir`; returns their paths relative to cwd. */
export async function writeGateReport(r: GateReport, dir: string, cwd: string, formats: readonly FormatId[] = ['json', 'md']): Promise<string[]> {
  try {
    await ensureDir(dir)
    const files: [string, string][] = [[join(dir, 'gate.json'), `${JSON.stringify(r, null, 2)}\n`]]
    if (formats.includes('md')) files.push([join(dir, 'gate.md'), renderGateMarkdown(r)])
    if (formats.includes('html')) files.push([join(dir, 'gate.html'), renderGateHtml(r)])
    if (formats.includes('junit')) files.push([join(dir, 'junit.xml'), renderGateJunit(r)])
    for (const [path, text] of files) await writeFileAtomic(path, text)
    return files.map(([path]) => shownPath(cwd, path))
  } catch (err) {
    throw new HarnessError('DW_OUTPUT_FAILED', `cannot write the gate report in ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass --out with a writable directory`)
  }
}
