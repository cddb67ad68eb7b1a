/**
 * The lines commands print: a contract's progress line and the final summary line. Both read the
 * report as settled at --fail-on, so a warning below the threshold shows as a warning (!), never
 * as a cross, and the headline says what the exit code says. Titles, reasons and contract names
 * come from the wire or a report: they go through the terminal's `term` tag (one line, controls shown).
 */
import { contractLabel, failsAt, sameContract, targetsPhrase, type FailOn, type Report } from '../model/report.ts'
import type { Finding } from '../model/finding.ts'
import { term, untrusted, untrusting, type Term, type Untrusting } from '../render/index.ts'
import type { ProgressEvent } from '../commands/check.ts'

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length)
}

/** ✓ passed, ✗ drift at --fail-on, ! findings below it, - skipped, ? inconclusive. */
export function progressLine(event: ProgressEvent, failOn: FailOn): { mark: string; text: string } {
  const e = untrusting(event)
  const r = e.result
  const width = String(e.total).length
  const idx = untrusted(`[${String(e.index).padStart(width)}/${e.total}]`)
  const failing = e.findings.some((f) => failsAt(f.severity, failOn))
  const drift = e.findings.filter((f) => f.severity !== 'info')
  const mark = r.status === 'skipped' ? '-' : r.status === 'inconclusive' ? '?' : failing ? '✗' : drift.length ? '!' : '✓'
  const worst = e.findings.find((f) => f.severity === 'breaking') ?? e.findings.find((f) => f.severity === 'warning') ?? e.findings[0]
  const more = drift.length - 1
  let tail: Term = term``
  if (r.status === 'skipped' || r.status === 'inconclusive') tail = term`${r.status}: ${r.reason}`
  else if (worst) tail = term`${worst.severity}: ${worst.title}${more > 0 ? term` (+${more} more)` : undefined}`
  const stats = r.status === 'skipped' ? term`` : term`${r.probes} req ${untrusted(String(r.durationMs).padStart(5))} ms  `
  const line = String(term`  ${idx} ${untrusted(mark)} ${untrusted(pad(r.contract, 42))} ${stats}${tail}`).trimEnd()
  return { mark, text: [line, ...rerunLines(drift)].join('\n') }
}

/** `      re-run: driftwatch check ...` under a line with drift, once per distinct command (a contract's findings share one). */
export function rerunLines(findings: readonly Untrusting<Pick<Finding, 'rerun'>>[], indent = '      '): string[] {
  const lines = [...new Set(findings.map((f) => f.rerun).filter((x) => x !== undefined))]
  return lines.map((r) => String(term`${untrusted(indent)}re-run: ${r}`))
}

/**
 * A traffic run's line per contract, as verify prints them: `  ✗ media.retrieve-url: 3 entries from x.har;
 * Status 400 ...` with the titles of its drift. ✓ clean, ! drift below --fail-on, ✗ drift at it, ? not
 * judged. `keep`: every line, the ones with drift, or the ones failing at --fail-on (verify --quiet).
 */
export function trafficResultLines(settled: Report, failOn: FailOn, keep: 'all' | 'drift' | 'failing' = 'all'): string[] {
  const report = untrusting(settled)
  const lines: string[] = []
  for (const r of report.results) {
    const own = report.findings.filter((f) => sameContract(f, r) && f.severity !== 'info')
    const failing = own.some((f) => failsAt(f.severity, failOn))
    const mark = r.status === 'passed' ? (own.length ? '!' : '✓') : r.status === 'failed' ? '✗' : '?'
    if ((keep === 'failing' && !failing) || (keep === 'drift' && own.length === 0)) continue
    lines.push(String(term`  ${untrusted(mark)} ${r.contract}: ${r.reason ?? untrusted('')}${own.length ? term`; ${untrusted(own.map((f) => f.title).join('; '))}` : undefined}`))
  }
  return lines
}

const HEAD: Record<Report['outcome'], Term> = { pass: term`PASS`, drift: term`DRIFT`, inconclusive: term`INCONCLUSIVE`, error: term`ERROR`, interrupted: term`INTERRUPTED` }

/**
 * The run's seconds as its report states them (finishedAt - startedAt), so the final line and
 * report.md say the same duration (report.md said 188 ms where stdout said 1.4 s).
 */
export function runSeconds(report: Pick<Report, 'startedAt' | 'finishedAt'>): string {
  const ms = Date.parse(report.finishedAt) - Date.parse(report.startedAt)
  return Number.isFinite(ms) && ms >= 0 ? (ms / 1000).toFixed(1) : '?'
}

/** How finalLine reads a run: `recorded` for record, whose exit 0 means "recorded" (drift fails it only when asked). */
export interface FinalLineOptions {
  recorded?: boolean
}

/**
 * `PASS: 13 contracts (...), findings: ... (1.2 s)`, from the settled report. A recording whose traffic
 * drifts below --fail-on (record's default is never) is not PASS: `RECORDED WITH DRIFT: 3 contracts (1 with
 * drift, 2 without, ...)` (it said "PASS: 3 contracts (3 passed, 0 with drift ...), findings: 4 breaking").
 */
export function finalLine(settled: Report, seconds: string, counted = 'requests', opts: FinalLineOptions = {}): string {
  const report = untrusting(settled)
  const s = report.summary
  const failOn = settled.failOn ?? 'breaking'
  const recordedWithDrift = opts.recorded === true && settled.outcome === 'pass' && s.breaking + s.warning > 0
  const below = report.outcome !== 'drift' && failOn !== 'info' && s.breaking + s.warning > 0 ? term`; ${failOn === 'never' ? term`none fails with --fail-on never` : term`below --fail-on ${untrusted(failOn)}`}` : undefined
  const t = report.targets
  const errors = t?.filter((x) => x.outcome === 'error').length ?? 0
  const on = t ? term`${untrusted(targetsPhrase(settled.outcome, t, settled.shard))}${errors ? term` (${errors} could not run)` : undefined}` : undefined
  // Traffic no contract covers ((no operation), (unattributed)) has findings but no result row: name it, or DRIFT would sit over "0 with drift".
  const judged = new Set(report.results.map((r) => contractLabel(r)))
  const outsideOf = new Map<string, number>()
  for (const f of report.findings) if (!judged.has(contractLabel(f)) && (f.severity !== 'info' || failsAt(f.severity, failOn))) outsideOf.set(contractLabel(f), (outsideOf.get(contractLabel(f)) ?? 0) + 1)
  const outside = outsideOf.size ? term`; outside them: ${untrusted([...outsideOf].map(([c, n]) => `${c} ${n} finding${n === 1 ? '' : 's'}`).join(', '))}` : undefined
  const one: Record<string, string> = { requests: 'request', exchanges: 'exchange', deliveries: 'delivery', 'entries judged': 'entry judged' }
  // Traffic (the proxy) counts every exchange read, attributed or not, as its summary line above it did.
  const n = (counted === 'exchanges' || counted === 'deliveries') && s.entries !== undefined ? s.entries : s.probes
  const unit = untrusted(n === 1 ? (one[counted] ?? counted) : counted)
  const contracts = untrusted(`contract${s.contracts === 1 ? '' : 's'}`)
  if (recordedWithDrift) {
    // Settled below --fail-on every contract passed; the line counts the ones whose traffic drifts all the same.
    const drifting = new Set(report.findings.filter((f) => f.severity !== 'info').map((f) => contractLabel(f)))
    const withDrift = report.results.filter((r) => (r.status === 'passed' || r.status === 'failed') && drifting.has(contractLabel(r))).length
    const without = s.passed + s.failed - withDrift
    return String(term`RECORDED WITH DRIFT${on}: ${s.contracts} ${contracts} (${withDrift} with drift, ${without} without, ${s.skipped} skipped, ${s.inconclusive} inconclusive${outside}), ${n} ${unit}, findings: ${s.breaking} breaking, ${s.warning} warning, ${s.info} info${below} (${untrusted(seconds)} s)`)
  }
  return String(term`${HEAD[settled.outcome]}${on}: ${s.contracts} ${contracts} (${s.passed} passed, ${s.failed} with drift, ${s.skipped} skipped, ${s.inconclusive} inconclusive${outside}), ${n} ${unit}, findings: ${s.breaking} breaking, ${s.warning} warning, ${s.info} info${below} (${untrusted(seconds)} s)`)
}
