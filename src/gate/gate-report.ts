/** gate.json (canonical) and gate.md, written atomically. */
import { join, relative } from 'node:path'
import { ensureDir, writeFileAtomic } from '../atomic-write.ts'
import { HarnessError } from '../errors.ts'
import { cell, inline } from '../reporters/markdown.ts'
import type { GateReport } from './gate.ts'

/** Renders the gate report as Markdown: a summary, then each interaction with its problems. */
export function renderGateMarkdown(r: GateReport): string {
  const s = r.summary
  const lines = [
    `# driftwatch gate: ${r.outcome === 'pass' ? 'PASSED' : `FAILED: ${s.failed} of ${s.interactions} interactions`}`,
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

/** Writes gate.json and gate.md into `dir`; returns their paths relative to cwd. */
export async function writeGateReport(r: GateReport, dir: string, cwd: string): Promise<string[]> {
  try {
    await ensureDir(dir)
    const json = join(dir, 'gate.json')
    const md = join(dir, 'gate.md')
    await writeFileAtomic(json, `${JSON.stringify(r, null, 2)}\n`)
    await writeFileAtomic(md, renderGateMarkdown(r))
    return [relative(cwd, json) || json, relative(cwd, md) || md]
  } catch (err) {
    throw new HarnessError('DW_OUTPUT_FAILED', `cannot write the gate report in ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass --out with a writable directory`)
  }
}
