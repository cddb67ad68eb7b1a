/**
 * What every command shares: one options table per command (parsing and --help are both read from
 * it, so they cannot disagree), the global options with one meaning each, the one exit-code
 * section, and the parsers for values. Nothing here loads undici, ajv or yaml: --help and usage
 * errors answer at once.
 */
import { suggest } from '../util/suggest.ts'
import { readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { HarnessError } from '../util/errors.ts'
import type { FailOn } from '../model/report.ts'
import type { FormatId } from '../commands/write-reports.ts'
import type { WebhookRetryPolicy } from '../commands/sim.ts'
import type { WatchClock } from '../commands/watch.ts'

/** Where the CLI writes and what it reads; tests pass their own. */
export interface CliIO {
  stdout: (line: string) => void
  stderr: (line: string) => void
  env: Readonly<Record<string, string | undefined>>
  cwd: string
  /** Signal that fires on the first Ctrl-C or SIGTERM; the bin wires the signals to it. */
  interrupt?: AbortSignal
  /** Signal that fires on the second Ctrl-C: abandon cleanup, write what was observed, exit now. */
  halt?: AbortSignal
  /** True when stderr is a terminal: long runs show a progress line there. */
  tty?: boolean
  /** watch's time (default the real one): tests run its pacing faster than real time, unchanged. */
  clock?: WatchClock
  /** sim's webhook retries (default 5 attempts, 0.5 s doubling): tests shorten the waits, not the attempts. */
  webhookRetry?: Partial<WebhookRetryPolicy>
}

// Formats `--format` accepts; kept here (not read from the reporters) so --help loads nothing heavy.
export const FORMATS: readonly FormatId[] = ['json', 'md', 'junit', 'html', 'github']

export const DEFAULTS = {
  target: 'sim',
  contracts: 'contracts/meta',
  apiVersion: 'v23.0',
  out: 'reports/latest',
  recordings: 'recordings/meta',
  pacts: 'pacts',
  gateOut: 'reports/gate',
  verifyOut: 'reports/verify',
  recordOut: 'reports/record',
  importOut: 'contracts/openapi',
  proxyPort: 8788,
  proxyOut: 'reports/proxy',
  format: 'json,md,junit',
  failOn: 'breaking',
  simPort: 8787,
  mergeOut: 'reports/merged',
  /** watch's state (and history) when --state is not given; check, verify and merge keep theirs in --out. */
  state: 'reports/history.db',
  budget: '960/day',
} as const

/** One row of a command's options table. */
export interface OptionSpec {
  type: 'string' | 'boolean'
  multiple?: boolean
  short?: string
  /** The value's placeholder in --help, e.g. `<dir>`. */
  arg?: string
  /** What it does; continuation lines are indented under it. */
  help: string
}

export type OptionTable = Record<string, OptionSpec>

/** Global options: the same name means the same thing in every command that takes it. */
export const GLOBAL = {
  quiet: { type: 'boolean', help: 'only what needs attention: drift, errors and the summary; no progress or passing lines' },
  debug: { type: 'boolean', help: 'print stack traces of internal errors' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
} as const satisfies OptionTable

/** `--json` of check, verify and gate: the report they wrote, on stdout (main.ts routes every other line to stderr). */
export const JSON_OPTION = {
  json: { type: 'boolean', help: 'print the report (report.json; gate.json for gate) on stdout, for scripts;\nevery other line goes to stderr' },
} as const satisfies OptionTable

/** Global options of the commands that write a report (check, record, verify, gate, proxy). */
export function reportOptions(defaultOut: string, defaultFailOn: FailOn = DEFAULTS.failOn): OptionTable {
  return {
    out: { type: 'string', arg: '<dir>', help: `where the reports go (default ${defaultOut})` },
    format: { type: 'string', arg: '<list>', help: `reports to write besides report.json: json,md,junit,html, and github where the command writes\nGitHub annotations and the job summary, report.md (check, verify, merge) (default ${DEFAULTS.format})` },
    'fail-on': { type: 'string', arg: '<level>', help: `breaking | warning | info | never: the lowest severity that is drift, exits 1 and fails JUnit (default ${defaultFailOn})` },
  }
}

/** The history options of the commands that append runs to it (check, verify, merge). */
export const HISTORY_OPTIONS = {
  history: { type: 'string', arg: '<file>', help: 'the history database this run is added to (default history.db in the --out\nfolder: one folder, one series of runs); share one only on purpose' },
  'no-history': { type: 'boolean', help: 'do not add this run to the history' },
} as const satisfies OptionTable

/** The history file of the runs written to `outDir` when no --history is given. */
export const HISTORY_FILE = 'history.db'

/**
 * Where a run's history goes: --history, else history.db inside the reports folder; undefined with
 * --no-history (both flags: a usage error). Inside, not next to it: `--out /tmp/x` used to write
 * /tmp/history.db, shared with whatever else wrote to /tmp, and an unrelated run's findings came
 * back as "since" and "cleared". An output folder is one series of runs; sharing is asked for.
 */
export function historyFile(v: Values, outDir: string, cwd: string): string | undefined {
  const h = typeof v.history === 'string' ? v.history : undefined
  if (v['no-history'] === true && h !== undefined) throw new HarnessError('DW_USAGE', `--history ${h} and --no-history contradict each other: drop --no-history to add the run to ${h}, or drop --history to add it to none`)
  if (v['no-history'] === true) return undefined
  return h ? resolve(cwd, h) : join(outDir, HISTORY_FILE)
}

/** The exit-code section, the same in every --help. */
/** Where options come from besides the command line, the same in every --help. */
export const OPTION_SOURCES = `Options also come from driftwatch.config.yaml in the working directory (or the file DRIFTWATCH_CONFIG
names; driftwatch init writes one) and from DRIFTWATCH_<OPTION> variables (DRIFTWATCH_FAIL_ON=warning);
the variables override the file, and flags override both. The defaults under Options are those without either.`

export const EXIT_CODES = `Exit codes (every command):
  0    nothing at or above --fail-on (gate: every interaction passes; record: recorded; watch: stopped)
  1    drift at or above --fail-on (gate: an interaction would fail)
  2    usage, configuration or harness error: the message names the file, the field and the fix
  3    inconclusive: nothing could be judged (upstream unreachable or in downtime, no usable entry)
  130  interrupted by Ctrl-C or SIGTERM (sim ends this way; proxy and watch are stopped, not interrupted: their session decides, 0 when clean; a second Ctrl-C is 130); the reports cover what ran`

/** A command: its table, its help text and what it does. */
export interface Command {
  name: string
  /** `driftwatch <usage>` lines for the main help and the command's own. */
  usage: string[]
  /** One line for the main help. */
  summary: string
  /** Paragraphs between Usage and Options. */
  about?: string
  options: OptionTable
  /** Lines after the options table, before the exit codes. */
  notes?: string
  positionals?: boolean
  run(values: Values, positionals: string[], io: CliIO): Promise<number>
}

export type Values = Record<string, string | boolean | string[] | undefined>

/** A command's --help, rendered from its table. */
export function helpText(cmd: Command): string {
  const rows = Object.entries(cmd.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.arg ? ` ${o.arg}` : ''}`
    const help = o.multiple ? `${o.help} (repeatable)` : o.help
    return [flag, help] as const
  })
  const width = Math.max(...rows.map(([f]) => f.length)) + 2
  const table = rows.map(([f, h]) => `  ${f.padEnd(width)}${h.split('\n').join(`\n  ${' '.repeat(width)}`)}`).join('\n')
  return [
    `driftwatch ${cmd.name}: ${cmd.summary}`,
    '',
    `Usage: ${cmd.usage.map((u, i) => `${i ? '       ' : ''}driftwatch ${u}`).join('\n')}`,
    ...(cmd.about ? ['', cmd.about] : []),
    '',
    'Options:',
    table,
    ...(cmd.notes ? ['', cmd.notes] : []),
    '',
    OPTION_SOURCES,
    '',
    EXIT_CODES,
  ].join('\n')
}

/** Options renamed since earlier releases: the message says what to write now. */
const RENAMED: Record<string, Record<string, string>> = {
  proxy: { 'report-dir': '--out (reports); recordings go to --recordings' },
}

/** Parses a command line against a command's table: unknown flags get "did you mean", numbers may be negative (and are then refused by the value's own check). */
export function parseCommand(cmd: Command, args: string[]): { values: Values; positionals: string[] } {
  const options = Object.fromEntries(Object.entries(cmd.options).map(([k, o]) => [k, { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) }])) as ParseArgsConfig['options']
  // `--samples -1`: parseArgs would take -1 for a flag; join it so the value check can say what is allowed.
  const joined: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    const name = a.startsWith('--') ? a.slice(2) : undefined
    const next = args[i + 1]
    if (name !== undefined && cmd.options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${a}=${next}`)
      i++
    } else joined.push(a)
  }
  for (const a of joined) {
    if (!a.startsWith('-') || a === '-' || a === '--') continue
    const name = a.startsWith('--') ? a.slice(2).split('=')[0]! : undefined
    if (name === undefined) {
      const short = a.slice(1, 2)
      if (!Object.values(cmd.options).some((o) => o.short === short)) throw new HarnessError('DW_USAGE', `unknown option "-${short}" for ${cmd.name} (see driftwatch help ${cmd.name})`)
      continue
    }
    if (cmd.options[name]) continue
    const renamed = RENAMED[cmd.name]?.[name]
    if (renamed) throw new HarnessError('DW_USAGE', `--${name} is now ${renamed} (see driftwatch help ${cmd.name})`)
    throw new HarnessError('DW_USAGE', `unknown option "--${name}" for ${cmd.name}${suggest(name, Object.keys(cmd.options), '--')} (see driftwatch help ${cmd.name})`)
  }
  try {
    const r = parseArgs({ args: joined, options, allowPositionals: cmd.positionals === true, strict: true })
    return { values: r.values as Values, positionals: r.positionals }
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '')
    throw new HarnessError('DW_USAGE', `${msg} (see driftwatch help ${cmd.name})`)
  }
}

export { suggest }

/** `--name` becomes a file name (record, proxy). */
export function checkFileName(name: string | undefined): void {
  if (name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new HarnessError('DW_USAGE', `--name becomes a file name: letters, digits, dot, dash, underscore (got "${name}")`)
}

/** A whole number >= min, or undefined when the flag was not given. */
export function wholeNumber(value: string | undefined, flag: string, min = 1, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new HarnessError('DW_USAGE', `${flag} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ' up'} (got "${value}")`)
  }
  return Number(value)
}

export function parseFormats(value: string | undefined): FormatId[] {
  const v = value ?? DEFAULTS.format
  const list = v.split(',').map((s) => s.trim()).filter(Boolean)
  const known: readonly string[] = FORMATS
  const bad = list.filter((f) => !known.includes(f))
  if (bad.length || list.length === 0) throw new HarnessError('DW_USAGE', `--format takes a comma-separated list of ${known.join(', ')} (got "${v}")${bad.length === 1 ? suggest(bad[0]!, known) : ''}`)
  // github's job summary is report.md: asking for github asks for it.
  if (list.includes('github') && !list.includes('md')) list.push('md')
  return [...new Set(list)] as FormatId[]
}

export function parseFailOn(value: string | undefined, fallback: FailOn = DEFAULTS.failOn): FailOn {
  if (value === undefined) return fallback
  const levels = ['breaking', 'warning', 'info', 'never']
  if (!levels.includes(value)) throw new HarnessError('DW_USAGE', `--fail-on must be breaking, warning, info or never (got "${value}")${suggest(value, levels)}`)
  return value as FailOn
}

/**
 * `--out` is where reports go in every command; record and proxy once took it for the recordings
 * directory. A reports directory that holds recordings is refused, so an old command line cannot
 * scatter reports among golden files.
 */
export function refuseRecordingsAsOut(command: string, out: string | undefined, cwd: string): void {
  if (out === undefined) return
  const dir = resolve(cwd, out)
  let holdsRecordings = false
  try {
    holdsRecordings = readdirSync(dir, { withFileTypes: true }).some((d) => d.isDirectory() && readdirSync(join(dir, d.name)).some((f) => f.endsWith('.json')))
  } catch {}
  if (holdsRecordings) throw new HarnessError('DW_USAGE', `--out is where ${command}'s reports go, and ${out} holds recordings: pass the recordings directory as --recordings ${out}, and --out a reports directory (default ${command === 'record' ? DEFAULTS.recordOut : DEFAULTS.proxyOut})`)
}

export function str(v: Values, key: string): string | undefined {
  return v[key] as string | undefined
}
