import { DEFAULTS, GLOBAL, parseFailOn, str, type Command } from '../options.ts'
import { oneLine, term, untrusted as u } from '../../render/index.ts'
import { HarnessError } from '../../util/errors.ts'
import type { Report } from '../../model/report.ts'

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
    const { readReports } = await import('../../commands/merge.ts')
    const { diffReports } = await import('../../commands/diff.ts')
    const [a, b] = readReports(positionals, io.cwd)
    const { failsAt, trafficTarget } = await import('../../model/report.ts')
    // What the run judged (for traffic, its origin: tonight's capture and last night's compare, whatever the files are called); a multi-target report is its set of targets.
    const identity = (r: Report) => (r.targets ? `targets ${r.targets.map((t) => t.name).sort().join(', ')}` : trafficTarget(r))
    const [was, is] = [identity(a!.report), identity(b!.report)]
    if (was !== is) throw new HarnessError('DW_USAGE', `diff compares two runs of the same target: old is ${oneLine(was)} (${a!.file}), new is ${oneLine(is)} (${b!.file}); pass two report.json files of one target`)
    if (a!.report.apiVersion !== b!.report.apiVersion) io.stderr(String(term`Warning: the old report probed API ${u(a!.report.apiVersion)}, the new one ${u(b!.report.apiVersion)}: findings may differ because of the version, not only drift`))
    if (b!.report.startedAt < a!.report.startedAt) io.stderr(String(term`Warning: the new report is older than the old one (new ${u(b!.report.startedAt)}, old ${u(a!.report.startedAt)}): did you swap them? diff takes the old report first`))
    const d = diffReports(a!.report, b!.report)
    const worse = [...d.appeared.map((x) => x.severity), ...d.changed.filter((c) => c.worse).map((c) => c.after.severity)].some((s) => failsAt(s, failOn))
    if (v.json === true) {
      io.stdout(JSON.stringify({ old: a!.file, new: b!.file, ...d }, null, 2))
      return worse ? 1 : 0
    }
    // Both reports are input (CI artifacts): every value from them is untrusted, one line.
    const row = (x: { target?: string; contract: string; check: string; severity: string; title: string }) => String(term`  ${u(x.severity.padEnd(8))} ${x.target ? term`${u(x.target)}/` : undefined}${u(x.contract)} ${u(x.check)}: ${u(x.title)}`)
    io.stdout(`${String(term`${u(a!.file)} (${u(a!.report.startedAt)}) → ${u(b!.file)} (${u(b!.report.startedAt)})`)}: ${d.appeared.length} appeared, ${d.cleared.length} cleared, ${d.changed.length} changed, ${d.unchanged} unchanged`)
    if (d.appeared.length) io.stdout('Appeared:')
    for (const x of d.appeared) io.stdout(row(x))
    if (d.cleared.length) io.stdout('Cleared:')
    for (const x of d.cleared) io.stdout(row(x))
    if (d.changed.length) io.stdout('Changed:')
    for (const c of d.changed) io.stdout(String(term`  ${u(c.before.severity)} → ${u(c.after.severity)}${c.worse ? term` (worse)` : undefined} ${c.after.target ? term`${u(c.after.target)}/` : undefined}${u(c.after.contract)} ${u(c.after.check)}: ${c.before.title === c.after.title ? u(c.after.title) : term`"${u(c.before.title)}" → "${u(c.after.title)}"`}`))
    if (d.notJudged.length) io.stdout(String(term`Not judged in the new report (its findings there neither cleared nor stayed): ${u(d.notJudged.join(', '))}`))
    return worse ? 1 : 0
  },
}
