/**
 * The lines commands print: a contract's progress line and the final summary line. Both read the
 * report as settled at --fail-on, so a warning below the threshold shows as a warning (!), never
 * as a cross, and the headline says what the exit code says.
 */
import { contractLabel, failsAt, type FailOn, type Report } from '../report.ts'
import type { ProgressEvent } from '../runner/run.ts'

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length)
}

/** ✓ passed, ✗ drift at --fail-on, ! findings below it, - skipped, ? inconclusive. */
export function progressLine(e: ProgressEvent, failOn: FailOn): { mark: string; text: string } {
  const r = e.result
  const width = String(e.total).length
  const idx = `[${String(e.index).padStart(width)}/${e.total}]`
  const failing = e.findings.some((f) => failsAt(f.severity, failOn))
  const drift = e.findings.filter((f) => f.severity !== 'info')
  const mark = r.status === 'skipped' ? '-' : r.status === 'inconclusive' ? '?' : failing ? '✗' : drift.length ? '!' : '✓'
  const worst = e.findings.find((f) => f.severity === 'breaking') ?? e.findings.find((f) => f.severity === 'warning') ?? e.findings[0]
  const more = drift.length - 1
  let tail = ''
  if (r.status === 'skipped' || r.status === 'inconclusive') tail = `${r.status}: ${r.reason ?? ''}`
  else if (worst) tail = `${worst.severity}: ${worst.title}${more > 0 ? ` (+${more} more)` : ''}`
  const stats = r.status === 'skipped' ? '' : `${r.probes} req ${String(r.durationMs).padStart(5)} ms  `
  return { mark, text: `  ${idx} ${mark} ${pad(r.contract, 42)} ${stats}${tail}`.trimEnd() }
}

const HEAD: Record<Report['outcome'], string> = { pass: 'PASS', drift: 'DRIFT', inconclusive: 'INCONCLUSIVE', error: 'ERROR', interrupted: 'INTERRUPTED' }

/** `PASS: 13 contracts (...), findings: ... (1.2 s)`, from the settled report. */
export function finalLine(report: Report, seconds: string, counted = 'requests'): string {
  const s = report.summary
  const failOn = report.failOn ?? 'breaking'
  const below = report.outcome !== 'drift' && failOn !== 'info' && s.breaking + s.warning > 0 ? `; ${failOn === 'never' ? 'none fails with --fail-on never' : `below --fail-on ${failOn}`}` : ''
  const t = report.targets
  const on = t ? ` on ${t.filter((x) => x.outcome === 'drift').length} of ${t.length} targets${t.some((x) => x.outcome === 'error') ? ` (${t.filter((x) => x.outcome === 'error').length} could not run)` : ''}` : ''
  // Traffic no contract covers ((no operation), (unattributed)) has findings but no result row: name it, or DRIFT would sit over "0 with drift".
  const judged = new Set(report.results.map((r) => contractLabel(r)))
  const outsideOf = new Map<string, number>()
  for (const f of report.findings) if (!judged.has(contractLabel(f)) && (f.severity !== 'info' || failsAt(f.severity, failOn))) outsideOf.set(contractLabel(f), (outsideOf.get(contractLabel(f)) ?? 0) + 1)
  const outside = outsideOf.size ? `; outside them: ${[...outsideOf].map(([c, n]) => `${c} ${n} finding${n === 1 ? '' : 's'}`).join(', ')}` : ''
  const one: Record<string, string> = { requests: 'request', exchanges: 'exchange', 'entries judged': 'entry judged' }
  const unit = s.probes === 1 ? (one[counted] ?? counted) : counted
  return `${HEAD[report.outcome]}${on}: ${s.contracts} contract${s.contracts === 1 ? '' : 's'} (${s.passed} passed, ${s.failed} with drift, ${s.skipped} skipped, ${s.inconclusive} inconclusive${outside}), ${s.probes} ${unit}, findings: ${s.breaking} breaking, ${s.warning} warning, ${s.info} info${below} (${seconds} s)`
}
