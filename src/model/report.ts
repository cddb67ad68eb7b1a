/**
 * The canonical run report (report.json). Markdown and JUnit are rendered from it and nothing else.
 */
import { findingKey, severityRank, type Finding, type Severity } from './finding.ts'

/** Overall result of a run. `interrupted`: cut short by Ctrl-C or SIGTERM; the findings cover what ran. */
export type Outcome = 'pass' | 'drift' | 'inconclusive' | 'error' | 'interrupted'

/** What happened to one contract. */
export type ContractStatus = 'passed' | 'failed' | 'skipped' | 'inconclusive'

/** Per-contract result, so every format can list what ran, not only what failed. */
export interface ContractResult {
  contract: string
  /** The target's name, in a report of several targets (check --targets). */
  target?: string
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

/** One target of a report of several (check --targets): its own outcome and counts. */
export interface TargetSection {
  /** The name the targets file gives it. */
  name: string
  /** `sim` or the base URL. */
  target: string
  scenario?: string
  outcome: Outcome
  summary: Summary
  /** Set when the target could not be run at all (missing credentials, unreachable configuration). */
  error?: { code: string; message: string }
}

/** `media.download`, or `acme-br/media.download` in a report of several targets. */
export function contractLabel(x: { contract: string; target?: string }): string {
  return x.target ? `${x.target}/${x.contract}` : x.contract
}

/** Same contract of the same target. */
export function sameContract(a: { contract: string; target?: string }, b: { contract: string; target?: string }): boolean {
  return a.contract === b.contract && a.target === b.target
}

/** A finding open in the previous judged run that this run, judging the same contract, no longer has. */
export interface ClearedFinding {
  contract: string
  target?: string
  check: string
  severity: Severity
  title: string
  /** When its episode began. */
  since: string
}

/** report.json, version 1. */
export interface Report {
  version: 1
  /** `sim` or the base URL probed; for verify, the traffic read (`har:<file>`). */
  target: string
  /** verify: the origin most of the traffic went to (`https://graph.facebook.com`). */
  origin?: string
  /** Simulator scenario, when the target is the simulator. */
  scenario?: string
  apiVersion: string
  /** When the run started and ended. Every time a report shows for a run (since, last good, cleared, the history's timeline) is its start: run time. */
  startedAt: string
  finishedAt: string
  /** Traffic (verify, record --from): when the first and last exchange happened, by the capture's own clock. */
  captured?: { from: string; to: string }
  outcome: Outcome
  summary: Summary
  findings: Finding[]
  results: ContractResult[]
  /** Set when the run was cut short (Ctrl-C). */
  interrupted?: boolean
  /** The --fail-on the outcome, the contracts' status and JUnit's failures were decided with. */
  failOn?: FailOn
  /** Set when outcome is `error`. */
  error?: { code: string; message: string }
  /** A report of several targets (check --targets, merge): each target's outcome; results and findings carry `target`. */
  targets?: TargetSection[]
  /** From the history: findings open before this run, on contracts it judged, that it no longer has. */
  cleared?: ClearedFinding[]
  /** check --shard i/n: which share of the targets this report holds. */
  shard?: { index: number; of: number }
  /** The CI run that wrote this report (GitHub Actions), and where its contract files are shown (the repository at the commit run). */
  ci?: CiRun
}

/** Links to where a report was made: the CI run's page and the base URL of the repository's files at the commit it ran. */
export interface CiRun {
  /** `https://github.com/acme/app/actions/runs/123`. */
  run: string
  /** `https://github.com/acme/app/blob/<sha>`: a result's `file` is shown at `<files>/<file>`. */
  files?: string
}

/** The CI run in GitHub Actions' variables (GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_SHA), or undefined outside it. */
export function ciRunFrom(env: Readonly<Record<string, string | undefined>>): CiRun | undefined {
  const server = env.GITHUB_SERVER_URL?.replace(/\/+$/, '')
  const repo = env.GITHUB_REPOSITORY
  const id = env.GITHUB_RUN_ID
  if (!server || !repo || !id || !/^https?:\/\//.test(server) || !/^[\w.-]+\/[\w.-]+$/.test(repo) || !/^\d+$/.test(id)) return undefined
  const attempt = env.GITHUB_RUN_ATTEMPT && /^\d+$/.test(env.GITHUB_RUN_ATTEMPT) && env.GITHUB_RUN_ATTEMPT !== '1' ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : ''
  const sha = env.GITHUB_SHA && /^[0-9a-f]{7,64}$/i.test(env.GITHUB_SHA) ? env.GITHUB_SHA : undefined
  return { run: `${server}/${repo}/actions/runs/${id}${attempt}`, ...(sha ? { files: `${server}/${repo}/blob/${sha}` } : {}) }
}

/** What a run judged: what it probed, or for traffic, where the traffic went (`traffic <origin>`); diff compares runs of one. */
export function trafficTarget(r: Pick<Report, 'target' | 'origin'>): string {
  if (!r.origin) return r.target
  // A local upstream (the simulator, a test server) listens on a new port each time: one history for all of them.
  const loopback = /^(https?:\/\/)(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.exec(r.origin)
  return `traffic ${loopback ? `${loopback[1]}${loopback[2]}` : r.origin}`
}

/**
 * The series a run is kept under in the history: what it probed; for a verified file, where the
 * traffic went and which file (as given): `traffic https://graph.facebook.com from captures/tonight.har`.
 * The file joins the key because one origin is not one application: two unrelated captures verified
 * into one --out must not clear or date each other's findings. A capture verified from one path
 * every night is one series.
 */
export function historyTarget(r: Pick<Report, 'target' | 'origin'>): string {
  const traffic = trafficTarget(r)
  const input = r.origin ? /^(?:har|cassette|recordings):(.+)$/s.exec(r.target)?.[1] : undefined
  return input ? `${traffic} from ${input}` : traffic
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

/** Whether a finding of this severity is a failure at `failOn`: the one rule every output follows. */
export function failsAt(severity: Severity, failOn: FailOn): boolean {
  return failOn !== 'never' && severityRank(severity) >= severityRank(failOn)
}

/** drift if a finding reaches `failOn`; otherwise inconclusive if some contract could not be judged; else pass. */
export function outcomeOf(summary: Summary, failOn: FailOn = 'breaking'): Outcome {
  const failing = failOn === 'never' ? 0 : failOn === 'breaking' ? summary.breaking : failOn === 'warning' ? summary.breaking + summary.warning : summary.breaking + summary.warning + summary.info
  if (failing > 0) return 'drift'
  if (summary.inconclusive > 0) return 'inconclusive'
  // Traffic none of which could be attributed: nothing was judged against an operation.
  if (summary.entries !== undefined && summary.attributed === 0) return 'inconclusive'
  // Every contract skipped: nothing was judged, and a green run would say the opposite.
  if (summary.contracts > 0 && summary.passed + summary.failed === 0) return 'inconclusive'
  return 'pass'
}

/**
 * Decides a report at `failOn`, once, for every output: a contract fails when one of its findings
 * reaches the threshold (a warning below it leaves the contract passed, shown as a warning), the
 * summary is counted from that, and the outcome follows. report.json, report.md, junit.xml, the
 * headline and the exit code all read what this returns, so they cannot disagree.
 */
export function settle(report: Report, failOn: FailOn): Report {
  const results = report.results.map((r) => {
    if (r.status !== 'passed' && r.status !== 'failed') return r
    const failing = report.findings.some((f) => sameContract(f, r) && failsAt(f.severity, failOn))
    return failing === (r.status === 'failed') ? r : { ...r, status: failing ? ('failed' as const) : ('passed' as const) }
  })
  const s = report.summary
  const summary: Summary = {
    ...summarize(results, report.findings),
    probes: s.probes,
    ...(s.entries !== undefined ? { entries: s.entries, attributed: s.attributed ?? 0, unattributed: s.unattributed ?? 0 } : {}),
  }
  const targets = report.targets?.map((t): TargetSection => {
    const mine = results.filter((r) => r.target === t.name)
    const ts = summarize(mine, report.findings.filter((f) => f.target === t.name))
    return { ...t, summary: ts, outcome: t.error ? 'error' : report.interrupted ? 'interrupted' : outcomeOf(ts, failOn) }
  })
  let outcome: Outcome = report.outcome === 'error' && !targets ? 'error' : report.interrupted || report.outcome === 'interrupted' ? 'interrupted' : outcomeOf(summary, failOn)
  // Several targets: drift anywhere is drift; else a target that could not run is an error; else the worst of the rest.
  if (targets && outcome !== 'interrupted') {
    const any = (o: Outcome) => targets.some((t) => t.outcome === o)
    outcome = any('drift') ? 'drift' : any('error') ? 'error' : any('inconclusive') ? 'inconclusive' : 'pass'
  }
  return { ...report, results, summary, outcome, failOn, ...(targets ? { targets } : {}) }
}

/**
 * Where a multi-target outcome holds, for a headline: ` on 1 of 3 targets`, ` on all 2 targets`,
 * ` on its 1 target (shard 1 of 2)`. It counts the targets whose outcome is the headline's, so
 * "PASS" is never followed by the number of targets that drifted (it said "PASS on 0 of 2 targets").
 * Plain text: numbers and fixed words only.
 */
export function targetsPhrase(outcome: Outcome, targets: readonly { outcome: Outcome }[], shard?: { index: number; of: number }): string {
  const n = targets.length
  const its = shard ? 'its ' : ''
  const noun = `target${n === 1 ? '' : 's'}`
  const where = shard ? ` (shard ${shard.index} of ${shard.of})` : ''
  const k = targets.filter((t) => t.outcome === outcome).length
  if (k === 0) return ` across ${its}${n} ${noun}${where}`
  if (k < n) return ` on ${k} of ${its}${n} ${noun}${where}`
  return n === 1 ? ` on ${its}1 target${where}` : ` on all ${its}${n} ${noun}${where}`
}

/** The exit code of an outcome: 0 pass, 1 drift, 2 harness error, 3 inconclusive, 130 interrupted. */
export const EXIT_CODE: Record<Outcome, 0 | 1 | 2 | 3 | 130> = { pass: 0, drift: 1, error: 2, inconclusive: 3, interrupted: 130 }

/** The exit code of a report decided at `failOn` (default: the one it was settled with, else breaking). */
export function exitCodeOf(report: Report, failOn: FailOn = report.failOn ?? 'breaking'): 0 | 1 | 2 | 3 | 130 {
  return EXIT_CODE[settle(report, failOn).outcome]
}

/**
 * Carries `since` forward from the previous report: a finding it already had keeps its first-seen
 * time. And the last good run: the previous report's when the contract passed in it (its start, the
 * run time every report and the history give a run), else what the previous report's finding said.
 */
export function carrySince(findings: readonly Finding[], previous: (Pick<Report, 'findings'> & Partial<Pick<Report, 'results' | 'startedAt'>>) | undefined): Finding[] {
  const before = new Map((previous?.findings ?? []).map((f) => [findingKey(f), f]))
  return findings.map((f) => {
    const old = before.get(findingKey(f))
    const passed = previous?.startedAt !== undefined && previous.results?.some((r) => sameContract(r, f) && r.status === 'passed')
    const lastGood = passed ? previous.startedAt : (old?.lastGood ?? f.lastGood)
    const dated = lastGood ? { ...f, lastGood } : f
    return old ? { ...dated, since: old.since, new: false } : dated
  })
}

/** The later of two ISO times, either possibly unknown. */
export function later(a: string | undefined, b: string | undefined): string | undefined {
  return a === undefined ? b : b === undefined ? a : Date.parse(a) >= Date.parse(b) ? a : b
}

/** Where a contract's row goes: those with a breaking finding first, then warning, then info, then not judged, then passed. */
function rowRank(r: Pick<ContractResult, 'contract' | 'target' | 'status'>, findings: readonly Pick<Finding, 'contract' | 'target' | 'severity'>[]): number {
  const worst = Math.max(0, ...findings.filter((f) => sameContract(f, r)).map((f) => severityRank(f.severity)))
  if (worst > 0) return 4 - worst
  return r.status === 'failed' ? 4 : r.status === 'inconclusive' ? 5 : r.status === 'skipped' ? 6 : 7
}

/** The contracts' results, failing first (breaking, warning, info, then the rest), report order kept within each. */
export function resultsFailingFirst<R extends Pick<ContractResult, 'contract' | 'target' | 'status'>>(results: readonly R[], findings: readonly Pick<Finding, 'contract' | 'target' | 'severity'>[]): R[] {
  return results.map((r, i) => ({ r, i, rank: rowRank(r, findings) })).sort((a, b) => a.rank - b.rank || a.i - b.i).map((x) => x.r)
}
