/**
 * HARs as large as asked, of realistic Cloud API traffic, written as a stream (a 1 GB file costs
 * the writer no memory). Used by the streaming, bounds and signal tests and by the bench.
 *
 * - writeLargeHar: the 72 exchanges of suites/verify/fixtures/cloud-api-traffic.har (every kind of
 *   send, mark-as-read, the media chain with a base64 download, phone numbers, templates, errors the
 *   application asked for, other hosts) repeated in order, each copy later in time, pretty-printed
 *   as browsers export. With `media`, each copy's upload is a multipart body of that many binary
 *   bytes (escapes and multi-byte UTF-8, as browsers write them) and its download that many bytes
 *   of base64, its retrieve naming their sha256 and size: the shape of real captures, where a few
 *   large bodies are most of the bytes.
 * - writeMediaHar: one retrieve and the download it hands out, the download body one string of any
 *   length (past V8's longest string, too), streamed to disk and never held.
 */
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs'
import { join } from 'node:path'

const FIXTURE = join(import.meta.dirname, '..', 'verify', 'fixtures', 'cloud-api-traffic.har')

/** Where the media chain sits in the fixture: the multipart upload, the retrieve, the download. */
const UPLOAD = 12
const RETRIEVE = 13
const DOWNLOAD = 14

type Entry = Record<string, any>

/** How large: a number of entries, or of bytes (whichever is reached first); `media` sizes each copy's upload and download. */
export interface LargeHarOptions {
  entries?: number
  bytes?: number
  media?: { bytes: number }
  /**
   * Each copy as real traffic differs from the last (default: copies the same but for their times):
   * a new wamid per send, request and trace ids per answer (and the fbtrace_id of an error), the
   * Date header, a new media id per upload, and recipients from a pool of 5,000. Same lengths, so
   * Content-Length still holds.
   */
  varied?: boolean
}

/** Values of the fixture that real traffic never repeats, each with how a copy spells it (same length). */
function variations(text: string): Map<string, (copy: number, span: number) => string> {
  const out = new Map<string, (copy: number, span: number) => string>()
  // The last n characters before any `=` padding become a number unique to the copy and the value.
  const unique = (v: string, k: number, n: number, radix: number) => (copy: number) => {
    const pad = /=*$/.exec(v)![0].length
    const digits = (copy * 1024 + k).toString(radix).toUpperCase().padStart(n, '0').slice(-n)
    return v.slice(0, v.length - pad - n) + digits + v.slice(v.length - pad)
  }
  const seen = (re: RegExp) => [...new Set([...text.matchAll(re)].map((m) => m[1]!))]
  seen(/(wamid\.[A-Za-z0-9+/_=-]{20,})/g).forEach((v, k) => out.set(v, unique(v, k, 12, 16)))
  for (const header of ['x-fb-request-id', 'x-fb-trace-id', 'X-FB-Debug']) {
    seen(new RegExp(`"${header}",\\s*"value":\\s*"([^"]+)"`, 'g')).forEach((v, k) => out.set(v, unique(v, k, 8, 36)))
  }
  seen(/"Date",\s*"value":\s*"([^"]+)"/g).forEach((v) => out.set(v, (copy, span) => new Date(Date.parse(v) + copy * span).toUTCString()))
  out.set('1037543291543636', (copy) => `1037${String(copy).padStart(12, '0')}`)
  out.set('16505551234', (copy) => `1650555${String(copy % 5000).padStart(4, '0')}`)
  return out
}

function fixtureEntries(): Entry[] {
  return (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { log: { entries: Entry[] } }).log.entries
}

/** A writer that counts bytes and waits when the disk is behind. */
function writer(file: string): { out: WriteStream; write: (s: string | Buffer) => Promise<void>; bytes: () => number; close: () => Promise<void> } {
  const out = createWriteStream(file)
  let bytes = 0
  return {
    out,
    write: async (s) => {
      bytes += typeof s === 'string' ? Buffer.byteLength(s) : s.length
      if (!out.write(s)) await once(out, 'drain')
    },
    bytes: () => bytes,
    close: async () => {
      out.end()
      await once(out, 'close')
    },
  }
}

const HEAD = '{\n  "log": {\n    "version": "1.2",\n    "creator": { "name": "driftwatch large-har", "version": "1" },\n    "entries": [\n'
const TAIL = '\n    ]\n  }\n}\n'

/** The fixture's media chain carrying `blob`: the upload sends it, the retrieve names its hash and size, the download returns it. */
function withMedia(base: Entry[], blob: Buffer): Entry[] {
  const out = structuredClone(base)
  const sha256 = createHash('sha256').update(blob).digest('hex')
  const upload = out[UPLOAD]!.request
  // Binary in a multipart body, as a browser's HAR writes it: the bytes read as latin1, so control bytes are escaped.
  upload.postData.text = upload.postData.text.replace('<binary image, 1 px>', blob.toString('latin1'))
  upload.bodySize = Buffer.byteLength(upload.postData.text)
  const retrieve = out[RETRIEVE]!.response.content
  retrieve.text = JSON.stringify({ ...JSON.parse(retrieve.text), sha256, file_size: blob.length })
  const download = out[DOWNLOAD]!.response
  download.content = { ...download.content, size: blob.length, text: blob.toString('base64') }
  download.headers = download.headers.map((h: Entry) => (h.name === 'Content-Length' ? { ...h, value: String(blob.length) } : h))
  return out
}

/** Writes the HAR; returns the entries and bytes written. */
export async function writeLargeHar(file: string, opts: LargeHarOptions): Promise<{ entries: number; bytes: number }> {
  const fixture = fixtureEntries()
  const base = opts.media ? withMedia(fixture, randomBytes(opts.media.bytes)) : fixture
  const t0 = Date.parse(base[0]!.startedDateTime)
  const span = Date.parse(base[base.length - 1]!.startedDateTime) - t0 + 1000
  const maxEntries = opts.entries ?? Number.POSITIVE_INFINITY
  const maxBytes = opts.bytes ?? Number.POSITIVE_INFINITY
  const w = writer(file)
  await w.write(HEAD)
  // Each entry serialised once, cut where a copy differs: its time (the same application, later) and, varied, the values real traffic never repeats.
  const vary = opts.varied ? variations(JSON.stringify(base)) : new Map<string, (copy: number, span: number) => string>()
  const cut = new RegExp(`(${['"startedDateTime": "[^"]+"', ...[...vary.keys()].sort((a, b) => b.length - a.length).map((v) => v.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))].join('|')})`)
  const texts = base.map((e) => JSON.stringify(e, null, 2).split(cut))
  const spell = (part: string, copy: number) => {
    if (part.startsWith('"startedDateTime": "')) return `"startedDateTime": "${new Date(Date.parse(part.slice(20, -1)) + copy * span).toISOString()}"`
    return vary.get(part)?.(copy, span) ?? part
  }
  let n = 0
  while (n < maxEntries && w.bytes() < maxBytes) {
    const copy = Math.floor(n / base.length)
    const parts = texts[n % base.length]!
    let text = ''
    for (let i = 0; i < parts.length; i++) text += i % 2 === 1 ? spell(parts[i]!, copy) : parts[i]!
    await w.write(`${n ? ',\n' : ''}${text}`)
    n++
  }
  await w.write(TAIL)
  await w.close()
  return { entries: n, bytes: w.bytes() }
}

/** What writeMediaHar wrote: the file's size, and the body's (decoded) size and sha256 as the retrieve names them. */
export interface MediaHar {
  bytes: number
  bodyBytes: number
  sha256: string
  /** Characters of the download's content.text. */
  chars: number
}

/**
 * A HAR of one media retrieve and its download, the download's content.text one string of about
 * `chars` characters: base64 of random bytes, or plain text (`text/plain`, no encoding). Streamed to
 * disk in 3 MB pieces, the same piece repeated (hashed in a first pass, so the retrieve before it
 * can name the sha256).
 */
export async function writeMediaHar(file: string, opts: { chars: number; encoding: 'base64' | 'none' }): Promise<MediaHar> {
  const base = fixtureEntries()
  const PIECE = 3 * 1024 * 1024
  const raw = randomBytes(PIECE)
  // Base64 of a multiple of 3 bytes has no padding: pieces join into one valid text.
  const piece = opts.encoding === 'base64' ? Buffer.from(raw.toString('base64')) : Buffer.from(raw.toString('base64').replace(/[+/]/g, ' '))
  const decoded = opts.encoding === 'base64' ? raw : piece
  const count = Math.max(1, Math.round(opts.chars / piece.length))
  const hash = createHash('sha256')
  for (let i = 0; i < count; i++) hash.update(decoded)
  const sha256 = hash.digest('hex')
  const bodyBytes = decoded.length * count
  const mime = opts.encoding === 'base64' ? 'image/png' : 'text/plain'
  const retrieve = structuredClone(base[RETRIEVE]!)
  retrieve.response.content.text = JSON.stringify({ ...JSON.parse(retrieve.response.content.text), sha256, file_size: bodyBytes, mime_type: mime })
  const download = structuredClone(base[DOWNLOAD]!)
  download.response.headers = download.response.headers.map((h: Entry) => (h.name === 'Content-Length' ? { ...h, value: String(bodyBytes) } : h.name === 'Content-Type' ? { ...h, value: mime } : h))
  const MARK = '@@BODY@@'
  download.response.content = { size: bodyBytes, mimeType: mime, text: MARK, ...(opts.encoding === 'base64' ? { encoding: 'base64' } : {}) }
  const [before, after] = JSON.stringify(download, null, 2).split(MARK) as [string, string]
  const w = writer(file)
  await w.write(`${HEAD}${JSON.stringify(retrieve, null, 2)},\n${before}`)
  for (let i = 0; i < count; i++) await w.write(piece)
  await w.write(`${after}${TAIL}`)
  await w.close()
  return { bytes: w.bytes(), bodyBytes, sha256, chars: piece.length * count }
}
