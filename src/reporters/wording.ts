/**
 * Words every report format shares: durations, "since when", what a run cleared, findings grouped
 * by cause. They quote report values (times, titles), so what they return is Untrusted: each format
 * escapes it for its medium.
 */
import { causeKey, worstFirst } from '../model/finding.ts'
import type { Finding } from '../model/finding.ts'
import { targetsPhrase, type Report } from '../model/report.ts'
import { fileUrl, untrusted, type Untrusted, type Untrusting } from '../render/index.ts'

/** `188 ms`, `1.4 s`. */
export function duration(ms: number): Untrusted {
  return untrusted(ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`)
}

/** `2 findings open before this run are gone (1 breaking, 1 warning)`. */
export function clearedSummary(r: Pick<Untrusting<Report>, 'cleared'>): Untrusted {
  const c = r.cleared ?? []
  const by = (['breaking', 'warning', 'info'] as const).map((v) => [v, c.filter((x) => x.severity === v).length] as const).filter(([, n]) => n > 0)
  return untrusted(`${c.length} finding${c.length === 1 ? '' : 's'} open before this run ${c.length === 1 ? 'is' : 'are'} gone (${by.map(([v, n]) => `${n} ${v}`).join(', ')})`)
}

type SinceOf = Pick<Untrusting<Finding>, 'new' | 'since' | 'recurring'>

/**
 * A proxy session no exchange passed through: a clean stop whose report carries no traffic counts
 * (with entries 0 it would read as "none attributed", inconclusive). Reports say so, as stdout does.
 */
export function noTraffic(r: { target: string; summary: { entries?: number; contracts: number } }): boolean {
  return String(r.target).startsWith('proxy:') && r.summary.entries === undefined && r.summary.contracts === 0
}

/** The one time base every time in a report is given in, said once near the top (after "Times"): every run is dated at its start. */
export const TIME_BASE = 'UTC (ISO 8601); run time: when the run started'

/** What a report says when no earlier run of a contract is known to have passed. */
export const NO_LAST_GOOD = 'no earlier good run known'

/** When a finding was first seen: `<time>`, `<time> (new this run)`; one that cleared before and is back: `<time> (new this run, back: 3rd time)`. */
export function firstSeen(f: SinceOf): Untrusted {
  const nth = f.recurring ? `${ordinal(f.recurring.cleared + 1)} time` : undefined
  const note = f.new ? (nth ? `new this run, back: ${nth}` : 'new this run') : nth
  return untrusted(`${f.since}${note ? ` (${note})` : ''}`)
}

/** When the contract last passed before this finding, or that no such run is known. */
export function lastGood(f: Pick<Untrusting<Finding>, 'lastGood'>): Untrusted {
  return f.lastGood ?? untrusted(NO_LAST_GOOD)
}

/** `new this run`, `since <time>`; with the history, whether it came back: `…; back after clearing 2× (last cleared <time>)`. */
export function sinceText(f: SinceOf): Untrusted {
  const back = f.recurring ? `; back after clearing ${f.recurring.cleared}× (last cleared ${f.recurring.lastClearedAt})` : ''
  return untrusted(`${f.new ? 'new this run' : `since ${f.since}`}${back}`)
}

function ordinal(n: number): string {
  const tail = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th'
  return `${n}${tail}`
}

/** Findings with the same check, severity and title: one cause, possibly seen on many contracts. */
export interface Group<F extends Pick<Finding, 'severity' | 'check' | 'title'> = Untrusting<Finding>> {
  first: F
  all: F[]
}

/** Groups findings by cause, worst first, keeping report order within a severity. */
export function groupFindings<F extends Pick<Finding, 'severity' | 'check' | 'title'>>(findings: readonly F[]): Group<F>[] {
  const groups = new Map<string, Group<F>>()
  for (const f of findings) {
    const key = causeKey(f)
    const g = groups.get(key)
    if (g) g.all.push(f)
    else groups.set(key, { first: f, all: [f] })
  }
  return [...groups.values()].sort((a, b) => worstFirst(a.first, b.first))
}

/** Samples that showed a cause, of samples taken, over every contract it was seen on. */
export function groupSamples(g: Group): { seen: number; of: number } {
  return { seen: g.all.reduce((n, f) => n + f.samples, 0), of: g.all.reduce((n, f) => n + f.of, 0) }
}

/** What the top of a report names: the worst cause, the endpoint it was seen on, and how many other causes and endpoints there are. */
export interface TopCause {
  group: Group
  /** The request template of the cause's first contract (`GET /{api_version}/{media_id}`), when the results name it. */
  request?: Untrusted
  /** Other endpoints the same cause was seen on. */
  otherEndpoints: number
  /** Other causes in the report. */
  otherCauses: number
}

/** The worst cause of a report (groupFindings' first), for the headline; undefined without findings. */
export function topCause(r: Pick<Untrusting<Report>, 'findings' | 'results'>): TopCause | undefined {
  const groups = groupFindings(r.findings)
  const group = groups[0]
  if (!group) return undefined
  const requests = [...new Set(group.all.flatMap((f) => r.results.filter((c) => c.contract === f.contract && c.target === f.target).map((c) => c.request)))]
  return { group, ...(requests[0] !== undefined ? { request: requests[0] } : {}), otherEndpoints: Math.max(0, requests.length - 1), otherCauses: groups.length - 1 }
}

/** `, seen on 2 more endpoints; and 3 more causes`: what the headline's cause leaves out, or nothing. */
export function topCauseMore(t: TopCause): Untrusted {
  const ep = t.otherEndpoints ? `, and on ${t.otherEndpoints} more endpoint${t.otherEndpoints === 1 ? '' : 's'}` : ''
  const causes = t.otherCauses ? `; and ${t.otherCauses} more cause${t.otherCauses === 1 ? '' : 's'}` : ''
  return untrusted(`${ep}${causes}`)
}

/**
 * A contract file's URL in the repository at the commit the CI run ran (`<server>/<repo>/blob/<sha>/<file>`),
 * for a path inside the repository only: not absolute, not `../`, not under node_modules/ (the pack an
 * installed driftwatch ships is not in the application's repository). Undefined otherwise, or outside CI.
 */
export function repositoryFileUrl(r: Pick<Untrusting<Report>, 'ci'>, file: Untrusted): Untrusted | undefined {
  if (r.ci?.files === undefined || file.split(/[\\/]/).includes('node_modules')) return undefined
  return fileUrl(r.ci.files, file)
}

/** What the top of an error run names: the harness error, or the first target that could not run, and where. */
export interface ErrorCause {
  /** `target main: environment variables WHATSAPP_ACCESS_TOKEN, … not set`. */
  message: Untrusted
  /** ` on 1 of 2 targets` for a report of several targets (as the terminal's headline says it), else empty. */
  where: Untrusted
  /** `; and 2 more targets could not run`, or empty. */
  more: Untrusted
}

/**
 * The cause of an error run, for the top band: the harness error when the report has one, else (check
 * --targets, merge) the first target that could not run, named, and how many others could not. The
 * real cause (unset credentials, say) is otherwise only in the Targets table. Undefined for any other outcome.
 */
export function errorCause(r: Pick<Untrusting<Report>, 'outcome' | 'error' | 'targets' | 'shard'>): ErrorCause | undefined {
  if (r.outcome !== 'error') return undefined
  const where = untrusted(r.targets?.length ? targetsPhrase('error', r.targets, r.shard) : '')
  if (r.error) return { message: r.error.message, where, more: untrusted('') }
  const failed = (r.targets ?? []).filter((t) => t.error)
  const first = failed[0]
  if (!first?.error) return undefined
  // A target's error usually names it already (`target main: …`); one that does not is prefixed.
  const message = first.error.message.startsWith(`target ${first.name}`) ? first.error.message : untrusted(`target ${first.name}: ${first.error.message}`)
  const others = failed.length - 1
  return { message, where, more: untrusted(others ? `; and ${others} more target${others === 1 ? '' : 's'} could not run` : '') }
}

/** A finding about how bodies are framed: framing-conformance, or golden-diff's framing comparison. */
export function isFramingFinding(f: Pick<Finding, 'check' | 'title'>): boolean {
  return f.check === 'framing-conformance' || (f.check === 'golden-diff' && f.title.startsWith('framing '))
}

/** `Transfer-Encoding: chunked`, `Content-Length: 336`, or neither: how a response's headers frame its body. */
export function framingOf(headers: readonly (readonly [Untrusted, Untrusted])[]): Untrusted {
  const get = (name: string) => headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v).join(', ')
  const te = get('transfer-encoding')
  const cl = get('content-length')
  return untrusted(te && cl ? `Transfer-Encoding: ${te} and Content-Length: ${cl}` : te ? `Transfer-Encoding: ${te}` : cl ? `Content-Length: ${cl}` : 'neither Content-Length nor Transfer-Encoding')
}

/** A cause's times over every contract it names: the earliest first-seen, and the latest last-good any of them has. */
export function groupTimes(g: Group): { since: Untrusting<Finding>; good: Pick<Untrusting<Finding>, 'lastGood'> } {
  const since = g.all.reduce((a, f) => (f.since < a.since ? f : a), g.first)
  const latest = g.all.map((f) => f.lastGood).filter((t) => t !== undefined).sort().pop()
  return { since, good: latest === undefined ? {} : { lastGood: latest } }
}
