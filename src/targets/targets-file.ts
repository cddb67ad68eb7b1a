/**
 * A targets file: the accounts one run probes. A business solution provider runs hundreds of WABAs,
 * each with its own token, and Meta rolls features out per app and account, so one account's
 * green run says little about the next one's.
 *
 * ```yaml
 * targets:
 *   - name: acme-br                      # letters, digits, . _ -; unique
 *     target: https://graph.facebook.com # or sim (the embedded simulator)
 *     env:                               # the environment variables holding this target's credentials
 *       token: ACME_BR_TOKEN
 *       phone_number_id: ACME_BR_PHONE_NUMBER_ID
 *       waba_id: ACME_BR_WABA_ID
 *       test_recipient: ACME_BR_TEST_RECIPIENT   # optional
 *   - name: lab
 *     target: sim
 *     scenario: media-chunked            # sim only
 * ```
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parse } from 'yaml'
import { ENV } from './target.ts'
import { HarnessError } from '../util/errors.ts'
import { shownPath } from '../util/paths.ts'
import { scenarioNames, unknownScenario } from '../simulator/scenarios/index.ts'

/** Which environment variable holds each credential of one target. */
export interface TargetEnv {
  token: string
  phone_number_id: string
  waba_id: string
  test_recipient?: string
}

export interface Target {
  name: string
  /** `sim` or a base URL. */
  target: string
  scenario?: string
  env?: TargetEnv
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const ENV_KEYS = ['token', 'phone_number_id', 'waba_id', 'test_recipient'] as const

/** Reads and validates a targets file; every problem is named with its place and fix, all at once. */
export function loadTargets(file: string, cwd = process.cwd()): Target[] {
  const path = resolve(cwd, file)
  const shown = shownPath(cwd, file)
  let doc: unknown
  try {
    doc = parse(readFileSync(path, 'utf8'))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new HarnessError('DW_CONFIG_INVALID', code === 'ENOENT' ? `--targets ${shown}: no such file` : `${shown} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, { file: shown })
  }
  const list = (doc as { targets?: unknown } | null)?.targets
  if (!Array.isArray(list) || list.length === 0) throw new HarnessError('DW_CONFIG_INVALID', `${shown}: expected a "targets:" list with at least one target (name, target, env); see the README's "Many accounts"`, { file: shown })
  const problems: string[] = []
  const seen = new Map<string, number>()
  const out: Target[] = []
  list.forEach((raw, i) => {
    const at = `${shown} targets[${i}]`
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push(`${at}: expected a mapping with name, target and env`)
      return
    }
    const t = raw as Record<string, unknown>
    for (const k of Object.keys(t)) if (!['name', 'target', 'scenario', 'env'].includes(k)) problems.push(`${at}.${k}: unknown field (fields: name, target, scenario, env)`)
    const name = t.name
    if (typeof name !== 'string' || !NAME.test(name)) problems.push(`${at}.name: ${name === undefined ? 'missing' : `"${String(name)}" is not a name`}: letters, digits, . _ - (up to 64)`)
    else if (seen.has(name)) problems.push(`${at}.name: "${name}" is already targets[${seen.get(name)}]'s name; names must be unique`)
    else seen.set(name, i)
    const target = t.target ?? 'sim'
    if (typeof target !== 'string' || (target !== 'sim' && !/^https?:\/\/[^/?#]+\/?$/.test(target))) problems.push(`${at}.target: "${String(target)}" must be sim or a base URL such as https://graph.facebook.com (no path, no query)`)
    if (t.scenario !== undefined) {
      if (target !== 'sim') problems.push(`${at}.scenario: only for target: sim (scenarios are simulator behaviours)`)
      else if (typeof t.scenario !== 'string' || !scenarioNames().includes(t.scenario)) problems.push(`${at}.scenario: ${unknownScenario(String(t.scenario))}`)
    }
    let env: TargetEnv | undefined
    if (t.env !== undefined) {
      const e = t.env as Record<string, unknown>
      if (e === null || typeof e !== 'object' || Array.isArray(e)) problems.push(`${at}.env: expected a mapping of ${ENV_KEYS.join(', ')} to environment variable names`)
      else {
        for (const k of Object.keys(e)) if (!(ENV_KEYS as readonly string[]).includes(k)) problems.push(`${at}.env.${k}: unknown credential (known: ${ENV_KEYS.join(', ')})`)
        for (const k of ENV_KEYS) {
          const v = e[k]
          if (v === undefined) {
            if (k !== 'test_recipient' && target !== 'sim') problems.push(`${at}.env.${k}: missing: name the environment variable that holds it, e.g. ${String(name ?? 'ACME').toUpperCase().replace(/[^A-Z0-9]/g, '_')}_${k.toUpperCase()}`)
          } else if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) problems.push(`${at}.env.${k}: "${String(v)}" is not an environment variable name (the file names variables; it never holds the secret itself)`)
        }
        env = e as unknown as TargetEnv
      }
    } else if (target !== 'sim') problems.push(`${at}.env: missing: a live target needs env: {token, phone_number_id, waba_id} naming the environment variables that hold them`)
    out.push({ name: String(name), target: String(target), ...(typeof t.scenario === 'string' ? { scenario: t.scenario } : {}), ...(env ? { env } : {}) })
  })
  if (problems.length) throw new HarnessError('DW_CONFIG_INVALID', `${shown} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${p}`).join('\n')}`, { file: shown })
  return out
}

/** `--shard 2/3` → { index: 2, of: 3 }. */
export function parseShard(text: string): { index: number; of: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim())
  const index = m ? Number(m[1]) : NaN
  const of = m ? Number(m[2]) : NaN
  if (!m || of < 1 || index < 1 || index > of) throw new HarnessError('DW_USAGE', `--shard must be i/n with 1 <= i <= n, e.g. --shard 1/3; not "${text}"`)
  return { index, of }
}

/** The share of the targets shard i of n runs: round-robin over the names in sorted order, so shards are balanced and the same on every machine. */
export function shardOf(targets: readonly Target[], shard: { index: number; of: number } | undefined): Target[] {
  const sorted = [...targets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return shard ? sorted.filter((_, i) => i % shard.of === shard.index - 1) : sorted
}

/** The environment one target's session sees: its own credentials under the standard names, nobody else's. */
export function targetEnvironment(t: Target, env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const own: Record<string, string | undefined> = { ...env, [ENV.token]: undefined, [ENV.phoneNumberId]: undefined, [ENV.wabaId]: undefined, [ENV.testRecipient]: undefined }
  if (!t.env) return own
  const missing = (['token', 'phone_number_id', 'waba_id'] as const).filter((k) => !env[t.env![k]]?.trim()).map((k) => t.env![k])
  if (missing.length && t.target !== 'sim') throw new HarnessError('DW_CONFIG_MISSING_ENV', `target ${t.name}: environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not set (the targets file names ${missing.length > 1 ? 'them' : 'it'} for this target's credentials)`, { missing })
  own[ENV.token] = env[t.env.token]
  own[ENV.phoneNumberId] = env[t.env.phone_number_id]
  own[ENV.wabaId] = env[t.env.waba_id]
  if (t.env.test_recipient) own[ENV.testRecipient] = env[t.env.test_recipient]
  return own
}
