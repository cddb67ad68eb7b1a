import { resolve } from 'node:path'
import { DEFAULTS, GLOBAL, parseFailOn, parseFormats, reportOptions, str, type Command } from '../options.ts'
import { PROBE_OPTIONS, runFlags, runProgress } from '../probing.ts'
import { finalLine } from '../lines.ts'
import { exitCodeOf } from '../../report.ts'

export const check: Command = {
  name: 'check',
  summary: 'probe the target and check every contract.',
  usage: ['check [options]'],
  about: `Sends each probe, checks what came back against its operation and the golden recordings, and
writes a drift report (report.json always; report.md and junit.xml by default).`,
  options: {
    ...PROBE_OPTIONS,
    recordings: { type: 'string', arg: '<dir>', help: `golden recordings to compare with (golden-diff, schema-drift; default ${DEFAULTS.recordings}; none if absent)` },
    ...reportOptions(DEFAULTS.out),
    ...GLOBAL,
  },
  async run(v, _positionals, io) {
    const failOn = parseFailOn(str(v, 'fail-on'))
    const formats = parseFormats(str(v, 'format'))
    const flags = runFlags(v, io)
    const outDir = resolve(io.cwd, str(v, 'out') ?? DEFAULTS.out)
    const t0 = Date.now()
    // Loaded on demand: --help and usage errors answer without loading undici, ajv and yaml.
    const { runCheck } = await import('../../check.ts')
    const recordingsDir = resolve(io.cwd, str(v, 'recordings') ?? DEFAULTS.recordings)
    const result = await runCheck({ ...flags, outDir, formats, failOn, recordingsDir, ...runProgress('check', flags.apiVersion, v.quiet === true, failOn, io) })
    const { report, files } = result
    if (report.outcome === 'error') {
      io.stderr(`driftwatch: the run failed: ${report.error?.message ?? 'unknown error'} [${report.error?.code ?? 'DW_INTERNAL'}]`)
      if (v.debug && result.cause instanceof Error && result.cause.stack) io.stderr(result.cause.stack)
    }
    io.stdout(result.redactor.text(finalLine(report, ((Date.now() - t0) / 1000).toFixed(1))))
    io.stdout(`Reports: ${files.join(', ')}`)
    if (report.outcome === 'interrupted') io.stderr('Interrupted: the report covers the contracts that ran; the others are listed as skipped.')
    return exitCodeOf(report)
  },
}
