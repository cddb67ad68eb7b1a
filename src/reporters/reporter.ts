/**
 * A reporter renders the canonical report into one file format. Pure: no I/O. It is handed the
 * report as Untrusting<Report>: every string in it came from the wire, a capture or another report,
 * and reaches the output only through the escaping of the format's medium (src/render/).
 */
import type { Report } from '../model/report.ts'
import type { Untrusting } from '../render/index.ts'

/** One past result of a contract, from the history database, oldest first. */
export interface HistoryPoint {
  /** When that run started (run time, as every time in a report). */
  at: string
  /** The history target it ran against (see historyTarget()). */
  target?: string
  contract: string
  status: string
  durationMs: number
  /** Requests the contract sent in that run (0 or absent when the history does not say). */
  requests?: number
}

/** What a format may show besides the report: the contracts' past results (report.html's timelines). */
export interface RenderContext {
  history?: readonly HistoryPoint[]
  /** The working directory as seen from the report's folder (`../..`): contract files are linked relative to it when no CI run gives their URL. */
  fileBase?: string
}

/** One output format. */
export interface Reporter {
  id: string
  /** File name inside the output directory. */
  fileName: string
  render(report: Untrusting<Report>, context?: Untrusting<RenderContext>): string
}
