import { resolve } from 'node:path'
import { DEFAULTS, GLOBAL, HISTORY_OPTIONS, parseFailOn, parseFormats, reportOptions, str, type Command } from '../options.ts'
import { finalLine, runSeconds } from '../lines.ts'
import { exitCodeOf } from '../../model/report.ts'
import { addToHistory, pastOf } from './check.ts'

export const merge: Command = {
  name: 'merge',
  summary: 'join the reports of several shards into one.',
  usage: ['merge <report.json...> [options]'],
  about: `Joins the report.json files that check --targets --shard i/n wrote on several machines (a CI
matrix) into one report, in target-name order, as if one machine had run every target. The merged
outcome follows the same rule as every report: drift on any target at or above --fail-on is drift.
The merged run is added to the history (history.db in --out, or --history) unless its shards,
sharing that --history on this machine, already added theirs; report.html draws its timelines and
each finding's "since" from it. A CI matrix runs the shards with --no-history and keeps the history
with the merge job.`,
  positionals: true,
  options: {
    ...reportOptions(DEFAULTS.mergeOut),
    ...HISTORY_OPTIONS,
    ...GLOBAL,
  },
  async run(v, positionals, io) {
    const failOn = parseFailOn(str(v, 'fail-on'))
    const formats = parseFormats(str(v, 'format'))
    const outDir = resolve(io.cwd, str(v, 'out') ?? DEFAULTS.mergeOut)
    const t0 = Date.now()
    const { runMerge } = await import('../../commands/merge.ts')
    const { report, files } = await runMerge({ files: positionals, outDir, formats, failOn, env: io.env, cwd: io.cwd, pastAt: (startedAt) => pastOf(v, outDir, io, startedAt) })
    io.stdout(finalLine(report, runSeconds(report)))
    io.stdout(`Reports: ${files.join(', ')}`)
    await addToHistory(v, outDir, report, io, 'merge')
    return exitCodeOf(report)
  },
}
