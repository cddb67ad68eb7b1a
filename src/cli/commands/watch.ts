import { dirname, resolve } from 'node:path'
import { shownPath } from '../../util/paths.ts'
import { HarnessError } from '../../util/errors.ts'
import { DEFAULTS, GLOBAL, parseFailOn, str, wholeNumber, type Command } from '../options.ts'
import { goldenRecordings, shippedGoldens } from '../shipped.ts'
import { PROBE_OPTIONS, runFlags } from '../probing.ts'

const { 'retry-budget': _retry, ...probeOptions } = PROBE_OPTIONS

export const watch: Command = {
  name: 'watch',
  summary: 'probe continuously under a request budget; alert once per new drift.',
  usage: ['watch [options]'],
  about: `A long-running monitor. It probes the contracts a few at a time, spreading its requests evenly
over the day within --budget, probing first what is stale, what drifted or changed recently, and what
is cheap. A drift (one contract and check) raises one alert when it appears and one recovery when it
has been gone for --recover-after runs; never the same alert every cycle, not even after a restart
(state is kept in an SQLite file). When Meta is in downtime, throttling or rejects the token, a
circuit breaker backs off (1 min doubling to 30 min) and tests the water with one cheap probe.
\`driftwatch proxy\` on the same state file shares the incidents (one drift, one alert, whoever saw
it), and the contracts its live traffic judged within --traffic-window are not probed.`,
  options: {
    ...probeOptions,
    recordings: { type: 'string', arg: '<dir>', help: `golden recordings to compare with (default ${DEFAULTS.recordings}, and the ones driftwatch ships for\ncontracts it holds none of)` },
    budget: { type: 'string', arg: '<N/day|N/hour>', help: `requests the watch may send, spread evenly (default ${DEFAULTS.budget}: a fifth of\nMeta's lowest per-WABA limit of 200 calls an hour)` },
    'alert-webhook': { type: 'string', multiple: true, arg: '[json=|slack=]<url>', help: 'POST each alert as JSON, or as a Slack incoming-webhook message\n(slack= or a hooks.slack.com URL); alerts always go to stdout too' },
    'metrics-port': { type: 'string', arg: '<N>', help: 'serve Prometheus /metrics and /healthz on this port (0 picks one)' },
    'metrics-host': { type: 'string', arg: '<addr>', help: 'address for --metrics-port (default 127.0.0.1; 0.0.0.0 in a container)' },
    targets: { type: 'string', arg: '<file>', help: 'a targets file (as check --targets): watch every target at once, each with\nits own budget, schedule and credentials, in one state file' },
    state: { type: 'string', arg: '<file>', help: `the history database, where watch also keeps open drifts and its schedule\n(default ${DEFAULTS.state}; check, verify and merge keep theirs in their --out\nfolder: pass one of those to keep watch's cycles in the same series)` },
    'fail-on': { type: 'string', arg: '<level>', help: 'breaking | warning | info: the lowest severity that is drift and alerted (default breaking)' },
    'recover-after': { type: 'string', arg: '<N>', help: 'judged runs without a drift before its recovery alert (default 2)' },
    'traffic-window': { type: 'string', arg: '<s>', help: 'contracts whose operation live traffic (driftwatch proxy on the same --state)\njudged within this many seconds are not probed (default 900; 0: probe all)' },
    cycles: { type: 'string', arg: '<N>', help: 'stop after N cycles (default: run until Ctrl-C or SIGTERM)' },
    ...GLOBAL,
  },
  notes: `Stopping: the first Ctrl-C or SIGTERM lets the cycle in flight finish, saves the state and exits 0;
a second abandons the cycle. With --cycles, the exit code is 1 when a drift is open at the end.`,
  async run(v, _positionals, io) {
    const flags = runFlags(v, io)
    const failOnArg = parseFailOn(str(v, 'fail-on'))
    const failOn = failOnArg === 'never' ? 'breaking' : failOnArg
    const { DAY_MS, parseBudget, startWatch } = await import('../../commands/watch.ts')
    const perDay = parseBudget(str(v, 'budget') ?? DEFAULTS.budget)
    const maxCycles = wholeNumber(str(v, 'cycles'), '--cycles', 1)
    const recoverAfter = wholeNumber(str(v, 'recover-after'), '--recover-after', 1, 100)
    const metricsPort = wholeNumber(str(v, 'metrics-port'), '--metrics-port', 0, 65535)
    const trafficWindow = wholeNumber(str(v, 'traffic-window'), '--traffic-window', 0, 7 * 86_400)
    const { webhookSink, alertLine } = await import('../../commands/alerts.ts')
    const sinks = ((v['alert-webhook'] as string[] | undefined) ?? []).map((spec) => webhookSink(spec))
    const statePath = resolve(io.cwd, str(v, 'state') ?? DEFAULTS.state)
    const { assertWritable } = await import('../../util/preflight.ts')
    await assertWritable(dirname(statePath), '--state', io.cwd)
    const recordingsDir = goldenRecordings(str(v, 'recordings'), io.cwd)
    const targetsFile = str(v, 'targets')
    if (targetsFile !== undefined && (v.target !== undefined || v.scenario !== undefined)) throw new HarnessError('DW_USAGE', `--targets replaces --${v.target !== undefined ? 'target' : 'scenario'}: give each target (and its scenario) in the targets file`)
    const quiet = v.quiet === true
    let redact = (line: string) => line
    const running = await startWatch({
      sessions: { ...flags, recordingsDir, ...shippedGoldens(str(v, 'recordings')) },
      ...(targetsFile !== undefined ? { targetsFile } : {}),
      state: statePath,
      ...(metricsPort !== undefined ? { metricsPort } : {}),
      ...(str(v, 'metrics-host') ? { metricsHost: str(v, 'metrics-host')! } : {}),
      apiVersion: flags.apiVersion,
      perDay,
      failOn,
      sinks,
      ...(flags.samples ? { samples: flags.samples } : {}),
      ...(flags.connection ? { connection: flags.connection } : {}),
      ...(recoverAfter ? { recoverAfter } : {}),
      ...(trafficWindow !== undefined ? { trafficWindowMs: trafficWindow * 1000 } : {}),
      ...(maxCycles ? { maxCycles } : {}),
      ...(io.interrupt ? { signal: io.interrupt } : {}),
      ...(io.halt ? { halt: io.halt } : {}),
      ...(io.clock ? { clock: io.clock } : {}),
      onCycle: (e, scope) => {
        if (quiet && e.healthy && e.drift.length === 0) return
        const what = !e.healthy ? `upstream unhealthy (${e.outcome}); breaker open until ${e.breakerUntil ?? '?'}` : e.drift.length ? `drift: ${e.drift.map((f) => `${f.contract} ${f.check}`).join(', ')}` : 'ok'
        const covered = e.covered ? `; ${e.covered} covered by live traffic` : ''
        io.stdout(redact(`[${e.startedAt.slice(11, 19)}] ${scope ? `${scope} ` : ''}cycle ${e.n} ${e.unit.id} (${e.unit.contracts.length} contract${e.unit.contracts.length === 1 ? '' : 's'}, ${e.requests} request${e.requests === 1 ? '' : 's'}${covered}): ${what}`))
      },
      onAlert: (a, delivery) => {
        io.stdout(redact(`ALERT ${alertLine(a)}`))
        for (const d of delivery) if (!d.endsWith(': delivered')) io.stderr(`driftwatch: alert ${d}`)
      },
    })
    redact = running.redact
    const watched = running.targets
    const open = running.openBefore
    const every = (DAY_MS / perDay / 1000).toFixed(perDay > 8640 ? 1 : 0)
    const first = watched[0]!.session
    const what = watched.length > 1 || watched[0]!.scope ? `${watched.length} targets of ${targetsFile} (${watched.map((w) => w.scope).join(', ')})` : first.label === 'sim' ? `the simulator (${first.baseUrl}, scenario ${first.scenario ?? 'baseline'})` : first.label
    io.stdout(
      redact(
        [
          `driftwatch watch: ${first.selected.length} contracts against ${what}, budget ${perDay}/day${watched.length > 1 ? ' per target' : ''} (a request every ${every} s on average)`,
          `  state ${shownPath(io.cwd, statePath)}${open ? `: ${open} drift${open === 1 ? '' : 's'} open from before, not alerted again` : ''}`,
          `  alerts to stdout${sinks.length ? `, ${sinks.map((s) => s.label).join(', ')}` : ''}${running.metricsUrl ? `; metrics on ${running.metricsUrl}/metrics, health on ${running.metricsUrl}/healthz` : ''}`,
          ...watched.filter((w) => w.session.label === 'sim').map((w) => `  switch ${w.scope ? `${w.scope}'s` : "the simulator's"} scenario while it runs: curl -X POST ${w.session.baseUrl}/__sim/scenario -d '{"scenario":"${(w.session.scenario ?? 'baseline') === 'media-chunked' ? 'baseline' : 'media-chunked'}"}'`),
        ].join('\n'),
      ),
    )
    const result = await running.run()
    io.stdout(`watch stopped after ${result.cycles} cycle${result.cycles === 1 ? '' : 's'}, ${result.requests} requests, ${result.alerts} alert${result.alerts === 1 ? '' : 's'}; ${result.open.length} drift${result.open.length === 1 ? '' : 's'} open (kept in the state)`)
    return maxCycles !== undefined && result.open.length > 0 ? 1 : 0
  },
}
