/** A reporter renders the canonical report into one file format. Pure: no I/O. */
import type { Report } from '../report.ts'

/** What a format may show besides the report: the contracts' past results (report.html's timelines). */
export interface RenderContext {
  history?: readonly { at: string; target?: string; contract: string; status: string; durationMs: number }[]
}

/** One output format. */
export interface Reporter {
  id: string
  /** File name inside the output directory. */
  fileName: string
  render(report: Report, context?: RenderContext): string
}
