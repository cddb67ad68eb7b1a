/**
 * HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/), the format browsers, mitmproxy,
 * Charles and proxies export, read into observations: what `check` would have recorded had it sent
 * the request itself. A HAR is not a wire capture: framing comes from the headers the exporter kept
 * (Content-Length, Transfer-Encoding), and bodies from `content.text` (base64 when
 * `content.encoding` says so). An entry whose exporter left the body out is judged on its
 * status and headers only.
 *
 * Secrets (Authorization, cookies, `access_token`) and personal data are redacted here, before
 * anything else reads the entries.
 *
 * Read as a stream (@streamparser/json, which emits each `log.entries` element as it completes and
 * keeps no parent): a HAR of any size is read in memory of about one entry.
 */
import { createHash } from 'node:crypto'
import { createReadStream, readFileSync, statSync } from 'node:fs'
import { JSONParser } from '@streamparser/json'
import { relative } from 'node:path'
import { HarnessError } from '../errors.ts'
import type { FramingKind, Observation, ObservedBody, RawHeader } from '../observation.ts'
import type { PersonalDataRedactor } from '../recordings/personal-data.ts'
import { redactPersonal } from '../recordings/store.ts'
import type { Redactor } from '../transport/redact.ts'
import { parseJsonBody } from '../json.ts'
import type { TrafficEntry } from './entry.ts'

interface HarHeader {
  name: string
  value: string
}

interface HarEntry {
  startedDateTime: string
  time?: number
  request: { method: string; url: string; httpVersion?: string; headers: HarHeader[]; postData?: { mimeType?: string; text?: string }; bodySize?: number }
  response: { status: number; statusText?: string; httpVersion?: string; headers: HarHeader[]; content: { size?: number; mimeType?: string; text?: string; encoding?: string } }
  timings?: { wait?: number }
}


const TEXTUAL = /^(text\/|application\/(json|javascript|x-www-form-urlencoded|xml)|[^;]*\+json)/i

/** Where a stream read stands, updated as it goes (the caller shows it as progress). */
export interface ReadProgress {
  bytesRead: number
  totalBytes: number
}

/** How a capture is streamed. */
export interface StreamOptions {
  /** Stops reading: the entries read so far are all there will be. */
  signal?: AbortSignal
  /** Updated in place as bytes are read. */
  progress?: ReadProgress
}

/**
 * Bytes read at a time: large enough that parsing, not I/O, sets the pace, small enough that the
 * entries one read completes (a few dozen) are judged before the next: entries that wait survive
 * into V8's old space, and a 1 MB read (hundreds waiting) made the heap grow about 10% faster.
 */
const CHUNK = 64 * 1024

/** A HAR smaller than this with no entries is read whole to say exactly what it lacks (no "log", "entries" not a list). */
const SMALL = 64 * 1024 * 1024

const SPEC = '(HAR 1.2: http://www.softwareishard.com/blog/har-12-spec/)'

/**
 * Reads a HAR file as a stream, entry by entry, in memory that does not grow with the file (an
 * entry is held while it is read and judged, then dropped). A malformed file fails with
 * DW_HAR_INVALID naming the file, the entry and what is wrong; entries before it have been yielded.
 */
export async function* streamHar(file: string, redactor: Redactor, personal: PersonalDataRedactor, cwd = process.cwd(), opts: StreamOptions = {}): AsyncGenerator<TrafficEntry> {
  const rel = relative(cwd, file) || file
  const invalid = (what: string, extra: Record<string, unknown> = {}) => new HarnessError('DW_HAR_INVALID', what, { file: rel, ...extra })
  let size: number
  try {
    size = statSync(file).size
  } catch (err) {
    throw invalid(`cannot read ${rel} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  if (opts.progress) opts.progress.totalBytes = size
  const parser = new JSONParser({ paths: ['$.log.entries.*'], keepStack: false })
  const ready: { raw: unknown; key: unknown }[] = []
  parser.onValue = ({ value, key }) => {
    ready.push({ raw: value, key })
  }
  let index = 0
  let bytes = 0
  const notJson = (why: string) => invalid(`${rel} is not valid JSON ${index > 0 ? `in entry ${index + 1} (log.entries[${index}], after ${index} complete entries)` : 'before its first entry'}: ${why}. Export the HAR again; a HAR is one JSON document.`, { entry: index + 1, byte: bytes })
  const stream = createReadStream(file, { highWaterMark: CHUNK })
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (opts.signal?.aborted) return
      bytes += chunk.length
      try {
        parser.write(chunk)
      } catch (err) {
        // Entries completed in this chunk before the error are still good: judge them, then fail on the broken one.
        index = yield* drain()
        throw notJson((err as Error).message)
      }
      if (opts.progress) opts.progress.bytesRead = bytes
      index = yield* drain()
    }
  } catch (err) {
    if (err instanceof HarnessError) throw err
    throw invalid(`cannot read ${rel} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  } finally {
    stream.destroy()
  }
  if (!parser.isEnded) throw notJson(`the file ends at byte ${bytes}, in the middle of the document (cut short?)`)
  if (index === 0) explainEmpty(file, rel, size)

  function* drain(): Generator<TrafficEntry, number> {
    let i = index
    const batch = ready.splice(0)
    for (const { raw, key } of batch) {
      if (opts.signal?.aborted) return i
      if (typeof key !== 'number') throw invalid(`${rel}: log.entries must be a list of entries, not a map (it has a key "${String(key)}") ${SPEC}`, { path: 'log.entries' })
      yield harEntry(raw, i, rel, redactor, personal)
      i++
    }
    return i
  }
}

/** Reads a HAR file whole into entries (small captures, tests); see streamHar. */
export async function readHar(file: string, redactor: Redactor, personal: PersonalDataRedactor, cwd = process.cwd()): Promise<TrafficEntry[]> {
  const out: TrafficEntry[] = []
  for await (const e of streamHar(file, redactor, personal, cwd)) out.push(e)
  return out
}

/** A HAR that yielded no entry: says what it lacks ("log", "entries" as a list); an empty list is the caller's to report. */
function explainEmpty(file: string, rel: string, size: number): void {
  if (size > SMALL) return
  const fail = (path: string, what: string): never => {
    throw new HarnessError('DW_HAR_INVALID', `${rel}: ${path} ${what} ${SPEC}`, { file: rel, path })
  }
  const log = (JSON.parse(readFileSync(file, 'utf8')) as { log?: { entries?: unknown } } | null)?.log
  if (!log || typeof log !== 'object') fail('log', 'is missing: this is not a HAR file')
  if (!Array.isArray(log!.entries)) fail('log.entries', 'must be a list of entries')
}

/** Not base64 (nor base64url): what Buffer.from would silently skip. */
const NOT_BASE64 = /[^A-Za-z0-9+/=_\-\s]/

/** One HAR entry, checked, as a redacted TrafficEntry; a malformed one fails naming the entry, the JSON path and what is wrong. */
function harEntry(raw: unknown, i: number, rel: string, redactor: Redactor, personal: PersonalDataRedactor): TrafficEntry {
  const at = `log.entries[${i}]`
  const fail = (path: string, what: string): never => {
    throw new HarnessError('DW_HAR_INVALID', `${rel}: ${path} ${what} (entry ${i + 1}) ${SPEC}`, { file: rel, path, entry: i + 1 })
  }
  const e = raw as HarEntry
  if (!e || typeof e !== 'object' || Array.isArray(e)) fail(at, 'must be an object')
  if (!e.request || typeof e.request.method !== 'string' || typeof e.request.url !== 'string') fail(`${at}.request`, 'must have "method" and "url"')
  if (e.response === undefined || e.response === null) fail(`${at}.response`, 'is missing: every entry has a response (status 0 when there was none)')
  if (typeof e.response.status !== 'number') fail(`${at}.response.status`, 'must be a number')
  if (!Array.isArray(e.request.headers)) fail(`${at}.request.headers`, 'must be a list of {name, value}')
  if (!Array.isArray(e.response.headers)) fail(`${at}.response.headers`, 'must be a list of {name, value}')
  if (!e.response.content || typeof e.response.content !== 'object') fail(`${at}.response.content`, 'is missing')
  const c = e.response.content
  if (c.encoding !== undefined && c.encoding !== 'base64') fail(`${at}.response.content.encoding`, `is "${c.encoding}"; only base64 (or none) is defined`)
  if (c.text !== undefined && c.text !== null && typeof c.text !== 'string') fail(`${at}.response.content.text`, 'must be text')
  if (c.mimeType !== undefined && typeof c.mimeType !== 'string') fail(`${at}.response.content.mimeType`, 'must be text')
  if (c.encoding === 'base64' && typeof c.text === 'string' && NOT_BASE64.test(c.text)) fail(`${at}.response.content.text`, 'is not base64, though content.encoding says it is')
  if (e.request.postData?.text !== undefined && typeof e.request.postData.text !== 'string') fail(`${at}.request.postData.text`, 'must be text')
  for (const [path, v] of [['time', e.time], ['response.content.size', c.size], ['request.bodySize', e.request.bodySize]] as const) {
    if (v !== undefined && v !== null && typeof v !== 'number') fail(`${at}.${path}`, 'must be a number')
  }
  const { observation, hasBody } = toObservation(e, i + 1)
  // Only attribution reads the whole request body, but it sits next to what is written: secrets out here too.
  const requestBody = typeof e.request.postData?.text === 'string' ? redactor.text(e.request.postData.text) : undefined
  if (e.response.status === 0) {
    // Browsers record aborted, blocked or failed requests with status 0: there was no response to judge.
    delete observation.response
    observation.transportError = { code: 'DW_HAR_NO_RESPONSE', message: 'the HAR records no response (status 0: the request was aborted, blocked or failed before an answer)', phase: 'connect', unreachable: true }
  }
  const safe: Observation = {
    ...observation,
    // Redact the whole body, then cut the excerpt: a token cut in half at the boundary would slip past the pattern.
    request: { ...observation.request, url: redactor.url(observation.request.url), headers: redactor.headers(observation.request.headers), ...(requestBody ? { bodyExcerpt: requestBody.slice(0, 500) } : {}) },
    ...(observation.response ? { response: redactor.response(observation.response) } : {}),
  }
  return { source: `${rel} entry ${i + 1}`, observation: redactPersonal(safe, personal), hasBody, ...(requestBody !== undefined ? { requestBody } : {}) }
}

function headersOf(list: HarHeader[]): RawHeader[] {
  // HTTP/2 exporters write pseudo-headers (:status, :authority); they are not headers on the wire of HTTP/1.1.
  return list.filter((h) => typeof h?.name === 'string' && !h.name.startsWith(':')).map((h) => [h.name, String(h.value ?? '')])
}

function toObservation(e: HarEntry, entry: number): { observation: Observation; hasBody: boolean } {
  const reqHeaders = headersOf(e.request.headers)
  const rawHeaders = headersOf(e.response.headers)
  const header = (name: string) => rawHeaders.find(([n]) => n.toLowerCase() === name)?.[1]
  const c = e.response.content
  const hasBody = typeof c.text === 'string'
  const bytes = hasBody ? Buffer.from(c.text!, c.encoding === 'base64' ? 'base64' : 'utf8') : Buffer.alloc(0)
  const mime = c.mimeType ?? header('content-type') ?? ''
  const textual = TEXTUAL.test(mime) || (!c.encoding && hasBody)
  const text = textual && hasBody ? bytes.toString('utf8') : undefined
  const { json, jsonError } = text !== undefined && text.length > 0 && (/json|javascript/i.test(mime) || /^\s*[[{]/.test(text)) ? parseJsonBody(text) : {}
  const size = hasBody ? bytes.length : Math.max(0, c.size ?? 0)
  const declared = header('content-length')
  const te = header('transfer-encoding')
  const version = (e.response.httpVersion ?? '').replace(/^HTTP\//i, '').toLowerCase()
  const h2 = version === '2' || version === '2.0' || version === 'h2' || version === '3' || version === 'h3'
  // HTTP/2 and /3 frame bodies themselves; without a Content-Length the length is not declared, like chunked.
  const kind: FramingKind = te && /chunked/i.test(te) ? 'chunked' : declared !== undefined ? 'content-length' : size === 0 ? 'none' : h2 ? 'chunked' : 'close-delimited'
  const body: ObservedBody = {
    size,
    sha256: hasBody ? createHash('sha256').update(bytes).digest('hex') : '',
    keptBytes: hasBody ? bytes.length : 0,
    truncated: !hasBody && size > 0,
    ...(text !== undefined ? { text } : {}),
    ...(json !== undefined ? { json } : {}),
    ...(jsonError !== undefined ? { jsonError } : {}),
  }
  const postText = e.request.postData?.text
  const observation: Observation = {
    contract: '',
    sample: entry,
    startedAt: e.startedDateTime,
    request: {
      method: e.request.method.toUpperCase(),
      url: e.request.url,
      headers: reqHeaders,
      bodySize: Math.max(0, e.request.bodySize ?? (postText ? Buffer.byteLength(postText) : 0)),
      ...(postText ? { bodyExcerpt: postText } : {}),
      tokenSent: reqHeaders.some(([n, v]) => n.toLowerCase() === 'authorization' && /^bearer\s/i.test(v)) || /[?&]access_token=/.test(e.request.url),
    },
    response: {
      ...(version ? { httpVersion: h2 ? version.replace(/^h/, '').replace(/^(\d)$/, '$1') : version } : {}),
      status: e.response.status,
      statusText: e.response.statusText ?? '',
      rawHeaders,
      framing: { kind, bytesRead: size, ...(declared !== undefined && /^\d+$/.test(declared) ? { declaredLength: Number(declared) } : {}) },
      body,
    },
    timings: { totalMs: Math.max(0, e.time ?? 0), ...(e.timings?.wait !== undefined && e.timings.wait >= 0 ? { ttfbMs: e.timings.wait } : {}) },
  }
  return { observation, hasBody }
}
