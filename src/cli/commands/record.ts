import { relative, resolve } from 'node:path'
import { term, untrusted as u, untrusting } from '../../render/index.ts'
import { isDrift } from '../../model/finding.ts'
import { HarnessError } from '../../util/errors.ts'
import { shownPath } from '../../util/paths.ts'
import { exitCodeOf, failsAt, settle, type FailOn } from '../../model/report.ts'
import type { FormatId } from '../../commands/write-reports.ts'
import { finalLine, rerunLines, runSeconds, trafficResultLines } from '../lines.ts'
import { checkFileName, DEFAULTS, refuseRecordingsAsOut, GLOBAL, parseFailOn, parseFormats, reportOptions, str, type CliIO, type Command, type Values } from '../options.ts'
import { PROBE_OPTIONS, runFlags, runProgress } from '../probing.ts'
import { RERUN_FLAGS } from './check.ts'

export const record: Command = {
  name: 'record',
  summary: 'probe the target and write what it did as golden recordings.',
  usage: ['record [options]', 'record --from <traffic.har|cassette.yml> [--recordings <dir>] [--name <name>] [--contracts <dir>]'],
  about: `Writes <recordings>/<probe-id>/<name>.json per probe that ran: status, headers in wire order,
framing, HTTP version, body (binary as base64), timings. Before it touches disk: secrets removed,
phone numbers, wa_id and names replaced by stable placeholders, volatile values (dates, ids,
signed URLs) listed. A file whose only changes would be volatile values is left untouched, so
re-recording an unchanged upstream gives no git diff. The checks run against the recordings
already there, so drift seen while recording is reported (in --out) before you commit it.
An interrupted run records nothing of a probe it did not finish.

With --from, nothing is sent: captured traffic (a HAR or a VCR cassette) is attributed to
operations as verify does and written as <recordings>/<operation-id>/<name>.json, one file per
operation it settles, with the same redaction and placeholders. Yesterday's traffic becomes the
golden that \`driftwatch verify\` compares today's with. The traffic is judged as verify judges it, a
line per operation; exchanges not recorded (unattributed, or a method the endpoint does not take) are
listed with why. Drift below --fail-on (never, by default) is RECORDED WITH DRIFT, exit 0; at it, DRIFT,
exit 1. Reports of how the traffic was judged are written to --out only when --out or --format is given.`,
  options: {
    from: { type: 'string', arg: '<file>', help: "record captured traffic instead of probing (name defaults to the file's base name)" },
    ...PROBE_OPTIONS,
    recordings: { type: 'string', arg: '<dir>', help: `where the recordings are written, and compared with first (default ${DEFAULTS.recordings})` },
    name: { type: 'string', arg: '<name>', help: 'file name without .json (default sim-<scenario> for the simulator, live otherwise)' },
    ...reportOptions(DEFAULTS.recordOut, 'never'),
    ...GLOBAL,
  },
  async run(v, _positionals, io) {
    checkFileName(str(v, 'name'))
    refuseRecordingsAsOut('record', str(v, 'out'), io.cwd)
    const recordingsDir = resolve(io.cwd, str(v, 'recordings') ?? DEFAULTS.recordings)
    const failOn = parseFailOn(str(v, 'fail-on'), 'never')
    const formats = parseFormats(str(v, 'format'))
    const outDir = resolve(io.cwd, str(v, 'out') ?? DEFAULTS.recordOut)
    if (str(v, 'from') !== undefined) return recordFrom(str(v, 'from')!, recordingsDir, v, io, { outDir, formats, failOn })
    const flags = runFlags(v, io)
    const t0 = Date.now()
    const { runRecord } = await import('../../commands/record.ts')
    // A finding's rerun is check on the same target; what record compared with is rewritten by now, so no --recordings.
    const rerunArgs = (await import('../../model/reproduce.ts')).flagArgs(v, RERUN_FLAGS.filter((f) => f !== 'recordings'))
    const result = await runRecord({ ...flags, rerunArgs, recordingsDir, outDir, formats, failOn, ...(str(v, 'name') ? { name: str(v, 'name')! } : {}), ...runProgress('record', flags.apiVersion, v.quiet === true, failOn, io) })
    const { report, files } = result
    for (const w of result.warnings) io.stderr(String(term`Warning: ${u(w)}`))
    io.stdout(result.redactor.text(finalLine(report, runSeconds(report), 'requests', { recorded: true })))
    const written = files.filter((f) => f.status === 'written')
    const where = shownPath(io.cwd, recordingsDir)
    io.stdout(`Recorded ${files.length} contract${files.length === 1 ? '' : 's'} in ${where}: ${written.length} written${written.length ? ` (${written.map((f) => relative(recordingsDir, f.file)).join(', ')})` : ''}, ${files.length - written.length} unchanged but for volatile values (left as they were)`)
    if (result.notRecorded.length) io.stderr(`Not recorded (interrupted before they finished): ${result.notRecorded.join(', ')}; their recordings are left as they were.`)
    io.stdout(`Reports: ${result.reportFiles.join(', ')}`)
    if (report.summary.breaking + report.summary.warning > 0) {
      io.stderr('Note: the upstream drifted from the contracts while recording (see the lines above). Review the recordings before committing them as golden.')
    }
    const code = exitCodeOf(report)
    if (code === 130 || code === 1) return code
    if (files.length === 0) return report.summary.inconclusive > 0 ? 3 : 2
    return 0
  },
}

/** `record --from <traffic>`: captured traffic becomes golden recordings, one file per operation it settles. */
async function recordFrom(from: string, recordingsDir: string, v: Values, io: CliIO, reports: { outDir: string; formats: FormatId[]; failOn: FailOn }): Promise<number> {
  const probing = ['target', 'only', 'samples', 'api-version', 'scenario', 'allow-host', 'timeout', 'retry-budget'].filter((k) => v[k] !== undefined)
  if (probing.length) throw new HarnessError('DW_USAGE', `--from records captured traffic and sends nothing: ${probing.map((k) => `--${k}`).join(', ')} ${probing.length === 1 ? 'does' : 'do'} not apply (see driftwatch help record)`)
  // Reports of the judged traffic when asked for (--out or --format): they were accepted and ignored.
  const wantsReports = v.out !== undefined || v.format !== undefined
  if (wantsReports) {
    const { assertWritable } = await import('../../util/preflight.ts')
    await assertWritable(reports.outDir, '--out', io.cwd)
  }
  const t0 = Date.now()
  const { runRecordFromTraffic } = await import('../../commands/record.ts')
  const { flagArgs } = await import('../../model/reproduce.ts')
  const r = await runRecordFromTraffic({ input: from, contractsDir: str(v, 'contracts') ?? DEFAULTS.contracts, recordingsDir, rerunArgs: flagArgs(v, ['contracts']), ...(str(v, 'name') ? { name: str(v, 'name')! } : {}), env: io.env, cwd: io.cwd, ...(io.interrupt ? { signal: io.interrupt } : {}) })
  const c = r.counts
  if (r.report.outcome === 'interrupted') {
    io.stderr(`Interrupted after ${c.entries} exchanges: nothing recorded (a capture cut short is no baseline); the recordings in ${shownPath(io.cwd, recordingsDir)} are as they were.`)
    return 130
  }
  const written = r.files.filter((f) => f.status === 'written')
  const where = shownPath(io.cwd, recordingsDir)
  // Settled at record's --fail-on (never, by default), as the probing record is: the headline and the exit code agree
  // (it printed "DRIFT:" and exited 0).
  const settled = settle(r.report, reports.failOn)
  // The contracts' lines as verify prints them: the drift the note below points at (it pointed "above" at nothing).
  const drift = settled.findings.filter((f) => isDrift(f))
  for (const line of trafficResultLines(settled, reports.failOn, v.quiet ? 'drift' : 'all')) io.stderr(r.redactor.text(line))
  for (const line of rerunLines(untrusting(drift), '  ')) io.stderr(r.redactor.text(line))
  // Every exchange not recorded, with why (a method the endpoint does not take was left out of the list).
  if (!v.quiet) {
    for (const x of r.notRecorded) {
      const times = x.exchanges > 1 && x.why !== 'other' ? term` (${x.exchanges}×)` : undefined
      const line = x.why === 'method' ? term`  ${u(failsAt('breaking', reports.failOn) ? '✗' : '!')} ${u(x.contract)}: ${u(x.title)}${times}: not recorded (a method the endpoint does not take)` : term`  ? ${u(x.title)}${times}: not recorded`
      io.stderr(r.redactor.text(String(line)))
    }
  }
  io.stdout(r.redactor.text(finalLine(settled, runSeconds(settled), 'entries judged', { recorded: true })))
  if (wantsReports) {
    const { writeReports } = await import('../../commands/write-reports.ts')
    const { files } = await writeReports(settled, { ...reports, redactor: r.redactor, cwd: io.cwd })
    io.stdout(`Reports: ${files.join(', ')}`)
  }
  const unrecorded = c.entries - r.recorded
  io.stdout(`Recorded ${r.recorded} of ${c.entries} exchanges as ${r.files.length} operation${r.files.length === 1 ? '' : 's'} in ${where}: ${written.length} written${written.length ? ` (${written.map((f) => relative(recordingsDir, f.file)).join(', ')})` : ''}, ${r.files.length - written.length} unchanged but for volatile values; ${unrecorded} not recorded${unrecorded ? ` (unattributed, no operation, or a method the endpoint does not take: ${v.quiet ? 'listed without --quiet' : 'listed above'})` : ''}`)
  // On stdout with the headline it qualifies.
  if (drift.length > 0) io.stdout(`Note: this traffic drifts from the operations (${v.quiet ? 'the lines above' : 'the lines marked ! or ✗ above'}, as driftwatch verify on it says). Review the recordings before committing them as golden.`)
  if (r.files.length === 0) return 2
  // The code says what the headline says: PASS or RECORDED WITH DRIFT 0 (drift fails a recording only when asked, --fail-on
  // below never), DRIFT 1, INCONCLUSIVE 3.
  return exitCodeOf(settled)
}
