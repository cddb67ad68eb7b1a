/** report.json: the canonical form, pretty-printed with a trailing newline. */
import type { Reporter } from './reporter.ts'

/** Renders the report as JSON. */
export const jsonReporter: Reporter = {
  id: 'json',
  fileName: 'report.json',
  render: (report) => `${JSON.stringify(report, null, 2)}\n`,
}
