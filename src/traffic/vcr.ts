/**
 * VCR cassettes, how most SDKs and applications keep Meta's answers in their tests, read into
 * observations: what `check` would have recorded had it sent the request itself. Two formats, told
 * apart by content, not by extension:
 *
 * - Ruby VCR (https://benoittgt.github.io/vcr/): `http_interactions: [{request, response,
 *   recorded_at}]`, bodies as `{encoding, string}` (`string: !binary` when the bytes are not text)
 *   or `{encoding, base64_string}` (`preserve_exact_body_bytes`). Also its JSON serialiser.
 * - Python vcrpy (https://vcrpy.readthedocs.io/): `version: 1`, `interactions: [{request,
 *   response}]`, request body `null | string | !!binary`, response body `{string}`; vcrpy keeps the
 *   bytes as received, so a gzip answer stays gzip unless `decode_compressed_response` was set.
 *
 * A cassette is not a wire capture: framing comes from the headers it kept (Content-Length,
 * Transfer-Encoding), as for a HAR. Secrets and personal data are redacted here, before anything
 * else reads the entries. Cassettes are hostile input too: YAML nested deeper than any cassette is
 * refused before the YAML composer (which recurses) sees it.
 */
import { oneLine } from '../render/index.ts'
import { createHash } from 'node:crypto'
import { isUtf8 } from 'node:buffer'
import { readFileSync } from 'node:fs'
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib'
import { Composer, type CST, type Document, LineCounter, Parser, type ScalarTag } from 'yaml'
import { HarnessError } from '../util/errors.ts'
import { parseJsonBody } from '../util/json.ts'
import type { FramingKind, Observation, ObservedBody, RawHeader } from '../model/observation.ts'
import type { PersonalDataRedactor } from '../recordings/personal-data.ts'
import { redactPersonal } from '../recordings/store.ts'
import { credentialOf } from '../transport/credential.ts'
import type { Redactor } from '../transport/redact.ts'
import type { TrafficEntry } from './entry.ts'
import { shownPath } from '../util/paths.ts'

/**
 * Deeper than any cassette (the deepest real path, a header value, is 7 levels) and far below the
 * depth at which the YAML composer overflows the stack (about 780 levels on Node's default stack;
 * once it has, a second deep document can abort the whole process, which no `catch` can stop).
 */
export const MAX_CASSETTE_DEPTH = 64

/** A decompressed body larger than this is left compressed (a small gzip can claim gigabytes). */
const MAX_DECODED_BYTES = 64 * 1024 * 1024

const TEXTUAL = /^(text\/|application\/(json|javascript|x-www-form-urlencoded|xml)|[^;]*\+json)/i

const FORMATS = 'a Ruby VCR cassette (top-level "http_interactions" list) or a vcrpy cassette ("version: 1" and an "interactions" list)'

/** Ruby's Psych writes binary strings with the local tag `!binary` (base64), which the YAML library does not know. */
const rubyBinary: ScalarTag = { tag: '!binary', resolve: (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'base64') }

type Format = 'ruby' | 'vcrpy'
type Path = (string | number)[]

/** Reads a Ruby VCR or vcrpy cassette; a malformed one fails with DW_CASSETTE_INVALID naming the file, the place and the fix. */
export function readCassette(file: string, redactor: Redactor, personal: PersonalDataRedactor, cwd = process.cwd()): TrafficEntry[] {
  const rel = shownPath(cwd, file)
  let source: string
  try {
    source = readFileSync(file, 'utf8')
  } catch (err) {
    throw new HarnessError('DW_CASSETTE_INVALID', `cannot read ${rel} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { file: rel })
  }
  const { doc, lines } = parseYaml(source, rel)
  const at = (path: Path): string => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined
      if (node?.range) {
        const { line, col } = lines.linePos(node.range[0])
        return `${rel}:${line}:${col}`
      }
    }
    return rel
  }
  let root: unknown
  try {
    // Aliases beyond the library's default count (100) are refused: the "billion laughs" expansion.
    root = doc.toJS()
  } catch (err) {
    throw new HarnessError('DW_CASSETTE_INVALID', oneLine(`${rel} is not a usable cassette: ${(err as Error).message}`), { file: rel })
  }
  const format = detect(root, rel)
  const list = format === 'ruby' ? 'http_interactions' : 'interactions'
  const fail = (path: Path, what: string): never => {
    const dotted = dotPath(path)
    throw new HarnessError('DW_CASSETTE_INVALID', oneLine(`${at(path)}: ${dotted} ${what}`), { file: rel, path: dotted })
  }
  const items = (root as Record<string, unknown>)[list]
  if (!Array.isArray(items)) fail([list], `must be a list of interactions (${FORMATS})`)
  return (items as unknown[]).map((raw, i) => readInteraction(raw, [list, i], rel, fail, redactor, personal))
}

/** Parses the YAML (JSON is YAML too) after measuring its nesting without recursion. */
function parseYaml(source: string, rel: string): { doc: Document.Parsed; lines: LineCounter } {
  const lines = new LineCounter()
  const fail = (offset: number, what: string): never => {
    const { line, col } = lines.linePos(offset)
    throw new HarnessError('DW_CASSETTE_INVALID', oneLine(`${rel}:${line}:${col}: ${what}`), { file: rel, line, column: col })
  }
  try {
    // The lexer and parser are iterative; only composing the document recurses, so depth is measured on the CST first.
    const tokens = [...new Parser(lines.addNewLine).parse(source)]
    const deep = deepest(tokens)
    if (deep) fail(deep.offset, `is not a cassette: YAML nested more than ${MAX_CASSETTE_DEPTH} levels deep (a cassette nests about 7); not parsed`)
    // Both Psych and PyYAML write YAML 1.1: read it with 1.1's rules, so a value they left unquoted means what they meant.
    const composer = new Composer({ version: '1.1', customTags: [rubyBinary], prettyErrors: false })
    const docs = [...composer.compose(tokens, true, source.length)]
    if (docs.length > 1) fail(docs[1]!.range[0], `holds ${docs.length} YAML documents; a cassette is one document`)
    const doc = docs[0]!
    const err = doc.errors[0]
    if (err) fail(err.pos[0], `is not valid YAML: ${err.message.split('\n')[0]}`)
    return { doc, lines }
  } catch (err) {
    if (err instanceof HarnessError) throw err
    // A stack overflow the depth guard did not foresee (a caller already deep in the stack) is still the file's fault, not ours.
    const why = err instanceof RangeError ? `too deeply nested to parse (${err.message})` : `could not be parsed (${(err as Error).message})`
    throw new HarnessError('DW_CASSETTE_INVALID', `${rel} is not a cassette: ${why}`, { file: rel })
  }
}

/** The first CST node nested deeper than MAX_CASSETTE_DEPTH, found with an explicit stack. */
function deepest(tokens: CST.Token[]): { offset: number } | undefined {
  const stack: [CST.Token, number][] = tokens.map((t) => [t, 0])
  while (stack.length) {
    const [t, depth] = stack.pop()!
    if (depth > MAX_CASSETTE_DEPTH) return { offset: t.offset }
    if ('value' in t && t.value && typeof t.value === 'object') stack.push([t.value as CST.Token, depth + 1])
    if ('items' in t && Array.isArray(t.items)) {
      for (const item of t.items as { key?: CST.Token | null; value?: CST.Token }[]) {
        if (item.key && typeof item.key === 'object') stack.push([item.key, depth + 1])
        if (item.value && typeof item.value === 'object') stack.push([item.value, depth + 1])
      }
    }
  }
  return undefined
}

function detect(root: unknown, rel: string): Format {
  const invalid = (found: string) => new HarnessError('DW_CASSETTE_INVALID', `${rel} is not a VCR cassette: expected ${FORMATS}; ${found}`, { file: rel })
  if (root === null || root === undefined) throw invalid('the file is empty')
  if (typeof root !== 'object' || Array.isArray(root)) throw invalid(`found ${Array.isArray(root) ? 'a list' : `a single ${typeof root}`} at the top level`)
  const doc = root as Record<string, unknown>
  if ('http_interactions' in doc) return 'ruby'
  if ('interactions' in doc) {
    // vcrpy refuses other versions itself (version 0 was its pre-1.0 format); so do we, rather than misread one.
    if (doc.version !== undefined && doc.version !== 1) throw new HarnessError('DW_CASSETTE_INVALID', `${rel}: version is ${JSON.stringify(doc.version)}; vcrpy's cassette format is version 1. Record the cassette again with vcrpy >= 1.0.`, { file: rel, path: 'version' })
    return 'vcrpy'
  }
  const keys = Object.keys(doc).slice(0, 5)
  throw invalid(`found ${keys.length ? `top-level keys ${keys.map((k) => `"${k}"`).join(', ')}` : 'an empty map'}`)
}

function dotPath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date)

function readInteraction(raw: unknown, at: Path, rel: string, fail: (path: Path, what: string) => never, redactor: Redactor, personal: PersonalDataRedactor): TrafficEntry {
  const index = at[1] as number
  const n = index + 1
  const fix = `(interaction ${n}). Record the cassette again, or fix it by hand.`
  if (!isMap(raw)) fail(at, `must be a map with "request" and "response" ${fix}`)
  const ix = raw as Record<string, unknown>
  const req = ix.request
  const res = ix.response
  if (!isMap(req)) fail([...at, 'request'], `is missing: each interaction has a "request" with "method" and "uri" ${fix}`)
  if (!isMap(res)) fail([...at, 'response'], `is missing: each interaction has a "response" with "status: {code, message}" ${fix}`)
  const request = req as Record<string, unknown>
  const response = res as Record<string, unknown>
  const method = request.method
  if (typeof method !== 'string' || !method.trim()) fail([...at, 'request', 'method'], `must be the HTTP method, e.g. "method: get" ${fix}`)
  const uri = request.uri ?? request.url
  if (typeof uri !== 'string' || !uri.trim()) fail([...at, 'request', 'uri'], `must be the full URL requested, e.g. "uri: https://graph.facebook.com/v21.0/me" ${fix}`)
  // vcrpy's httpx stubs (4.x) wrote a flat `status_code` and `content`; read them too rather than refuse SDK cassettes recorded with it.
  const statusNode = response.status
  const rawCode = isMap(statusNode) ? statusNode.code : statusNode ?? response.status_code
  const code = typeof rawCode === 'string' && /^\d{3}$/.test(rawCode.trim()) ? Number(rawCode) : rawCode
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 100 || code > 999) fail([...at, 'response', 'status', 'code'], `must be the HTTP status as a number, e.g. "status: {code: 200, message: OK}" ${fix}`)
  const statusText = isMap(statusNode) && statusNode.message !== undefined && statusNode.message !== null ? String(statusNode.message) : ''
  const reqHeaders = headersOf(request.headers, [...at, 'request', 'headers'], fail)
  const rawHeaders = headersOf(response.headers, [...at, 'response', 'headers'], fail)
  const reqBytes = bodyBytes(request.body, [...at, 'request', 'body'], fail)
  const resBytes = bodyBytes(response.body !== undefined ? response.body : response.content, [...at, 'response', 'body'], fail)
  const startedAt = startedAtOf(ix.recorded_at, index, [...at, 'recorded_at'], fail)
  const httpVersion = typeof response.http_version === 'string' ? response.http_version : undefined

  const requestText = reqBytes && reqBytes.length > 0 ? reqBytes.toString('utf8') : undefined
  const url = uri as string
  const credential = credentialOf(reqHeaders, url)
  const observation: Observation = {
    contract: '',
    sample: n,
    startedAt,
    request: {
      method: (method as string).trim().replace(/^:/, '').toUpperCase(),
      url,
      headers: reqHeaders,
      bodySize: reqBytes?.length ?? 0,
      // An Authorization header survives as a placeholder (`Bearer <ACCESS_TOKEN>`) when VCR filtered it: the token was still sent.
      tokenSent: reqHeaders.some(([name, v]) => name.toLowerCase() === 'authorization' && /^bearer\s/i.test(v)) || /[?&]access_token=/.test(url) || (requestText !== undefined && /(^|&)access_token=|"access_token"\s*:/.test(requestText)),
      ...(credential ? { credential } : {}),
    },
    response: responseOf(code as number, statusText, rawHeaders, resBytes, httpVersion),
    // Cassettes keep no timings.
    timings: { totalMs: 0 },
  }
  const hasBody = resBytes !== undefined
  const r = observation.response!
  const safe: Observation = {
    ...observation,
    request: { ...observation.request, url: redactor.url(url), headers: redactor.headers(reqHeaders) },
    response: redactor.response(r),
  }
  // The request's own JSON says which values are phone numbers (`"to": "16315550142"`); register them before any text pass.
  if (requestText !== undefined) {
    const { json } = parseJsonBody(requestText)
    if (json !== undefined) personal.json(json)
  }
  const redacted = redactPersonal(safe, personal)
  // requestBody is redacted too: it is meant never to be written, but it is held next to observations that are, and
  // redaction keeps its shape (`[REDACTED]` inside the same string, phone placeholders with the same digits), so
  // attribution reads it as well as the original. The excerpt is cut from the redacted text so no secret is cut in half first.
  const requestBody = requestText !== undefined ? personal.text(redactor.text(requestText)) : undefined
  if (requestBody !== undefined && isUtf8(reqBytes!)) redacted.request = { ...redacted.request, bodyExcerpt: requestBody.slice(0, 500) }
  return { source: `${rel} interaction ${n}`, observation: redacted, hasBody, ...(requestBody !== undefined ? { requestBody } : {}) }
}

/** `{Name: [values]}` (both formats) or `{Name: value}` (vcrpy's httpx stubs) into wire-order headers, one per value. */
function headersOf(v: unknown, path: Path, fail: (path: Path, what: string) => never): RawHeader[] {
  if (v === undefined || v === null) return []
  if (!isMap(v)) fail(path, 'must be a map of header name to a list of values, e.g. "Content-Type: [application/json]"')
  const out: RawHeader[] = []
  for (const [name, values] of Object.entries(v as Record<string, unknown>)) {
    for (const value of Array.isArray(values) ? values : [values]) {
      if (value !== null && typeof value === 'object' && !(value instanceof Date)) fail([...path, name], 'must be a list of header values (text), not a map or nested list')
      out.push([name, scalarText(value)])
    }
  }
  return out
}

function scalarText(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (v instanceof Date) return v.toISOString()
  return String(v)
}

/**
 * A body's bytes: undefined when the cassette kept none. Ruby VCR: `{encoding, string}` or
 * `{encoding, base64_string}`, `string` being `!binary` for non-text bytes; vcrpy: the request body
 * itself (`null`, text or `!!binary`), the response body as `{string}`.
 */
function bodyBytes(v: unknown, path: Path, fail: (path: Path, what: string) => never): Buffer | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return Buffer.from(v, 'utf8')
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  if (isMap(v)) {
    if (typeof v.base64_string === 'string') return Buffer.from(v.base64_string.replace(/\s+/g, ''), 'base64')
    if (v.base64_string !== undefined && v.base64_string !== null) fail([...path, 'base64_string'], 'must be base64 text')
    if (!('string' in v) || v.string === null) return undefined
    if (typeof v.string === 'string' || typeof v.string === 'number' || typeof v.string === 'boolean') return Buffer.from(String(v.string), 'utf8')
    if (v.string instanceof Uint8Array) return Buffer.from(v.string.buffer, v.string.byteOffset, v.string.byteLength)
    fail([...path, 'string'], 'must be text, or binary written as !binary / !!binary base64')
  }
  return fail(path, 'must be {string: ...} or {base64_string: ...}, text, binary or null')
}

function startedAtOf(v: unknown, index: number, path: Path, fail: (path: Path, what: string) => never): string {
  // vcrpy records no time (nor does a Ruby cassette whose recorded_at was filtered out). A fixed epoch plus the
  // interaction's index, not the file's mtime: a checkout rewrites mtimes, and the same cassette must give the same
  // report and recordings on every machine; the index keeps the cassette's order wherever entries are sorted by time.
  if (v === undefined || v === null || v === '') return new Date(index * 1000).toISOString()
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v.toISOString()
  if (typeof v === 'string') {
    // RFC 1123 (`Tue, 10 Feb 2026 20:32:00 GMT`) as Ruby VCR writes it; a zoneless ISO time is read as UTC, never as local time.
    const s = v.trim()
    const t = Date.parse(/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s) ? `${s.replace(' ', 'T')}Z` : s)
    if (!Number.isNaN(t)) return new Date(t).toISOString()
  }
  return fail(path, `is ${JSON.stringify(scalarText(v))}, not a time: Ruby VCR writes RFC 1123, e.g. "recorded_at: Tue, 10 Feb 2026 20:32:00 GMT"`)
}

/**
 * Undoes Content-Encoding, last coding first, as the client that made the recording did before
 * reading the body. Undefined when a coding is unknown or the bytes do not decode: the body is then
 * judged as the bytes it is.
 */
function decode(bytes: Buffer, encodings: string[]): Buffer | undefined {
  let out = bytes
  const opts = { maxOutputLength: MAX_DECODED_BYTES }
  try {
    for (const e of [...encodings].reverse()) {
      if (e === 'gzip' || e === 'x-gzip') out = gunzipSync(out, opts)
      else if (e === 'br') out = brotliDecompressSync(out, opts)
      else if (e === 'deflate') {
        // "deflate" is zlib-wrapped by the RFC, raw in some servers.
        try {
          out = inflateSync(out, opts)
        } catch {
          out = inflateRawSync(out, opts)
        }
      } else if (e !== 'identity' && e !== '') return undefined
    }
    return out
  } catch {
    return undefined
  }
}

function responseOf(status: number, statusText: string, rawHeaders: RawHeader[], recorded: Buffer | undefined, httpVersion: string | undefined): NonNullable<Observation['response']> {
  const values = (name: string) => rawHeaders.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v)
  const mime = values('content-type')[0] ?? ''
  const hasBody = recorded !== undefined
  const codings = values('content-encoding').flatMap((v) => v.split(',')).map((s) => s.trim().toLowerCase()).filter(Boolean)
  // vcrpy keeps what the socket delivered, gzip included; the body judged is what the client read, after decoding.
  const decoded = hasBody && recorded.length > 0 && codings.some((c) => c !== 'identity') ? decode(recorded, codings) : recorded
  const undecodable = hasBody && decoded === undefined
  const bytes = decoded ?? Buffer.alloc(0)
  const textual = hasBody && !undecodable && (TEXTUAL.test(mime) || (!mime && isUtf8(bytes)))
  const text = textual ? bytes.toString('utf8') : undefined
  const looksJson = /json|javascript/i.test(mime) || (text !== undefined && /^\s*[[{]/.test(text))
  const { json, jsonError } = text !== undefined && text.length > 0 && looksJson ? parseJsonBody(text) : {}
  const declared = values('content-length')[0]
  const te = values('transfer-encoding').join(',')
  const wire = hasBody ? recorded.length : declared !== undefined && /^\s*\d+\s*$/.test(declared) ? Number(declared) : 0
  const size = hasBody && !undecodable ? bytes.length : wire
  const version = (httpVersion ?? '').trim().replace(/^HTTP\//i, '').toLowerCase()
  const h2 = ['2', '2.0', 'h2', '3', 'h3'].includes(version)
  // As in a HAR: HTTP/2 and /3 frame bodies themselves; without a Content-Length the length is not declared, like chunked.
  const kind: FramingKind = /(^|,)\s*chunked\s*(,|$)/i.test(te) ? 'chunked' : declared !== undefined ? 'content-length' : wire === 0 ? 'none' : h2 ? 'chunked' : 'close-delimited'
  const body: ObservedBody = {
    size,
    sha256: hasBody && !undecodable ? createHash('sha256').update(bytes).digest('hex') : '',
    keptBytes: hasBody && !undecodable ? bytes.length : 0,
    truncated: !hasBody && size > 0,
    ...(text !== undefined ? { text } : {}),
    ...(json !== undefined ? { json } : {}),
    ...(jsonError !== undefined ? { jsonError } : {}),
    ...(undecodable && /json|javascript/i.test(mime) ? { jsonError: `recorded with Content-Encoding: ${codings.join(', ')}, which did not decode; not parsed` } : {}),
  }
  return {
    ...(version ? { httpVersion: version.replace(/^h/, '') } : {}),
    status,
    statusText,
    rawHeaders,
    // bytesRead is what crossed the wire as recorded (still compressed when it was), as Content-Length counts it.
    framing: { kind, bytesRead: wire, ...(declared !== undefined && /^\s*\d+\s*$/.test(declared) ? { declaredLength: Number(declared) } : {}) },
    body,
  }
}
