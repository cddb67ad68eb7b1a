/**
 * The command line: a dispatch table of commands, each with its own module and options table
 * (src/cli/commands/). Parses arguments, calls the library, prints progress and picks the exit
 * code; the exit codes are the same for every command (EXIT_CODES).
 */
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path'
import { ContractError, HarnessError, isHarnessError } from '../util/errors.ts'
import { shownPath } from '../util/paths.ts'
import { check } from './commands/check.ts'
import { gate } from './commands/gate.ts'
import { importCommand } from './commands/import.ts'
import { init } from './commands/init.ts'
import { merge } from './commands/merge.ts'
import { history } from './commands/history.ts'
import { diff } from './commands/diff.ts'
import { proxy } from './commands/proxy.ts'
import { record } from './commands/record.ts'
import { sim } from './commands/sim.ts'
import { verify } from './commands/verify.ts'
import { watch } from './commands/watch.ts'
import { webhook } from './commands/webhook.ts'
import { terminalSafe } from '../render/index.ts'
import { Redactor, secretsFromEnv } from '../transport/redact.ts'
import { DEFAULTS, EXIT_CODES, GLOBAL, OPTION_SOURCES, helpText, parseCommand, suggest, type CliIO, type Command, type Values } from './options.ts'

export { FORMATS, type CliIO } from './options.ts'

/** Every command, in the order the main help lists them. */
export const COMMANDS: readonly Command[] = [check, watch, history, diff, merge, record, verify, importCommand, init, proxy, webhook, gate, sim]

const byName = new Map(COMMANDS.map((c) => [c.name, c]))

/** Every command's parseArgs flags, for callers (and tests) that validate command lines against the CLI. */
export const COMMAND_OPTIONS = Object.fromEntries(COMMANDS.map((c) => [c.name, c.options])) as Record<string, Command['options']>

function mainHelp(): string {
  const rows = COMMANDS.flatMap((c) => c.usage.slice(0, 1).map((u) => [`driftwatch ${u}`, c.summary] as const))
  rows.push(['driftwatch help <command>', "a command's options (also driftwatch <command> --help)"], ['driftwatch --version', 'the version'])
  return [
    'driftwatch: catch upstream API drift before production breaks.',
    '',
    'Usage:',
    ...rows.map(([u, s]) => `  ${u}\n      ${s}`),
    '',
    'Global options (one meaning in every command that takes them):',
    ...Object.entries(GLOBAL).map(([n, o]) => `  ${`${'short' in o ? `-${o.short}, ` : ''}--${n}`.padEnd(14)}${o.help}`),
    '  --out <dir>   where the reports go (import: where the drafts go)',
    '  --format      reports to write besides report.json: json,md,junit,html,github (check, verify, merge: GitHub annotations and job summary)',
    '  --json        check, verify, gate: the report on stdout (every other line on stderr), for scripts',
    '  --fail-on     the lowest severity that is drift, exits 1 and fails JUnit',
    '',
    OPTION_SOURCES,
    '',
    EXIT_CODES,
  ].join('\n')
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

/** A usage error about an option the command line did not give says where its value came from (the file and key, or the variable). */
function withSource(err: unknown, sources: ReadonlyMap<string, string>): unknown {
  if (!(err instanceof HarnessError) || err.code !== 'DW_USAGE' || sources.size === 0) return err
  for (const [k, from] of sources) {
    if (new RegExp(`--${k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(err.message)) return new HarnessError(err.code, `${err.message} (the value of --${k} came from ${from})`, err.details)
  }
  return err
}

function unknownCommand(name: string): HarnessError {
  return new HarnessError('DW_USAGE', `unknown command "${name}"${suggest(name, COMMANDS.map((c) => c.name))} (commands: ${COMMANDS.map((c) => c.name).join(', ')}; see driftwatch --help)`)
}

/** The report `--json` prints, per command: where it is written by default, and its file name. */
const JSON_REPORT: Record<string, { out: string; file: string }> = {
  check: { out: DEFAULTS.out, file: 'report.json' },
  verify: { out: DEFAULTS.verifyOut, file: 'report.json' },
  gate: { out: DEFAULTS.gateOut, file: 'gate.json' },
}

/** Commands whose findings `--format github` turns into annotations and a job summary, and their default --out. */
const GITHUB_OUT: Record<string, string> = { check: DEFAULTS.out, verify: DEFAULTS.verifyOut, merge: DEFAULTS.mergeOut }

/** A file as it is now (inode, time, size): a report written by this run, atomically (a new inode), differs from the one before it. */
function stampOf(file: string): string {
  if (!existsSync(file)) return ''
  const s = statSync(file)
  return `${s.ino}:${s.mtimeMs}:${s.size}`
}

/** Runs the CLI with `args` (without node and script); returns the exit code. */
export async function main(args: string[], given: CliIO = defaultIO()): Promise<number> {
  // Every line any command prints passes the terminal's last guard (no control character from a
  // header, a capture or a report: ESC, CSI, BEL, a lone CR) and the environment's secrets are redacted.
  const redacting = redactingIO(given)
  // Paths typed relative that lead out of the working directory (--out ../elsewhere) are shown as typed:
  // messages hold the resolved path, which shownPath keeps absolute outside the working directory.
  let typed: [RegExp, string][] = []
  const asTyped = (l: string) => typed.reduce((line, [at, as]) => line.replace(at, () => as), l)
  const io: CliIO = { ...redacting, stdout: (l) => redacting.stdout(terminalSafe(asTyped(l))), stderr: (l) => redacting.stderr(terminalSafe(asTyped(l))) }
  const [name, ...rest] = args
  /** Options the config file or a DRIFTWATCH_* variable gave, and where from (sourcesOf). */
  let sources = new Map<string, string>()
  try {
    if (name === undefined || name === '--help' || name === '-h') {
      io.stdout(mainHelp())
      return name === undefined ? 2 : 0
    }
    if (name === 'help') {
      if (rest.length === 0) {
        io.stdout(mainHelp())
        return 0
      }
      const cmd = byName.get(rest[0]!)
      if (!cmd) throw unknownCommand(rest[0]!)
      io.stdout(helpText(cmd))
      return 0
    }
    if (name === '--version' || name === '-v') {
      io.stdout(version())
      return 0
    }
    const cmd = byName.get(name)
    if (!cmd) throw unknownCommand(name)
    const parsed = parseCommand(cmd, rest)
    const positionals = parsed.positionals
    // driftwatch.config.yaml, then DRIFTWATCH_* variables, then the flags (each overrides the one before).
    if (parsed.values.help) {
      io.stdout(helpText(cmd))
      return 0
    }
    // Loaded here, not at start-up: the YAML parser alone doubles --help's time.
    const { readConfig, sourcesOf, unknownVariables, withConfig } = await import('./config-file.ts')
    const config = readConfig(io.cwd, io.env, COMMANDS)
    for (const w of unknownVariables(io.env, COMMANDS)) io.stderr(w)
    const values = withConfig(cmd, parsed.values, config, io.env)
    sources = sourcesOf(cmd, parsed.values, config, io.env)
    typed = typedPaths(cmd, values, positionals, io.cwd)
    const json = values.json === true ? JSON_REPORT[cmd.name] : undefined
    const wantsGithub = typeof values.format === 'string' && values.format.split(',').map((f) => f.trim()).includes('github')
    if (wantsGithub && GITHUB_OUT[cmd.name] === undefined) {
      throw new HarnessError('DW_USAGE', cmd.name === 'gate' ? '--format github applies to check, verify and merge (annotations per finding); gate writes gate.json, gate.md, gate.html and junit.xml: use --format junit for the test view' : `--format github applies to check, verify and merge (annotations per finding); ${cmd.name} writes its findings to its reports only: drop github from --format (verify annotates a capture's findings)`)
    }
    if (wantsGithub && json) throw new HarnessError('DW_USAGE', '--json and --format github both write stdout: pick one (the annotations need stdout; read report.json from --out)')
    if (wantsGithub) {
      const dir = resolve(io.cwd, typeof values.out === 'string' ? values.out : GITHUB_OUT[cmd.name]!)
      // Only what this run wrote: a report.md left by an earlier run (or restored from a cache) is not this run's.
      const before = new Map(['github-annotations.txt', 'report.md'].map((f) => [f, stampOf(join(dir, f))]))
      const code = await cmd.run(values, positionals, io)
      const fresh = (f: string) => existsSync(join(dir, f)) && stampOf(join(dir, f)) !== before.get(f)
      // The runner turns these stdout lines into annotations; each value was escaped by the reporter.
      if (fresh('github-annotations.txt')) for (const l of readFileSync(join(dir, 'github-annotations.txt'), 'utf8').split('\n')) if (l) io.stdout(l)
      const summary = io.env.GITHUB_STEP_SUMMARY
      if (summary && fresh('report.md')) {
        try {
          appendFileSync(summary, `${readFileSync(join(dir, 'report.md'), 'utf8')}\n`)
        } catch (err) {
          // The run's outcome stands; the missing summary is said, not swallowed.
          io.stderr(`driftwatch: cannot append report.md to the job summary $GITHUB_STEP_SUMMARY (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the annotations above and ${shownPath(io.cwd, join(dir, 'report.md'))} have it`)
        }
      }
      return code
    }
    if (!json) return await cmd.run(values, positionals, io)
    // --json: stdout carries the report alone; the lines a person reads go to stderr.
    const file = resolve(io.cwd, typeof values.out === 'string' ? values.out : json.out, json.file)
    const before = stampOf(file)
    const code = await cmd.run(values, positionals, { ...io, stdout: io.stderr })
    // Only a report this run wrote (a start that failed leaves an older one, which is not this run's).
    // Through the terminal guard: a control character inside a JSON string becomes its \u escape, the same JSON.
    if (existsSync(file) && stampOf(file) !== before) redacting.stdout(terminalSafe(readFileSync(file, 'utf8').trimEnd())) // the file's JSON as it is: no path shown as typed
    return code
  } catch (err) {
    return reportError(withSource(err, sources), io, args.includes('--debug'))
  }
}

/**
 * Every line a command prints passes the environment's secrets (SECRET_ENV) through a redactor, in
 * every spelling: the last guard for lines no command thought could hold one (an error message
 * quoting an upstream, a path). Patterns are left to each command's own redactor: `sim` prints its
 * Meta-shaped test token on purpose.
 */
function redactingIO(io: CliIO): CliIO {
  const secrets = secretsFromEnv(io.env)
  if (secrets.length === 0) return io
  const r = new Redactor({ secrets, patterns: false })
  return { ...io, stdout: (l) => io.stdout(r.text(l)), stderr: (l) => io.stderr(r.text(l)) }
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

/**
 * Entry point for the bin: real streams. The first SIGINT/SIGTERM stops sending (cleanup still
 * runs, reports are written, exit 130); the second abandons cleanup and the run writes what it
 * observed at once; a third, or a run that has not ended 5 s after the second, exits at once.
 * Temporary files are removed on the way out whichever way it ends (see atomic-write).
 */
export async function runFromProcess(): Promise<number> {
  const first = new AbortController()
  const second = new AbortController()
  let signals = 0
  const onSignal = () => {
    signals++
    if (signals === 1) {
      // The simulator has nothing to clean up or report: it just closes.
      const said = process.argv[2] === 'sim' ? 'stopping the simulator' : 'stopping: no new requests; cleanup and reports follow (Ctrl-C again to skip cleanup)'
      process.stderr.write(`\ndriftwatch: ${said}\n`)
      first.abort()
    } else if (signals === 2) {
      process.stderr.write('\ndriftwatch: skipping cleanup; writing what was observed (Ctrl-C again to quit now)\n')
      second.abort()
      setTimeout(() => process.exit(130), 5000).unref()
    } else process.exit(130)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return main(process.argv.slice(2), { ...defaultIO(), interrupt: first.signal, halt: second.signal })
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
    tty: process.stderr.isTTY === true,
  }
}

/**
 * The relative paths given (options and positionals) that resolve outside `cwd`, each as a pattern
 * matching its resolved form where a path ends, longest first: `--out ../elsewhere/r` echoes as
 * typed, not as /home/.../elsewhere/r. An absolute path is shown as typed already.
 */
function typedPaths(cmd: Command, values: Values, positionals: readonly string[], cwd: string): [RegExp, string][] {
  const given = [...Object.entries(values).flatMap(([k, v]) => (cmd.options[k]?.type === 'string' ? (Array.isArray(v) ? v : [v]) : [])), ...positionals]
  const out = new Map<string, string>()
  for (const g of given) {
    if (typeof g !== 'string' || g === '' || isAbsolute(g) || /^[a-z][a-z0-9+.-]*:/i.test(g)) continue
    const abs = resolve(cwd, g)
    const rel = relative(cwd, abs)
    if (rel === '..' || rel.startsWith(`..${sep}`)) out.set(abs, normalize(g).replace(/[\\/]+$/, ''))
  }
  return [...out].sort((a, b) => b[0].length - a[0].length).map(([abs, as]) => [new RegExp(`${abs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=$|[\\/\\s,;:)'"\u0060])`, 'g'), as])
}
