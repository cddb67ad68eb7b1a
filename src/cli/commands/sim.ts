import { HarnessError, isHarnessError } from '../../errors.ts'
import { scenarioNames, unknownScenario } from '../../simulator/scenarios/index.ts'
import { DEFAULTS, GLOBAL, str, wholeNumber, type Command } from '../options.ts'
import { untilInterrupted } from '../signals.ts'

export const sim: Command = {
  name: 'sim',
  summary: 'run the embedded Meta Graph API simulator on its own.',
  usage: ['sim [options]'],
  options: {
    port: { type: 'string', arg: '<N>', help: `port to listen on (default ${DEFAULTS.simPort}; 0 picks a free one)` },
    host: { type: 'string', arg: '<addr>', help: 'address to bind (default 127.0.0.1)' },
    scenario: { type: 'string', arg: '<name>', help: `behaviour to simulate (default baseline); one of:\n${scenarioNames().join(', ')}` },
    ...GLOBAL,
  },
  notes: 'It prints its URL and the fake credentials to export, then serves until Ctrl-C (exit 130).',
  async run(v, _positionals, io) {
    const port = wholeNumber(str(v, 'port'), '--port', 0, 65535) ?? DEFAULTS.simPort
    const scenario = str(v, 'scenario')
    if (scenario !== undefined && !scenarioNames().includes(scenario)) throw new HarnessError('DW_USAGE', unknownScenario(scenario))
    const { startSimulator } = await import('../../simulator/server.ts')
    const running = await startSimulator({ port, ...(str(v, 'host') ? { host: str(v, 'host')! } : {}), ...(scenario ? { scenario } : {}) }).catch((err: unknown) => {
      if (isHarnessError(err) && err.code === 'DW_SIMULATOR_FAILED') throw new HarnessError('DW_SIMULATOR_FAILED', `${err.message}; try --port 0 for a free port`)
      throw err
    })
    const c = running.credentials
    io.stdout(
      [
        `driftwatch simulator (scenario ${running.scenario.name}) listening on ${running.url}`,
        `  ${running.scenario.description}`,
        '',
        'Probe it with driftwatch (these credentials are fake and only work here):',
        `  export WHATSAPP_ACCESS_TOKEN=${c.token}`,
        `  export WHATSAPP_PHONE_NUMBER_ID=${c.phoneNumberId}`,
        `  export WHATSAPP_WABA_ID=${c.wabaId}`,
        `  export WHATSAPP_TEST_RECIPIENT=${c.testRecipient}`,
        `  npx driftwatch check --target ${running.url}`,
        '',
        `Or by hand: curl -H "Authorization: Bearer ${c.token}" ${running.url}/v23.0/${c.phoneNumberId}`,
        `Switch the scenario while it runs (a rollout): curl -X POST ${running.url}/__sim/scenario -d '{"scenario":"media-chunked"}'`,
        'Ctrl-C to stop.',
      ].join('\n'),
    )
    await untilInterrupted(io)
    await running.close()
    io.stderr(`simulator stopped after ${running.requests} requests`)
    return 130
  },
}
