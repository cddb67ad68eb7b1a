import { HarnessError, isHarnessError } from '../../util/errors.ts'
import { SCENARIO_NAMES, unknownScenario } from '../../simulator/scenarios/names.ts'
import { DEFAULTS, GLOBAL, str, wholeNumber, type Command } from '../options.ts'
import { untilInterrupted } from '../signals.ts'
import type { RunningSimulator } from '../../commands/sim.ts'

/** What the simulator says about its webhooks: where they go, which secret signs them, how to send an inbound message. */
function webhookLines(running: RunningSimulator, fixed: { DEV_APP_SECRET: string; UNDELIVERABLE_RECIPIENT: string; INBOUND_PATH: string }): string[] {
  const { webhooks, url } = running
  if (!webhooks) return ['No webhooks (start with --webhook-url <url> to receive signed status and inbound webhooks).']
  const target = `${webhooks.url.origin}${webhooks.url.pathname}`
  const secret =
    webhooks.appSecretSource === 'env'
      ? 'signed with WHATSAPP_APP_SECRET'
      : `signed with the simulator's public dev secret "${fixed.DEV_APP_SECRET}" (WHATSAPP_APP_SECRET is not set; never use it in production)`
  return [
    '',
    `Webhooks: POST to ${target}, X-Hub-Signature-256 ${secret}.`,
    `  After each send: sent, delivered, read; a send to ${fixed.UNDELIVERABLE_RECIPIENT} gets failed (131026).`,
    `  An inbound message: curl -X POST ${url}${fixed.INBOUND_PATH} -d '{"type":"text","text":"hi"}'`,
  ]
}

export const sim: Command = {
  name: 'sim',
  summary: 'run the embedded Meta Graph API simulator on its own.',
  usage: ['sim [options]'],
  options: {
    port: { type: 'string', arg: '<N>', help: `port to listen on (default ${DEFAULTS.simPort}; 0 picks a free one)` },
    host: { type: 'string', arg: '<addr>', help: 'address to bind (default 127.0.0.1)' },
    scenario: { type: 'string', arg: '<name>', help: `behaviour to simulate (default baseline); one of:\n${SCENARIO_NAMES.join(', ')}` },
    'webhook-url': { type: 'string', arg: '<url>', help: 'POST signed webhooks here: sent/delivered/read (or failed) after each send, inbound\nmessages on request; signed with WHATSAPP_APP_SECRET (else a public dev secret)' },
    ...GLOBAL,
  },
  notes: 'It prints its URL and the fake credentials to export, then serves until Ctrl-C (exit 130).',
  async run(v, _positionals, io) {
    const port = wholeNumber(str(v, 'port'), '--port', 0, 65535) ?? DEFAULTS.simPort
    const scenario = str(v, 'scenario')
    if (scenario !== undefined && !SCENARIO_NAMES.includes(scenario)) throw new HarnessError('DW_USAGE', unknownScenario(scenario))
    const webhookUrl = str(v, 'webhook-url')
    if (webhookUrl !== undefined && !/^https?:\/\/[^/]/i.test(webhookUrl)) throw new HarnessError('DW_USAGE', '--webhook-url must be an http:// or https:// URL')
    const sim = await import('../../commands/sim.ts')
    const running = await sim
      .startSim({
        port,
        ...(str(v, 'host') ? { host: str(v, 'host')! } : {}),
        ...(scenario ? { scenario } : {}),
        ...(webhookUrl !== undefined ? { webhookUrl } : {}),
        env: io.env,
        ...(io.webhookRetry ? { webhookRetry: io.webhookRetry } : {}),
        onWebhook: (e) => {
          if (e.outcome === 'gave-up') io.stderr(`webhook ${e.kind} for ${e.messageId} not delivered after ${e.attempt} attempts (${e.status !== undefined ? `HTTP ${e.status}` : e.error})`)
        },
      })
      .catch((err: unknown) => {
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
        ...webhookLines(running, sim),
        'Ctrl-C to stop.',
      ].join('\n'),
    )
    await untilInterrupted(io)
    await running.close()
    io.stderr(`simulator stopped after ${running.requests} requests`)
    return 130
  },
}
