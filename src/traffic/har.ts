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
 * Read as a stream (json-scanner.ts) in work linear in the file and memory of about one entry,
 * whatever the file holds: of an entry, only the fields read below are kept (headers, URL and the
 * like up to KEPT_FIELD_CHARS each and ENTRY_BUDGET in all), bodies are hashed and counted as they
 * stream and kept up to KEPT_BODY_BYTES (captured-text.ts), everything else is checked as JSON and
 * skipped. A file nested deeper than MAX_JSON_DEPTH is refused at that depth, naming the entry.
 */
import { oneLine } from '../render/index.ts'
import { isAscii } from 'node:buffer'
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs'
import { HarnessError } from '../util/errors.ts'
import { MAX_JSON_DEPTH, parseJsonBody } from '../util/json.ts'
import type { Framing, FramingKind, Observation, ObservedBody, ObservedRequest, ObservedResponse, RawHeader } from '../model/observation.ts'
import type { PersonalDataRedactor } from '../recordings/personal-data.ts'
import { redactPersonal } from '../recordings/store.ts'
import { credentialOf, tokensOf } from '../transport/credential.ts'
import type { Redactor } from '../transport/redact.ts'
import { CapturedText, KEPT_BODY_BYTES, type BodyReading } from './captured-text.ts'
import { utf16UnitsFast, utf8Text, wasmLoops } from './wasm-loops.ts'
import type { TrafficEntry } from './entry.ts'
import { Breather } from './breather.ts'
import { BYTES, JsonScanner, ScanError, SKIP, TEXT, type ScanHandler, type StringMode } from './json-scanner.ts'
import { shownPath } from '../util/paths.ts'

interface HarHeader {
  name: string
  value: string
}

interface HarEntry {
  startedDateTime: string
  time?: number
  request: { method: string; url: string; httpVersion?: string; headers: HarHeader[]; postData?: { mimeType?: string; text?: CapturedText }; bodySize?: number }
  response: { status: number; statusText?: string; httpVersion?: string; headers: HarHeader[]; content: { size?: number; mimeType?: string; text?: CapturedText; encoding?: string } }
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
  /** Entries up to this many bytes are parsed whole by JSON.parse (default 1 MiB; 0: every entry read as events, as larger ones are). */
  wholeEntryBytes?: number
}

/**
 * Bytes read at a time: large enough that parsing, not I/O, sets the pace, small enough that the
 * entries one read completes (a few dozen) are judged before the next: entries that wait survive
 * into V8's old space, and a 1 MB read (hundreds waiting) made the heap grow about 10% faster.
 */
const CHUNK = 64 * 1024

/** Characters kept of a field other than a body (a URL, a header value): a data: URL can be megabytes. */
export const KEPT_FIELD_CHARS = 1024 * 1024

/** Characters and values kept of one entry besides its bodies: far more than any exporter writes, far less than memory. */
export const ENTRY_BUDGET = 16 * 1024 * 1024

/**
 * Entries up to this size are found by their bounds and parsed by JSON.parse, then kept as Shape
 * says (what the events would build): ten times faster on the small calls most traffic is. Larger
 * ones (a multi-MB upload) stream as events, their bodies hashed and cut, never one string.
 */
export const WHOLE_ENTRY_BYTES = KEPT_FIELD_CHARS

const SPEC = '(HAR 1.2: http://www.softwareishard.com/blog/har-12-spec/)'

/** The fields of an entry that are read: `fields` of an object, `items` of a list, `body` a streamed text; `{}` a scalar. */
interface Shape {
  fields?: Record<string, Shape>
  items?: Shape
  body?: 'base64-or-text' | 'text'
  /** log.entries: each item is an entry, handed over when complete and not kept. */
  entries?: true
}

const LEAF: Shape = {}
const HEADERS: Shape = { items: { fields: { name: LEAF, value: LEAF } } }
const ENTRY: Shape = {
  fields: {
    startedDateTime: LEAF,
    time: LEAF,
    request: { fields: { method: LEAF, url: LEAF, httpVersion: LEAF, headers: HEADERS, postData: { fields: { mimeType: LEAF, text: { body: 'text' } } }, bodySize: LEAF } },
    response: { fields: { status: LEAF, statusText: LEAF, httpVersion: LEAF, headers: HEADERS, content: { fields: { size: LEAF, mimeType: LEAF, text: { body: 'base64-or-text' }, encoding: LEAF } } } },
    timings: { fields: { wait: LEAF } },
  },
}
const ROOT: Shape = { fields: { log: { fields: { entries: { items: ENTRY, entries: true } } } } }

/** A container being filled: its shape, where it is (for messages, worked out only when one is needed), and the key a value goes to next. */
interface Frame {
  shape: Shape
  value: Record<string, unknown> | unknown[]
  array: boolean
  parent: Frame | undefined
  /** Its key in the parent, or its index there. */
  at: string | number
  key: string | undefined
}

/** `log.entries[3].request.headers[0]`: a frame's path, and a child's under it. */
function pathOf(frame: Frame | undefined, child?: string | number): string {
  const parts: (string | number)[] = child === undefined ? [] : [child]
  for (let f = frame; f?.parent; f = f.parent) parts.unshift(f.at)
  return parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')
}

/** Thrown by the builder; streamHar words it with the file. */
class EntryProblem extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message)
  }
}

/**
 * Builds entries from the scanner's events, keeping only what Shape names: a field of the wrong
 * kind is kept as an empty value of its kind (`{}`, `[]`) for harEntry to name, and unknown fields
 * are skipped as they stream, at any depth, without a frame per level.
 */
class HarBuilder implements ScanHandler {
  readonly ready: { raw: unknown; index: number }[] = []
  private readonly frames: Frame[] = []
  /** Levels of a skipped value still open (0: not skipping). */
  private skipping = 0
  /** Where the skipped value is, for messages. */
  private skipPath = ''
  /** log.entries turned out to be a map. */
  private entriesMap = false
  /** Entries started (the one being read is entries - 1). */
  entries = 0
  /** Where the reader stands: before log.entries, inside it, or past it. */
  where: 'before' | 'inside' | 'after' = 'before'
  /** What the top of the file was, for a file with no entries. */
  rootKind: 'object' | 'other' | undefined
  logKind: 'object' | 'other' | undefined
  entriesKind: 'list' | 'other' | undefined
  private text = ''
  private capture: CapturedText | undefined
  private used = 0

  /** fast: entries up to the scanner's wholeBytes are parsed whole (the events' result, sooner). */
  constructor(private readonly fast = true) {}

  /** The path of what is being read now (the deepest known place). */
  get path(): string {
    return this.skipping > 0 ? this.skipPath : pathOf(this.frames.at(-1))
  }

  /** The shape of the value that comes next in the innermost frame (undefined: skip it). */
  private next(): Shape | undefined {
    const top = this.frames.at(-1)
    if (!top) return ROOT
    if (top.array) return top.shape.items
    const key = top.key
    return key !== undefined && Object.hasOwn(top.shape.fields!, key) ? top.shape.fields![key] : undefined
  }

  /** Where the next value is in the innermost frame: its key, or its index. */
  private nextAt(): string | number {
    const top = this.frames.at(-1)
    if (!top) return ''
    if (top.array) return top.shape.entries ? this.entries - 1 : (top.value as unknown[]).length
    return top.key ?? ''
  }

  private skip(): void {
    this.skipping = 1
    this.skipPath = pathOf(this.frames.at(-1), this.nextAt())
  }

  /** Puts a complete value where it belongs (an entry, when it is one, goes to `ready`). */
  private place(value: unknown): void {
    const top = this.frames.at(-1)
    if (!top) return
    if (top.shape.entries) {
      this.ready.push({ raw: value, index: this.entries - 1 })
      return
    }
    this.spend(1)
    if (top.array) (top.value as unknown[]).push(value)
    else if (top.key !== undefined) {
      // JSON.parse makes "__proto__" an own key; an assignment would set the prototype.
      if (top.key === '__proto__') Object.defineProperty(top.value, top.key, { value, enumerable: true, writable: true, configurable: true })
      else (top.value as Record<string, unknown>)[top.key] = value
    }
  }

  private spend(n: number): void {
    if (this.where !== 'inside') return
    this.used += n
    if (this.used > ENTRY_BUDGET) throw new EntryProblem(`holds more than ${ENTRY_BUDGET / 1024 / 1024} M characters besides its bodies (headers, URL and other fields); no exporter writes that much`, this.path)
  }

  /** A value begins in the entries list: a new entry. */
  private entryStarts(): void {
    const top = this.frames.at(-1)
    if (top?.shape.entries) {
      this.entries++
      this.used = 0
    }
  }

  open(array: boolean): void {
    if (this.skipping > 0) {
      this.skipping++
      return
    }
    this.entryStarts()
    const shape = this.next()
    const top = this.frames.at(-1)
    if (!top) this.rootKind = array ? 'other' : 'object'
    else if (top.shape === ROOT && top.key === 'log') this.logKind = array ? 'other' : 'object'
    else if (shape?.entries) {
      this.entriesKind = array ? 'list' : 'other'
      if (!array) this.entriesMap = true
    }
    if (!shape) return this.skip()
    if (shape.entries && array) this.where = 'inside'
    if (array ? !shape.items : !shape.fields) {
      // Not the kind the HAR says: an empty one of its kind tells harEntry what it is.
      this.place(array ? [] : {})
      return this.skip()
    }
    const value = array ? [] : {}
    const at = this.nextAt()
    // An entry goes to `ready` when it is complete (close), the entries list nowhere: it is not kept.
    if (!shape.entries && !top?.shape.entries) this.place(value)
    this.frames.push({ shape, value, array, parent: top, at, key: undefined })
  }

  close(): void {
    if (this.skipping > 0) {
      if (--this.skipping === 0) this.entriesMap = false
      return
    }
    const done = this.frames.pop()!
    if (done.shape.entries) {
      this.where = 'after'
      return
    }
    const top = this.frames.at(-1)
    if (top?.shape.entries) this.ready.push({ raw: done.value, index: this.entries - 1 })
  }

  key(name: string, long: boolean): void {
    if (this.skipping === 1 && this.entriesMap) throw new EntryProblem(`log.entries must be a list of entries, not a map (it has a key "${name.slice(0, 64)}")`, 'log.entries')
    if (this.skipping > 0) return
    // A key longer than any field's name is no field's.
    this.frames.at(-1)!.key = long ? '\u0000long' : name
  }

  stringStart(): StringMode {
    if (this.skipping > 0) return SKIP
    this.entryStarts()
    const shape = this.next()
    if (!shape) return SKIP
    this.text = ''
    if (!shape.body) return TEXT
    this.capture = new CapturedText(shape.body === 'base64-or-text')
    return BYTES
  }

  raw(buf: Buffer, start: number, end: number, base64ish: boolean): boolean {
    if (this.capture) {
      this.capture.raw(buf, start, end, base64ish)
      return true
    }
    return this.keepText(buf.toString('utf8', start, end))
  }

  decoded(text: string): boolean {
    return this.keepText(text)
  }

  decodedBytes(bytes: Buffer): boolean {
    this.capture!.decodedBytes(bytes)
    return true
  }

  private keepText(piece: string): boolean {
    const room = KEPT_FIELD_CHARS - this.text.length
    this.text += piece.length > room ? piece.slice(0, room) : piece
    return piece.length < room
  }

  stringEnd(): void {
    if (this.skipping > 0) return
    if (this.capture) {
      this.place(this.capture)
      this.capture = undefined
      return
    }
    if (!this.next()) return
    this.spend(this.text.length)
    this.place(this.text)
    this.text = ''
  }

  scalar(value: number | boolean | null): void {
    if (this.skipping > 0) return
    this.entryStarts()
    if (this.next()) this.place(value)
  }

  /** An entry (an object in log.entries) is wanted whole: JSON.parse builds it far faster than events do. */
  wantsWhole(array: boolean): boolean {
    return this.fast && !array && this.skipping === 0 && this.frames.at(-1)?.shape.entries === true
  }

  whole(parts: readonly Buffer[]): boolean {
    let value: unknown
    try {
      value = JSON.parse(textOf(parts.length === 1 ? parts[0]! : Buffer.concat(parts)))
    } catch {
      return false
    }
    this.entryStarts()
    // As JSON.parse built it: harEntry reads it as it reads what the events build (see leaf and bodyText).
    this.ready.push({ raw: value, index: this.entries - 1 })
    return true
  }
}

/**
 * An entry's bytes as text. API calls are nearly all ASCII (31,900 of the bench's 32,349 small
 * entries), and ASCII bytes read as Latin-1 are the same text without UTF-8's checks: 0.7 µs
 * against 1.2 for a 3 KB entry (isAscii, which tells, is SIMD and costs a few dozen nanoseconds).
 */
function textOf(bytes: Buffer): string {
  return bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8')
}

/**
 * A scalar field as the events build it: a container where a scalar belongs is kept empty, of its
 * kind (an entry JSON.parse built is read as it is, so the few scalars that reach the observation
 * unchecked go through here).
 */
function leaf(v: unknown): unknown {
  return v !== null && typeof v === 'object' ? (Array.isArray(v) ? [] : {}) : v
}

/** A body as the events build it: a string as CapturedText (JSON.parse gives the string whole), anything else as it is. */
function bodyText(v: unknown, base64: boolean): unknown {
  return typeof v === 'string' ? CapturedText.of(v, base64) : v
}

/**
 * Reads a HAR file as a stream, entry by entry, in memory that does not grow with the file (an
 * entry is held while it is read and judged, then dropped). A malformed file fails with
 * DW_HAR_INVALID naming the file, the entry and what is wrong; entries before it have been yielded.
 */
export async function* streamHar(file: string, redactor: Redactor, personal: PersonalDataRedactor, cwd = process.cwd(), opts: StreamOptions = {}): AsyncGenerator<TrafficEntry> {
  const rel = shownPath(cwd, file)
  // Messages quote the file's keys and values: one line, controls shown, so a crafted key cannot forge a line.
  const invalid = (what: string, extra: Record<string, unknown> = {}) => new HarnessError('DW_HAR_INVALID', oneLine(what), { file: rel, ...extra })
  let size: number
  let regular: boolean
  try {
    const st = statSync(file)
    size = st.size
    regular = st.isFile()
  } catch (err) {
    throw invalid(`cannot read ${rel} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  if (opts.progress) opts.progress.totalBytes = size
  const wholeBytes = opts.wholeEntryBytes ?? WHOLE_ENTRY_BYTES
  const har = new HarBuilder(wholeBytes > 0)
  const scanner = new JsonScanner(har, { maxDepth: MAX_JSON_DEPTH, wholeBytes })
  let yielded = 0
  let bytes = 0
  const credentials = new CredentialMemo()
  const where = () => {
    const n = har.entries
    if (har.where === 'inside' && n > 0) return { text: `in entry ${n} (log.entries[${n - 1}], after ${n - 1} complete entries)`, short: `entry ${n}`, entry: n }
    if (har.where === 'after') return { text: `after its last entry (entry ${n})`, short: `after entry ${n}`, entry: n }
    return { text: 'before its first entry', short: 'before the first entry', entry: 0 }
  }
  /** A scanner or builder error, worded with the file, the entry and the fix. */
  const explain = (err: unknown): HarnessError => {
    const at = where()
    const extra = { entry: at.entry, ...(err instanceof ScanError ? { byte: err.byte } : {}) }
    if (err instanceof ScanError && err.kind === 'depth') {
      const path = har.path || 'the document'
      return invalid(`${rel}: ${path} is nested deeper than ${MAX_JSON_DEPTH} levels (${at.short}); a HAR nests about 7, and a body's own JSON is a string that does not count. Not read: export the HAR again. ${SPEC}`, { ...extra, path })
    }
    if (err instanceof ScanError) return invalid(`${rel} is not valid JSON ${at.text}: ${err.message}. Export the HAR again; a HAR is one JSON document.`, extra)
    if (err instanceof EntryProblem) return invalid(`${rel}: ${err.path} ${err.message} (${at.short}) ${SPEC}`, { ...extra, path: err.path })
    throw err
  }
  const stream = chunksOf(file, regular)
  try {
    for await (const chunk of stream) {
      if (opts.signal?.aborted) return
      bytes += chunk.length
      try {
        scanner.write(chunk)
      } catch (err) {
        // Entries completed in this chunk before the error are still good: judge them, then fail on the broken one.
        yield* drain()
        throw explain(err)
      }
      if (opts.progress) opts.progress.bytesRead = bytes
      yield* drain()
    }
    try {
      scanner.end()
    } catch (err) {
      throw explain(err)
    }
  } catch (err) {
    if (err instanceof HarnessError) throw err
    throw invalid(`cannot read ${rel} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  } finally {
    stream.close()
  }
  if (yielded === 0) explainEmpty(har, rel)

  function* drain(): Generator<TrafficEntry> {
    for (const { raw, index } of har.ready.splice(0)) {
      if (opts.signal?.aborted) return
      yield harEntry(raw, index, rel, redactor, personal, credentials)
      yielded++
    }
  }
}

/** A file's bytes CHUNK at a time, each chunk a buffer of its own (the scanner may keep a piece of one); close() ends the reading early. */
interface Chunks extends AsyncIterable<Buffer> {
  close(): void
}

/**
 * A regular file is read by readSync, a fresh buffer a time: the stream's machinery (a promise, a
 * turn of the event loop and its bookkeeping per chunk) cost verify's reader about 5% of its time on
 * small entries (bench/run.ts's verify section; issue 18), and a 64 KiB read from a file blocks for
 * microseconds. Anything else (a FIFO, a device, which can block for as long as its writer) is
 * streamed, as before.
 */
function chunksOf(file: string, regular: boolean): Chunks {
  if (!regular) {
    const stream = createReadStream(file, { highWaterMark: CHUNK })
    return { [Symbol.asyncIterator]: () => (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator](), close: () => stream.destroy() }
  }
  let fd: number | undefined
  let closed = false
  const close = () => {
    closed = true
    if (fd !== undefined) closeSync(fd)
    fd = undefined
  }
  return {
    close,
    // Opened on the first read, as the stream opens: a file that cannot be opened fails where reading fails.
    async *[Symbol.asyncIterator]() {
      if (!closed) fd = openSync(file, 'r')
      // The stream turned the event loop at every chunk; these reads never do, so a turn is handed now and then: inside
      // one 200 MB entry no entry is yielded for seconds, and a signal, a worker's flush of the entries read before it
      // (har-worker.mjs) and every timer wait for a turn (suites/verify/bounds.test.ts).
      const breather = new Breather()
      while (fd !== undefined) {
        const buf = Buffer.allocUnsafeSlow(CHUNK)
        const got = readSync(fd, buf, 0, CHUNK, null)
        if (got === 0) return
        yield got === CHUNK ? buf : buf.subarray(0, got)
        await breather.breathe()
      }
    },
  }
}

/** Reads a HAR file whole into entries (small captures, tests); see streamHar. */
export async function readHar(file: string, redactor: Redactor, personal: PersonalDataRedactor, cwd = process.cwd()): Promise<TrafficEntry[]> {
  const out: TrafficEntry[] = []
  for await (const e of streamHar(file, redactor, personal, cwd)) out.push(e)
  return out
}

/** A HAR that yielded no entry: says what it lacks ("log", "entries" as a list); an empty list is the caller's to report. */
function explainEmpty(har: HarBuilder, rel: string): void {
  const fail = (path: string, what: string): never => {
    throw new HarnessError('DW_HAR_INVALID', oneLine(`${rel}: ${path} ${what} ${SPEC}`), { file: rel, path })
  }
  if (har.rootKind !== 'object' || har.logKind !== 'object') fail('log', 'is missing: this is not a HAR file')
  if (har.entriesKind !== 'list') fail('log.entries', 'must be a list of entries')
}

/** One HAR entry, checked, as a redacted TrafficEntry; a malformed one fails naming the entry, the JSON path and what is wrong. */
function harEntry(raw: unknown, i: number, rel: string, redactor: Redactor, personal: PersonalDataRedactor, credentials: CredentialMemo): TrafficEntry {
  const at = `log.entries[${i}]`
  const fail = (path: string, what: string): never => {
    throw new HarnessError('DW_HAR_INVALID', oneLine(`${rel}: ${path} ${what} (entry ${i + 1}) ${SPEC}`), { file: rel, path, entry: i + 1 })
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
  if (c.encoding !== undefined && c.encoding !== 'base64') fail(`${at}.response.content.encoding`, `is "${leaf(c.encoding)}"; only base64 (or none) is defined`)
  const text = bodyText(c.text, true)
  if (text !== undefined && text !== null && !(text instanceof CapturedText)) fail(`${at}.response.content.text`, 'must be text')
  if (c.mimeType !== undefined && typeof c.mimeType !== 'string') fail(`${at}.response.content.mimeType`, 'must be text')
  const version = e.response.httpVersion as unknown
  if (version !== undefined && version !== null && typeof version !== 'string') fail(`${at}.response.httpVersion`, 'must be text, e.g. "HTTP/1.1"')
  const captured = text instanceof CapturedText ? text : undefined
  const body = captured && (c.encoding === 'base64' ? captured.base64() : captured.text())
  if (captured && !body) fail(`${at}.response.content.text`, 'is not base64, though content.encoding says it is')
  const postData = e.request.postData
  const post = bodyText(postData !== null && typeof postData === 'object' && !Array.isArray(postData) ? (postData as { text?: unknown }).text : undefined, false)
  if (post !== undefined && !(post instanceof CapturedText)) fail(`${at}.request.postData.text`, 'must be text')
  for (const [path, v] of [['time', e.time], ['response.content.size', c.size], ['request.bodySize', e.request.bodySize]] as const) {
    if (v !== undefined && v !== null && typeof v !== 'number') fail(`${at}.${path}`, 'must be a number')
  }
  const request = post instanceof CapturedText ? post.text() : undefined
  const { observation, hasBody } = toObservation(e, i + 1, body, request, credentials)
  // Only attribution reads the request body, but it sits next to what is written: secrets out here too.
  const requestBody = request ? keptText(redactor.text(utf8Text(request.window)), request.truncated) : undefined
  if (e.response.status === 0) {
    // Browsers record aborted, blocked or failed requests with status 0: there was no response to judge.
    delete observation.response
    observation.transportError = { code: 'DW_HAR_NO_RESPONSE', message: 'the HAR records no response (status 0: the request was aborted, blocked or failed before an answer)', phase: 'connect', unreachable: true }
  }
  const safe: Observation = {
    ...observation,
    // Redact the whole body, then cut the excerpt: a token cut in half at the boundary would slip past the pattern.
    // Object.assign, not a spread: bodyExcerpt is a key the request lacks, and a spread then a new key takes V8's slow road (see attribute.ts's resolve).
    request: Object.assign({}, observation.request, { url: redactor.url(observation.request.url), headers: redactor.headers(observation.request.headers) }, requestBody ? { bodyExcerpt: requestBody.slice(0, 500) } : undefined),
    // Redacted whole (a binary body holding a secret keeps only its size and hash), then cut to the cap.
    ...(observation.response ? { response: cutToCap(redactor.response(observation.response, body?.window)) } : {}),
  }
  return { source: `${rel} entry ${i + 1}`, observation: redactPersonal(safe, personal), hasBody, ...(requestBody !== undefined ? { requestBody } : {}) }
}

/** A body's kept text: whole, or (past the cap) the redacted window cut to the cap on a character boundary. */
export function keptText(text: string, truncated: boolean): string {
  if (!truncated || Buffer.byteLength(text, 'utf8') <= KEPT_BODY_BYTES) return text
  // write() encodes whole characters only, as many as fit: the cap's worth, not the whole window (a multi-MB upload's).
  const bytes = Buffer.allocUnsafe(KEPT_BODY_BYTES)
  const n = bytes.write(text, 0, KEPT_BODY_BYTES, 'utf8')
  // Those bytes are the text's first characters as UTF-8: the same text is that many characters of it, read
  // off the bytes (decoding non-ASCII UTF-8 again cost ~10 ms a multi-MB upload). A lone surrogate, which
  // write() turns into U+FFFD, is the exception: such text is decoded as before.
  return isWellFormed(text) && wasmLoops() ? text.slice(0, utf16UnitsFast(bytes, n)) : bytes.toString('utf8', 0, n)
}

/** Whether a string holds no lone surrogate (String.prototype.isWellFormed, ES2024). */
function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed()
}


/** A response whose body passed the cap: its redacted text cut to the cap (see keptText). */
function cutToCap(r: NonNullable<Observation['response']>): NonNullable<Observation['response']> {
  return r.body.truncated && r.body.text !== undefined ? { ...r, body: { ...r.body, text: keptText(r.body.text, true) } } : r
}

/**
 * The request's credential fingerprint, read before redaction: a multi-tenant app's requests are told apart by it.
 * A capture carries a token or a few, the same on every entry: each is fingerprinted once per read (a sha256 an entry
 * showed in profiles), remembered for the read only (under the salt it was made with) and for a few tokens at most.
 */
class CredentialMemo {
  private readonly known = new Map<string, string | undefined>()

  of(headers: readonly RawHeader[], url: string): string | undefined {
    const tokens = tokensOf(headers, url)
    if (tokens.length === 0) return undefined
    const key = tokens.join('\u0000')
    let c = this.known.get(key)
    if (c === undefined) {
      c = credentialOf(headers, url)
      if (this.known.size >= CREDENTIALS_REMEMBERED) this.known.clear()
      this.known.set(key, c)
    }
    return c
  }
}

/** Distinct tokens a read remembers the fingerprints of (a capture from a multi-tenant app may carry a few dozen). */
const CREDENTIALS_REMEMBERED = 64

function headersOf(list: HarHeader[]): RawHeader[] {
  const out: RawHeader[] = []
  // HTTP/2 exporters write pseudo-headers (:status, :authority); they are not headers on the wire of HTTP/1.1.
  for (const h of list) if (typeof h?.name === 'string' && !h.name.startsWith(':')) out.push([h.name, String(leaf(h.value) ?? '')])
  return out
}

function toObservation(e: HarEntry, entry: number, read: BodyReading | undefined, request: BodyReading | undefined, credentials: CredentialMemo): { observation: Observation; hasBody: boolean } {
  const reqHeaders = headersOf(e.request.headers)
  const rawHeaders = headersOf(e.response.headers)
  // The first value of each header read here, in one pass (three finds lower-cased every name three times).
  let contentType: string | undefined
  let declared: string | undefined
  let te: string | undefined
  for (const h of rawHeaders) {
    const n = h[0].toLowerCase()
    if (n === 'content-type') contentType ??= h[1]
    else if (n === 'content-length') declared ??= h[1]
    else if (n === 'transfer-encoding') te ??= h[1]
  }
  const c = e.response.content
  const hasBody = read !== undefined
  const mime = c.mimeType ?? contentType ?? ''
  const textual = TEXTUAL.test(mime) || (!c.encoding && hasBody)
  // The window: the whole text when it is under the cap; cut to the cap after redaction (redactBody) when not.
  const text = textual && read ? utf8Text(read.window) : undefined
  const looksJson = text !== undefined && text.length > 0 && (/json|javascript/i.test(mime) || /^\s*[[{]/.test(text))
  const { json, jsonError } = !looksJson ? {} : read!.truncated ? { jsonError: `body is ${read!.size} bytes; only the first ${KEPT_BODY_BYTES} were kept, so it was not parsed` } : parseJsonBody(text)
  const size = read ? read.size : Math.max(0, c.size ?? 0)
  const version = (e.response.httpVersion ?? '').replace(/^HTTP\//i, '').toLowerCase()
  const h2 = version === '2' || version === '2.0' || version === 'h2' || version === '3' || version === 'h3'
  // HTTP/2 and /3 frame bodies themselves; without a Content-Length the length is not declared, like chunked.
  const kind: FramingKind = te && /chunked/i.test(te) ? 'chunked' : declared !== undefined ? 'content-length' : size === 0 ? 'none' : h2 ? 'chunked' : 'close-delimited'
  // Built without spreading optional parts in: an object literal that spreads takes V8's slow road for every property
  // after the spread, and this one is built for every entry (the response literal alone was ~13 µs an entry in
  // profiles). Optional keys are added where the spread put them, so the key order (and every JSON written) is the same.
  const body: ObservedBody = {
    size,
    sha256: read ? read.sha256 : '',
    keptBytes: read ? Math.min(read.size, KEPT_BODY_BYTES) : 0,
    truncated: read ? read.truncated : size > 0,
  }
  if (text !== undefined) body.text = text
  if (json !== undefined) body.json = json
  if (jsonError !== undefined) body.jsonError = jsonError
  const req: ObservedRequest = {
    method: e.request.method.toUpperCase(),
    url: e.request.url,
    headers: reqHeaders,
    bodySize: Math.max(0, e.request.bodySize ?? request?.size ?? 0),
    tokenSent: reqHeaders.some(([n, v]) => n.toLowerCase() === 'authorization' && /^bearer\s/i.test(v)) || /[?&]access_token=/.test(e.request.url),
  }
  const credential = credentials.of(reqHeaders, e.request.url)
  if (credential !== undefined) req.credential = credential
  const framing: Framing = { kind, bytesRead: size }
  if (declared !== undefined && /^\d+$/.test(declared)) framing.declaredLength = Number(declared)
  const status = e.response.status
  const statusText = (leaf(e.response.statusText) as string | undefined) ?? ''
  const response: ObservedResponse = version
    ? { httpVersion: h2 ? version.replace(/^h/, '').replace(/^(\d)$/, '$1') : version, status, statusText, rawHeaders, framing, body }
    : { status, statusText, rawHeaders, framing, body }
  const timings: Observation['timings'] = { totalMs: Math.max(0, e.time ?? 0) }
  const wait = leaf(e.timings?.wait) as number | undefined
  if (wait !== undefined && wait >= 0) timings.ttfbMs = wait
  const observation: Observation = { contract: '', sample: entry, startedAt: leaf(e.startedDateTime) as string, request: req, response, timings }
  return { observation, hasBody }
}
