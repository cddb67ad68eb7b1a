/**
 * Writes the report files: report.json always (it is the canonical record, and the next run reads
 * it to say "since when"), the other formats as asked. Every file gets a last redaction pass.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { ensureDir, writeFileAtomic } from '../util/atomic-write.ts'
import { HarnessError } from '../util/errors.ts'
import { shownPath } from '../util/paths.ts'
import { applyPast, clearedBy, type Past } from '../history/since.ts'
import { withoutPersonalData } from '../recordings/personal-data.ts'
import { carrySince, ciRunFrom, historyTarget, settle, type FailOn, type Report } from '../model/report.ts'
import { reporters, type FormatId } from '../reporters/index.ts'

export type { FormatId }
import { isReport } from '../model/report-schema.ts'
import type { Redactor } from '../transport/redact.ts'
import { untrusting } from '../render/index.ts'

/** Where and what to write. */
export interface WriteOptions {
  outDir: string
  formats: readonly FormatId[]
  redactor: Redactor
  /** The threshold every format decides drift with (report.json records it); default the report's own, else breaking. */
  failOn?: FailOn
  cwd?: string
  /** The run's past from the history: since when each finding is open, and report.html's timelines. */
  past?: Past
  /** Where GitHub Actions' variables are read (the CI run to link); default process.env. */
  env?: Readonly<Record<string, string | undefined>>
}

/** Reads the previous report.json in `outDir`, if any and valid (checked against the report schema); anything else is ignored. */
export function readPreviousReport(outDir: string): Report | undefined {
  const file = join(outDir, 'report.json')
  if (!existsSync(file)) return undefined
  try {
    const r: unknown = JSON.parse(readFileSync(file, 'utf8'))
    return isReport(r) ? r : undefined
  } catch {
    return undefined
  }
}

/**
 * Whether the report.json already in --out is an earlier run of the same series as `report` (the
 * history's key, see historyTarget()): only then does it date this run's findings. A report of
 * several targets keeps them apart itself (each finding carries its target).
 */
function sameSeries(previous: Report, report: Report): boolean {
  if (previous.targets || report.targets) return Boolean(previous.targets && report.targets)
  return historyTarget(previous) === historyTarget(report)
}

/** Carries `since` from the previous report and the history, settles it at --fail-on, writes every file atomically, returns the report written and the paths. */
export async function writeReports(report: Report, opts: WriteOptions): Promise<{ report: Report; files: string[] }> {
  const cwd = opts.cwd ?? process.cwd()
  const before = readPreviousReport(opts.outDir)
  const previous = before && sameSeries(before, report) ? before : undefined
  // Personal data as every output has it: the placeholders recordings use (check's evidence carries live bodies).
  // A finding new this run is dated at the run's start, the time the history keeps for the run: the
  // next report's "first seen" is the same instant (a session or target inside the run starts later).
  const dated = report.findings.map((f) => (f.new && f.since !== report.startedAt ? { ...f, since: report.startedAt } : f))
  const carried = carrySince(withoutPersonalData(dated), previous)
  const findings = opts.past ? applyPast(carried, opts.past, historyTarget(report)) : carried
  const cleared = opts.past ? clearedBy(findings, report.results, opts.past, historyTarget(report)) : []
  const ci = report.ci ?? ciRunFrom(opts.env ?? process.env)
  const final: Report = settle({ ...report, findings, ...(cleared.length ? { cleared } : {}), ...(ci ? { ci } : {}) }, opts.failOn ?? report.failOn ?? 'breaking')
  try {
    await ensureDir(opts.outDir)
  } catch (err) {
    throw new HarnessError('DW_OUTPUT_FAILED', `cannot create output directory ${opts.outDir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass --out with a writable directory`)
  }
  // Redacted as data first (every string, keys too), then each rendered file as text: a renderer's
  // escaping could otherwise split a secret the text pass looks for.
  const safe = opts.redactor.deep(final)
  const formats: FormatId[] = ['json', ...opts.formats.filter((f) => f !== 'json')]
  // Contract files are relative to the working directory; the report links them from its own folder.
  const fileBase = relative(opts.outDir, cwd).split(sep).join('/') || '.'
  const files: string[] = []
  for (const f of formats) {
    const r = reporters[f]
    const path = join(opts.outDir, r.fileName)
    try {
      await writeFileAtomic(path, opts.redactor.text(r.render(untrusting(safe), untrusting({ ...(opts.past ? { history: opts.past.results } : {}), fileBase }))))
    } catch (err) {
      throw new HarnessError('DW_OUTPUT_FAILED', `cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass --out with a writable directory`)
    }
    files.push(shownPath(cwd, path))
  }
  return { report: safe, files }
}
