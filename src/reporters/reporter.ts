/** A reporter renders the canonical report into one file format. Pure: no I/O. */
import type { Report } from '../report.ts'

/** One output format. */
export interface Reporter {
  id: string
  /** File name inside the output directory. */
  fileName: string
  render(report: Report): string
}
