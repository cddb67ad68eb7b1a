/**
 * `--format github`: GitHub Actions workflow commands, one annotation per finding
 * (`::error title=...::...` for a finding that fails at --fail-on, `::warning` below it,
 * `::notice` for info), written to github-annotations.txt. The CLI prints that file on stdout so
 * the runner turns it into annotations, and appends report.md to the job summary
 * ($GITHUB_STEP_SUMMARY) when it is set (src/cli/main.ts).
 *
 * Everything in a finding is hostile: the runner reads a line that starts with `::` as a command,
 * so values are escaped as the runner's own toolkit escapes them (data: % CR LF; properties also
 * : and ,), which keeps each annotation on one line and no value can start a command of its own.
 */
import { contractLabel, failsAt, type FailOn, type Report } from '../model/report.ts'
import type { Untrusting } from '../render/index.ts'
import type { Reporter } from './reporter.ts'

/** A workflow command's message, escaped as @actions/core escapes it. */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

/** A workflow command's property value (title=, file=), escaped as @actions/core escapes it. */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C')
}

/** Longest message an annotation carries: GitHub shows the first few lines; the report has the rest. */
const MAX_MESSAGE = 2000

export const githubReporter: Reporter = {
  id: 'github',
  fileName: 'github-annotations.txt',
  render(report: Untrusting<Report>) {
    const failOn = (report.failOn ?? 'breaking') as FailOn
    const fileOf = new Map(report.results.map((r) => [contractLabel(r), r.file]))
    const lines: string[] = []
    for (const f of report.findings) {
      const level = failsAt(f.severity, failOn) ? 'error' : f.severity === 'info' ? 'notice' : 'warning'
      const file = fileOf.get(contractLabel(f))
      // file= is a path in the repository the workflow checked out: a contract outside it (the pack shipped
      // with the action or installed in node_modules, an absolute or ../ path) has no place in it, so the annotation has none.
      const inRepo = file !== undefined && !file.includes('(') && !/^(\/|[A-Za-z]:[\\/]|\.\.(\/|\\|$))/.test(file) && !/(^|[\\/])node_modules[\\/]/.test(file)
      const props = [`title=${escapeProperty(`driftwatch ${f.severity}: ${contractLabel(f)} (${f.check})`)}`, ...(inRepo ? [`file=${escapeProperty(file)}`] : [])]
      const ev = f.evidence.request ? `\nRequest: ${f.evidence.request}${f.evidence.status !== undefined ? ` → ${f.evidence.status}` : ''}` : ''
      const text = `${f.title}\n${f.message}${ev}\nSince ${f.since}`
      lines.push(`::${level} ${props.join(',')}::${escapeData(text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text)}`)
    }
    const s = report.summary
    lines.push(`::notice title=${escapeProperty(`driftwatch: ${report.outcome.toUpperCase()}`)}::${escapeData(`${s.contracts} contracts: ${s.passed} passed, ${s.failed} with drift; findings ${s.breaking} breaking, ${s.warning} warning, ${s.info} info (--fail-on ${failOn})`)}`)
    return `${lines.join('\n')}\n`
  },
}
