/**
 * A probe session: the target resolved (the embedded simulator started, or a live base URL with
 * credentials from the environment), contracts loaded and selected, a transport with its token
 * policy and a redactor. `check` and `record` both run inside one.
 */
import { resolve } from 'node:path'
import { loadContracts } from '../contracts/load.ts'
import type { ContractPack } from '../contracts/types.ts'
import { resolveTarget } from '../targets/target.ts'
import { HarnessError } from '../util/errors.ts'
import { chooseGolden, loadRecordings, type Recording, type RecordingProblem } from '../recordings/store.ts'
import { selectProbes, type Selected } from './select.ts'
import { startSimulator, type RunningSimulator } from '../simulator/server.ts'
import { DEFAULT_TOKEN_HOSTS, HostPolicy } from '../transport/host-policy.ts'
import { Redactor, secretsFromEnv } from '../transport/redact.ts'
import { Transport } from '../transport/transport.ts'

/** Where to probe and how. */
export interface SessionOptions {
  /** `sim` or a base URL. */
  target: string
  contractsDir: string
  only?: readonly string[]
  scenario?: string
  allowHosts?: readonly string[]
  timeoutMs?: number
  /** Least milliseconds between requests to one origin; default 0 for the simulator, 200 for live targets. */
  minIntervalMs?: number
  /** Keep binary bodies up to this size (recordings need the bytes to replay them). */
  keepBinaryBytes?: number
  /** Golden recordings to compare with (golden-diff, schema-drift); none when absent or the directory does not exist. */
  recordingsDir?: string
  /**
   * The recordings driftwatch ships (when --recordings was not given): a contract with no golden for
   * the target in recordingsDir is compared with the shipped one for it, if any.
   */
  shippedRecordingsDir?: string
  /** Carry on without golden recordings when one is malformed (record: re-recording is the fix), instead of failing. */
  tolerateBadRecordings?: boolean
  env: Readonly<Record<string, string | undefined>>
  cwd?: string
  /** Against the simulator: where it posts its webhooks, signed with this secret (check --round-trip). */
  simWebhooks?: { url: string; appSecret: string }
}

/** An open session; `close` stops the simulator and the connections. */
export interface Session {
  pack: ContractPack
  selected: Selected[]
  /** `sim` or the base URL, as reports show it. */
  label: string
  baseUrl: string
  scenario?: string
  variables: Record<string, string | undefined>
  transport: Transport
  redactor: Redactor
  /** The recording each contract is compared with. */
  golden: Map<string, Recording>
  /** Problems the run carried on past (a malformed recording when tolerated), for the CLI to print. */
  warnings: string[]
  close(): Promise<void>
}

/** Resolves the target and contracts (throwing HarnessError for configuration problems, before any probe), then starts what is needed. */
export async function openSession(opts: SessionOptions): Promise<Session> {
  const target = resolveTarget(opts.target, opts.env)
  if (target.kind === 'live' && opts.scenario) throw new HarnessError('DW_USAGE', '--scenario only applies to --target sim (scenarios are simulator behaviours)')
  const pack = loadContracts(opts.contractsDir, opts.cwd ? { cwd: opts.cwd } : {})
  if (pack.probes.length === 0) throw new HarnessError('DW_USAGE', `${opts.contractsDir} holds operations but no probes: check and record send probes (<id>.yaml anywhere in the pack outside operations/, schemas/ and fixtures/); judge traffic against operations with driftwatch verify`)
  const selected = selectProbes(pack.probes, opts.only) // a glob matching nothing fails here, before the simulator starts
  // A malformed recording fails here too, each named with its repair, before any probe (unless
  // re-recording, which is the repair: then only that contract goes without its golden).
  const warnings: string[] = []
  let golden = new Map<string, Recording>()
  if (opts.recordingsDir) {
    const problems: RecordingProblem[] = []
    golden = chooseGolden(loadRecordings(opts.recordingsDir, opts.cwd, problems), target.kind === 'sim' ? 'sim' : target.baseUrl)
    // A recording the proxy wrote never stops a run: it is a warning, and the contract goes without its golden.
    const refused = problems.filter((p) => !p.proxy)
    if (refused.length && !opts.tolerateBadRecordings) {
      const list = refused.map((p) => `  ${p.message}\n    fix: ${p.repair}`).join('\n')
      throw new HarnessError('DW_RECORDING_INVALID', `${refused.length === 1 ? 'a golden recording is' : `${refused.length} golden recordings are`} unreadable; nothing was sent:\n${list}`, { file: refused[0]!.file })
    }
    for (const p of problems.filter((x) => x.proxy)) warnings.push(`${p.message}: ${p.contract} is compared with no golden recording this run; fix: ${p.repair}`)
    for (const p of problems.filter((x) => !x.proxy)) warnings.push(`${p.message}: ${p.contract} is compared with no golden recording this run, and this run rewrites it if it records ${p.contract}`)
  }
  // Contract by contract, what the working directory's recordings lack for this target comes from the
  // ones driftwatch ships (an app's recordings/meta holding only its proxy's must not cost a sim run its goldens).
  const shipped = opts.shippedRecordingsDir
  if (shipped && (!opts.recordingsDir || resolve(opts.cwd ?? process.cwd(), opts.recordingsDir) !== resolve(shipped))) {
    for (const [contract, r] of chooseGolden(loadRecordings(shipped, opts.cwd), target.kind === 'sim' ? 'sim' : target.baseUrl)) if (!golden.has(contract)) golden.set(contract, r)
  }

  let sim: RunningSimulator | undefined
  let baseUrl: string
  let token: string
  let variables: Record<string, string | undefined>
  if (target.kind === 'sim') {
    sim = await startSimulator({ ...(opts.scenario ? { scenario: opts.scenario } : {}), ...(opts.simWebhooks ? { webhooks: { url: opts.simWebhooks.url, appSecret: opts.simWebhooks.appSecret } } : {}) })
    baseUrl = sim.url
    token = sim.credentials.token
    variables = { phone_number_id: sim.credentials.phoneNumberId, waba_id: sim.credentials.wabaId, test_recipient: sim.credentials.testRecipient }
  } else {
    baseUrl = target.baseUrl
    token = target.token
    variables = target.variables
  }
  // The environment's secrets too: against the simulator the token sent is its own, but a real one may be set (and echoed).
  const redactor = new Redactor({ secrets: [token, ...secretsFromEnv(opts.env)], personal: [variables.test_recipient] })
  const transport = new Transport({
    token,
    hostPolicy: new HostPolicy({ allowHosts: [...DEFAULT_TOKEN_HOSTS, new URL(baseUrl).host, ...(opts.allowHosts ?? [])] }),
    redactor,
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.keepBinaryBytes ? { keepBinaryBytes: opts.keepBinaryBytes } : {}),
    minIntervalMs: opts.minIntervalMs ?? (target.kind === 'sim' ? 0 : 200),
  })
  return {
    pack,
    selected,
    label: target.kind === 'sim' ? 'sim' : baseUrl,
    baseUrl,
    ...(sim ? { scenario: sim.scenario.name } : {}),
    variables,
    transport,
    redactor,
    golden,
    warnings,
    async close() {
      await transport.close()
      await sim?.close()
    },
  }
}
