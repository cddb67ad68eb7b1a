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
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
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

/** Reads a HAR file; a malformed one fails with the file, the JSON path and what is wrong. */
export function readHar(file: string, redactor: Redactor, personal: PersonalDataRedactor, cwd = process.cwd()): TrafficEntry[] {
  const rel = relative(cwd, file) || file
  let doc: unknown
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new HarnessError('DW_HAR_INVALID', e.code ? `cannot read ${rel} (${e.code})` : `${rel} is not valid JSON: ${e.message}. Export the HAR again; a HAR is one JSON document.`, { file: rel })
  }
  const fail = (path: string, what: string): never => {
    throw new HarnessError('DW_HAR_INVALID', `${rel}: ${path} ${what} (HAR 1.2: http://www.softwareishard.com/blog/har-12-spec/)`, { file: rel, path })
  }
  const log = (doc as { log?: { version?: unknown; entries?: unknown } })?.log
  if (!log || typeof log !== 'object') fail('log', 'is missing: this is not a HAR file')
  if (!Array.isArray(log!.entries)) fail('log.entries', 'must be a list of entries')
  return (log!.entries as unknown[]).map((raw, i) => {
    const at = `log.entries[${i}]`
    const e = raw as HarEntry
    if (!e || typeof e !== 'object') fail(at, 'must be an object')
    if (!e.request || typeof e.request.method !== 'string' || typeof e.request.url !== 'string') fail(`${at}.request`, 'must have "method" and "url"')
    if (!e.response || typeof e.response.status !== 'number') fail(`${at}.response.status`, 'must be a number')
    if (!Array.isArray(e.request.headers)) fail(`${at}.request.headers`, 'must be a list of {name, value}')
    if (!Array.isArray(e.response.headers)) fail(`${at}.response.headers`, 'must be a list of {name, value}')
    if (!e.response.content || typeof e.response.content !== 'object') fail(`${at}.response.content`, 'is missing')
    const c = e.response.content
    if (c.encoding !== undefined && c.encoding !== 'base64') fail(`${at}.response.content.encoding`, `is "${c.encoding}"; only base64 (or none) is defined`)
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
      ...(observation.response ? { response: { ...observation.response, rawHeaders: redactor.headers(observation.response.rawHeaders), body: redactBody(observation.response.body, redactor) } } : {}),
    }
    return { source: `${rel} entry ${i + 1}`, observation: redactPersonal(safe, personal), hasBody, ...(requestBody !== undefined ? { requestBody } : {}) }
  })
}

function redactBody(b: ObservedBody, redactor: Redactor): ObservedBody {
  return { ...b, ...(b.text !== undefined ? { text: redactor.text(b.text) } : {}), ...(b.json !== undefined ? { json: redactor.deep(b.json) } : {}) }
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
