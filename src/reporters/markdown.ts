/**
 * report.md: for a person, possibly at 3 a.m. The first screen is a summary table and the list of
 * what changed; details with evidence follow; the per-contract table closes.
 */
import { causeKey, worstFirst, type Finding, type Severity } from '../finding.ts'
import { contractLabel, sameContract, type Report } from '../report.ts'
import type { Reporter } from './reporter.ts'

const ICON: Record<Severity, string> = { breaking: '🔴 breaking', warning: '🟠 warning', info: '🔵 info' }
const RESULT: Record<string, string> = { passed: '✅ passed', failed: '❌ drift', skipped: '⏭️ skipped', inconclusive: '❔ inconclusive' }

/**
 * Text a person can read: control characters become \xNN and a run of replacement characters
 * (bytes that were not UTF-8) becomes `[not UTF-8 ×N]`, so no report ever carries raw bytes.
 */
export function printable(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029]/g, (c) => (c.charCodeAt(0) > 0xff ? `\\u${c.charCodeAt(0).toString(16)}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))
    .replace(/\uFFFD+/g, (run) => `[not UTF-8 ×${run.length}]`)
}

/** Escapes a value for a Markdown table cell (one line, no pipes). */
export function cell(s: string): string {
  return printable(s).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').replace(/</g, '&lt;')
}

/** Escapes text for a heading or list item: one line, no raw HTML. */
export function inline(s: string): string {
  return printable(s).replace(/\r?\n/g, ' ').replace(/</g, '&lt;')
}

/** A fenced block whose fence is longer than any backtick run inside, so content cannot break out. */
export function fence(raw: string, lang = ''): string {
  const content = printable(raw)
  const longest = Math.max(2, ...[...content.matchAll(/`+/g)].map((m) => m[0].length))
  const f = '`'.repeat(longest + 1)
  return `${f}${lang}\n${content.replace(/\s+$/, '')}\n${f}`
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

function headline(r: Report): string {
  const s = r.summary
  const failOn = r.failOn ?? 'breaking'
  // Findings that do not fail at --fail-on are shown as what they are, not as drift.
  const below = [failOn === 'never' && s.breaking ? `${s.breaking} breaking` : '', (failOn === 'never' || failOn === 'breaking') && s.warning ? `${s.warning} warning` : ''].filter(Boolean).join(', ')
  switch (r.outcome) {
    case 'pass':
      return below ? `PASS: no drift at --fail-on ${failOn} (${below} below it)` : 'PASS: no drift'
    case 'drift':
      if (r.targets) return `DRIFT on ${r.targets.filter((t) => t.outcome === 'drift').length} of ${r.targets.length} targets: ${s.breaking} breaking, ${s.warning} warning`
      return `DRIFT: ${[s.breaking && `${s.breaking} breaking`, s.warning && `${s.warning} warning`, failOn === 'info' && s.info && `${s.info} info`].filter(Boolean).join(', ')}`
    case 'interrupted':
      return `INTERRUPTED: the report covers what ran before Ctrl-C (${s.breaking} breaking, ${s.warning} warning so far)`
    case 'inconclusive':
      if (s.entries !== undefined && s.attributed === 0) return 'INCONCLUSIVE: no exchange could be attributed to an operation'
      return `INCONCLUSIVE: ${s.inconclusive} contract${s.inconclusive === 1 ? '' : 's'} could not be checked`
    case 'error':
      return `ERROR: ${r.error?.message ?? 'the harness failed'}`
  }
}

/** `2 findings open before this run are gone (1 breaking, 1 warning)`. */
export function clearedSummary(r: Pick<Report, 'cleared'>): string {
  const c = r.cleared ?? []
  const by = (['breaking', 'warning', 'info'] as const).map((v) => [v, c.filter((x) => x.severity === v).length] as const).filter(([, n]) => n > 0)
  return `${c.length} finding${c.length === 1 ? '' : 's'} open before this run ${c.length === 1 ? 'is' : 'are'} gone (${by.map(([v, n]) => `${n} ${v}`).join(', ')})`
}

/** `new this run`, `since <time>`; with the history, whether it came back: `…; back after clearing 2× (last cleared <time>)`. */
export function sinceText(f: Pick<Finding, 'new' | 'since' | 'recurring'>): string {
  const back = f.recurring ? `; back after clearing ${f.recurring.cleared}× (last cleared ${f.recurring.lastClearedAt})` : ''
  return `${f.new ? 'new this run' : `since ${f.since}`}${back}`
}

/** The table's short form: `new`, `new (back, 3rd time)`, `<time>`, `<time> (3rd time)`. */
export function sinceCell(f: Pick<Finding, 'new' | 'since' | 'recurring'>): string {
  const nth = f.recurring ? ordinal(f.recurring.cleared + 1) : undefined
  if (f.new) return nth ? `new (back, ${nth} time)` : 'new'
  return nth ? `${f.since} (${nth} time)` : f.since
}

function ordinal(n: number): string {
  const tail = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th'
  return `${n}${tail}`
}

/** Findings with the same check, severity and title: one cause, possibly seen on many contracts. */
interface Group {
  first: Finding
  all: Finding[]
}

/** Groups findings by cause, worst first, keeping report order within a severity. */
export function groupFindings(findings: readonly Finding[]): Group[] {
  const groups = new Map<string, Group>()
  for (const f of findings) {
    const key = causeKey(f)
    const g = groups.get(key)
    if (g) g.all.push(f)
    else groups.set(key, { first: f, all: [f] })
  }
  return [...groups.values()].sort((a, b) => worstFirst(a.first, b.first))
}

function contractsCell(g: Group): string {
  const ids = g.all.map((f) => `\`${contractLabel(f)}\``)
  return ids.length <= 3 ? ids.join(', ') : `${ids.slice(0, 2).join(', ')} and ${ids.length - 2} more`
}

function samplesCell(g: Group): string {
  const seen = g.all.reduce((n, f) => n + f.samples, 0)
  const of = g.all.reduce((n, f) => n + f.of, 0)
  return `${seen}/${of}`
}

function detail(g: Group, i: number, r: Report): string {
  const f = g.first
  const where = g.all.map((x) => {
    const res = r.results.find((c) => sameContract(c, x))
    return `\`${contractLabel(x)}\`${res ? ` (\`${res.request}\`, ${res.file})` : ''}${g.all.length > 1 ? `: ${x.samples} of ${x.of}` : ''}`
  })
  const out = [
    `### ${i}. ${ICON[f.severity]}: ${inline(f.title)}`,
    '',
    g.all.length === 1 ? `- **Contract:** ${where[0]}` : `- **Contracts (${g.all.length}):** ${where.join('; ')}`,
    `- **Check:** \`${f.check}\`, seen in ${g.all.length === 1 ? `${f.samples} of ${f.of} sample${f.of === 1 ? '' : 's'}` : `${samplesCell(g)} samples`}, ${sinceText(f)}`,
    `- **Expected:** ${cell(f.expected)}`,
    `- **Actual:** ${cell(f.actual)}`,
    '',
    fence(f.message, 'text'),
  ]
  const ev = f.evidence
  if (ev.request || ev.status !== undefined) {
    out.push('', `Evidence${g.all.length > 1 ? ` (from \`${contractLabel(f)}\`)` : ''}: \`${ev.request ?? ''}\`${ev.status !== undefined ? ` → ${ev.status}` : ''}`)
    if (ev.headers?.length) out.push('', fence(ev.headers.map(([n, v]) => `${n}: ${v}`).join('\n'), 'http'))
    if (ev.bodyExcerpt) out.push('', fence(ev.bodyExcerpt, ev.bodyExcerpt.trimStart().startsWith('{') ? 'json' : 'text'))
  }
  if (ev.curl) out.push('', 'Reproduce (export WHATSAPP_ACCESS_TOKEN first):', '', fence(ev.curl, 'sh'))
  return out.join('\n')
}

/** Renders the report as Markdown. */
export const markdownReporter: Reporter = {
  id: 'md',
  fileName: 'report.md',
  render(r: Report) {
    const s = r.summary
    const ms = Date.parse(r.finishedAt) - Date.parse(r.startedAt)
    const lines = [
      `# driftwatch: ${headline(r)}`,
      '',
      '| | |',
      '|---|---|',
      `| Target | ${cell(r.target)}${r.scenario ? ` (scenario \`${r.scenario}\`)` : ''}${r.origin ? ` (traffic to ${cell(r.origin)})` : ''} |`,
      `| API version | ${r.apiVersion} |`,
      `| Run | ${r.startedAt} (${duration(ms)})${r.interrupted ? ', **interrupted**' : ''} |`,
      `| Contracts | ${s.contracts}: ${s.passed} passed, ${s.failed} with drift, ${s.skipped} skipped, ${s.inconclusive} inconclusive |`,
      s.entries !== undefined ? `| Exchanges | ${s.entries} read: ${s.attributed} attributed to an operation, ${s.unattributed} not (each said why under "What changed") |` : `| Requests sent | ${s.probes} |`,
      `| Findings | ${s.breaking} breaking, ${s.warning} warning, ${s.info} info |`,
      ...(r.cleared?.length ? [`| Cleared | ${clearedSummary(r)}: see "Cleared in this run" |`] : []),
      '',
    ]
    if (r.targets) {
      const drifting = r.targets.filter((t) => t.outcome === 'drift').length
      lines.push(`## Targets: drift on ${drifting} of ${r.targets.length}${r.shard ? ` (shard ${r.shard.index}/${r.shard.of})` : ''}`, '', '| Target | Base URL | Outcome | Contracts | Findings |', '|---|---|---|---|---|')
      for (const t of r.targets) lines.push(`| ${cell(t.name)} | ${cell(t.target)}${t.scenario ? ` (\`${t.scenario}\`)` : ''} | ${t.outcome}${t.error ? `: ${cell(t.error.message)}` : ''} | ${t.summary.passed} passed, ${t.summary.failed} with drift, ${t.summary.skipped + t.summary.inconclusive} not judged | ${t.summary.breaking} breaking, ${t.summary.warning} warning, ${t.summary.info} info |`)
      lines.push('')
    }
    if (r.error) lines.push(`**Harness error** \`${r.error.code}\`: ${cell(r.error.message)}`, '')
    // One row per cause: the same check, severity and title on several contracts is one thing to fix.
    const groups = groupFindings(r.findings)
    if (groups.length === 0) {
      lines.push(r.outcome === 'pass' ? 'No drift: every contract that ran matched.' : 'No findings.', '')
    } else {
      lines.push('## What changed', '', '| # | Severity | Finding | Contracts | Samples | Since |', '|---|---|---|---|---|---|')
      groups.forEach((g, i) => lines.push(`| ${i + 1} | ${ICON[g.first.severity]} | ${cell(g.first.title)} | ${contractsCell(g)} | ${samplesCell(g)} | ${cell(sinceCell(g.first))} |`))
      lines.push('', '## Details', '')
      groups.forEach((g, i) => lines.push(detail(g, i + 1, r), ''))
    }
    if (r.cleared?.length) {
      lines.push('## Cleared in this run', '', 'Open before this run, on contracts it judged again, and gone now.', '', '| Severity | Finding | Contract | Check | Open since |', '|---|---|---|---|---|')
      for (const c of r.cleared) lines.push(`| ${ICON[c.severity]} | ${cell(c.title)} | \`${contractLabel(c)}\` | \`${c.check}\` | ${c.since} |`)
      lines.push('')
    }
    lines.push('## Contracts', '', '| Contract | Request | Result | Requests | Time |', '|---|---|---|---|---|')
    for (const c of r.results) {
      const below = c.status === 'passed' ? r.findings.filter((f) => sameContract(f, c) && f.severity !== 'info').length : 0
      const result = below ? `✅ passed, ${below} warning${below === 1 ? '' : 's'} below --fail-on` : RESULT[c.status] ?? c.status
      lines.push(`| \`${contractLabel(c)}\` | \`${cell(c.request)}\` | ${result}${c.reason ? `: ${cell(c.reason)}` : ''} | ${c.probes} | ${duration(c.durationMs)} |`)
    }
    lines.push('')
    return lines.join('\n')
  },
}
