/**
 * The command line: parses arguments, calls the library, prints progress and picks the exit code.
 * Exit codes: 0 no drift at or above --fail-on; 1 drift; 2 harness or configuration error;
 * 3 inconclusive (upstream unreachable or in downtime); 130 interrupted.
 */
import { readFileSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { parseApiVersion } from './config.ts'
import { ContractError, HarnessError, isHarnessError } from './errors.ts'
import { isDrift } from './finding.ts'
import { exitCodeOf, type FailOn, type Report } from './report.ts'
import type { FormatId } from './reporters/index.ts'
import type { ProgressEvent, RetryEvent } from './runner/run.ts'
import { scenarioNames, scenarios } from './simulator/scenarios/index.ts'
import type { Redactor } from './transport/redact.ts'
import type { StartInfo } from './check.ts'

/** Where the CLI writes and what it reads; tests pass their own. */
export interface CliIO {
  stdout: (line: string) => void
  stderr: (line: string) => void
  env: Readonly<Record<string, string | undefined>>
  cwd: string
  /** Signal that fires on Ctrl-C; the bin wires SIGINT to it. */
  interrupt?: AbortSignal
}

// Formats `--format` accepts; kept here (not read from the reporters) so --help loads nothing heavy.
export const FORMATS: readonly FormatId[] = ['json', 'md', 'junit']

const DEFAULTS = {
  target: 'sim',
  contracts: 'contracts/meta',
  apiVersion: 'v23.0',
  out: 'reports/latest',
  recordings: 'recordings/meta',
  pacts: 'pacts',
  gateOut: 'reports/gate',
  verifyOut: 'reports/verify',
  importOut: 'contracts/openapi',
  proxyPort: 8788,
  proxyReports: 'reports/proxy',
  format: 'json,md,junit',
  failOn: 'breaking',
  simPort: 8787,
}

const MAIN_HELP = `driftwatch: catch upstream API drift before production breaks.

Usage:
  driftwatch check [options]    probe the target, check every contract, write a drift report
  driftwatch record [options]   probe the target and write golden recordings of what it did
  driftwatch verify <file.har|recordings-dir> [options]
                                offline: check captured traffic against the contracts
  driftwatch import openapi <spec> [options]
                                draft operations from an OpenAPI 3.x document, for review
  driftwatch proxy --upstream <url> [options]
                                recording proxy: forward, check and record an app's traffic live
  driftwatch gate [options]     pre-deploy: check pact files against the contracts and recordings (offline)
  driftwatch sim [options]      run the embedded Meta Graph API simulator on its own
  driftwatch --help             this help; driftwatch <command> --help for a command's options
  driftwatch --version

Exit codes: 0 no drift at or above --fail-on, 1 drift, 2 harness or configuration error,
3 inconclusive (upstream unreachable or in downtime), 130 interrupted.`

const CHECK_HELP = `driftwatch check: probe the target and check every contract.

Usage: driftwatch check [options]

Options:
  --target sim|<base-url>   sim (default) starts the embedded simulator on a free loopback port;
                            a base URL such as https://graph.facebook.com probes the live API with
                            WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_WABA_ID
                            (required) and WHATSAPP_TEST_RECIPIENT (optional) from the environment
  --contracts <dir>         contract pack directory (default ${DEFAULTS.contracts})
  --only <id-glob>          only these contracts (and what they depend on); repeatable or
                            comma-separated, e.g. --only 'media.*'
  --samples <N>             samples per repeatable contract (overrides each contract's own)
  --api-version <vN.N>      Graph API version to request (default ${DEFAULTS.apiVersion})
  --recordings <dir>        golden recordings to compare with (golden-diff, schema-drift; default ${DEFAULTS.recordings}; none if absent)
  --out <dir>               where reports go (default ${DEFAULTS.out})
  --format <list>           json,md,junit (default all; report.json is always written)
  --fail-on <level>         breaking|warning|never: lowest severity that exits 1 (default ${DEFAULTS.failOn})
  --scenario <name>         simulator behaviour, with --target sim (default baseline)
  --allow-host <host>       another host that may receive the token (repeatable)
  --timeout <ms>            deadline per request (default 30000)
  --retry-budget <s>        seconds the run may wait out Meta's downtime (503 / error 2) or
                            throttling (429), with exponential backoff and Retry-After
                            (default 60; 0 = no retries)
  --quiet                   no per-contract progress lines
  --debug                   print stack traces of internal errors
  -h, --help                this help`

const RECORD_HELP = `driftwatch record: probe the target and write what it did as golden recordings.

Usage: driftwatch record [options]
       driftwatch record --from <traffic.har|cassette.yml> [--out <dir>] [--name <name>] [--contracts <dir>]

Writes <out>/<probe-id>/<name>.json per probe that ran: status, headers in wire order,
framing, HTTP version, body (binary as base64), timings. Before it touches disk: secrets removed,
phone numbers, wa_id and names replaced by stable placeholders, volatile values (dates, ids,
signed URLs) listed. A file whose only changes would be volatile values is left untouched, so
re-recording an unchanged upstream gives no git diff. The checks run against the recordings
already there, so drift seen while recording is reported before you commit it.

With --from, nothing is sent: captured traffic (a HAR or a VCR cassette) is attributed to
operations as verify does and written as <out>/<operation-id>/<name>.json, one file per operation
it settles, with the same redaction and placeholders. Yesterday's traffic becomes the golden that
\`driftwatch verify\` compares today's with. Unattributed exchanges are listed, not recorded.

Options:
  --from <file>             record captured traffic instead of probing (name defaults to the file's base name)
  --target sim|<base-url>   as for check (default sim)
  --contracts <dir>         contract pack directory (default ${DEFAULTS.contracts})
  --out <dir>               recordings directory (default ${DEFAULTS.recordings})
  --name <name>             file name without .json (default sim-<scenario> for the simulator, live otherwise)
  --only <id-glob>          only these contracts (and what they depend on); repeatable
  --samples <N>             samples per repeatable contract
  --api-version <vN.N>      Graph API version to request (default ${DEFAULTS.apiVersion})
  --scenario <name>         simulator behaviour, with --target sim (default baseline)
  --allow-host <host>       another host that may receive the token (repeatable)
  --timeout <ms>            deadline per request (default 30000)
  --retry-budget <s>        seconds to wait out downtime or throttling (default 60)
  --quiet                   no per-contract progress lines
  --debug                   print stack traces of internal errors
  -h, --help                this help

Exit codes: 0 recorded; 2 harness error or nothing recorded; 3 nothing recorded because the upstream
could not be reached; 130 interrupted.`

const GATE_HELP = `driftwatch gate: before deploying a client, check its pact files against the contracts
and the golden recordings. Offline and fast.

Usage: driftwatch gate [options]

Each pact interaction must be something the upstream accepts, as contracted (method, path,
required parameters, bearer token, content type, status) and as last recorded: the recordings are
replayed as a provider and Pact's own Verifier checks every interaction against them.

Options:
  --pacts <dir|file>        pact files (default ${DEFAULTS.pacts})
  --recordings <dir>        golden recordings (default ${DEFAULTS.recordings})
  --contracts <dir>         contract pack (default ${DEFAULTS.contracts})
  --out <dir>               where gate.json and gate.md go (default ${DEFAULTS.gateOut})
  --quiet                   only the summary line
  -h, --help                this help

Exit codes: 0 every interaction passes; 1 some interaction would fail against the upstream;
2 harness error (missing pacts or recordings, invalid files).`

const VERIFY_HELP = `driftwatch verify: judge traffic you already have against the operations, offline.

Usage: driftwatch verify <file.har | cassette.yml | recordings-dir> [options]

A HAR 1.2 file (browsers, mitmproxy, Charles, proxies; base64 bodies), a VCR cassette (Ruby VCR or
Python vcrpy, as SDK and application test suites keep them), or a directory of driftwatch
recordings. Each exchange is attributed to the operation the traffic says it is (path, the node
each id names as learned from earlier answers or WHATSAPP_PHONE_NUMBER_ID / WHATSAPP_WABA_ID,
method, query, fields=, request body, then the answer's fit) and judged by the same checks as
\`check\`. An error the application asked for is a documented answer, not drift. An exchange the
traffic does not settle is reported as unattributed, with its candidates, and never judged on a
guess. A method the endpoint does not take (POST to a media id) is consumer drift.

Options:
  --contracts <dir>         contract pack (default ${DEFAULTS.contracts})
  --recordings <dir>        golden recordings of the traffic's own origin to compare with, e.g. made
                            from yesterday's traffic by driftwatch record --from (default ${DEFAULTS.recordings})
  --out <dir>               where reports go (default ${DEFAULTS.verifyOut})
  --format <list>           json,md,junit (default ${DEFAULTS.format}; report.json is always written)
  --fail-on <level>         breaking | warning | info | never (default ${DEFAULTS.failOn})
  --quiet                   only the summary line
  -h, --help                this help

Secrets (Authorization, cookies, access_token) and personal data in the traffic never reach the
reports. report.json's summary counts entries, attributed and unattributed. Exit codes as for
check: 0 nothing at or above --fail-on; 1 drift; 2 harness error (unreadable or malformed file,
nothing to verify); 3 nothing could be judged (no entry had a usable response).`

const IMPORT_HELP = `driftwatch import openapi: draft operations from an OpenAPI 3.x document.

Usage: driftwatch import openapi <spec.yaml|spec.json> [options]

Writes one operation file (<out>/operations/<id>.yaml) and one JSON Schema (<out>/schemas/) per
operation: readable drafts an engineer reviews, edits and commits. They state what the spec says;
\`driftwatch verify <traffic> --contracts <out>\` then shows where the spec and real traffic
disagree. Object schemas are closed (additionalProperties: false) so fields the spec does not list
are reported; path parameters become {<node>_id}; no request body schema nor error codes are
drafted (the spec has neither in a usable form). Operations are never sent: check sends probes.

Options:
  --tag <tag>               only operations with this tag (repeatable)
  --operation <id>          only this operationId (repeatable)
  --out <dir>               where the drafts go (default ${DEFAULTS.importOut})
  --force                   overwrite drafts that already exist
  -h, --help                this help

Exit codes: 0 written; 2 unreadable spec, nothing selected, or files that exist without --force.`

const PROXY_HELP = `driftwatch proxy: a recording proxy in front of the Graph API.

Usage: driftwatch proxy --upstream <url> [options]

Point your application's Graph API base URL (or curl) at the proxy. Each request is forwarded to
the upstream, the answer goes back to the application unchanged (framing included), and the
exchange is attributed to the operation it is (as verify does), judged, printed live, and
recorded (redacted: tokens, access_token, phone numbers, names) to <out>/<operation>/<name>.json,
rewritten atomically after every exchange; unattributed exchanges are printed with their
candidates and not recorded. A method the endpoint does not take (POST to a media id) is flagged
as consumer drift. WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_WABA_ID, when set, tell attribution which
node an id is before the traffic does.
Responses are buffered to be checked: use it to record and review, not in production.

Options:
  --upstream <url>          where to forward, e.g. https://graph.facebook.com (required)
  --port <N>                port to listen on (default ${DEFAULTS.proxyPort}; 0 picks a free one)
  --host <addr>             address to bind (default 127.0.0.1)
  --contracts <dir>         contract pack (default ${DEFAULTS.contracts})
  --out <dir>               recordings directory (default ${DEFAULTS.recordings})
  --name <name>             recording file name (default proxy)
  --report-dir <dir>        where the session report goes when it stops (default ${DEFAULTS.proxyReports})
  --no-record               check and print only, write no recordings
  --quiet                   only exchanges with findings
  -h, --help                this help

Ctrl-C stops it, judges the whole session (identical requests that got different answers show
there), writes the session report and prints a summary. Exit codes: 0 no breaking finding seen; 1 some exchange had
a breaking finding (upstream or consumer drift); 2 usage or harness error, or an exchange that
could not be recorded (e.g. the disk was full).`

const SIM_HELP = `driftwatch sim: run the embedded Meta Graph API simulator on its own.

Usage: driftwatch sim [options]

Options:
  --port <N>         port to listen on (default ${DEFAULTS.simPort}; 0 picks a free one)
  --host <addr>      address to bind (default 127.0.0.1)
  --scenario <name>  behaviour to simulate (default baseline); one of: ${scenarioNames().join(', ')}
  -h, --help         this help

It prints its URL and the fake credentials to export, then serves until Ctrl-C.`

/** Flags every command that probes a target shares (check, record). */
const PROBE_OPTIONS = {
  target: { type: 'string' },
  contracts: { type: 'string' },
  only: { type: 'string', multiple: true },
  samples: { type: 'string' },
  'api-version': { type: 'string' },
  out: { type: 'string' },
  scenario: { type: 'string' },
  'allow-host': { type: 'string', multiple: true },
  timeout: { type: 'string' },
  'retry-budget': { type: 'string' },
  quiet: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

const CHECK_OPTIONS = {
  ...PROBE_OPTIONS,
  recordings: { type: 'string' },
  format: { type: 'string' },
  'fail-on': { type: 'string' },
} as const satisfies ParseArgsConfig['options']

const RECORD_OPTIONS = {
  ...PROBE_OPTIONS,
  name: { type: 'string' },
  from: { type: 'string' },
} as const satisfies ParseArgsConfig['options']

const GATE_OPTIONS = {
  pacts: { type: 'string' },
  recordings: { type: 'string' },
  contracts: { type: 'string' },
  out: { type: 'string' },
  quiet: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

const VERIFY_OPTIONS = {
  contracts: { type: 'string' },
  recordings: { type: 'string' },
  out: { type: 'string' },
  format: { type: 'string' },
  'fail-on': { type: 'string' },
  quiet: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

const IMPORT_OPTIONS = {
  tag: { type: 'string', multiple: true },
  operation: { type: 'string', multiple: true },
  out: { type: 'string' },
  force: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

const PROXY_OPTIONS = {
  upstream: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  contracts: { type: 'string' },
  out: { type: 'string' },
  name: { type: 'string' },
  'report-dir': { type: 'string' },
  'no-record': { type: 'boolean' },
  quiet: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

const SIM_OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  scenario: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

/** Every command's flags, for callers (and tests) that validate command lines against the CLI. */
export const COMMAND_OPTIONS = { check: CHECK_OPTIONS, record: RECORD_OPTIONS, verify: VERIFY_OPTIONS, import: IMPORT_OPTIONS, proxy: PROXY_OPTIONS, gate: GATE_OPTIONS, sim: SIM_OPTIONS } as const

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function parse<O extends ParseArgsConfig['options']>(args: string[], options: O, command: string, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true })
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '')
    throw new HarnessError('DW_USAGE', `${msg} (see driftwatch ${command} --help)`)
  }
}

/** `--name` becomes a file name (record, proxy). */
function checkFileName(name: string | undefined): void {
  if (name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new HarnessError('DW_USAGE', `--name becomes a file name: letters, digits, dot, dash, underscore (got "${name}")`)
}

function positiveInt(value: string | undefined, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) < min) throw new HarnessError('DW_USAGE', `${flag} must be a whole number >= ${min} (got "${value}")`)
  return Number(value)
}

function parseFormats(value: string): FormatId[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean)
  const known: readonly string[] = FORMATS
  const bad = list.filter((f) => !known.includes(f))
  if (bad.length || list.length === 0) throw new HarnessError('DW_USAGE', `--format takes a comma-separated list of ${known.join(', ')} (got "${value}")`)
  return [...new Set(list)] as FormatId[]
}

function parseFailOn(value: string): FailOn {
  if (!['breaking', 'warning', 'info', 'never'].includes(value)) throw new HarnessError('DW_USAGE', `--fail-on must be breaking, warning, info or never (got "${value}")`)
  return value as FailOn
}

/** Runs the CLI with `args` (without node and script); returns the exit code. */
export async function main(args: string[], io: CliIO = defaultIO()): Promise<number> {
  const [command, ...rest] = args
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.stdout(MAIN_HELP)
      return command === undefined ? 2 : 0
    }
    if (command === '--version' || command === '-v') {
      io.stdout(version())
      return 0
    }
    if (command === 'check') return await checkCommand(rest, io)
    if (command === 'record') return await recordCommand(rest, io)
    if (command === 'gate') return await gateCommand(rest, io)
    if (command === 'verify') return await verifyCommand(rest, io)
    if (command === 'import') return await importCommand(rest, io)
    if (command === 'proxy') return await proxyCommand(rest, io)
    if (command === 'sim') return await simCommand(rest, io)
    throw new HarnessError('DW_USAGE', `unknown command "${command}" (commands: check, record, verify, import, proxy, gate, sim; see driftwatch --help)`)
  } catch (err) {
    return reportError(err, io, args.includes('--debug'))
  }
}

function reportError(err: unknown, io: CliIO, debug: boolean): number {
  if (err instanceof ContractError) {
    io.stderr(`driftwatch: ${err.message}`)
    io.stderr('Fix the files above; nothing was probed.')
  } else if (isHarnessError(err)) {
    io.stderr(`driftwatch: ${err.message} [${err.code}]`)
  } else {
    io.stderr(`driftwatch: internal error: ${(err as Error)?.message ?? String(err)} [DW_INTERNAL]`)
    if (debug && err instanceof Error && err.stack) io.stderr(err.stack)
    else io.stderr('Re-run with --debug for a stack trace, and please report it.')
  }
  return 2
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length)
}

function progressLine(e: ProgressEvent, redactor: Redactor): string {
  const r = e.result
  const width = String(e.total).length
  const idx = `[${String(e.index).padStart(width)}/${e.total}]`
  const mark = { passed: '✓', failed: '✗', skipped: '-', inconclusive: '?' }[r.status]
  const worst = e.findings.find((f) => f.severity === 'breaking') ?? e.findings.find((f) => f.severity === 'warning') ?? e.findings[0]
  const more = e.findings.filter((f) => f.severity !== 'info').length - 1
  let tail = ''
  if (r.status === 'skipped' || r.status === 'inconclusive') tail = `${r.status}: ${r.reason ?? ''}`
  else if (worst) tail = `${worst.severity}: ${worst.title}${more > 0 ? ` (+${more} more)` : ''}`
  const stats = r.status === 'skipped' ? '' : `${r.probes} req ${String(r.durationMs).padStart(5)} ms  `
  return redactor.text(`  ${idx} ${mark} ${pad(r.contract, 42)} ${stats}${tail}`.trimEnd())
}

function finalLine(report: Report, seconds: string, counted = 'requests'): string {
  const s = report.summary
  const head = { pass: 'PASS', drift: 'DRIFT', inconclusive: 'INCONCLUSIVE', error: 'ERROR' }[report.outcome]
  return `${head}: ${s.contracts} contracts (${s.passed} passed, ${s.failed} with drift, ${s.skipped} skipped, ${s.inconclusive} inconclusive), ${s.probes} ${counted}, findings: ${s.breaking} breaking, ${s.warning} warning, ${s.info} info (${seconds} s)`
}

/** Flags `check` and `record` share, parsed and validated. */
function runFlags(v: Record<string, string | boolean | string[] | undefined>, io: CliIO) {
  const str = (k: string) => v[k] as string | undefined
  const apiVersion = parseApiVersion(str('api-version') ?? DEFAULTS.apiVersion)
  const samples = positiveInt(str('samples'), '--samples')
  const timeoutMs = positiveInt(str('timeout'), '--timeout', 100)
  const retryBudgetSeconds = positiveInt(str('retry-budget'), '--retry-budget', 0)
  if (samples !== undefined && samples > 100) throw new HarnessError('DW_USAGE', `--samples is capped at 100 to stay polite to the upstream (got ${samples})`)
  const scenario = str('scenario')
  if (scenario !== undefined && !scenarios[scenario]) throw new HarnessError('DW_USAGE', `unknown scenario "${scenario}" (available: ${scenarioNames().join(', ')})`)
  const only = v.only as string[] | undefined
  const allowHosts = v['allow-host'] as string[] | undefined
  return {
    target: str('target') ?? DEFAULTS.target,
    contractsDir: str('contracts') ?? DEFAULTS.contracts,
    apiVersion,
    ...(only ? { only } : {}),
    ...(samples ? { samples } : {}),
    ...(scenario ? { scenario } : {}),
    ...(allowHosts ? { allowHosts } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(retryBudgetSeconds !== undefined ? { retryBudgetSeconds } : {}),
    env: io.env,
    cwd: io.cwd,
    ...(io.interrupt ? { signal: io.interrupt } : {}),
  }
}

/** Progress callbacks for a run: the start line, one line per contract (unless quiet), retries. */
function runProgress(command: string, apiVersion: string, quiet: boolean, io: CliIO) {
  let redactor: Redactor | undefined
  return {
    onStart: (info: StartInfo) => {
      redactor = info.redactor
      const where = info.target === 'sim' ? `the simulator (${info.baseUrl}, scenario ${info.scenario ?? 'baseline'})` : info.target
      const golden = info.golden.contracts ? `; compared with golden recordings of ${info.golden.contracts} contracts (oldest ${info.golden.oldest!.slice(0, 10)})` : '; no golden recordings for this target'
      io.stderr(`driftwatch ${command}: ${info.contracts} contracts against ${where}, API ${apiVersion}${golden}`)
    },
    ...(quiet ? {} : { onProgress: (e: ProgressEvent) => io.stderr(progressLine(e, redactor!)) }),
    onRetry: (e: RetryEvent) =>
      io.stderr(redactor!.text(`  ↻ ${e.contract}: upstream ${e.availability === 'throttled' ? 'throttling' : 'in downtime'}, ${e.cause}; retrying in ${(e.delayMs / 1000).toFixed(1)} s (${(e.remainingMs / 1000).toFixed(0)} s of retry budget left)`)),
  }
}

async function checkCommand(args: string[], io: CliIO): Promise<number> {
  const { values: v } = parse(args, CHECK_OPTIONS, 'check')
  if (v.help) {
    io.stdout(CHECK_HELP)
    return 0
  }
  const failOn = parseFailOn(v['fail-on'] ?? DEFAULTS.failOn)
  const formats = parseFormats(v.format ?? DEFAULTS.format)
  const flags = runFlags(v, io)
  const outDir = resolve(io.cwd, v.out ?? DEFAULTS.out)
  const t0 = Date.now()
  // Loaded on demand: --help and usage errors answer without loading undici, ajv and yaml.
  const { runCheck } = await import('./check.ts')
  const recordingsDir = resolve(io.cwd, v.recordings ?? DEFAULTS.recordings)
  const result = await runCheck({ ...flags, outDir, formats, recordingsDir, ...runProgress('check', flags.apiVersion, v.quiet === true, io) })
  const { report, files } = result
  if (report.outcome === 'error') {
    io.stderr(`driftwatch: the run failed: ${report.error?.message ?? 'unknown error'} [${report.error?.code ?? 'DW_INTERNAL'}]`)
    if (v.debug && result.cause instanceof Error && result.cause.stack) io.stderr(result.cause.stack)
  }
  io.stdout(result.redactor.text(finalLine(report, ((Date.now() - t0) / 1000).toFixed(1))))
  io.stdout(`Reports: ${files.join(', ')}`)
  if (report.interrupted) {
    io.stderr('Interrupted: the report covers the contracts that ran.')
    return 130
  }
  return exitCodeOf(report, failOn)
}

async function recordCommand(args: string[], io: CliIO): Promise<number> {
  const { values: v } = parse(args, RECORD_OPTIONS, 'record')
  if (v.help) {
    io.stdout(RECORD_HELP)
    return 0
  }
  checkFileName(v.name)
  const recordingsDir = resolve(io.cwd, v.out ?? DEFAULTS.recordings)
  if (v.from !== undefined) return recordFromCommand(v.from, recordingsDir, v, io)
  const flags = runFlags(v, io)
  const t0 = Date.now()
  const { runRecord } = await import('./record.ts')
  const result = await runRecord({ ...flags, recordingsDir, ...(v.name ? { name: v.name } : {}), ...runProgress('record', flags.apiVersion, v.quiet === true, io) })
  const { report, files } = result
  for (const w of result.warnings) io.stderr(`Warning: ${w}`)
  io.stdout(result.redactor.text(finalLine(report, ((Date.now() - t0) / 1000).toFixed(1))))
  const written = files.filter((f) => f.status === 'written')
  const where = relative(io.cwd, recordingsDir) || '.'
  io.stdout(`Recorded ${files.length} contract${files.length === 1 ? '' : 's'} in ${where}: ${written.length} written${written.length ? ` (${written.map((f) => relative(recordingsDir, f.file)).join(', ')})` : ''}, ${files.length - written.length} unchanged but for volatile values (left as they were)`)
  if (report.summary.breaking + report.summary.warning > 0) {
    io.stderr('Note: the upstream drifted from the contracts while recording (see the lines above). Review the recordings before committing them as golden.')
  }
  if (report.interrupted) return 130
  if (files.length === 0) return report.summary.inconclusive > 0 ? 3 : 2
  return 0
}

/** `record --from <traffic>`: captured traffic becomes golden recordings, one file per operation it settles. */
async function recordFromCommand(from: string, recordingsDir: string, v: Record<string, string | boolean | string[] | undefined>, io: CliIO): Promise<number> {
  const probing = ['target', 'only', 'samples', 'api-version', 'scenario', 'allow-host', 'timeout', 'retry-budget'].filter((k) => v[k] !== undefined)
  if (probing.length) throw new HarnessError('DW_USAGE', `--from records captured traffic and sends nothing: ${probing.map((k) => `--${k}`).join(', ')} ${probing.length === 1 ? 'does' : 'do'} not apply (see driftwatch record --help)`)
  const t0 = Date.now()
  const { runRecordFromTraffic } = await import('./record.ts')
  const r = await runRecordFromTraffic({ input: from, contractsDir: (v.contracts as string | undefined) ?? DEFAULTS.contracts, recordingsDir, ...(v.name ? { name: v.name as string } : {}), env: io.env, cwd: io.cwd })
  const c = r.counts
  const written = r.files.filter((f) => f.status === 'written')
  const where = relative(io.cwd, recordingsDir) || '.'
  if (!v.quiet) for (const f of r.report.findings.filter((x) => x.check === 'attribution')) io.stderr(r.redactor.text(`  ? ${f.title}${f.samples > 1 ? ` (${f.samples}×)` : ''}: not recorded`))
  io.stdout(r.redactor.text(finalLine(r.report, ((Date.now() - t0) / 1000).toFixed(1), 'entries judged')))
  io.stdout(`Recorded ${c.attributed} of ${c.entries} exchanges as ${r.files.length} operation${r.files.length === 1 ? '' : 's'} in ${where}: ${written.length} written${written.length ? ` (${written.map((f) => relative(recordingsDir, f.file)).join(', ')})` : ''}, ${r.files.length - written.length} unchanged but for volatile values; ${c.unattributed} not recorded (unattributed or no operation, listed above)`)
  if (r.report.summary.breaking + r.report.summary.warning > 0) io.stderr('Note: this traffic drifts from the operations (see the report fields above, or run driftwatch verify on it). Review the recordings before committing them as golden.')
  return r.files.length === 0 ? 2 : 0
}

async function gateCommand(args: string[], io: CliIO): Promise<number> {
  const { values: v } = parse(args, GATE_OPTIONS, 'gate')
  if (v.help) {
    io.stdout(GATE_HELP)
    return 0
  }
  const t0 = Date.now()
  const { runGate } = await import('./gate/gate.ts')
  const { writeGateReport } = await import('./gate/gate-report.ts')
  const report = await runGate({
    pactsPath: resolve(io.cwd, v.pacts ?? DEFAULTS.pacts),
    recordingsDir: resolve(io.cwd, v.recordings ?? DEFAULTS.recordings),
    contractsDir: v.contracts ?? DEFAULTS.contracts,
    cwd: io.cwd,
  })
  const files = await writeGateReport(report, resolve(io.cwd, v.out ?? DEFAULTS.gateOut), io.cwd)
  if (!v.quiet) {
    io.stderr(`driftwatch gate: ${report.summary.interactions} interactions in ${report.pacts.join(', ')}`)
    for (const i of report.interactions) {
      io.stderr(`  ${i.status === 'passed' ? '✓' : '✗'} ${i.description}: ${i.request} → ${i.contract ?? 'no contract'}`)
      for (const p of i.problems) io.stderr(`      ${p.source === 'contract' ? 'as contracted' : 'as recorded'}: ${p.message}`)
    }
  }
  const s = report.summary
  const secs = ((Date.now() - t0) / 1000).toFixed(1)
  io.stdout(report.outcome === 'pass' ? `GATE PASSED: ${s.passed} of ${s.interactions} interactions match the upstream as contracted and as last recorded (${secs} s)` : `GATE FAILED: ${s.failed} of ${s.interactions} interactions would fail against the upstream (${secs} s)`)
  io.stdout(`Reports: ${files.join(', ')}`)
  return report.outcome === 'pass' ? 0 : 1
}

async function verifyCommand(args: string[], io: CliIO): Promise<number> {
  const { values: v, positionals } = parse(args, VERIFY_OPTIONS, 'verify', true)
  if (v.help) {
    io.stdout(VERIFY_HELP)
    return 0
  }
  if (positionals.length !== 1) throw new HarnessError('DW_USAGE', `verify takes one HAR file, cassette or recordings directory (got ${positionals.length ? positionals.join(' ') : 'none'}; see driftwatch verify --help)`)
  const failOn = parseFailOn(v['fail-on'] ?? DEFAULTS.failOn)
  const formats = parseFormats(v.format ?? DEFAULTS.format)
  const t0 = Date.now()
  const { runVerify } = await import('./verify/verify.ts')
  const { report, files, redactor, counts } = await runVerify({
    input: positionals[0]!,
    contractsDir: v.contracts ?? DEFAULTS.contracts,
    recordingsDir: v.recordings ?? DEFAULTS.recordings,
    outDir: resolve(io.cwd, v.out ?? DEFAULTS.verifyOut),
    formats,
    env: io.env,
    cwd: io.cwd,
  })
  if (!v.quiet) {
    io.stderr(`driftwatch verify: ${counts.entries} entries from ${report.target}: ${counts.attributed} attributed to an operation, ${counts.unattributed} not (each says why below)`)
    for (const r of report.results) {
      const own = report.findings.filter((f) => f.contract === r.contract && isDrift(f))
      io.stderr(redactor.text(`  ${r.status === 'passed' ? '✓' : r.status === 'failed' ? '✗' : '?'} ${r.contract}: ${r.reason ?? ''}${own.length ? `; ${own.map((f) => f.title).join('; ')}` : ''}`))
    }
    const { NO_OPERATION, UNATTRIBUTED } = await import('./judge/index.ts')
    for (const f of report.findings.filter((x) => x.check === 'attribution' && (x.contract === UNATTRIBUTED || x.contract === NO_OPERATION))) io.stderr(redactor.text(`  ? ${f.title}${f.samples > 1 ? ` (${f.samples}×)` : ''}`))
  }
  io.stdout(redactor.text(finalLine(report, ((Date.now() - t0) / 1000).toFixed(1), 'entries judged')))
  io.stdout(`Reports: ${files.join(', ')}`)
  return exitCodeOf(report, failOn)
}

async function importCommand(args: string[], io: CliIO): Promise<number> {
  const { values: v, positionals } = parse(args, IMPORT_OPTIONS, 'import', true)
  if (v.help) {
    io.stdout(IMPORT_HELP)
    return 0
  }
  const [kind, spec, ...extra] = positionals
  if (kind !== 'openapi') throw new HarnessError('DW_USAGE', `import knows one format: driftwatch import openapi <spec> (got ${kind ? `"${kind}"` : 'nothing'})`)
  if (!spec || extra.length) throw new HarnessError('DW_USAGE', 'import openapi takes one spec file (see driftwatch import --help)')
  const { importOpenApi } = await import('./import/openapi.ts')
  const outDir = resolve(io.cwd, v.out ?? DEFAULTS.importOut)
  const r = await importOpenApi({ spec: resolve(io.cwd, spec), outDir, ...(v.tag ? { tags: v.tag } : {}), ...(v.operation ? { operations: v.operation } : {}), force: v.force === true, cwd: io.cwd })
  for (const s of r.skipped) io.stderr(`  skipped ${s.operation}: ${s.reason}`)
  const where = relative(io.cwd, outDir) || '.'
  io.stdout(`Drafted ${r.operations.length} operation${r.operations.length === 1 ? '' : 's'} and ${r.schemas.length} schema${r.schemas.length === 1 ? '' : 's'} in ${where}. Review them, then judge traffic against them: driftwatch verify <traffic.har> --contracts ${where}`)
  return 0
}

async function proxyCommand(args: string[], io: CliIO): Promise<number> {
  const { values: v } = parse(args, PROXY_OPTIONS, 'proxy')
  if (v.help) {
    io.stdout(PROXY_HELP)
    return 0
  }
  if (!v.upstream) throw new HarnessError('DW_USAGE', '--upstream is required, e.g. driftwatch proxy --upstream https://graph.facebook.com')
  const port = positiveInt(v.port, '--port', 0) ?? DEFAULTS.proxyPort
  if (port > 65535) throw new HarnessError('DW_USAGE', `--port must be 0-65535 (got ${port})`)
  checkFileName(v.name)
  const recordingsDir = v['no-record'] ? undefined : resolve(io.cwd, v.out ?? DEFAULTS.recordings)
  const { startProxy } = await import('./proxy/proxy.ts')
  let breaking = 0
  let failures = 0
  const proxy = await startProxy({
    upstream: v.upstream,
    port,
    ...(v.host ? { host: v.host } : {}),
    contractsDir: v.contracts ?? DEFAULTS.contracts,
    ...(recordingsDir ? { recordingsDir } : {}),
    ...(v.name ? { name: v.name } : {}),
    reportDir: resolve(io.cwd, v['report-dir'] ?? DEFAULTS.proxyReports),
    env: io.env,
    cwd: io.cwd,
    onExchange: (e) => {
      breaking += e.findings.filter((f) => f.severity === 'breaking').length
      const bad = e.findings.filter(isDrift)
      if (v.quiet && bad.length === 0) return
      const what = e.contract ?? (e.attribution === 'unattributed' ? '(unattributed, not recorded)' : '(no operation)')
      io.stderr(`${bad.length ? '✗' : '✓'} ${e.method} ${e.path} → ${e.status ?? 'no response'} ${what}${e.recording ? ` [recorded: ${relative(io.cwd, e.recording)}]` : ''}`)
      for (const f of e.findings) io.stderr(`    ${f.severity}: ${f.title}`)
    },
    onError: (message) => {
      failures++
      io.stderr(`✗ ${message}`)
    },
  })
  io.stdout(`driftwatch proxy listening on ${proxy.url}, forwarding to ${v.upstream}`)
  io.stdout(recordingsDir ? `Recording to ${relative(io.cwd, recordingsDir) || '.'}/<contract>/${v.name ?? 'proxy'}.json. Point your application's Graph API base URL at ${proxy.url}; Ctrl-C to stop.` : `Not recording. Point your application's Graph API base URL at ${proxy.url}; Ctrl-C to stop.`)
  await new Promise<void>((resolveWait) => {
    if (io.interrupt?.aborted) resolveWait()
    io.interrupt?.addEventListener('abort', () => resolveWait(), { once: true })
  })
  const session = await proxy.close()
  const c = session.counts
  const drift = proxy.exchanges.filter((e) => e.findings.some(isDrift)).length
  breaking = Math.max(breaking, session.report.summary.breaking)
  io.stdout(`proxy stopped: ${c.entries} exchange${c.entries === 1 ? '' : 's'} (${c.attributed} attributed, ${c.unattributed} not), ${drift} with findings, ${breaking} breaking finding${breaking === 1 ? '' : 's'}${failures ? `, ${failures} not recorded (see above)` : ''}`)
  if (session.files.length) io.stdout(`Session report: ${session.files.join(', ')}`)
  return failures > 0 ? 2 : breaking > 0 ? 1 : 0
}

async function simCommand(args: string[], io: CliIO): Promise<number> {
  const { values: v } = parse(args, SIM_OPTIONS, 'sim')
  if (v.help) {
    io.stdout(SIM_HELP)
    return 0
  }
  const port = positiveInt(v.port, '--port', 0) ?? DEFAULTS.simPort
  if (port > 65535) throw new HarnessError('DW_USAGE', `--port must be 0-65535 (got ${port})`)
  const { startSimulator } = await import('./simulator/server.ts')
  const sim = await startSimulator({ port, ...(v.host ? { host: v.host } : {}), ...(v.scenario ? { scenario: v.scenario } : {}) }).catch((err: unknown) => {
    if (isHarnessError(err) && err.code === 'DW_SIMULATOR_FAILED') throw new HarnessError('DW_SIMULATOR_FAILED', `${err.message}; try --port 0 for a free port`)
    throw err
  })
  const c = sim.credentials
  io.stdout(
    [
      `driftwatch simulator (scenario ${sim.scenario.name}) listening on ${sim.url}`,
      `  ${sim.scenario.description}`,
      '',
      'Probe it with driftwatch (these credentials are fake and only work here):',
      `  export WHATSAPP_ACCESS_TOKEN=${c.token}`,
      `  export WHATSAPP_PHONE_NUMBER_ID=${c.phoneNumberId}`,
      `  export WHATSAPP_WABA_ID=${c.wabaId}`,
      `  export WHATSAPP_TEST_RECIPIENT=${c.testRecipient}`,
      `  npx driftwatch check --target ${sim.url}`,
      '',
      `Or by hand: curl -H "Authorization: Bearer ${c.token}" ${sim.url}/v23.0/${c.phoneNumberId}`,
      'Ctrl-C to stop.',
    ].join('\n'),
  )
  await new Promise<void>((resolveWait) => {
    if (io.interrupt?.aborted) resolveWait()
    io.interrupt?.addEventListener('abort', () => resolveWait(), { once: true })
  })
  await sim.close()
  io.stderr(`simulator stopped after ${sim.requests} requests`)
  return 0
}

/** Entry point for the bin: real streams, SIGINT/SIGTERM abort the run (a second one exits at once). */
export async function runFromProcess(): Promise<number> {
  const ac = new AbortController()
  let signals = 0
  const onSignal = () => {
    if (++signals > 1) process.exit(130)
    process.stderr.write('\ndriftwatch: stopping after the request in flight (Ctrl-C again to quit now)\n')
    ac.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return main(process.argv.slice(2), { ...defaultIO(), interrupt: ac.signal })
}

function defaultIO(): CliIO {
  // `driftwatch check | head -1` closes our stdout early: that is the reader's choice, not a crash.
  // Stop writing to a closed stream; the run (and its report files and exit code) carries on.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err
    })
  }
  return {
    stdout: (l) => process.stdout.write(`${l}\n`),
    stderr: (l) => process.stderr.write(`${l}\n`),
    env: process.env,
    cwd: process.cwd(),
  }
}
