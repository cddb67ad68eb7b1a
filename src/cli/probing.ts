/**
 * What the commands that send probes (check, record) share: their flags, parsed and validated,
 * and their progress lines.
 */
import { term, untrusted } from '../render/index.ts'
import { parseApiVersion } from '../targets/target.ts'
import { HarnessError } from '../util/errors.ts'
import { SCENARIO_NAMES, unknownScenario } from '../simulator/scenarios/names.ts'
import type { Redactor } from '../transport/redact.ts'
import type { ProgressEvent, RetryEvent, StartInfo } from '../commands/check.ts'
import { DEFAULTS, str, suggest, wholeNumber, type CliIO, type OptionTable, type Values } from './options.ts'
import { progressLine } from './lines.ts'
import type { FailOn } from '../model/report.ts'

/** Flags every command that probes a target shares. */
export const PROBE_OPTIONS = {
  target: { type: 'string', arg: 'sim|<base-url>', help: 'sim (default) starts the embedded simulator on a free loopback port;\na base URL such as https://graph.facebook.com probes the live API with\nWHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_WABA_ID\n(required) and WHATSAPP_TEST_RECIPIENT (optional) from the environment' },
  contracts: { type: 'string', arg: '<dir>', help: `contract pack directory (default ${DEFAULTS.contracts})` },
  only: { type: 'string', multiple: true, arg: '<id-glob>', help: "only these contracts (with what they depend on, and the cleanup of what\nthose create); comma-separated too, e.g. --only 'media.*'" },
  samples: { type: 'string', arg: '<N>', help: "samples per repeatable contract, 1-100 (overrides each contract's own)" },
  connection: { type: 'string', arg: 'fresh|reuse', help: "how the samples of a repeatable contract travel: fresh (default) opens a\nnew connection per sample, round-robin over every address the host\nresolves to, so a fleet split per connection shows; reuse sends them\nall over one keep-alive connection (one server sees them all)" },
  'api-version': { type: 'string', arg: '<vN.N>', help: `Graph API version to request (default ${DEFAULTS.apiVersion})` },
  scenario: { type: 'string', arg: '<name>', help: `simulator behaviour, with --target sim (default baseline); one of:\n${SCENARIO_NAMES.join(', ')}` },
  'allow-host': { type: 'string', multiple: true, arg: '<host>', help: 'another host that may receive the token' },
  timeout: { type: 'string', arg: '<ms>', help: 'deadline per request, at least 100 (default 30000)' },
  'retry-budget': { type: 'string', arg: '<s>', help: "seconds the run may wait out Meta's downtime (503 / error 2) or\nthrottling (429), with exponential backoff and Retry-After\n(default 60; 0 = no retries)" },
} as const satisfies OptionTable

/** Flags `check` and `record` share, parsed and validated. */
export function runFlags(v: Values, io: CliIO) {
  const apiVersion = parseApiVersion(str(v, 'api-version') ?? DEFAULTS.apiVersion)
  const samples = wholeNumber(str(v, 'samples'), '--samples', 1, 100)
  const timeoutMs = wholeNumber(str(v, 'timeout'), '--timeout', 100)
  const retryBudgetSeconds = wholeNumber(str(v, 'retry-budget'), '--retry-budget', 0)
  const connection = str(v, 'connection')
  if (connection !== undefined && connection !== 'fresh' && connection !== 'reuse') throw new HarnessError('DW_USAGE', `--connection must be fresh or reuse, not "${connection}"${suggest(connection, ['fresh', 'reuse'])}`)
  const scenario = str(v, 'scenario')
  if (scenario !== undefined && !SCENARIO_NAMES.includes(scenario)) throw new HarnessError('DW_USAGE', unknownScenario(scenario))
  const only = v.only as string[] | undefined
  const allowHosts = v['allow-host'] as string[] | undefined
  return {
    target: str(v, 'target') ?? DEFAULTS.target,
    contractsDir: str(v, 'contracts') ?? DEFAULTS.contracts,
    apiVersion,
    ...(only ? { only } : {}),
    ...(samples ? { samples } : {}),
    ...(connection ? { connection: connection as 'fresh' | 'reuse' } : {}),
    ...(scenario ? { scenario } : {}),
    ...(allowHosts ? { allowHosts } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(retryBudgetSeconds !== undefined ? { retryBudgetSeconds } : {}),
    env: io.env,
    cwd: io.cwd,
    ...(io.interrupt ? { signal: io.interrupt } : {}),
    ...(io.halt ? { halt: io.halt } : {}),
  }
}

/** Progress callbacks for a run: the start line, one line per contract (only those that need attention with --quiet), retries. */
export function runProgress(command: string, apiVersion: string, quiet: boolean, failOn: FailOn, io: CliIO) {
  let redactor: Redactor | undefined
  return {
    onStart: (info: StartInfo) => {
      redactor = info.redactor
      const where = info.target === 'sim' ? `the simulator (${info.baseUrl}, scenario ${info.scenario ?? 'baseline'})` : info.target
      const golden = info.golden.contracts ? `; compared with golden recordings of ${info.golden.contracts} contracts (oldest ${info.golden.oldest!.slice(0, 10)})` : '; no golden recordings for this target'
      // The start line is progress: --quiet keeps only what needs attention (the warnings below do).
      if (!quiet) io.stderr(`driftwatch ${command}: ${info.contracts} contracts against ${where}, API ${apiVersion}${golden}`)
      for (const w of info.warnings) io.stderr(String(term`Warning: ${untrusted(w)}`))
    },
    onProgress: (e: ProgressEvent) => {
      const line = progressLine(e, failOn)
      if (quiet && line.mark === '✓') return
      io.stderr(redactor!.text(line.text))
    },
    onRetry: (e: RetryEvent) =>
      io.stderr(redactor!.text(`  ↻ ${e.contract}: upstream ${e.availability === 'throttled' ? 'throttling' : 'in downtime'}, ${String(term`${untrusted(e.cause)}`)}; retrying in ${(e.delayMs / 1000).toFixed(1)} s (${(e.remainingMs / 1000).toFixed(0)} s of retry budget left)`)),
  }
}
