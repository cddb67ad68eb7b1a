import { resolve } from 'node:path'
import { term, untrusted as u } from '../../render/index.ts'
import { DEFAULTS, GLOBAL, parseFailOn, parseFormats, reportOptions, str, type Command, JSON_OPTION } from '../options.ts'
import { goldenRecordings } from '../shipped.ts'

export const gate: Command = {
  name: 'gate',
  summary: 'before deploying a client, check its pact files against the contracts and the golden recordings. Offline and fast.',
  usage: ['gate [options]'],
  about: `Each pact interaction must be something the upstream accepts, as contracted (method, path,
required parameters, bearer token, content type, status) and as last recorded: the recordings are
replayed as a provider and Pact's own Verifier checks every interaction against them. A failing
interaction is breaking: any --fail-on but never fails the gate.`,
  options: {
    pacts: { type: 'string', arg: '<dir|file>', help: `pact files (default ${DEFAULTS.pacts})` },
    recordings: { type: 'string', arg: '<dir>', help: `golden recordings (default ${DEFAULTS.recordings})` },
    contracts: { type: 'string', arg: '<dir>', help: `contract pack (default ${DEFAULTS.contracts})` },
    ...reportOptions(DEFAULTS.gateOut),
    ...JSON_OPTION,
    ...GLOBAL,
  },
  notes: 'Reports: gate.json always; gate.md, gate.html and junit.xml as --format asks (json,md,junit,html; default json,md,junit).',
  async run(v, _positionals, io) {
    const failOn = parseFailOn(str(v, 'fail-on'))
    const formats = parseFormats(str(v, 'format'))
    const t0 = Date.now()
    const outDir = resolve(io.cwd, str(v, 'out') ?? DEFAULTS.gateOut)
    const { runGateAndWrite } = await import('../../commands/gate.ts')
    // A failed interaction's rerun: the gate over its pact file alone, with the recordings, contracts and
    // --fail-on this run was given, writing elsewhere than this run's reports.
    const { flagArgs, rerunOut } = await import('../../model/reproduce.ts')
    const { report, files } = await runGateAndWrite({
      pactsPath: resolve(io.cwd, str(v, 'pacts') ?? DEFAULTS.pacts),
      recordingsDir: goldenRecordings(str(v, 'recordings'), io.cwd),
      contractsDir: str(v, 'contracts') ?? DEFAULTS.contracts,
      cwd: io.cwd,
      outDir,
      formats,
      env: io.env,
      rerunArgs: [...flagArgs(v, ['recordings', 'contracts', 'fail-on']), '--out', rerunOut(outDir, io.cwd)],
    })
    io.stderr(`driftwatch gate: ${report.summary.interactions} interaction${report.summary.interactions === 1 ? '' : 's'} in ${report.pacts.join(', ')}`)
    for (const i of report.interactions) {
      if (v.quiet && i.status === 'passed') continue
      // Descriptions, requests and problems quote the pact files: untrusted, one line each.
      io.stderr(String(term`  ${u(i.status === 'passed' ? '✓' : '✗')} ${u(i.description)}: ${u(i.request)} → ${u(i.contract ?? 'no contract')}`))
      for (const p of i.problems) io.stderr(String(term`      ${u(p.source === 'contract' ? 'as contracted' : 'as recorded')}: ${u(p.message)}`))
      if (i.rerun) io.stderr(String(term`      re-run: ${u(i.rerun)}`))
    }
    const s = report.summary
    const secs = ((Date.now() - t0) / 1000).toFixed(1)
    const fails = report.outcome === 'fail' && failOn !== 'never'
    io.stdout(
      report.outcome === 'pass' ? `GATE PASSED: ${s.passed} of ${s.interactions} interaction${s.interactions === 1 ? '' : 's'} match the upstream as contracted and as last recorded (${secs} s)`
      : fails ? `GATE FAILED: ${s.failed} of ${s.interactions} interaction${s.interactions === 1 ? '' : 's'} would fail against the upstream (${secs} s)`
      : `GATE PASSED (--fail-on never): ${s.failed} of ${s.interactions} interaction${s.interactions === 1 ? '' : 's'} would fail against the upstream (${secs} s)`,
    )
    io.stdout(`Reports: ${files.join(', ')}`)
    return fails ? 1 : 0
  },
}
