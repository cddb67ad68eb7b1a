/**
 * `driftwatch merge <report.json...>`: joins the reports of several shards (check --targets
 * --shard i/n on several machines) into one, as if one machine had run every target. A report of
 * a single target joins as a section named after its target. Two reports of one target, or of
 * different API versions, are refused: the merged report would say something no run saw.
 * `runMerge` is the command whole: read, merge, write the report files (the CLI parses and prints).
 */
import { oneLine } from '../render/index.ts'
import type { Past } from '../history/since.ts'
import type { FailOn } from '../model/report.ts'
import type { FormatId } from '../reporters/index.ts'
import { Redactor, secretsFromEnv } from '../transport/redact.ts'
import { assertWritable } from '../util/preflight.ts'
import { writeReports } from './write-reports.ts'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { HarnessError } from '../util/errors.ts'
import { shownPath } from '../util/paths.ts'
import { summarize, type Report, type TargetSection } from '../model/report.ts'
import { reportProblem } from '../model/report-schema.ts'

/** Reads report.json files, naming the file and the fix when one is not a driftwatch report. */
export function readReports(files: readonly string[], cwd = process.cwd()): { file: string; report: Report }[] {
  if (files.length === 0) throw new HarnessError('DW_USAGE', 'merge needs the report.json files to join, e.g. driftwatch merge shard-*/report.json')
  return files.map((f) => {
    const path = resolve(cwd, f)
    const shown = shownPath(cwd, path)
    let r: unknown
    try {
      r = JSON.parse(readFileSync(path, 'utf8'))
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EISDIR') throw new HarnessError('DW_CONFIG_INVALID', `${shown} is a directory: pass its report.json (e.g. ${join(shown, 'report.json')})`, { file: shown })
      throw new HarnessError('DW_CONFIG_INVALID', `${shown}: ${code === 'ENOENT' ? 'no such file' : `not JSON (${(err as Error).message})`}; pass the report.json files that check --out wrote`, { file: shown })
    }
    // Another machine's file: checked against the report schema (types, closed enums, no unknown field) before anything reads it.
    const problem = reportProblem(r)
    if (problem) throw new HarnessError('DW_REPORT_INVALID', `${shown} is not a valid driftwatch report.json (version 1): ${problem}. Pass the report.json files that check --out wrote, unedited`, { file: shown })
    return { file: shown, report: r as Report }
  })
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

/** One report of every target in the inputs, in target-name order (as an unsharded run writes it). */
export function mergeReports(inputs: readonly { file: string; report: Report }[]): Report {
  const apiVersions = new Set(inputs.map((i) => i.report.apiVersion))
  if (apiVersions.size > 1) throw new HarnessError('DW_USAGE', `the reports probed different API versions (${inputs.map((i) => `${i.file}: ${oneLine(i.report.apiVersion)}`).join(', ')}); merge reports of one run`)
  const sections: { section: TargetSection; report: Report; file: string }[] = []
  const owner = new Map<string, string>()
  for (const { file, report } of inputs) {
    const own: TargetSection[] = report.targets ?? [{ name: report.target, target: report.target, ...(report.scenario ? { scenario: report.scenario } : {}), outcome: report.outcome, summary: report.summary, ...(report.error ? { error: report.error } : {}) }]
    for (const s of own) {
      const before = owner.get(s.name)
      if (before) throw new HarnessError('DW_USAGE', `target ${oneLine(s.name)} is in both ${before} and ${file}: each target belongs to one shard (were two shards given the same --shard?)`)
      owner.set(s.name, file)
      sections.push({ section: s, report, file })
    }
  }
  sections.sort((a, b) => byName(a.section, b.section))
  const mine = <T extends { target?: string }>(xs: readonly T[], s: TargetSection, multi: boolean) => (multi ? xs.filter((x) => x.target === s.name) : xs.map((x) => ({ ...x, target: s.name })))
  const results = sections.flatMap(({ section, report }) => mine(report.results, section, report.targets !== undefined))
  const findings = sections.flatMap(({ section, report }) => mine(report.findings, section, report.targets !== undefined))
  // What the shards cleared (from their history); a merge with a history of its own works it out again when written.
  const cleared = sections.flatMap(({ section, report }) => mine(report.cleared ?? [], section, report.targets !== undefined))
  const times = inputs.map((i) => i.report)
  const interrupted = times.some((r) => r.interrupted || r.outcome === 'interrupted')
  return {
    version: 1,
    target: `${sections.length} target${sections.length === 1 ? '' : 's'} merged from ${inputs.length} report${inputs.length === 1 ? '' : 's'}`,
    apiVersion: [...apiVersions][0]!,
    startedAt: times.map((r) => r.startedAt).sort()[0]!,
    finishedAt: times.map((r) => r.finishedAt).sort().at(-1)!,
    outcome: 'pass', // settled when written
    summary: summarize(results, findings),
    findings,
    results,
    targets: sections.map((s) => s.section),
    ...(cleared.length ? { cleared } : {}),
    ...(interrupted ? { interrupted: true } : {}),
  }
}

/** How to merge shards' reports. */
export interface MergeOptions {
  /** The report.json files, as given (relative to cwd). */
  files: readonly string[]
  outDir: string
  formats: readonly FormatId[]
  failOn: FailOn
  /** Secrets this environment holds are redacted again on the way out (the shards' reports were redacted when written). */
  env: Readonly<Record<string, string | undefined>>
  cwd: string
  /** The history's past as of the merged run's start (known only once merged): since when each finding is open. */
  pastAt?: (startedAt: string) => Promise<Past | undefined> | Past | undefined
}

/** `driftwatch merge` as a library call: reads the shards' reports, merges them and writes the merged report files. */
export async function runMerge(opts: MergeOptions): Promise<{ report: Report; files: string[] }> {
  const inputs = readReports(opts.files, opts.cwd)
  await assertWritable(opts.outDir, '--out', opts.cwd)
  // The shards' reports were redacted when written; the pattern-based pass runs again on the way out, with the secrets this environment holds.
  const merged = mergeReports(inputs)
  const past = await opts.pastAt?.(merged.startedAt)
  return writeReports(merged, { outDir: opts.outDir, formats: opts.formats, failOn: opts.failOn, redactor: new Redactor({ secrets: secretsFromEnv(opts.env) }), cwd: opts.cwd, ...(past ? { past } : {}) })
}
