/**
 * Captured traffic from whatever a team has: a HAR 1.2 file (browsers, mitmproxy, Charles), a VCR
 * cassette (Ruby VCR or Python vcrpy, how most SDKs keep Meta's answers in their tests), or a
 * directory of driftwatch recordings. The format is told from the content, not the extension.
 * A HAR is streamed (any size, flat memory); a cassette is read whole, up to MAX_CASSETTE_BYTES, in
 * a worker thread when it is large (read-cassette.ts), so that a signal is seen while its YAML parses.
 */
import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs'
import { resolve } from 'node:path'
import { loadContracts } from '../contracts/load.ts'
import type { ContractPack } from '../contracts/types.ts'
import { HarnessError } from '../util/errors.ts'
import { PersonalDataRedactor } from '../recordings/personal-data.ts'
import { loadRecordings, type Recording } from '../recordings/store.ts'
import { Redactor, secretsFromEnv, type RedactorOptions } from '../transport/redact.ts'
import type { TrafficEntry } from './entry.ts'
import { streamHar, type StreamOptions } from './har.ts'
import { looksLikeWebhookFile, streamWebhookFile } from '../webhooks/traffic.ts'
import { readsInWorker, streamHarInWorker } from './read-har-thread.ts'
import { shownPath } from '../util/paths.ts'

/** What kind of capture it was. */
export type TrafficKind = 'har' | 'cassette' | 'recordings' | 'webhooks'

/** Recordings as traffic: each observation tagged with the probe or operation it was recorded for, in the order the requests were made. */
export function recordingsAsTraffic(all: Map<string, Recording[]>, rel: string): TrafficEntry[] {
  const out: TrafficEntry[] = []
  for (const [contract, list] of all) {
    for (const rec of list) {
      rec.observations.forEach((o, i) => {
        const body = o.response?.body
        out.push({ source: `${rel}/${contract}/${rec.name}.json sample ${i + 1}`, observation: o, hasBody: !body || body.size === 0 || body.text !== undefined || body.base64 !== undefined, hint: contract })
      })
    }
  }
  // A download follows the retrieve that named its sha256.
  return out.sort((a, b) => a.observation.startedAt.localeCompare(b.observation.startedAt))
}

/** Captured traffic as a stream of entries, redacted. */
export interface TrafficStream {
  kind: TrafficKind
  entries: AsyncIterable<TrafficEntry>
}

/**
 * A cassette is YAML, parsed as one document (the YAML library composes the whole tree, at many
 * times the file's size): larger ones are refused rather than exhausting memory.
 */
export const MAX_CASSETTE_BYTES = 64 * 1024 * 1024

/** Entries already in memory as a stream that stops when the signal fires. */
async function* listed(entries: readonly TrafficEntry[], signal: AbortSignal | undefined): AsyncGenerator<TrafficEntry> {
  for (const e of entries) {
    if (signal?.aborted) return
    yield e
  }
}

/** How traffic is streamed: a HAR's options, and what the redactor was made from (a large cassette's worker makes its own). */
export interface TrafficStreamOptions extends StreamOptions {
  redactorOptions?: RedactorOptions
}

/** How much of a file tells what it is. */
const HEAD_BYTES = 4096

/** A file's first HEAD_BYTES, as text. */
function headOf(input: string): string {
  const head = Buffer.alloc(HEAD_BYTES)
  const fd = openSync(input, 'r')
  try {
    return head.subarray(0, readSync(fd, head, 0, head.length, 0)).toString('utf8')
  } finally {
    closeSync(fd)
  }
}

/** A HAR is one JSON object with "log"; anything else is read as a cassette (YAML, or JSON-serialised VCR). Webhook files are told apart before. */
function looksLikeHar(head: string): boolean {
  return /^\s*\{/.test(head) && !/"(http_)?interactions"\s*:/.test(head)
}

/** Whether streamTraffic would read this input in a worker: a large HAR (see readsInWorker), said from its size and first bytes only. */
function readInWorker(input: string): boolean {
  try {
    const stat = statSync(input)
    if (!stat.isFile() || !readsInWorker(stat.size)) return false
    const head = headOf(input)
    return !looksLikeWebhookFile(head) && !/^\s*\{\s*"object"\s*:/.test(head) && looksLikeHar(head)
  } catch {
    return false
  }
}

/** Opens a HAR, a cassette or a recordings directory as a stream of entries: a HAR is read as it is judged, the others whole. */
export async function streamTraffic(input: string, redactor: Redactor, personal: PersonalDataRedactor, cwd: string, opts: TrafficStreamOptions = {}): Promise<TrafficStream> {
  const rel = shownPath(cwd, input)
  let stat: Stats
  try {
    stat = statSync(input)
  } catch {
    throw new HarnessError('DW_USAGE', `${rel} does not exist: give a HAR file (exported from a browser, mitmproxy, Charles), a VCR cassette, a recordings directory, or a JSON or JSONL file of WhatsApp webhook bodies`)
  }
  if (opts.progress) opts.progress.totalBytes = stat.isDirectory() ? 0 : stat.size
  if (stat.isDirectory()) {
    // Recordings are files anyone may have edited or written under older rules: redacted again as they are read.
    const all = loadRecordings(input, cwd)
    for (const list of all.values()) for (const rec of list) rec.observations = rec.observations.map((o) => redactor.observation(o))
    return { kind: 'recordings', entries: listed(recordingsAsTraffic(all, rel), opts.signal) }
  }
  const text = headOf(input)
  if (text.trim() === '' && stat.size < HEAD_BYTES) throw new HarnessError('DW_USAGE', `${rel} is empty: nothing to verify. Give a HAR file, a VCR cassette, a recordings directory, or a JSON or JSONL file of WhatsApp webhook bodies`, { file: rel })
  // Webhook bodies (JSON or JSONL) as Meta POSTs them: judged by the webhook contracts (src/webhooks).
  if (looksLikeWebhookFile(text)) return { kind: 'webhooks', entries: streamWebhookFile(input, rel, opts) }
  // A webhook-shaped body of another product (Messenger's "page", Instagram's): neither a HAR nor a WhatsApp webhook.
  const other = /^\s*\{\s*"object"\s*:\s*"([^"]{0,64})"/.exec(text)
  if (other && !/"log"\s*:/.test(text)) throw new HarnessError('DW_USAGE', `${rel} holds a webhook body whose object is "${other[1]!.replace(/[^\x20-\x7e]/g, '?')}", not whatsapp_business_account: only WhatsApp Business Account webhooks are under contract (and it is not a HAR: no "log")`, { file: rel })
  const har = looksLikeHar(text)
  // Large ones are read in a worker while this thread judges (readsInWorker); its redactors are made from the same options.
  if (har) return { kind: 'har', entries: opts.redactorOptions && readsInWorker(stat.size) ? streamHarInWorker(input, opts.redactorOptions, cwd, opts) : streamHar(input, redactor, personal, cwd, opts) }
  if (stat.size > MAX_CASSETTE_BYTES) {
    throw new HarnessError('DW_CASSETTE_TOO_LARGE', `${rel} is ${(stat.size / 1024 / 1024).toFixed(0)} MB; cassettes are read whole and at most ${MAX_CASSETTE_BYTES / 1024 / 1024} MB are taken. Split it into smaller cassettes (one per test, as VCR records them), or capture the traffic as a HAR, which is read as a stream at any size.`, { file: rel, bytes: stat.size })
  }
  // Loaded on demand: most runs read HARs or recordings.
  const { readCassetteResponsive } = await import('./read-cassette.ts')
  const entries = await readCassetteResponsive(input, redactor, personal, { size: stat.size, cwd, ...(opts.redactorOptions ? { redactorOptions: opts.redactorOptions } : {}), ...(opts.signal ? { signal: opts.signal } : {}) })
  if (opts.progress) opts.progress.bytesRead = stat.size
  return { kind: 'cassette', entries: listed(entries, opts.signal) }
}

/** Reads a HAR, a cassette or a recordings directory into entries, redacted (all of them in memory: small captures). */
export async function readTraffic(input: string, redactor: Redactor, personal: PersonalDataRedactor, cwd: string): Promise<{ kind: TrafficKind; entries: TrafficEntry[] }> {
  const { kind, entries } = await streamTraffic(input, redactor, personal, cwd)
  const all: TrafficEntry[] = []
  for await (const e of entries) all.push(e)
  return { kind, entries: all }
}

/** Captured traffic opened for judging: the pack, a redactor for every output, the entries as a stream. */
export interface OpenedTrafficStream {
  /** The input as messages name it (shownPath: relative inside cwd, absolute outside it). */
  rel: string
  pack: ContractPack
  redactor: Redactor
  kind: TrafficKind
  entries: AsyncIterable<TrafficEntry>
}

/** Captured traffic opened for judging, every entry in memory. */
export interface OpenedTraffic extends Omit<OpenedTrafficStream, 'entries'> {
  entries: TrafficEntry[]
}

/** What opening traffic needs. */
export interface OpenTrafficOptions extends StreamOptions {
  input: string
  contractsDir: string
  env: Readonly<Record<string, string | undefined>>
  cwd: string
}

/** Ends a stream of entries not read to its end (a worker reading it stops). */
async function closeEntries(entries: AsyncIterable<TrafficEntry>): Promise<void> {
  const it = entries as Partial<AsyncGenerator<TrafficEntry>>
  await it.return?.(undefined)
}

/** Loads the pack and opens the input as a stream, with the environment's secrets and test recipient redacted. */
export async function openTrafficStream(opts: OpenTrafficOptions): Promise<OpenedTrafficStream> {
  const input = resolve(opts.cwd, opts.input)
  const rel = shownPath(opts.cwd, input)
  // The large-cassette and HAR workers build their own redactors from the same options.
  const redactorOptions = { secrets: secretsFromEnv(opts.env), personal: [opts.env.WHATSAPP_TEST_RECIPIENT] }
  const redactor = new Redactor(redactorOptions)
  const open = () => streamTraffic(input, redactor, new PersonalDataRedactor(), opts.cwd, { ...opts, redactorOptions })
  if (!readInWorker(input)) {
    // The pack first: a wrong --contracts is said at once, not after a cassette or a recordings directory is read whole.
    const pack = loadContracts(opts.contractsDir, { cwd: opts.cwd })
    const { kind, entries } = await open()
    return { rel, pack, redactor, kind, entries }
  }
  // A HAR read in a worker is started first and read while the pack loads (compiling schemas); a broken pack is
  // still said before a broken input, and ends the worker.
  const opened = await open().then(
    (stream) => ({ stream }),
    (error: unknown) => ({ error }),
  )
  let pack: ContractPack
  try {
    pack = loadContracts(opts.contractsDir, { cwd: opts.cwd })
  } catch (err) {
    if ('stream' in opened) await closeEntries(opened.stream.entries)
    throw err
  }
  if ('error' in opened) throw opened.error
  const { kind, entries } = opened.stream
  return { rel, pack, redactor, kind, entries }
}

/** Loads the pack and reads the whole input (record --from, tests); verify streams with openTrafficStream. */
export async function openTraffic(opts: OpenTrafficOptions): Promise<OpenedTraffic> {
  const { entries, ...rest } = await openTrafficStream(opts)
  const all: TrafficEntry[] = []
  for await (const e of entries) all.push(e)
  return { ...rest, entries: all }
}
