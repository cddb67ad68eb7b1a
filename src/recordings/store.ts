/**
 * Golden recordings: what an upstream really did, one file per contract and name
 * (`recordings/meta/<contract-id>/<name>.json`). Secrets are already out (the transport redacts
 * requests); before a file is written, personal data in bodies is replaced by stable placeholders,
 * volatile values are listed, and a last secret pass runs. Writes are atomic, and a recording equal
 * to the file on disk but for volatile values leaves the file untouched (no git diff).
 * `gate` replays recordings as a provider; `check` compares with them (golden-diff, schema-drift).
 */
import { hash } from 'node:crypto'
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { ensureDir, writeFileAtomic } from '../util/atomic-write.ts'
import { HarnessError } from '../util/errors.ts'
import type { Observation, ObservedBody } from '../model/observation.ts'
import type { Redactor } from '../transport/redact.ts'
import type { PersonalDataRedactor } from './personal-data.ts'
import { recordingProblem } from './recording-shape.ts'
import { isVolatileHeader, stableView, volatileBodyPaths } from './volatile.ts'
import { shownPath } from '../util/paths.ts'

/** One recording file. */
export interface Recording {
  version: 1
  contract: string
  /** e.g. `sim-baseline` or `live`. */
  name: string
  /** `sim` or the base URL recorded. */
  target: string
  scenario?: string
  apiVersion: string
  recordedAt: string
  /** Who wrote it when not `record`: `driftwatch proxy` (a problem in such a file never stops another command). */
  recorder?: string
  /** What is not compared byte for byte: response header names and body JSON pointers (`*` = any index). */
  volatile?: { headers: string[]; body: string[] }
  /** Distinct personal values replaced by placeholders. */
  personalData?: number
  /** Version of the redaction rules the file was written with; a file from older rules is rewritten, never kept. */
  redaction?: number
  /** Exchanges the recorder saw (a proxy records the first few of each shape and counts the rest); absent when every one is in `observations`. */
  exchanges?: number
  observations: Observation[]
}

/** Whether writeRecording wrote the file or found it already equal. */
export type WriteStatus = 'written' | 'unchanged'

/** Path of a recording inside a recordings directory. */
export function recordingPath(dir: string, contract: string, name: string): string {
  return join(dir, contract, `${name}.json`)
}

/**
 * Bump when redaction or volatile rules change: files written under older rules are rewritten on the next record.
 * 2: secrets in every spelling (hex, base64, escaped, any case), and binary bodies holding one keep no bytes.
 */
export const REDACTION_RULES = 2

/** Personal data out and volatile values listed: the recording as it will be written. */
export function prepareRecording(rec: Recording, personal: PersonalDataRedactor): Recording {
  const before = personal.count
  const observations = rec.observations.map((o) => redactPersonal(o, personal))
  const headers = new Set<string>()
  const body = new Set<string>()
  for (const o of observations) collectVolatile(o, headers, body)
  return {
    ...rec,
    volatile: { headers: [...headers].sort(), body: [...body].sort() },
    personalData: personal.count - before,
    redaction: REDACTION_RULES,
    observations,
  }
}

/** Adds the volatile response header names and body pointers of one observation to the sets (a recording's `volatile`). */
export function collectVolatile(o: Observation, headers: Set<string>, body: Set<string>): void {
  for (const [n] of o.response?.rawHeaders ?? []) if (isVolatileHeader(n)) headers.add(n.toLowerCase())
  for (const p of volatileBodyPaths(o.response?.body.json)) body.add(p)
}

/** Whether two recordings show the same upstream behaviour (volatile values, times and origins aside). */
export function sameBehaviour(a: Recording, b: Recording): boolean {
  return (
    a.observations.length === b.observations.length &&
    a.apiVersion === b.apiVersion &&
    a.redaction === b.redaction &&
    a.personalData === b.personalData &&
    isDeepStrictEqual(a.volatile, b.volatile) &&
    isDeepStrictEqual(a.observations.map(stableView), b.observations.map(stableView))
  )
}

/**
 * Writes a recording atomically after `prepareRecording`, with a last secret pass. When the file
 * on disk already shows the same behaviour it is left as it is, so re-recording an unchanged
 * upstream produces no diff.
 */
export async function writeRecording(dir: string, rec: Recording, redactor: Redactor): Promise<{ file: string; status: WriteStatus }> {
  const file = recordingPath(dir, rec.contract, rec.name)
  // Observation by observation first: text can be redacted in place in the file, but a binary body's
  // base64 cannot, so one holding a secret in any spelling keeps its size and hash only.
  const safe: Recording = { ...rec, observations: rec.observations.map((o) => redactor.observation(o)) }
  const existing = readIfValid(file)
  if (existing && sameBehaviour(existing, safe)) return { file, status: 'unchanged' }
  try {
    await ensureDir(join(dir, rec.contract))
    await writeFileAtomic(file, redactor.text(`${JSON.stringify(safe, null, 2)}\n`))
  } catch (err) {
    throw new HarnessError('DW_OUTPUT_FAILED', `cannot write recording ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  return { file, status: 'written' }
}

/** The recording at `file` if it is one (version 1, observations listed), else undefined. */
export function readIfValid(file: string): Recording | undefined {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as Recording
    return r?.version === 1 && Array.isArray(r.observations) ? r : undefined
  } catch {
    return undefined
  }
}

/**
 * One observation with personal data replaced in the URL, the request excerpt, headers and body. A part with nothing
 * personal in it is the same object (a header list, the request, the response): most are, and copying every header
 * of every entry showed in verify's profiles. The observation itself is always a new object.
 */
export function redactPersonal(o: Observation, personal: PersonalDataRedactor): Observation {
  // JSON first: keys decide what is personal and register the values; raw text follows, in this order (placeholders are numbered as values are met).
  const json = o.response?.body.json !== undefined ? personal.json(o.response.body.json) : undefined
  const q = o.request
  const url = personal.text(q.url)
  const headers = personalHeaders(q.headers, personal)
  const bodyExcerpt = q.bodyExcerpt !== undefined ? personal.text(q.bodyExcerpt) : undefined
  const request = url === q.url && headers === q.headers && bodyExcerpt === q.bodyExcerpt ? q : { ...q, url, headers, ...(bodyExcerpt !== undefined ? { bodyExcerpt } : {}) }
  if (!o.response) return { ...o, request }
  const r = o.response
  const rawHeaders = personalHeaders(r.rawHeaders, personal)
  const body = redactBody(r.body, json, personal)
  return { ...o, request, response: rawHeaders === r.rawHeaders && body === r.body ? r : { ...r, rawHeaders, body } }
}

/** Headers with personal data replaced in their values; the same list when none had any. */
function personalHeaders<H extends readonly [string, string]>(list: readonly H[], personal: PersonalDataRedactor): [string, string][] {
  let out: [string, string][] | undefined
  for (let i = 0; i < list.length; i++) {
    const [n, v] = list[i]!
    const t = personal.text(v)
    if (t !== v && !out) out = list.slice(0, i).map(([a, b]): [string, string] => [a, b])
    out?.push([n, t])
  }
  return out ?? (list as unknown as [string, string][])
}

function redactBody(b: ObservedBody, json: unknown, personal: PersonalDataRedactor): ObservedBody {
  if (b.text === undefined) return b
  let text = personal.text(b.text)
  // Nothing personal in the JSON (the walk returned the body's own value) and nothing in the text: the body stands as it is.
  if (text === b.text && (json === undefined || json === b.json)) return b
  if (json !== undefined && !b.truncated) {
    // The replaced text must still parse to the replaced JSON. Most bodies are compact JSON, which the replaced JSON
    // serialises back to exactly: no parse needed to tell.
    let same = JSON.stringify(json) === text
    let parsed: unknown
    if (!same) {
      try {
        parsed = JSON.parse(text)
        same = isDeepStrictEqual(parsed, json)
      } catch {}
    }
    if (!same) {
      // They differ both ways: the text pass replaces a known value wherever it stands (a recipient's number quoted in
      // a field no key marks as personal), and the JSON pass a value an encoder spelled differently in the text.
      // Keep both: the JSON of the replaced text (when it parses) walked again, serialised and passed over again.
      text = personal.text(JSON.stringify(parsed !== undefined ? personal.json(parsed) : json))
      try {
        json = JSON.parse(text)
      } catch {}
    }
  }
  if (text === b.text) return b
  const bytes = Buffer.from(text, 'utf8')
  // The stored body is what replays; hash and size describe it, not the original (a hash of a body with a phone number in it is personal data too).
  return { ...b, text, ...(json !== undefined ? { json } : {}), size: bytes.length, keptBytes: bytes.length, sha256: hash('sha256', bytes, 'hex') }
}

/** Every recording in a directory, by contract id; a malformed file fails with its path and what is wrong. */
/** A recording that cannot be read, and how to repair it. */
export interface RecordingProblem {
  file: string
  contract: string
  message: string
  /** Commands that repair it. */
  repair: string
  /** Written by the proxy: a problem with it is a warning, never a refusal (a proxy running beside a team must not stop their commands). */
  proxy?: boolean
}

/** What marks a recording the proxy wrote (compact.ts writes it among the first keys). */
export const PROXY_RECORDER = 'driftwatch proxy'
/** Recordings larger than this are not read (a proxy before bounded storage could write 1.5 GB); the file is named instead. */
export const MAX_RECORDING_BYTES = 256 * 1024 * 1024

/** Whether the file's first bytes say the proxy wrote it (read without reading the whole file: it may be huge or cut short). */
function writtenByProxy(file: string): boolean {
  let fd: number | undefined
  try {
    fd = openSync(file, 'r')
    const head = Buffer.alloc(4096)
    const n = readSync(fd, head, 0, head.length, 0)
    return new RegExp(`"recorder":\\s*"${PROXY_RECORDER}"`).test(head.subarray(0, n).toString('utf8'))
  } catch {
    return false
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

function repairOf(rel: string, contract: string, dir: string, cwd: string, proxy: boolean): string {
  const name = basename(rel, '.json')
  if (proxy) return `delete it (\`rm ${rel}\`) or move it out of ${shownPath(cwd, dir)}: the proxy writes it again, bounded, at its next compaction`
  const where = shownPath(cwd, dir)
  const dirFlag = where === 'recordings/meta' ? '' : ` --recordings ${where}`
  return `re-record it with \`driftwatch record --only ${contract} --name ${name}${dirFlag}\` (add --target <base-url> if it was recorded live), or restore it with \`git checkout -- ${rel}\``
}

/**
 * Reads every recording under `dir`. A malformed one throws DW_RECORDING_INVALID naming the file
 * and the commands that repair it, unless `problems` is given: then it is listed there and skipped.
 * A malformed (or over MAX_RECORDING_BYTES) one the proxy wrote never throws: it is listed in
 * `problems`, or, without them, skipped with a process warning naming it and the fix.
 */
export function loadRecordings(dir: string, cwd: string = process.cwd(), problems?: RecordingProblem[]): Map<string, Recording[]> {
  const out = new Map<string, Recording[]>()
  if (!existsSync(dir)) return out
  for (const contract of readdirSync(dir).sort()) {
    const cdir = join(dir, contract)
    if (!statSync(cdir).isDirectory()) continue
    for (const f of readdirSync(cdir).filter((x) => x.endsWith('.json')).sort()) {
      const file = join(cdir, f)
      const rel = shownPath(cwd, file)
      let rec: Recording | undefined
      let problem: string | undefined
      const size = statSync(file).size
      if (size > MAX_RECORDING_BYTES) problem = `is ${Math.round(size / 1024 / 1024)} MB, over the ${MAX_RECORDING_BYTES / 1024 / 1024} MB a recording is read at`
      else {
        try {
          rec = JSON.parse(readFileSync(file, 'utf8')) as Recording
        } catch (err) {
          problem = `is not valid JSON (${(err as Error).message})`
        }
      }
      problem ??=
        rec?.version !== 1 ? 'has a missing or unknown "version" (expected 1)'
        : rec.contract !== contract ? `says "contract": "${rec.contract}" but the file is in ${contract}/`
        : !Array.isArray(rec.observations) || rec.observations.length === 0 ? 'has no "observations" (a non-empty list is required)'
        : recordingProblem(rec)
      if (problem !== undefined || !rec) {
        const proxy = rec?.recorder === PROXY_RECORDER || (rec === undefined && writtenByProxy(file))
        const p: RecordingProblem = { file: rel, contract, message: `recording ${rel} ${problem}`, repair: repairOf(rel, contract, dir, cwd, proxy), ...(proxy ? { proxy } : {}) }
        if (!problems && proxy) {
          process.emitWarning(`${p.message}; it was skipped: ${p.repair}`, { code: 'DW_RECORDING_SKIPPED' })
          continue
        }
        if (!problems) throw new HarnessError('DW_RECORDING_INVALID', `${p.message}: ${p.repair}`, { file: rel })
        problems.push(p)
        continue
      }
      const list = out.get(contract) ?? []
      list.push(rec)
      out.set(contract, list)
    }
  }
  return out
}

/** The most recent recording of a contract (by recordedAt), or undefined. */
export function latestRecording(all: Map<string, Recording[]>, contract: string): Recording | undefined {
  return [...(all.get(contract) ?? [])].sort((a, b) => b.recordedAt.localeCompare(a.recordedAt))[0]
}

/**
 * The recording each contract is compared with: one made against the same target (the
 * simulator's for `sim`; for a base URL, recordings of that origin, e.g. by `record --target` or
 * the proxy), preferring `sim-baseline` for the simulator, else the most recent. A drift scenario
 * is thus compared with the baseline, and a live run never with the simulator or a test server.
 */
export function chooseGolden(all: Map<string, Recording[]>, target: string): Map<string, Recording> {
  const origin = (t: string) => {
    if (t === 'sim') return 'sim'
    try {
      return new URL(t).origin
    } catch {
      return t
    }
  }
  const want = origin(target)
  const out = new Map<string, Recording>()
  for (const [contract, list] of all) {
    const same = list.filter((r) => origin(r.target) === want)
    const pick = (target === 'sim' ? same.find((r) => r.name === 'sim-baseline') : undefined) ?? [...same].sort((a, b) => b.recordedAt.localeCompare(a.recordedAt))[0]
    if (pick) out.set(contract, pick)
  }
  return out
}
