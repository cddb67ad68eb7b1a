/**
 * Episodes: from the history's timeline (each contract's result per run, with its findings), when
 * each finding appeared, when it cleared, and how often it came back. A run where the contract was
 * not judged (skipped, inconclusive, interrupted) says nothing either way: an episode neither starts
 * nor ends there. Pure: the store reads, this reasons.
 */
import picomatch from 'picomatch'
import { severityRank, type Severity } from '../model/finding.ts'
import type { HistoryStore } from './store.ts'

type Timeline = ReturnType<HistoryStore['timeline']>

/** One episode of a finding; its times are run times (the start of the run that showed it, and of the first run without it). */
export interface Episode {
  appearedAt: string
  appearedRun: number
  /** Absent while it is still open. */
  clearedAt?: string
  clearedRun?: number
  severity: Severity
  title: string
}

/** One finding (a target's contract and check) over the history. */
export interface FindingHistory {
  target: string
  contract: string
  check: string
  episodes: Episode[]
  /** Times it came back after clearing. */
  flaps: number
  open: boolean
  /** Judged runs of the contract, and how many of them had this finding. */
  judged: number
  seen: number
}

/** Whether a timeline entry judged a contract --contract (globs, comma-separated) and --target select. */
export function judgedIn(filter: { contract?: string; target?: string } = {}): (entry: Timeline[number]) => boolean {
  const match = filter.contract ? picomatch(filter.contract.split(',').map((g) => g.trim())) : () => true
  return (entry) => match(entry.contract) && (!filter.target || entry.target === filter.target) && (entry.status === 'passed' || entry.status === 'failed')
}

/** Per contract and check, its episodes, worst and most recent first. */
export function episodes(timeline: Timeline, filter: { contract?: string; target?: string } = {}): FindingHistory[] {
  const judged = judgedIn(filter)
  const out = new Map<string, FindingHistory>()
  const judgedRuns = new Map<string, number>()
  for (const entry of timeline) {
    if (!judged(entry)) continue
    const contractKey = `${entry.target}\u0000${entry.contract}`
    judgedRuns.set(contractKey, (judgedRuns.get(contractKey) ?? 0) + 1)
    // The worst finding per check in this run (one check can say several things about one contract).
    const now = new Map<string, { severity: Severity; title: string }>()
    for (const f of entry.findings) {
      const prev = now.get(f.check)
      if (!prev || severityRank(f.severity) > severityRank(prev.severity)) now.set(f.check, f)
    }
    for (const [check, f] of now) {
      const k = `${contractKey}\u0000${check}`
      let h = out.get(k)
      if (!h) out.set(k, (h = { target: entry.target, contract: entry.contract, check, episodes: [], flaps: 0, open: false, judged: 0, seen: 0 }))
      h.seen++
      if (!h.open) {
        // The start of the run that first showed it (the timeline's `at`): the time its report gave as the
        // finding's since (a run's findings are dated at its start), so the next report's "first seen" is the same instant.
        h.episodes.push({ appearedAt: entry.at, appearedRun: entry.run, severity: f.severity, title: f.title })
        h.open = true
      } else {
        const e = h.episodes.at(-1)!
        if (severityRank(f.severity) > severityRank(e.severity)) Object.assign(e, { severity: f.severity, title: f.title })
      }
    }
    for (const h of out.values()) {
      if (h.target !== entry.target || h.contract !== entry.contract || !h.open || now.has(h.check)) continue
      const e = h.episodes.at(-1)!
      e.clearedAt = entry.at
      e.clearedRun = entry.run
      h.open = false
    }
  }
  const all = [...out.values()]
  for (const h of all) {
    h.flaps = Math.max(0, h.episodes.length - 1)
    h.judged = judgedRuns.get(`${h.target}\u0000${h.contract}`) ?? 0
  }
  const worst = (h: FindingHistory) => Math.max(...h.episodes.map((e) => severityRank(e.severity)))
  return all.sort((a, b) => worst(b) - worst(a) || (b.episodes.at(-1)!.appearedAt < a.episodes.at(-1)!.appearedAt ? -1 : 1))
}

/** `30d`, `12h`, `90m`, or an ISO date → the ISO time from which to read. */
export function sinceTime(text: string, now = Date.now()): string | undefined {
  const m = /^(\d+)\s*(d|h|m)$/.exec(text.trim())
  if (m) return new Date(now - Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm']).toISOString()
  const t = Date.parse(text)
  return Number.isNaN(t) ? undefined : new Date(t).toISOString()
}
