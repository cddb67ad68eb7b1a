/**
 * Appends a finished run to the history database. The reports are the run's record; the history
 * is what the next person asks ("since when? how often?"), so a history that cannot be written is
 * said on stderr and the run's outcome stands.
 */
import { historyTarget, type Report } from '../model/report.ts'
import { HistoryStore } from './store.ts'

/** What adding a run did: the runs of each of its targets the history now holds, or the `problem` that stopped it. */
export interface Recorded {
  /** Target → runs held, in the run's order. */
  runs?: Map<string, number>
  /** A merge whose shards had already added themselves: nothing new was added. */
  already?: boolean
  problem?: string
}

/**
 * Appends `report` as one run of `command`. A merged report (`command` merge) is added only when its
 * shards' runs are not already there: shards on one machine share the history and added themselves;
 * shards of a CI matrix could not.
 */
export function recordRun(file: string, command: string, report: Report): Recorded {
  // A run that failed before any contract ran has nothing to add; one whose failure was a target of
  // several (an account's variables unset) adds the targets that ran, so one broken account does not
  // cost the night for every other one.
  if (report.outcome === 'error' && report.results.length === 0) return { problem: `the run was not added to the history ${file}: it failed before any contract ran` }
  let store: HistoryStore | undefined
  try {
    store = new HistoryStore(file)
    const target = historyTarget(report)
    const targets = [...new Set(report.results.map((r) => r.target ?? target))]
    const held = () => new Map(targets.map((t) => [t, store!.runsOf(t)]))
    if (command === 'merge' && store.hasResultsSince(report.startedAt, targets)) return { runs: held(), already: true }
    store.addCycle(
      { command, startedAt: report.startedAt, finishedAt: report.finishedAt, target, unit: command, contracts: report.results.map((r) => r.contract), requests: report.summary.probes, outcome: report.outcome, healthy: report.outcome !== 'inconclusive' && report.outcome !== 'error' },
      report.findings,
      report.results,
    )
    return { runs: held() }
  } catch (err) {
    return { problem: `the run was not added to the history ${file}: ${(err as Error).message}` }
  } finally {
    store?.close()
  }
}
