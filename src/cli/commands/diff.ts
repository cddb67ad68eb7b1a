import { DEFAULTS, GLOBAL, parseFailOn, str, type Command } from '../options.ts'
import { HarnessError } from '../../errors.ts'
import type { Report } from '../../report.ts'

export const diff: Command = {
  name: 'diff',
  summary: 'what appeared, what cleared, and what changed severity between two reports.',
  usage: ['diff <old report.json> <new report.json> [options]'],
  about: `Compares two report.json files finding by finding (a target's contract and check): what
appeared, what cleared, what changed severity or wording. Contracts the new report did not judge are
listed apart: their findings neither cleared nor stayed. Both must be runs of one target (of one set of
targets): reports of different targets are refused. It warns when the API versions differ, and when
the new report is older than the old one.`,
  positionals: true,
  options: {
    'fail-on': { type: 'string', arg: '<level>', help: `breaking | warning | info | never: exit 1 when a finding at or above it\nappeared or got worse (default ${DEFAULTS.failOn})` },
    json: { type: 'boolean', help: 'print JSON instead of text' },
    ...GLOBAL,
  },
  async run(v, positionals, io) {
    if (positionals.length !== 2) throw new HarnessError('DW_USAGE', `diff takes two report.json files, the old one first (got ${positionals.length})`)
    const failOn = parseFailOn(str(v, 'fail-on'))
    const { readReports } = await import('../../merge.ts')
    const { diffReports } = await import('../../history/diff.ts')
    const [a, b] = readReports(positionals, io.cwd)
    const { failsAt, trafficTarget } = await import('../../report.ts')
    // What the run judged (for traffic, its origin: tonight's capture and last night's compare, whatever the files are called); a multi-target report is its set of targets.
    const identity = (r: Report) => (r.targets ? `targets ${r.targets.map((t) => t.name).sort().join(', ')}` : trafficTarget(r))
    const [was, is] = [identity(a!.report), identity(b!.report)]
    if (was !== is) throw new HarnessError('DW_USAGE', `diff compares two runs of the same target: old is ${was} (${a!.file}), new is ${is} (${b!.file}); pass two report.json files of one target`)
    if (a!.report.apiVersion !== b!.report.apiVersion) io.stderr(`Warning: the old report probed API ${a!.report.apiVersion}, the new one ${b!.report.apiVersion}: findings may differ because of the version, not only drift`)
    if (b!.report.startedAt < a!.report.startedAt) io.stderr(`Warning: the new report is older than the old one (new ${b!.report.startedAt}, old ${a!.report.startedAt}): did you swap them? diff takes the old report first`)
    const d = diffReports(a!.report, b!.report)
    const worse = [...d.appeared.map((x) => x.severity), ...d.changed.filter((c) => c.worse).map((c) => c.after.severity)].some((s) => failsAt(s, failOn))
    if (v.json === true) {
      io.stdout(JSON.stringify({ old: a!.file, new: b!.file, ...d }, null, 2))
      return worse ? 1 : 0
    }
    const row = (x: { target?: string; contract: string; check: string; severity: string; title: string }) => `  ${x.severity.padEnd(8)} ${x.target ? `${x.target}/` : ''}${x.contract} ${x.check}: ${x.title}`
    io.stdout(`${a!.file} (${a!.report.startedAt}) → ${b!.file} (${b!.report.startedAt}): ${d.appeared.length} appeared, ${d.cleared.length} cleared, ${d.changed.length} changed, ${d.unchanged} unchanged`)
    if (d.appeared.length) io.stdout('Appeared:')
    for (const x of d.appeared) io.stdout(row(x))
    if (d.cleared.length) io.stdout('Cleared:')
    for (const x of d.cleared) io.stdout(row(x))
    if (d.changed.length) io.stdout('Changed:')
    for (const c of d.changed) io.stdout(`  ${c.before.severity} → ${c.after.severity}${c.worse ? ' (worse)' : ''} ${c.after.target ? `${c.after.target}/` : ''}${c.after.contract} ${c.after.check}: ${c.before.title === c.after.title ? c.after.title : `"${c.before.title}" → "${c.after.title}"`}`)
    if (d.notJudged.length) io.stdout(`Not judged in the new report (its findings there neither cleared nor stayed): ${d.notJudged.join(', ')}`)
    return worse ? 1 : 0
  },
}
