/**
 * Ready-to-run reproductions an on-call engineer can paste. A finding's `rerun`: one driftwatch
 * command line that re-runs just what the finding needs against the same target (the simulator
 * with its scenario, a base URL, a capture file) and shows it again. And a curl of the observed
 * request, only where that request stands alone: not against the simulator (its port is gone with
 * the run) and not when it carries an id the run itself created (a media id uploaded, then deleted).
 * The token is always `$WHATSAPP_ACCESS_TOKEN` or a variable's name, never a value; a body we only
 * have an excerpt of is said, not invented.
 *
 * A rerun starts `npx driftwatch` (an application's local install is not on PATH; npx finds it, and
 * a global one too), and writes elsewhere than the run it reproduces: `--out reports/rerun`, and no
 * history (a run of three contracts is not a run of the pack: "seen in 3 of 4 judged runs").
 */
import { resolve } from 'node:path'
import type { Probe } from '../contracts/types.ts'
import type { Finding } from './finding.ts'
import type { ObservedRequest } from './observation.ts'
import { REDACTED } from '../transport/redact.ts'

/** Quotes for a POSIX shell: single quotes, with ' as '\''. */
export function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** One shell word: as is when it holds only characters no POSIX shell treats specially, else quoted. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : sh(s)
}

/** A command line from its words, every one quoted as it needs. */
export function commandLine(words: readonly string[]): string {
  return words.map(shellWord).join(' ')
}

/** The flags of `values` (parsed options) named in `names`, as argv words: `--samples 8`, a repeatable flag once per value, `--flag` for true. */
export function flagArgs(values: Readonly<Record<string, unknown>>, names: readonly string[]): string[] {
  return names.flatMap((name) => {
    const v = values[name]
    if (v === undefined || v === false) return []
    if (v === true) return [`--${name}`]
    return (Array.isArray(v) ? v : [v]).flatMap((x) => [`--${name}`, String(x)])
  })
}

/** The words a rerun line starts with. */
export const RERUN_COMMAND = ['npx', 'driftwatch'] as const

/** Where a rerun writes its reports: not the --out of the run it reproduces, whose report it would replace. */
export const RERUN_OUT = 'reports/rerun'

/** The rerun's --out for a run that wrote to `outDir` (`cwd` its working directory): reports/rerun, or beside it for a run that wrote there itself. */
export function rerunOut(outDir: string, cwd: string): string {
  return resolve(cwd, RERUN_OUT) === resolve(cwd, outDir) ? `${RERUN_OUT}-again` : RERUN_OUT
}

/**
 * The rerun's --out and history, for a run whose options are `values`: `--out reports/rerun
 * --no-history`. When the run names its history (--history, or `history:` in
 * driftwatch.config.yaml, which a command-line --no-history would contradict), the rerun's history
 * is a file of its own in its own folder.
 */
export function rerunOutput(values: Readonly<Record<string, unknown>>, outDir: string, cwd: string): string[] {
  const out = rerunOut(outDir, cwd)
  return ['--out', out, ...(typeof values.history === 'string' ? ['--history', `${out}/history.db`] : ['--no-history'])]
}

/** Where a probe finding's rerun goes, and what it repeats of the run. */
export interface ProbeRerun {
  /** `sim` or the base URL. */
  target: string
  /** The simulator's scenario (always said for the simulator, baseline included). */
  scenario?: string
  /** Standard credential variable -> the variable that holds this target's value (a targets-file entry): `WHATSAPP_ACCESS_TOKEN="$ACME_TOKEN"`; '' unsets it for the rerun. */
  env?: Readonly<Record<string, string>>
  /** Flags of the run the rerun repeats (`--samples 8`, `--contracts dir`), and where it writes (rerunOutput), as argv words. */
  args?: readonly string[]
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The words of a rerun, with `--out reports/rerun --no-history` when they do not say where it writes (rerunOutput). */
function writingElsewhere(args: readonly string[], noHistory = true): readonly string[] {
  return args.includes('--out') ? args : [...args, '--out', RERUN_OUT, ...(noHistory ? ['--no-history'] : [])]
}

/**
 * `npx driftwatch check --target sim --scenario media-chunked --only media.retrieve-url --out
 * reports/rerun --no-history`: the probes named (--only pulls in what they depend on, an upload
 * before a download, and the cleanup that deletes what it uploaded), against the same target. A
 * targets-file entry's credentials are passed by variable name, never by value.
 */
export function probeRerun(ctx: ProbeRerun, contracts: readonly string[], extra: readonly string[] = []): string {
  const env = Object.entries(ctx.env ?? {}).filter(([k, v]) => ENV_NAME.test(k) && (v === '' || ENV_NAME.test(v))).map(([k, v]) => (v === '' ? `${k}=` : `${k}="$${v}"`))
  const words = [...RERUN_COMMAND, 'check', '--target', ctx.target, ...(ctx.scenario ? ['--scenario', ctx.scenario] : []), ...contracts.flatMap((c) => ['--only', c]), ...writingElsewhere([...(ctx.args ?? []), ...extra])]
  return [...env, commandLine(words)].join(' ')
}

/** `npx driftwatch verify <capture>`: verify judges a capture as a whole (sample consistency spans entries), so the rerun is the file, not one entry of it. */
export function trafficRerun(input: string, args: readonly string[] = []): string {
  // A file named like a flag stays a file.
  return commandLine([...RERUN_COMMAND, 'verify', input.startsWith('-') ? `./${input}` : input, ...writingElsewhere(args)])
}

/** `npx driftwatch gate --pacts ... --out reports/rerun`: the gate is offline and fast, so its rerun is the whole gate over the same inputs (gate keeps no history). */
export function gateRerun(args: readonly string[] = []): string {
  return commandLine([...RERUN_COMMAND, 'gate', ...writingElsewhere(args, false)])
}

/** True when the probe sends a value another probe of the run captured (a media id the run uploaded): its request means nothing outside the run. */
export function usesRunState(probe: Pick<Probe, 'id' | 'uses'>, all: readonly Pick<Probe, 'id' | 'capture'>[]): boolean {
  return probe.uses.some((v) => all.some((o) => o.id !== probe.id && o.capture.some((c) => c.name === v)))
}

/** The finding with its rerun, and its curl kept only when the request stands alone (quietly dropped otherwise: the rerun reproduces it). */
export function withRerun(f: Finding, rerun: string | undefined, curlStandsAlone: boolean): Finding {
  const { curl, ...rest } = f.evidence
  const evidence = curl !== undefined && curlStandsAlone ? f.evidence : rest
  return { ...f, evidence, ...(rerun !== undefined ? { rerun } : {}) }
}

/** Headers curl sets itself, or that a transport added and a person need not. */
const SKIP = new Set(['host', 'content-length', 'connection', 'user-agent', 'accept-encoding', 'transfer-encoding'])

/** `curl -sS -i -X POST ... 'url'`, with the token as $WHATSAPP_ACCESS_TOKEN. */
export function curlFor(req: Pick<ObservedRequest, 'method' | 'url' | 'headers' | 'bodyExcerpt' | 'bodySize' | 'tokenSent'>): string {
  const parts = ['curl -sS -i']
  if (req.method !== 'GET') parts.push(`-X ${req.method}`)
  let auth = false
  for (const [name, value] of req.headers) {
    const lower = name.toLowerCase()
    if (SKIP.has(lower)) continue
    if (lower === 'authorization') {
      auth = true
      parts.push(`-H "Authorization: Bearer $WHATSAPP_ACCESS_TOKEN"`)
      continue
    }
    if (lower === 'content-type' && value.startsWith('multipart/')) continue
    parts.push(`-H ${sh(`${name}: ${value}`)}`)
  }
  if (!auth && req.tokenSent) parts.push(`-H "Authorization: Bearer $WHATSAPP_ACCESS_TOKEN"`)
  const body = req.bodyExcerpt
  let note: string | undefined
  if (body !== undefined && req.bodySize > 0) {
    if (body.startsWith('multipart/form-data: ')) note = `# body was ${body}: pass each part with -F name=value (files as -F file=@path)`
    else if (body.endsWith('…') || body.includes(REDACTED)) note = `# body (${req.bodySize} bytes) was only kept as an excerpt: ${body.replace(/\n/g, ' ')}`
    else parts.push(`--data-raw ${sh(body)}`)
  }
  // A token in the query (access_token=...) was redacted: put the variable back.
  const url = req.url.split(encodeURIComponent(REDACTED)).join('$WHATSAPP_ACCESS_TOKEN').split(REDACTED).join('$WHATSAPP_ACCESS_TOKEN')
  parts.push(url.includes('$WHATSAPP_ACCESS_TOKEN') ? `"${url.replace(/(["\\`])/g, '\\$1')}"` : sh(url))
  return note ? `${note}\n${parts.join(' ')}` : parts.join(' ')
}
