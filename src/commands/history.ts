/**
 * `driftwatch history` as a library call: reads a history database (what check, verify and merge
 * add runs to, and watch's --state) and says, per contract and check, each episode of a finding,
 * what is open now (watch's held-open drifts included), and whether anything at --fail-on is. The
 * CLI (cli/commands/history.ts) parses the flags and prints what this returns.
 *
 * Also what the reporting commands (check, verify, merge) do with the history around a run: read
 * its past before writing the reports (addRun's counterpart, pastOf) and add the run after.
 */
import picomatch from 'picomatch'
import { episodes, judgedIn, type FindingHistory } from '../history/episodes.ts'
import { loadPast, type Past } from '../history/past.ts'
import { recordRun, type Recorded } from '../history/record.ts'
import type { Report } from '../model/report.ts'
import { HistoryStore } from '../history/store.ts'
import { failsAt, type FailOn } from '../model/report.ts'
import { HarnessError } from '../util/errors.ts'
import { suggest } from '../util/suggest.ts'

export { sinceTime } from '../history/episodes.ts'
export type { Past, Recorded }

/**
 * Adds a run (check, verify or merge: `command`) to the history database at `file`, creating it;
 * says what the database holds of its targets then, or the problem that kept the run out (the
 * run's outcome stands either way).
 */
export function addRun(file: string, command: string, report: Report): Recorded {
  return recordRun(file, command, report)
}

/** A run's past from the history database (since when each finding is open; report.html's timelines), as of `before` (default now). */
export function pastOf(file: string, before?: string): Past | undefined {
  return loadPast(file, before)
}

/** A drift watch's state holds open. */
export type HeldDrift = ReturnType<HistoryStore['allOpenDrifts']>[number]

export interface HistoryOptions {
  /** The database file. */
  file: string
  /** How the file is named in messages (as the user would type it). */
  shown: string
  /** Only runs at or after this ISO time. */
  since?: string
  filter: { contract?: string; target?: string }
  failOn: FailOn
}

/** What the history says: nothing judged in the window (and when the latest run that did was), or the findings. */
export type HistoryResult =
  | { judged: false; runs: number; latestJudged: string | undefined; anyRun: boolean }
  | {
      judged: true
      /** Runs in the window, and its first and last run times. */
      runs: number
      from: string | undefined
      to: string | undefined
      /** Findings with a run in the window, worst first. */
      list: FindingHistory[]
      /** Findings open since before the window (their contract was last judged before it). */
      openBefore: FindingHistory[]
      /** Listed findings whose episode ended but watch's state still holds open, and held drifts no listed finding shows. */
      held: Map<FindingHistory, HeldDrift>
      heldOnly: HeldDrift[]
      openNow: number
      /** A finding at or above --fail-on is open: exit 1. */
      openAtThreshold: boolean
    }

export function readHistory(opts: HistoryOptions): HistoryResult {
  const { filter, since, shown } = opts
  const store = new HistoryStore(opts.file)
  let all
  let drifts
  try {
    all = store.timeline()
    drifts = store.allOpenDrifts()
  } finally {
    store.close()
  }
  if (all.length) refuseUnmatched(all, shown, filter.contract, filter.target)
  // From --since to now: the window always holds the latest runs, so "open now" means the same as without it.
  const timeline = since ? all.filter((t) => t.at >= since) : all
  const judged = judgedIn(filter)
  if (!timeline.some(judged)) return { judged: false, runs: new Set(timeline.map((t) => t.run)).size, latestJudged: all.filter(judged).at(-1)?.at, anyRun: timeline.length > 0 }
  const list = episodes(timeline, filter)
  // A contract last judged before the window may still have a finding open: the window narrows what is told, never what is open.
  const key = (h: { target: string; contract: string; check: string }) => `${h.target}\u0000${h.contract}\u0000${h.check}`
  const inWindow = new Set(list.map(key))
  const openBefore = since ? episodes(all, filter).filter((h) => h.open && !inWindow.has(key(h))) : []
  // watch (and the proxy) clear a drift only after --recover-after clean runs (and a quiet time for
  // one live traffic saw), where an episode ends at the first clean run: what their state holds open
  // is open now, so `history --history <state>` and watch give one answer.
  const { held, heldOnly } = heldOpen(drifts, list, openBefore, filter)
  const openAtThreshold = [...list, ...openBefore].some((h) => h.open && failsAt(h.episodes.at(-1)!.severity, opts.failOn)) || [...held.values(), ...heldOnly].some((d) => failsAt(d.severity, opts.failOn))
  return {
    judged: true,
    runs: new Set(timeline.map((t) => t.run)).size,
    from: timeline[0]?.at,
    to: timeline.at(-1)?.at,
    list,
    openBefore,
    held,
    heldOnly,
    openNow: list.filter((h) => h.open).length + openBefore.length + held.size + heldOnly.length,
    openAtThreshold,
  }
}

/**
 * The drifts watch's state holds open, matched to the findings listed: `held` those whose episode
 * has ended (clean runs, not yet enough to recover), `heldOnly` those no listed finding shows.
 * An unscoped drift (a single-target watch, the proxy) belongs to a target no scope is named after.
 */
function heldOpen(drifts: readonly HeldDrift[], list: readonly FindingHistory[], openBefore: readonly FindingHistory[], filter: { contract?: string; target?: string }) {
  const scopes = new Set(drifts.map((d) => d.scope).filter(Boolean))
  const same = (d: HeldDrift, h: FindingHistory) => d.contract === h.contract && d.check === h.check && (d.scope ? d.scope === h.target : !scopes.has(h.target))
  const match = filter.contract ? picomatch(filter.contract.split(',').map((g) => g.trim())) : () => true
  const held = new Map<FindingHistory, HeldDrift>()
  const heldOnly: HeldDrift[] = []
  for (const d of drifts) {
    const h = [...list, ...openBefore].find((x) => same(d, x))
    if (h) {
      if (!h.open) held.set(h, d)
    } else if (match(d.contract) && (filter.target === undefined || d.scope === filter.target)) heldOnly.push(d)
  }
  return { held, heldOnly }
}

/** A --target or --contract that matches nothing the history has ever seen is a typo, not an all-clear. */
function refuseUnmatched(timeline: ReturnType<HistoryStore['timeline']>, shown: string, contract: string | undefined, target: string | undefined): void {
  const names = (xs: string[]) => [...new Set(xs)].sort()
  const some = (xs: string[], most = 15) => (xs.length === 0 ? 'none yet' : xs.length <= most ? xs.join(', ') : `${xs.slice(0, most).join(', ')} and ${xs.length - most} more`)
  if (target !== undefined) {
    const targets = names(timeline.map((t) => t.target))
    if (!targets.includes(target)) throw new HarnessError('DW_USAGE', `--target "${target}" matches no target in ${shown}; pass one it has: ${some(targets)}${suggest(target, targets)}`)
  }
  if (contract === undefined) return
  const contracts = names(timeline.filter((t) => target === undefined || t.target === target).map((t) => t.contract))
  for (const glob of contract.split(',').map((g) => g.trim())) {
    const match = picomatch(glob)
    if (!contracts.some((c) => match(c))) throw new HarnessError('DW_USAGE', `--contract "${glob}" matches no contract in ${shown}${target ? ` for target ${target}` : ''}; pass one it has (or a glob like 'media.*'): ${some(contracts)}${suggest(glob, contracts)}`)
  }
}
