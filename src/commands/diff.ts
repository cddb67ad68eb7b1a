/**
 * Two reports, finding by finding. A finding's identity is its target, contract and check: the title
 * carries values that move (counts, sizes), so a new title under the same check is "changed", not
 * "cleared and appeared". A contract the new report did not judge says nothing about its findings.
 */
import { severityRank, type Finding } from '../model/finding.ts'
import { contractLabel, type Report } from '../model/report.ts'

type Row = Pick<Finding, 'contract' | 'check' | 'severity' | 'title' | 'target'>

export interface ReportDiff {
  appeared: Row[]
  cleared: Row[]
  changed: { before: Row; after: Row; worse: boolean }[]
  unchanged: number
  /** Contracts (labels) with findings in the old report that the new one did not judge. */
  notJudged: string[]
}

const key = (f: Row) => `${f.target ?? ''}\u0000${f.contract}\u0000${f.check}`
const row = (f: Row): Row => ({ ...(f.target ? { target: f.target } : {}), contract: f.contract, check: f.check, severity: f.severity, title: f.title })

/** The worst finding per target, contract and check. */
function worst(findings: readonly Finding[]): Map<string, Row> {
  const out = new Map<string, Row>()
  for (const f of findings) {
    const prev = out.get(key(f))
    if (!prev || severityRank(f.severity) > severityRank(prev.severity)) out.set(key(f), row(f))
  }
  return out
}

export function diffReports(before: Report, after: Report): ReportDiff {
  const a = worst(before.findings)
  const b = worst(after.findings)
  const judged = new Set(after.results.filter((r) => r.status === 'passed' || r.status === 'failed').map((r) => contractLabel(r)))
  const d: ReportDiff = { appeared: [], cleared: [], changed: [], unchanged: 0, notJudged: [] }
  const notJudged = new Set<string>()
  for (const [k, f] of b) {
    const old = a.get(k)
    if (!old) d.appeared.push(f)
    else if (old.severity !== f.severity || old.title !== f.title) d.changed.push({ before: old, after: f, worse: severityRank(f.severity) > severityRank(old.severity) })
    else d.unchanged++
  }
  for (const [k, f] of a) {
    if (b.has(k)) continue
    if (judged.has(contractLabel(f))) d.cleared.push(f)
    else notJudged.add(contractLabel(f))
  }
  const bySeverity = (x: Row, y: Row) => severityRank(y.severity) - severityRank(x.severity)
  d.appeared.sort(bySeverity)
  d.cleared.sort(bySeverity)
  d.notJudged = [...notJudged].sort()
  return d
}
