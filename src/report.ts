/**
 * The canonical run report (report.json). Markdown and JUnit are rendered from it and nothing else.
 */
import { findingKey, severityRank, type Finding, type Severity } from './finding.ts'

/** Overall result of a run. */
export type Outcome = 'pass' | 'drift' | 'inconclusive' | 'error'

/** What happened to one contract. */
export type ContractStatus = 'passed' | 'failed' | 'skipped' | 'inconclusive'

/** Per-contract result, so every format can list what ran, not only what failed. */
export interface ContractResult {
  contract: string
  title: string
  file: string
  /** `GET /{api_version}/{media_id}`: the request template, free of ids and secrets. */
  request: string
  status: ContractStatus
  /** Why it was skipped or inconclusive. */
  reason?: string
  /** Requests sent for this contract. */
  probes: number
  durationMs: number
}

/** Counts for the summary table. */
export interface Summary {
  contracts: number
  /** Requests sent. */
  probes: number
  passed: number
  failed: number
  skipped: number
  inconclusive: number
  breaking: number
  warning: number
  info: number
  /** Traffic (verify, proxy): exchanges read, attributed to an operation, and not (each said why in a finding). */
  entries?: number
  attributed?: number
  unattributed?: number
}

/** report.json, version 1. */
export interface Report {
  version: 1
  /** `sim` or the base URL probed. */
  target: string
  /** Simulator scenario, when the target is the simulator. */
  scenario?: string
  apiVersion: string
  startedAt: string
  finishedAt: string
  outcome: Outcome
  summary: Summary
  findings: Finding[]
  results: ContractResult[]
  /** Set when the run was cut short (Ctrl-C). */
  interrupted?: boolean
  /** Set when outcome is `error`. */
  error?: { code: string; message: string }
}

/** Threshold for a failing exit code. */
export type FailOn = Severity | 'never'

/** Counts findings and results into a summary. */
export function summarize(results: readonly ContractResult[], findings: readonly Finding[]): Summary {
  const count = (s: ContractStatus) => results.filter((r) => r.status === s).length
  const sev = (s: Severity) => findings.filter((f) => f.severity === s).length
  return {
    contracts: results.length,
    probes: results.reduce((n, r) => n + r.probes, 0),
    passed: count('passed'),
    failed: count('failed'),
    skipped: count('skipped'),
    inconclusive: count('inconclusive'),
    breaking: sev('breaking'),
    warning: sev('warning'),
    info: sev('info'),
  }
}

/** drift if any breaking or warning finding; otherwise inconclusive if some contract could not be judged; else pass. */
export function outcomeOf(summary: Summary): Outcome {
  if (summary.breaking > 0 || summary.warning > 0) return 'drift'
  if (summary.inconclusive > 0) return 'inconclusive'
  // Traffic none of which could be attributed: nothing was judged against an operation.
  if (summary.entries !== undefined && summary.attributed === 0) return 'inconclusive'
  // Every contract skipped: nothing was judged, and a green run would say the opposite.
  if (summary.contracts > 0 && summary.passed + summary.failed === 0) return 'inconclusive'
  return 'pass'
}

/** 2 on harness error; 1 when a finding reaches `failOn`; else 3 when some contract could not be judged; else 0. */
export function exitCodeOf(report: Pick<Report, 'outcome' | 'findings' | 'summary'>, failOn: FailOn): 0 | 1 | 2 | 3 {
  if (report.outcome === 'error') return 2
  if (failOn !== 'never' && report.findings.some((f) => severityRank(f.severity) >= severityRank(failOn))) return 1
  if (report.summary.inconclusive > 0 || report.outcome === 'inconclusive') return 3
  return 0
}

/** Carries `since` forward from the previous report: a finding it already had keeps its first-seen time. */
export function carrySince(findings: readonly Finding[], previous: Pick<Report, 'findings'> | undefined): Finding[] {
  const before = new Map((previous?.findings ?? []).map((f) => [findingKey(f), f]))
  return findings.map((f) => {
    const old = before.get(findingKey(f))
    return old ? { ...f, since: old.since, new: false } : f
  })
}
