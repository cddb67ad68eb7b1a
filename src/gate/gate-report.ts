/** gate.json (canonical) and gate.md, written atomically. */
import { join, relative } from 'node:path'
import { ensureDir, writeFileAtomic } from '../atomic-write.ts'
import { HarnessError } from '../errors.ts'
import type { FormatId } from '../reporters/index.ts'
import { xmlEscape } from '../reporters/junit.ts'
import { cell, inline } from '../reporters/markdown.ts'
import type { GateReport } from './gate.ts'

/** Renders the gate report as Markdown: a summary, then each interaction with its problems. */
export function renderGateMarkdown(r: GateReport): string {
  const s = r.summary
  const lines = [
    `# driftwatch gate: ${r.outcome === 'pass' ? 'PASSED' : `FAILED: ${s.failed} of ${s.interactions} interaction${s.interactions === 1 ? '' : 's'}`}`,
    '',
    `Pacts: ${r.pacts.join(', ')}. Run ${r.startedAt}.`,
    '',
    '| Interaction | Request | Contract | Result |',
    '|---|---|---|---|',
    ...r.interactions.map((i) => `| ${cell(i.description)} | \`${cell(i.request)}\` | ${i.contract ? `\`${i.contract}\`` : 'none'} | ${i.status === 'passed' ? '✅ passed' : '❌ failed'} |`),
    '',
  ]
  for (const i of r.interactions.filter((x) => x.problems.length)) {
    lines.push(`## ${inline(i.description)}`, '', `\`${i.request}\` (${i.pact})${i.contractFile ? `, described by ${i.contractFile}` : ''}${i.replayedFrom ? `, replayed from ${i.replayedFrom}` : ''}`, '')
    for (const p of i.problems) lines.push(`- **${p.source === 'contract' ? 'As contracted' : 'As last recorded'}:** ${inline(p.message)}`)
    lines.push('')
  }
  return lines.join('\n')
}

/** Renders the gate report as JUnit XML: one testcase per pact interaction, a failure per failing one. */
export function renderGateJunit(r: GateReport): string {
  const secs = ((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(3)
  const s = r.summary
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="driftwatch gate" tests="${s.interactions}" failures="${s.failed}" errors="0" skipped="0" time="${secs}">`,
    `  <testsuite name="driftwatch gate" tests="${s.interactions}" failures="${s.failed}" errors="0" skipped="0" time="${secs}" timestamp="${xmlEscape(r.startedAt)}">`,
  ]
  for (const i of r.interactions) {
    const open = `    <testcase classname="driftwatch.gate.${xmlEscape(i.contract ?? 'unknown')}" name="${xmlEscape(i.description)}" file="${xmlEscape(i.pact)}"`
    if (i.status === 'passed') lines.push(`${open}/>`)
    else lines.push(`${open}>`, `      <failure type="breaking" message="${xmlEscape(i.problems[0]?.message ?? 'failed')}">${xmlEscape(i.problems.map((p) => `${p.source === 'contract' ? 'As contracted' : 'As last recorded'}: ${p.message}`).join('\n'))}</failure>`, '    </testcase>')
  }
  lines.push('  </testsuite>', '</testsuites>', '')
  return lines.join('\n')
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
