/** gate.json (canonical) and gate.md, written atomically. */
import { join, relative } from 'node:path'
import { ensureDir, writeFileAtomic } from '../atomic-write.ts'
import { HarnessError } from '../errors.ts'
import type { FormatId } from '../reporters/index.ts'
import { cell, cellCode, code, joinMd, md, text, untrusted, untrusting, xml, type Md, type Untrusting, type Xml } from '../render/index.ts'
import type { GateReport } from './gate.ts'

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

/** Writes gate.json and the asked formats (gate.md, junit.xml) into `dir`; returns their paths relative to cwd. */
export async function writeGateReport(r: GateReport, dir: string, cwd: string, formats: readonly FormatId[] = ['json', 'md']): Promise<string[]> {
  try {
    await ensureDir(dir)
    const files: [string, string][] = [[join(dir, 'gate.json'), `${JSON.stringify(r, null, 2)}\n`]]
    if (formats.includes('md')) files.push([join(dir, 'gate.md'), renderGateMarkdown(r)])
    if (formats.includes('junit')) files.push([join(dir, 'junit.xml'), renderGateJunit(r)])
    for (const [path, text] of files) await writeFileAtomic(path, text)
    return files.map(([path]) => relative(cwd, path) || path)
  } catch (err) {
    throw new HarnessError('DW_OUTPUT_FAILED', `cannot write the gate report in ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass --out with a writable directory`)
  }
}
