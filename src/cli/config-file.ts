/**
 * Where a command's options come from besides its command line (issue 20): `driftwatch.config.yaml`
 * in the working directory (or the file DRIFTWATCH_CONFIG names), then `DRIFTWATCH_*` environment
 * variables, then the flags; each overrides the one before. Every option a command takes can live
 * in the file: under `defaults:` for every command that takes it, or under the command's name.
 *
 *   defaults:
 *     contracts: contracts/meta
 *     fail-on: breaking
 *   check:
 *     target: https://graph.facebook.com
 *     format: [json, md, junit, html]
 *
 * `DRIFTWATCH_FAIL_ON=warning` is `--fail-on warning` (the option's name upper-cased, dashes as
 * underscores), for every command that takes it. Unknown keys and wrong types are refused with
 * the file, the key and the fix; a key that no command takes in `defaults:` too.
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { HarnessError } from '../util/errors.ts'
import { shownPath } from '../util/paths.ts'
import { suggest, type Command, type Values } from './options.ts'

// yaml is loaded when there is a file to read: most runs have none, and it is ~45 ms of a start.
const require = createRequire(import.meta.url)

/** The file looked for in the working directory. */
export const CONFIG_FILE = 'driftwatch.config.yaml'

/** Options that only make sense on a command line. */
const NOT_CONFIGURABLE = new Set(['help', 'json'])

type Raw = Record<string, unknown>

/** The config file as read: per command (and `defaults`), its options. */
export interface ConfigFile {
  file: string
  sections: Record<string, Raw>
}

/** Reads the config file, if there is one; refuses what is not a mapping of sections. */
export function readConfig(cwd: string, env: Readonly<Record<string, string | undefined>>, commands: readonly Command[]): ConfigFile | undefined {
  const named = env.DRIFTWATCH_CONFIG
  const file = resolve(cwd, named ?? CONFIG_FILE)
  if (!existsSync(file)) {
    if (named) throw new HarnessError('DW_USAGE', `DRIFTWATCH_CONFIG names ${named}, which does not exist: unset it, or point it at a driftwatch.config.yaml (driftwatch init writes one)`)
    return undefined
  }
  const shown = shownPath(cwd, file)
  const { parse } = require('yaml') as typeof import('yaml')
  let doc: unknown
  try {
    doc = parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new HarnessError('DW_USAGE', `${shown} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, { file: shown })
  }
  if (doc === null || doc === undefined) return { file: shown, sections: {} }
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new HarnessError('DW_USAGE', `${shown} must be a mapping of sections (defaults:, check:, verify:, ...), not a ${Array.isArray(doc) ? 'list' : typeof doc}`, { file: shown })
  const names = commands.map((c) => c.name)
  const sections: Record<string, Raw> = {}
  for (const [k, v] of Object.entries(doc as Raw)) {
    if (k !== 'defaults' && !names.includes(k)) throw new HarnessError('DW_USAGE', `${shown}: unknown section "${k}"${suggest(k, ['defaults', ...names])}; sections are defaults and the commands (${names.join(', ')})`, { file: shown })
    if (v === null) continue
    if (typeof v !== 'object' || Array.isArray(v)) throw new HarnessError('DW_USAGE', `${shown}: "${k}" must be a mapping of options (fail-on: breaking), not a ${Array.isArray(v) ? 'list' : typeof v}`, { file: shown })
    sections[k] = v as Raw
  }
  // A key under defaults must be an option of some command; one under a command, an option of it.
  const all = new Set(commands.flatMap((c) => Object.keys(c.options)))
  for (const key of Object.keys(sections.defaults ?? {})) {
    if (NOT_CONFIGURABLE.has(key)) throw new HarnessError('DW_USAGE', `${shown}: defaults.${key}: --${key} is for the command line only, not the config file`, { file: shown })
    if (!all.has(key)) throw new HarnessError('DW_USAGE', `${shown}: defaults.${key} is not an option any command takes${suggest(key, [...all])}`, { file: shown })
  }
  for (const c of commands) {
    for (const key of Object.keys(sections[c.name] ?? {})) {
      if (NOT_CONFIGURABLE.has(key) && c.options[key]) throw new HarnessError('DW_USAGE', `${shown}: ${c.name}.${key}: --${key} is for the command line only, not the config file`, { file: shown })
      if (!c.options[key] || NOT_CONFIGURABLE.has(key)) throw new HarnessError('DW_USAGE', `${shown}: ${c.name}.${key} is not an option of ${c.name}${suggest(key, Object.keys(c.options))} (see driftwatch help ${c.name})`, { file: shown })
    }
  }
  return { file: shown, sections }
}

/** One value from the file or the environment, as parseArgs would have given it; refused with where it came from when its type is wrong. */
function asValue(cmd: Command, key: string, v: unknown, where: string): string | boolean | string[] {
  const o = cmd.options[key]!
  if (o.type === 'boolean') {
    if (typeof v === 'boolean') return v
    if (v === 'true' || v === '1') return true
    if (v === 'false' || v === '0') return false
    throw new HarnessError('DW_USAGE', `${where}: ${key} is true or false (a switch), not ${JSON.stringify(v)}`)
  }
  const one = (x: unknown): string => {
    if (typeof x === 'string' || typeof x === 'number') return String(x)
    throw new HarnessError('DW_USAGE', `${where}: ${key} takes ${o.arg ?? 'a value'}, not ${JSON.stringify(x)}`)
  }
  if (o.multiple) return Array.isArray(v) ? v.map(one) : one(v).split(',').map((s) => s.trim()).filter(Boolean)
  // A list where the option takes one: `format: [json, md]` is --format json,md; `out: [a, b]` is refused (it was a folder "a,b").
  if (Array.isArray(v)) {
    if (o.arg !== '<list>') throw new HarnessError('DW_USAGE', `${where}: ${key} takes one value (${o.arg ?? 'a value'}), not a list`)
    return v.map(one).join(',')
  }
  return one(v)
}

/** The environment variable an option is read from: DRIFTWATCH_FAIL_ON for --fail-on. */
export function envName(option: string): string {
  return `DRIFTWATCH_${option.toUpperCase().replace(/-/g, '_')}`
}

/** DRIFTWATCH_* variables driftwatch reads that are not an option: the config file's name, the HAR reader's thread. */
const OTHER_VARIABLES = new Set(['DRIFTWATCH_CONFIG', 'DRIFTWATCH_READ_THREAD', 'DRIFTWATCH_FUZZ_SEED', 'DRIFTWATCH_CHROMIUM'])

/**
 * `DRIFTWATCH_*` variables no command reads (a typo, DRIFTWATCH_FAIL_ONN, or an option that does not
 * exist), each as a warning naming the variable and the closest one: a variable is global, so one
 * set for another command (DRIFTWATCH_TARGET while running gate) is not one of these, and a warning
 * is not a refusal, since a CI environment may carry variables for other tools of the same name.
 */
export function unknownVariables(env: Readonly<Record<string, string | undefined>>, commands: readonly Command[]): string[] {
  const known = new Set([...OTHER_VARIABLES, ...commands.flatMap((c) => Object.keys(c.options).filter((k) => !NOT_CONFIGURABLE.has(k)).map(envName))])
  return Object.keys(env)
    .filter((k) => k.startsWith('DRIFTWATCH_') && env[k] !== undefined && !known.has(k))
    .sort()
    .map((k) => {
      const flag = [...NOT_CONFIGURABLE].find((o) => envName(o) === k)
      if (flag) return `driftwatch: warning: ${k} is ignored: --${flag} is for the command line only`
      return `driftwatch: warning: ${k} is not a variable driftwatch reads, so it is ignored${suggest(k, [...known])} (DRIFTWATCH_<OPTION> sets --<option>, e.g. DRIFTWATCH_FAIL_ON for --fail-on)`
    })
}

/**
 * A command's values: the config file's (defaults, then its section), the environment's over them,
 * the command line's over both. Says nothing when there is neither a file nor a variable.
 */
export function withConfig(cmd: Command, values: Values, config: ConfigFile | undefined, env: Readonly<Record<string, string | undefined>>): Values {
  const merged: Values = {}
  const options = Object.keys(cmd.options).filter((k) => !NOT_CONFIGURABLE.has(k))
  for (const section of ['defaults', cmd.name]) {
    const raw = config?.sections[section]
    if (!raw) continue
    for (const [k, v] of Object.entries(raw)) if (cmd.options[k] && !NOT_CONFIGURABLE.has(k)) merged[k] = asValue(cmd, k, v, `${config!.file}: ${section}.${k}`)
  }
  const fromEnv: Values = {}
  for (const k of options) {
    const v = env[envName(k)]
    if (v !== undefined && v !== '') fromEnv[k] = asValue(cmd, k, v, envName(k))
  }
  // Each layer over the ones under it; what a layer's option replaces goes from the layers under it,
  // never from the layer itself (--target with --targets on one command line is still refused).
  const over = (under: Values, layer: Values): Values => {
    const out = { ...under }
    for (const k of Object.keys(layer)) for (const r of REPLACES[k] ?? []) if (!(r in layer)) delete out[r]
    // --json writes the report on stdout, as --format github writes annotations there: a layer's --json
    // takes github out of the formats a layer under it gave (a config file's format: [..., github]).
    if (layer.json === true && !('format' in layer) && out.format !== undefined) {
      const list = (Array.isArray(out.format) ? out.format.map(String) : String(out.format).split(',')).map((f) => f.trim())
      if (list.includes('github')) out.format = list.filter((f) => f !== 'github').join(',')
    }
    return { ...out, ...layer }
  }
  return over(over(merged, fromEnv), values)
}

/**
 * Where each option not given on the command line came from, in words (`driftwatch.config.yaml:
 * check.fail-on`, `DRIFTWATCH_FAIL_ON`): an error about its value names it, so the fix is findable.
 */
export function sourcesOf(cmd: Command, values: Values, config: ConfigFile | undefined, env: Readonly<Record<string, string | undefined>>): Map<string, string> {
  const out = new Map<string, string>()
  for (const section of ['defaults', cmd.name]) {
    for (const k of Object.keys(config?.sections[section] ?? {})) if (cmd.options[k] && !NOT_CONFIGURABLE.has(k)) out.set(k, `${config!.file}: ${section}.${k}`)
  }
  for (const k of Object.keys(cmd.options)) {
    const v = env[envName(k)]
    if (!NOT_CONFIGURABLE.has(k) && v !== undefined && v !== '') out.set(k, envName(k))
  }
  for (const k of Object.keys(values)) out.delete(k)
  return out
}

/**
 * Options that stand in for others: `--targets` names every target (and its scenario) itself, so
 * a `target:` in the config file (init writes one for check) must not collide with it, and a
 * `--target` on the command line wins over a file's `targets:`.
 */
const REPLACES: Readonly<Record<string, readonly string[]>> = { targets: ['target', 'scenario'], target: ['targets'], scenario: ['targets'], 'no-history': ['history'], history: ['no-history'] }
