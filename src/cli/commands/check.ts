import { resolve } from 'node:path'
import { oneLine, term, untrusted as u, untrusting } from '../../render/index.ts'
import { HarnessError } from '../../util/errors.ts'
import { shownPath } from '../../util/paths.ts'
import { DEFAULTS, GLOBAL, HISTORY_OPTIONS, historyFile, parseFailOn, parseFormats, reportOptions, str, wholeNumber, type Command, JSON_OPTION } from '../options.ts'
import { goldenRecordings, shippedGoldens } from '../shipped.ts'
import { PROBE_OPTIONS, runFlags, runProgress } from '../probing.ts'
import { finalLine, rerunLines, runSeconds } from '../lines.ts'
import { exitCodeOf, type Report } from '../../model/report.ts'
import type { CliIO, Values } from '../options.ts'

/** The flags a finding's rerun repeats: those that change what is sent, what it is compared with, or the verdict (--fail-on). */
export const RERUN_FLAGS = ['contracts', 'recordings', 'api-version', 'samples', 'connection', 'allow-host', 'timeout', 'retry-budget', 'fail-on']

export const check: Command = {
  name: 'check',
  summary: 'probe the target and check every contract.',
  usage: ['check [options]'],
  about: `Sends each probe, checks what came back against its operation and the golden recordings, and
writes a drift report (report.json always; report.md and junit.xml by default).`,
  options: {
    ...PROBE_OPTIONS,
    recordings: { type: 'string', arg: '<dir>', help: `golden recordings to compare with (golden-diff, schema-drift; default ${DEFAULTS.recordings}, and the ones driftwatch ships for\ncontracts it holds none of)` },
    targets: { type: 'string', arg: '<file>', help: 'a targets file (YAML: name, target, env names of each credential): probe\nevery target, several at once, one report section each (instead of --target)' },
    shard: { type: 'string', arg: '<i/n>', help: 'with --targets: only shard i of n (a deterministic share); join the shards\nwith driftwatch merge' },
    concurrency: { type: 'string', arg: '<N>', help: 'with --targets: targets probed at once, 1-64 (default 4)' },
    'round-trip': { type: 'string', arg: '<s>', help: "after the test message is sent, wait up to <s> seconds for its status webhooks:\nsent then delivered in time passes, their absence is a warning, and every\nstatus body is judged against the webhook contracts" },
    'webhook-journal': { type: 'string', arg: '<dir>', help: 'with --round-trip against Meta: the --out of the driftwatch webhook receiver in\nfront of your app, where the statuses arrive (read as they are journaled)' },
    ...reportOptions(DEFAULTS.out),
    ...HISTORY_OPTIONS,
    ...JSON_OPTION,
    ...GLOBAL,
  },
  async run(v, _positionals, io) {
    const failOn = parseFailOn(str(v, 'fail-on'))
    const formats = parseFormats(str(v, 'format'))
    const flags = runFlags(v, io)
    const outDir = resolve(io.cwd, str(v, 'out') ?? DEFAULTS.out)
    // What a finding's rerun repeats of this command line (the values merged from the config file and
    // DRIFTWATCH_* too), and where it writes: not over this run's reports or into its history. It names the target, scenario and contract itself.
    const { flagArgs, rerunOutput } = await import('../../model/reproduce.ts')
    const rerunArgs = [...flagArgs(v, RERUN_FLAGS), ...rerunOutput(v, outDir, io.cwd)]
    historyFile(v, outDir, io.cwd) // --history with --no-history is refused before anything is probed
    const t0 = Date.now()
    const targetsFile = str(v, 'targets')
    if (targetsFile === undefined && (v.shard !== undefined || v.concurrency !== undefined)) throw new HarnessError('DW_USAGE', `--${v.shard !== undefined ? 'shard' : 'concurrency'} only applies with --targets <file>`)
    if (targetsFile !== undefined) {
      if (v.target !== undefined || v.scenario !== undefined) throw new HarnessError('DW_USAGE', `--targets replaces --${v.target !== undefined ? 'target' : 'scenario'}: give each target (and its scenario) in the targets file`)
      const { parseShard } = await import('../../targets/targets-file.ts')
      const { runCheckTargets } = await import('../../commands/check-targets.ts')
      const shard = str(v, 'shard') !== undefined ? parseShard(str(v, 'shard')!) : undefined
      const concurrency = wholeNumber(str(v, 'concurrency'), '--concurrency', 1, 64)
      const { target: _t, scenario: _s, ...common } = flags
      const past = await pastOf(v, outDir, io)
      const { report, files } = await runCheckTargets({
        ...common,
        ...(past ? { past } : {}),
        targetsFile,
        rerunArgs,
        ...(shard ? { shard } : {}),
        ...(concurrency ? { concurrency } : {}),
        recordingsDir: goldenRecordings(str(v, 'recordings'), io.cwd),
        ...shippedGoldens(str(v, 'recordings')),
        outDir,
        formats,
        failOn,
        onTarget: (e) => {
          if (v.quiet === true && e.section.outcome === 'pass') return
          const s = e.section.summary
          const why = e.section.error ? term`: ${u(e.section.error.message)} [${u(e.section.error.code)}]` : term`: ${s.contracts} contracts, ${s.probes} requests, ${s.breaking} breaking, ${s.warning} warning`
          // Progress, as a single target's is: stderr. stdout is for results (the headline, reports, history).
          io.stderr(String(term`  [${u(String(e.index).padStart(String(e.total).length))}/${e.total}] ${u(e.section.name.padEnd(24))} ${u(e.section.outcome.toUpperCase())}${why} (${u((e.durationMs / 1000).toFixed(1))} s)`))
          // Each contract with drift on this target, and the line that shows it again.
          for (const line of rerunLines(untrusting(e.findings.filter((f) => f.severity !== 'info')))) io.stderr(line)
        },
      })
      io.stdout(finalLine(report, runSeconds(report)))
      io.stdout(`Reports: ${files.join(', ')}`)
      await addToHistory(v, outDir, report, io)
      return exitCodeOf(report)
    }
    // Loaded on demand: --help and usage errors answer without loading undici, ajv and yaml.
    const { runCheck } = await import('../../commands/check.ts')
    const recordingsDir = goldenRecordings(str(v, 'recordings'), io.cwd)
    const past = await pastOf(v, outDir, io)
    const roundTripSeconds = wholeNumber(str(v, 'round-trip'), '--round-trip', 1, 3600)
    // These two change the failed status, which check's test message (to a recipient who can receive) never gets.
    const failedOnly = new Set(['webhook-type-change', 'webhook-errors-reshaped'])
    if (flags.scenario && failedOnly.has(flags.scenario)) io.stderr(`note: scenario ${flags.scenario} changes the failed status only, and check's test message is delivered: it does not show here. See it with driftwatch sim --scenario ${flags.scenario} --webhook-url <receiver> and a send to 16315550100 (undeliverable), or verify a capture of those webhooks.`)
    else if (flags.scenario?.startsWith('webhook-') && roundTripSeconds === undefined) io.stderr(`note: scenario ${flags.scenario} changes only the simulator's webhooks; the API answers as baseline. Add --round-trip 10 to wait for them and judge them.`)
    const onRoundTrip = (i: { wamid?: string; seconds: number }) => io.stderr(i.wamid ? `  waiting up to ${i.seconds} s for the status webhooks of the test message (round trip)` : '  round trip: no test message was sent, nothing to wait for')
    const result = await runCheck({ ...flags, rerunArgs, outDir, formats, failOn, recordingsDir, ...shippedGoldens(str(v, 'recordings')), ...(past ? { past } : {}), ...(roundTripSeconds !== undefined ? { roundTripSeconds, onRoundTrip } : {}), ...(str(v, 'webhook-journal') !== undefined ? { webhookJournal: str(v, 'webhook-journal')! } : {}), ...runProgress('check', flags.apiVersion, v.quiet === true, failOn, io) })
    const { report, files } = result
    if (report.outcome === 'error') {
      io.stderr(String(term`driftwatch: the run failed: ${u(report.error?.message ?? 'unknown error')} [${u(report.error?.code ?? 'DW_INTERNAL')}]`))
      if (v.debug && result.cause instanceof Error && result.cause.stack) io.stderr(result.cause.stack)
    }
    io.stdout(result.redactor.text(finalLine(report, runSeconds(report))))
    io.stdout(`Reports: ${files.join(', ')}`)
    await addToHistory(v, outDir, report, io)
    if (report.outcome === 'interrupted') io.stderr('Interrupted: the report covers the contracts that ran; the others are listed as skipped.')
    return exitCodeOf(report)
  },
}

/** Adds the run to the history database (said on stderr when it cannot be; the run's outcome stands). */
export async function addToHistory(v: Values, outDir: string, report: Report, io: CliIO, command = 'check'): Promise<void> {
  const file = historyFile(v, outDir, io.cwd)
  if (!file) return
  const { addRun } = await import('../../commands/history.ts')
  const added = addRun(file, command, report)
  if (added.problem) io.stderr(`driftwatch: ${added.problem}`)
  // Said where it went, and how much it holds: a shared --history would otherwise mix in runs unseen.
  else if (added.runs?.size) {
    const where = shownPath(io.cwd, file)
    // Target names may come from a merged shard's report: one line each.
    const held = [...added.runs].map(([t, n]) => `${n} run${n === 1 ? '' : 's'} of ${oneLine(t)}`)
    const shown = held.length > 3 ? [...held.slice(0, 3), `${held.length - 3} more targets`] : held
    io.stdout(`History: ${where} (${added.already ? "the shards' runs, added by them; " : ''}${shown.join(', ')})`)
  }
}

/** The run's past from the history database (since when each finding is open; report.html's timelines); none without a history. */
export async function pastOf(v: Values, outDir: string, io: CliIO, before?: string) {
  const file = historyFile(v, outDir, io.cwd)
  if (!file) return undefined
  const history = await import('../../commands/history.ts')
  return history.pastOf(file, before)
}
