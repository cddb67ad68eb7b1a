/**
 * A run's past as the reports use it (pure; loadPast() in past.ts reads it from the history
 * database): each contract's recent results, and each finding's episodes.
 */
import { severityRank, type Finding, type Severity } from '../model/finding.ts'
import { later, type ClearedFinding, type ContractResult } from '../model/report.ts'
import type { HistoryPoint } from '../reporters/reporter.ts'

/** One finding's past: a target's contract and check. */
export interface FindingPast {
  /** Seen in the latest run that judged the contract: the episode still open, since when, and what it said at its worst. */
  openSince?: string
  open?: { severity: Severity; title: string }
  /** Earlier episodes that cleared, and when the last one did. */
  cleared: number
  lastClearedAt?: string
  /** Judged runs of the contract, and how many of them had this finding. */
  judged: number
  seen: number
}

export interface Past {
  /** Each contract's recent results, oldest first (report.html's timelines). */
  results: HistoryPoint[]
  /** By pastKey(target, contract, check). */
  findings: ReadonlyMap<string, FindingPast>
}

export const pastKey = (target: string, contract: string, check: string) => `${target}\u0000${contract}\u0000${check}`

/**
 * Since when, from the history: a finding whose episode is still open keeps the time it appeared
 * (even if the previous report.json is gone); one that cleared before and is back says so. Findings
 * the history knows nothing of keep what the previous report said. The last good run is the latest
 * run the history holds in which the contract passed, or the previous report's, whichever is later.
 */
export function applyPast(findings: readonly Finding[], past: Past, target: string): Finding[] {
  // The last run each contract passed in (the history's runs are oldest first).
  const good = new Map<string, string>()
  for (const r of past.results) if (r.status === 'passed') good.set(pastKey(r.target ?? target, r.contract, ''), r.at)
  return findings.map((f) => {
    const lastGood = later(good.get(pastKey(f.target ?? target, f.contract, '')), f.lastGood)
    const dated = lastGood ? { ...f, lastGood } : f
    const p = past.findings.get(pastKey(f.target ?? target, f.contract, f.check))
    if (!p) return dated
    const recurring = p.lastClearedAt ? { recurring: { cleared: p.cleared, lastClearedAt: p.lastClearedAt } } : {}
    return p.openSince ? { ...dated, since: p.openSince, new: false, ...recurring } : { ...dated, ...recurring }
  })
}

/**
 * What this run cleared: findings whose episode was open before it, on contracts this run judged
 * (passed or drifted; a skipped or inconclusive contract says nothing either way), that it no
 * longer finds. A run that fixes things says so, not only `history` and `diff`.
 */
export function clearedBy(findings: readonly Finding[], results: readonly ContractResult[], past: Past, target: string): ClearedFinding[] {
  const still = new Set(findings.map((f) => pastKey(f.target ?? target, f.contract, f.check)))
  const judged = results.filter((r) => r.status === 'passed' || r.status === 'failed')
  const out: ClearedFinding[] = []
  for (const r of judged) {
    const prefix = pastKey(r.target ?? target, r.contract, '')
    for (const [key, p] of past.findings) {
      if (!key.startsWith(prefix) || !p.openSince || !p.open || still.has(key)) continue
      out.push({ contract: r.contract, ...(r.target ? { target: r.target } : {}), check: key.slice(prefix.length), severity: p.open.severity, title: p.open.title, since: p.openSince })
    }
  }
  return out.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || (a.target ?? '').localeCompare(b.target ?? '') || a.contract.localeCompare(b.contract))
}
