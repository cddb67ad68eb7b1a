/**
 * What really crossed the wire for one probe sample. Plain JSON: it is what checks read, what
 * recordings store and what evidence quotes. Secrets never enter it: the transport writes the
 * request headers and URL already redacted.
 */

/** A header as it appeared on the wire: original case, in order, repeats kept. */
export type RawHeader = [name: string, value: string]

/** How the response body was delimited on the wire. */
export type FramingKind = 'content-length' | 'chunked' | 'close-delimited' | 'none'

/** Body framing as declared by the headers and as actually read. */
export interface Framing {
  kind: FramingKind
  /** Value of Content-Length when present (and parsable). */
  declaredLength?: number
  /** Body bytes actually delivered, after de-chunking. */
  bytesRead: number
  /** Bytes read off the socket for this response (status line, headers, framing and body); undefined when not tapped. */
  wireBytes?: number
}

/** The response body: hashed and measured in full, kept in memory only up to a cap. */
export interface ObservedBody {
  /** Total bytes received. */
  size: number
  /** Hex sha256 of all received bytes. */
  sha256: string
  /** UTF-8 text of the first `keptBytes` bytes when the body looks like text; absent for binary. */
  text?: string
  /** A binary body's first `keptBytes` bytes, base64; only when the transport was asked to keep binary bodies (recordings). */
  base64?: string
  /** How many bytes were kept in memory (<= size). */
  keptBytes: number
  /** True when more was received than kept. */
  truncated: boolean
  /** Parsed JSON when the kept text parsed as JSON. */
  json?: unknown
  /** Parse error message when the body claimed or looked like JSON but did not parse. */
  jsonError?: string
  /**
   * For a body that is not text (binary, or bytes that are not valid UTF-8 under a text content
   * type): its first bytes in hex, so reports show `size + sha256 + preview` and never raw bytes.
   */
  hexPreview?: string
}

/**
 * The hexPreview of a body whose bytes hold a secret: nothing of them is kept (no preview, no text,
 * no base64), only their size and sha256.
 */
export const PREVIEW_WITHHELD = '[REDACTED]'

/** How many leading bytes a hex preview shows. */
export const HEX_PREVIEW_BYTES = 32

/** `89 50 4e 47 …`: the first bytes of a body, in hex. */
export function hexPreview(bytes: Uint8Array): string {
  return Buffer.from(bytes.subarray(0, HEX_PREVIEW_BYTES)).toString('hex').replace(/(..)(?!$)/g, '$1 ')
}

/** Control characters (C0 but tab and newlines, DEL, C1) and U+FFFD: text that is really bytes. */
const NOT_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFD]/

/** True when a body's kept bytes are not readable text. */
export function isBinaryText(text: string): boolean {
  return NOT_TEXT.test(text)
}

/** The request as sent (redacted). */
export interface ObservedRequest {
  method: string
  /** Full URL with secrets in the query replaced. */
  url: string
  /** Request headers in the order sent, `authorization` redacted. */
  headers: RawHeader[]
  /** Body size in bytes (0 when none). */
  bodySize: number
  /** A short redacted excerpt of a text body (form or JSON), for evidence. */
  bodyExcerpt?: string
  /** Whether the bearer token was attached. */
  tokenSent: boolean
  /**
   * Which credential it carried, when traffic carries several (the proxy: a multi-tenant app, a
   * rotated token): a fingerprint salted per process, never the token. Requests with different
   * credentials are not samples of one another (a 401 for one tenant is not an intermittent 200).
   */
  credential?: string
  /** Set when the URL's host is not allowlisted and the token was withheld on purpose. */
  tokenWithheld?: { host: string; allowed: string[] }
  /**
   * Which requests are samples of one another (sample-consistency). Absent: identical method, URL
   * and body, as a probe's samples are (sent back to back on purpose). Captured traffic sets it,
   * because there an identical request is not always a sample: see TrafficJudge.
   */
  sampleOf?: string
}

/** Where a transport failure happened; `connect` failures mean the upstream was not reached at all. */
export type TransportPhase = 'connect' | 'request' | 'headers' | 'body'

/** A failure below HTTP semantics: refused, reset, timed out, malformed, truncated, too large. */
export interface TransportFailure {
  /** undici / node error code, e.g. `UND_ERR_SOCKET`, `ECONNREFUSED`, or our own `DW_BODY_TOO_LARGE`. */
  code: string
  message: string
  phase: TransportPhase
  /** True when no byte of a response arrived and the cause is reachability (refused, DNS, connect timeout). */
  unreachable: boolean
}

/** The response as received, when one started arriving. */
export interface ObservedResponse {
  /** From the status line on the wire, e.g. `1.1`; undefined if the line could not be read. */
  httpVersion?: string
  /** Exact status line as received, e.g. `HTTP/1.1 200 OK`. */
  statusLine?: string
  status: number
  statusText: string
  /** Headers in wire order with original case. */
  rawHeaders: RawHeader[]
  framing: Framing
  body: ObservedBody
}

/** Millisecond timings measured with a monotonic clock. */
export interface Timings {
  /** Time until response headers were parsed. */
  ttfbMs?: number
  /** Time until the body completed or the request failed. */
  totalMs: number
  /** True when the request went over an already open connection. */
  reusedConnection?: boolean
}

/**
 * Which connection carried a sample: what tells the servers of a fleet apart. Meta rolls changes
 * out by server, so when samples disagree the first question is what the failing ones shared.
 */
export interface ConnectionInfo {
  /** `fresh`: a new connection opened for this sample alone; `shared`: the run's keep-alive connection. */
  mode: 'fresh' | 'shared'
  /** True when the request went over a connection that had already carried a response. */
  reused: boolean
  /** The peer's address as connected (for a fleet behind one name: which of its addresses). */
  remoteAddress?: string
  remotePort?: number
  /** TLS only: whether the handshake resumed a cached session (fresh connections never do). */
  tlsSessionReused?: boolean
  /** TLS only: the protocol version, e.g. `TLSv1.3`. */
  tlsProtocol?: string
}

/** One probe sample: the request, the response (if any) and any transport failure. */
export interface Observation {
  contract: string
  /** 1-based sample index within the contract's run. */
  sample: number
  /** ISO time the request was started. */
  startedAt: string
  request: ObservedRequest
  response?: ObservedResponse
  transportError?: TransportFailure
  timings: Timings
  /** The connection that carried it; absent in traffic captured without it. */
  connection?: ConnectionInfo
}

const NONE: readonly string[] = Object.freeze([])

// A lookup scans the list: an exchange is asked about four or five headers of twenty, and comparing lengths first
// rules out most names without lowercasing them. Building a Map per list (then memoised per list in a WeakMap) cost
// several times as much, and each WeakMap key slowed every scavenge (bench/run.ts's verify section; issue 18).
function named(header: RawHeader, lower: string): boolean {
  const n = header[0]
  return n.length === lower.length && (n === lower || n.toLowerCase() === lower)
}

/** Case-insensitive lookup of every value of a header, in wire order. */
export function headerValues(headers: readonly RawHeader[], name: string): readonly string[] {
  const lower = name.toLowerCase()
  let values: string[] | undefined
  for (let i = 0; i < headers.length; i++) if (named(headers[i]!, lower)) (values ??= []).push(headers[i]![1])
  return values ?? NONE
}

/** First value of a header, or undefined. */
export function headerValue(headers: readonly RawHeader[], name: string): string | undefined {
  const lower = name.toLowerCase()
  for (let i = 0; i < headers.length; i++) if (named(headers[i]!, lower)) return headers[i]![1]
  return undefined
}
