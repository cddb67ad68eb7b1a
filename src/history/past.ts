/**
 * A run's past, from the history database, read once before the run writes its reports:
 * - each contract's recent results, for report.html's timelines and latency charts;
 * - each finding's episodes (a target's contract and check), so a report says since when a finding
 *   has been open, and whether a "new" one has been seen before and cleared: a drift that comes and
 *   goes, or flaps every third night, is visible in the report itself, not only in `history`.
 * A missing or unreadable history is no past (the reports are still written, since carried from the
 * previous report only), never an error.
 */
import { existsSync } from 'node:fs'
import { episodes } from './episodes.ts'
import { HistoryStore } from './store.ts'
import { pastKey, type FindingPast, type Past } from './since.ts'

export type { Past }

/** How many past runs a contract's timeline shows at most. */
export const PAST_RUNS = 60

/** The history in `file` of the runs that started before `before` (default now); undefined without one. */
export function loadPast(file: string | undefined, before: string = new Date().toISOString()): Past | undefined {
  if (!file || !existsSync(file)) return undefined
  let store: HistoryStore | undefined
  try {
    store = new HistoryStore(file)
    const results = store.recentResults(before, PAST_RUNS)
    const findings = new Map<string, FindingPast>()
    for (const h of episodes(store.timeline().filter((e) => e.at < before))) {
      const closed = h.episodes.filter((e) => e.clearedAt !== undefined)
      const open = h.open ? h.episodes[h.episodes.length - 1] : undefined
      findings.set(pastKey(h.target, h.contract, h.check), {
        ...(open ? { openSince: open.appearedAt, open: { severity: open.severity, title: open.title } } : {}),
        cleared: closed.length,
        ...(closed.length ? { lastClearedAt: closed[closed.length - 1]!.clearedAt! } : {}),
        judged: h.judged,
        seen: h.seen,
      })
    }
    return { results, findings }
  } catch {
    return undefined
  } finally {
    store?.close()
  }
}
