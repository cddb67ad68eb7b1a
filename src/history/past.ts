/**
 * The contracts' recent past from the history database, for report.html's timelines and latency
 * charts. Read once before a run writes its reports; a missing or unreadable history is no past
 * (the report is still written, without timelines), never an error.
 */
import { existsSync } from 'node:fs'
import type { HistoryPoint } from '../reporters/reporter.ts'
import { HistoryStore } from './store.ts'

/** How many past runs a contract's timeline shows at most. */
export const PAST_RUNS = 60

/** Each contract's results (every target's) that finished before `before`, at most PAST_RUNS each, oldest first. */
export function pastResults(file: string | undefined, before: string = new Date().toISOString()): HistoryPoint[] | undefined {
  if (!file || !existsSync(file)) return undefined
  let store: HistoryStore | undefined
  try {
    store = new HistoryStore(file)
    return store.recentResults(before, PAST_RUNS)
  } catch {
    return undefined
  } finally {
    store?.close()
  }
}
