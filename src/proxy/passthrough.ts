/**
 * The request path of the production proxy (issue 18): node:http in, an undici pool out
 * (transport/forwarder.ts), bytes streamed both ways as they arrive, with backpressure both ways.
 * The application sees the upstream's status code and reason phrase, its headers in their case
 * and order with repeats, and its framing: Content-Length stays that length, chunked stays
 * chunked, a close-delimited body stays close-delimited (no length; the connection closes at its
 * end). Only hop-by-hop headers are dropped (and Date is never added).
 *
 * Failures reach the application as the failure they are, never as a clean or rewritten answer:
 * an upstream that cannot be reached gets it a 502, one that sends no head in time a 504 (both a
 * Graph-shaped JSON error naming driftwatch); anything once the upstream has sent bytes (reset,
 * truncated or malformed head or body) resets the application's connection, mid-body when the
 * head was already forwarded, so its HTTP client fails as it would have direct.
 *
 * Capture is a tee: the first `captureBytes` of each body are copied, every byte is hashed and
 * counted, and the exchange is handed to `capture` (once, after the application's response ended
 * or was cut) as a CapturedExchange (exchange.ts). Nothing else happens here: no recordings, no
 * judging, no JSON; the observer does that off this path.
 */
import { isAscii } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import net, { type AddressInfo, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { isoNow } from '../util/clock.ts'
import { HarnessError } from '../util/errors.ts'
import type { Observation, ObservedResponse, RawHeader, TransportFailure } from '../model/observation.ts'
import { Forwarder, type ForwardHandler } from '../transport/forwarder.ts'
import { fingerprint } from '../transport/credential.ts'
import { Redactor } from '../transport/redact.ts'
import { classify, framingOf } from '../transport/transport.ts'
import { currentTap, type SocketTap } from '../transport/wire-tap.ts'
import type { CapturedExchange } from './exchange.ts'
import { kindOfParts } from './novelty.ts'
import { BodyTee } from './passthrough-tee.ts'

/** How to run the pass-through; sizes in bytes, times in milliseconds. */
export interface PassthroughOptions {
  /** Base URL requests are forwarded to, e.g. https://graph.facebook.com (its path is not used: the application's path is). */
  upstream: string
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0 (any free port). */
  port?: number
  /** Keep-alive connections to the upstream (default 32). */
  connections?: number
  /** Bytes of each request and response body kept for the capture (default 1 MiB); the rest is hashed and counted. */
  captureBytes?: number
  /** Called once per exchange after the application's response ended or was cut; must return at once (production: offer to a bounded queue). */
  capture?: (x: CapturedExchange) => void
  /** Called before each request is forwarded; a promise makes it wait (review mode's backpressure). Production passes none. */
  admit?: () => Promise<void> | undefined
  /** Drop the application's Accept-Encoding so bodies come back uncompressed (review mode, so recordings stay checkable). Default false: forwarded unchanged. */
  stripAcceptEncoding?: boolean
  /** No response head within this long: the application gets a 504 (default 30 s). */
  headersTimeoutMs?: number
  /** Longest silence while a response body streams before it is cut (default 300 s). */
  bodyTimeoutMs?: number
  connectTimeoutMs?: number
  /** How long `close` lets in-flight exchanges finish (default 30 s). */
  graceMs?: number
  /** Redacts the captured request's URL and headers (default: the patterns alone, which is all these need). */
  redactor?: Redactor
}

/** Counters of a running pass-through. */
export interface PassthroughStats {
  /** Requests sent on to the upstream. */
  forwarded: number
  /** Responses forwarded whole: the upstream's body ended as its framing said. */
  answered: number
  /** Responses cut after their head reached the application (the upstream reset or broke mid-body): the application's connection was reset. */
  abortedMidBody: number
  /** Requests that got no upstream answer: a 502 (unreachable), a 504 (no head in time), or a reset connection (the upstream broke before or inside its head). */
  failedBeforeAnswer: number
  /** Exchanges the application gave up on (it closed its connection before its answer ended): the upstream request was aborted too. */
  appAborted: number
  /** Requests that waited in `admit` before being forwarded. */
  waited: number
  /** Exchanges running now. */
  inflight: number
}

/** A running pass-through. */
export interface Passthrough {
  /** http://host:port the application points at. */
  url: string
  stats(): PassthroughStats
  /** Stops accepting, lets in-flight exchanges finish within the grace (default `graceMs`), then cuts what is left. */
  close(opts?: { graceMs?: number }): Promise<void>
  /** Cuts every connection now. */
  abort(): Promise<void>
}

/** Hop-by-hop request headers, plus those the forwarder sets itself (Host) or cannot send (Expect: node:http answered it already). */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'expect'])
/** Hop-by-hop response headers: about the upstream's connection, not the message. Framing headers stay. */
const NOT_RETURNED = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-connection', 'upgrade', 'te'])
const DEFAULT_CAPTURE = 1024 * 1024
/** Distinct tokens remembered as seen; past it every token is reported again (the observer dedups). */
const MAX_KNOWN_SECRETS = 10_000
const EMPTY = Buffer.alloc(0)
const BEARER = /^(?:bearer|oauth)\s+(\S+)/i
const CHUNKED = /(?:^|[\s,])chunked\s*$/i
/** A Connection header naming only keep-alive or close (what clients send): it lists no header that would be forwarded. */
const ONLY_CONNECTION_OPTIONS = /^[\s,]*(?:(?:keep-alive|close)[\s,]*)+$/i
/** What node:http refuses to write in a reason phrase (its checkInvalidHeaderChar). */
const INVALID_REASON = /[^\t\x20-\x7e\x80-\xff]/
const INVALID_REASON_ALL = new RegExp(INVALID_REASON.source, 'g')

/** What every exchange of one pass-through shares. */
interface Shared {
  origin: string
  upstreamHost: string
  forwarder: Forwarder
  stats: PassthroughStats
  cap: number
  capture: ((x: CapturedExchange) => void) | undefined
  strip: boolean
  redactor: Redactor
  /** Tokens seen, each with its fingerprint (bounded: MAX_KNOWN_SECRETS). */
  known: Map<string, string>
  /** Salt of credential fingerprints, new each process. */
  salt: Buffer
  requests: number
  stopping: boolean
}

/** A connection from the application, with what `close` needs to know: requests running on it, and when the last one ended. */
type AppSocket = Socket & { [BUSY]?: number; [LAST]?: number }
const BUSY = Symbol('requests running')
const LAST = Symbol('last ended')
/**
 * How long after its last answer an idle keep-alive connection is kept open once the proxy stops:
 * an application under load sends its next request on it within microseconds, and closing it
 * under that request resets it (the operator review: SIGTERM under load). A request in this time
 * is answered with `Connection: close`; a connection idle longer is closed at once.
 */
const LINGER_MS = 250

/** The --upstream URL, or a usage error that says what is wrong with it. */
export function upstreamUrl(raw: string): URL {
  let upstream: URL
  try {
    upstream = new URL(raw)
  } catch {
    throw new HarnessError('DW_USAGE', `--upstream must be a URL such as https://graph.facebook.com (got "${raw}")`)
  }
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') throw new HarnessError('DW_USAGE', `--upstream must be http or https (got ${upstream.protocol})`)
  return upstream
}

/** Starts the pass-through; resolves once it listens. */
export async function startPassthrough(opts: PassthroughOptions): Promise<Passthrough> {
  const upstream = upstreamUrl(opts.upstream)
  const forwarder = new Forwarder(upstream.origin, {
    ...(opts.connections !== undefined ? { connections: opts.connections } : {}),
    ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
    ...(opts.headersTimeoutMs !== undefined ? { headersTimeoutMs: opts.headersTimeoutMs } : {}),
    ...(opts.bodyTimeoutMs !== undefined ? { bodyTimeoutMs: opts.bodyTimeoutMs } : {}),
  })
  const shared: Shared = {
    origin: upstream.origin,
    upstreamHost: upstream.host,
    forwarder,
    stats: { forwarded: 0, answered: 0, abortedMidBody: 0, failedBeforeAnswer: 0, appAborted: 0, waited: 0, inflight: 0 },
    cap: opts.captureBytes ?? DEFAULT_CAPTURE,
    capture: opts.capture,
    strip: opts.stripAcceptEncoding === true,
    redactor: opts.redactor ?? new Redactor(),
    known: new Map(),
    salt: randomBytes(16),
    requests: 0,
    stopping: false,
  }
  const admit = opts.admit
  // No limit on how long a request may take to arrive: a 100 MB upload over a slow link is the application's business.
  const server: Server = createServer({ requestTimeout: 0 }, (req, res) => {
    const x = new Exchange(shared, req, res)
    const wait = admit?.()
    if (!wait) return x.forward()
    shared.stats.waited++
    wait.then(
      () => x.forward(),
      () => x.forward(),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      void forwarder.destroy()
      reject(new HarnessError('DW_USAGE', `cannot listen on ${opts.host ?? '127.0.0.1'}:${opts.port ?? 0} (${err.code ?? err.message}); pick another --port`))
    })
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve())
  })
  const connections = new Set<AppSocket>()
  server.on('connection', (socket: AppSocket) => {
    socket[LAST] = performance.now()
    connections.add(socket)
    socket.once('close', () => connections.delete(socket))
  })
  const addr = server.address() as AddressInfo
  // Stops accepting. node:http's own close would also close every idle keep-alive connection at once, under requests already on their way.
  const stop = () => {
    shared.stopping = true
    net.Server.prototype.close.call(server)
  }
  /** Closes each connection that has no request running and has been idle LINGER_MS; true when none is left. */
  const sweep = (): boolean => {
    const now = performance.now()
    for (const socket of connections) if (!socket[BUSY] && now - (socket[LAST] ?? 0) >= LINGER_MS) socket.destroy()
    return connections.size === 0
  }
  let closing: Promise<void> | undefined
  return {
    url: `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`,
    stats: () => ({ ...shared.stats }),
    close({ graceMs = opts.graceMs ?? 30_000 } = {}) {
      closing ??= (async () => {
        stop()
        // Exchanges in flight finish; a connection ends after its answer (Connection: close) or once idle LINGER_MS.
        const deadline = performance.now() + graceMs
        while (!sweep() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20))
        server.close()
        server.closeAllConnections()
        await forwarder.destroy()
      })()
      return closing
    },
    async abort() {
      stop()
      server.close()
      server.closeAllConnections()
      await forwarder.destroy()
    },
  }
}

/**
 * One exchange: the undici handler of its upstream request and the writer of its answer. A class,
 * not closures: this runs for every request, and methods on a prototype cost nothing per request.
 */
class Exchange implements ForwardHandler {
  private readonly index: number
  /** Date.now() when the request arrived (formatted only if the observation is built). */
  private readonly startedMs: number
  private t0 = 0
  private ttfb = 0
  private abortUpstream: ((reason: Error) => void) | undefined
  /** The head was handed to node:http (writeHead). */
  private headed = false
  /** Body bytes (or the end) were written after the head, so the head went with them. */
  private wrote = false
  /** Nothing more is written to the application (answered, replied to, or cut). */
  private done = false
  /** Counted out and captured. */
  private finished = false
  private appGone = false
  private resume: (() => void) | undefined
  private response: ObservedResponse | undefined
  private failure: TransportFailure | undefined
  private tap: SocketTap | undefined
  private chunked = false
  /** The response's first Content-Type (for its kind). */
  private contentType: string | undefined
  private forwardedHeaders: string[] = []
  private body: BodyTee | undefined
  private requestBody: BodyTee | undefined
  /** The application's connection (node:http may detach it from the request before the exchange finishes). */
  private readonly socket: AppSocket

  constructor(
    private readonly s: Shared,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    this.index = ++s.requests
    this.startedMs = Date.now()
    s.stats.inflight++
    const socket = (this.socket = req.socket as AppSocket)
    socket[BUSY] = (socket[BUSY] ?? 0) + 1
    res.on('close', this.onAppClose)
  }

  /** Sends the request on to the upstream, its body streaming as it arrives. */
  forward(): void {
    if (this.appGone) return
    const { req, s } = this
    const raw = req.rawHeaders
    const headers: string[] = []
    let hasBody = false
    let listed: string | undefined
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!
      const value = raw[i + 1]!
      const lower = name.toLowerCase()
      if (lower === 'content-length') hasBody = value !== '0'
      else if (lower === 'transfer-encoding') hasBody = true
      if (NOT_FORWARDED.has(lower)) {
        if (lower === 'connection') listed = listed === undefined ? value : `${listed},${value}`
        continue
      }
      if (s.strip && lower === 'accept-encoding') continue
      headers.push(name, value)
    }
    // Headers the application's Connection header names are about that hop too.
    this.forwardedHeaders = listed === undefined || ONLY_CONNECTION_OPTIONS.test(listed) ? headers : dropListed(headers, listed)
    if (s.stopping) this.res.shouldKeepAlive = false
    let path = req.url ?? '/'
    if (path[0] !== '/') {
      // Absolute-form (an application configured with HTTP_PROXY): the path and query are what go on.
      try {
        const u = new URL(path)
        path = `${u.pathname}${u.search}`
      } catch {
        path = '/'
      }
    }
    s.stats.forwarded++
    this.t0 = performance.now()
    s.forwarder.dispatch({ path, method: req.method ?? 'GET', headers: this.forwardedHeaders, body: hasBody ? req : null }, this)
  }

  onConnect(abort: (reason: Error) => void): void {
    this.abortUpstream = abort
    if (this.appGone) abort(new Error('the application closed its connection'))
  }

  onBodySent(chunk: Buffer | string): void {
    ;(this.requestBody ??= new BodyTee(this.s.cap)).add(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) {
      // Informational: the final head follows (node:http cannot relay an arbitrary 1xx), and its status line is the one the tap must give.
      currentTap()?.skipHead()
      return true
    }
    this.ttfb = performance.now()
    this.resume = resume
    const out: string[] = []
    const rawHeaders: RawHeader[] = new Array(raw.length >> 1)
    let te: string | undefined
    let length = false
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!.toString('latin1')
      const vb = raw[i + 1]!
      // Latin-1 both ways: the application gets the upstream's bytes as they were.
      const value = vb.toString('latin1')
      rawHeaders[i >> 1] = [name, isAscii(vb) ? value : vb.toString('utf8')]
      const lower = name.toLowerCase()
      if (NOT_RETURNED.has(lower)) continue
      if (lower === 'transfer-encoding') te = te === undefined ? value : `${te}, ${value}`
      else if (lower === 'content-length') length = true
      else if (lower === 'content-type' && this.contentType === undefined) this.contentType = rawHeaders[i >> 1]![1]
      out.push(name, value)
    }
    const tap = (this.tap = currentTap())
    const head = tap?.claimHead()
    const method = this.req.method ?? 'GET'
    const framing = framingOf(rawHeaders, status, method)
    this.body = new BodyTee(this.s.cap)
    this.response = { status, statusText: statusText ?? '', rawHeaders, framing, body: { size: 0, sha256: '', keptBytes: 0, truncated: false } }
    if (head) {
      this.response.statusLine = head.statusLine
      if (head.httpVersion) this.response.httpVersion = head.httpVersion
    }
    if (this.appGone) return false
    const res = this.res
    res.sendDate = false
    // Stopping: this connection ends after this answer, and says so (an answer begun keep-alive would invite a request the stop then resets).
    if (this.s.stopping) res.shouldKeepAlive = false
    this.chunked = te !== undefined && CHUNKED.test(te)
    if (framing.kind === 'close-delimited' || (te !== undefined && !this.chunked)) {
      // The body ends when the connection does: so it must here too, with no length and no chunking added.
      res.useChunkedEncodingByDefault = false
      res.shouldKeepAlive = false
    } else if (!length && !this.chunked && framing.kind === 'none') {
      // HEAD, 204, 304: no body, and node:http must not invent a length.
      res.useChunkedEncodingByDefault = false
    }
    // The reason phrase as its bytes came (undici decodes it as UTF-8, which turns a Latin-1 byte into U+FFFD, a character node:http refuses).
    const reason = head ? reasonOf(head.statusLine, status, statusText ?? '') : (statusText ?? '')
    try {
      try {
        res.writeHead(status, reason, out)
      } catch (err) {
        // A control character in the reason phrase, which node:http will not send but clients read past:
        // the application still gets the answer, its reason with each such character as '?'.
        if ((err as NodeJS.ErrnoException).code !== 'ERR_INVALID_CHAR' || !INVALID_REASON.test(reason)) throw err
        res.writeHead(status, reason.replace(INVALID_REASON_ALL, '?'), out)
      }
    } catch (err) {
      // node:http refuses a head it considers invalid (a status below 100, a character it will not send): cut, as the app's own client would have failed on it.
      this.failure = { code: 'DW_UNFORWARDABLE', message: `the upstream's response head cannot be forwarded: ${(err as Error).message}`, phase: 'headers', unreachable: false }
      this.s.stats.failedBeforeAnswer++
      this.cut()
      this.abortUpstream?.(new Error('response head not forwardable'))
      return false
    }
    this.headed = true
    process.nextTick(Exchange.flushHead, this)
    return true
  }

  onData(chunk: Buffer): boolean {
    this.body!.add(chunk)
    if (this.done || this.appGone) return false
    this.wrote = true
    if (this.res.write(chunk)) return true
    // The application reads slower than the upstream sends: the upstream's socket waits for it.
    this.res.once('drain', this.onDrain)
    return false
  }

  onComplete(trailers: Buffer[] | null): void {
    this.endTap()
    if (this.done || this.appLeft()) return this.finish()
    const res = this.res
    if (trailers && trailers.length > 1 && this.chunked) {
      const t: [string, string][] = []
      for (let i = 0; i + 1 < trailers.length; i += 2) t.push([trailers[i]!.toString('latin1'), trailers[i + 1]!.toString('latin1')])
      try {
        res.addTrailers(t)
      } catch {}
    }
    this.wrote = true
    this.s.stats.answered++
    res.end()
    this.finish()
  }

  onError(err: Error): void {
    try {
      this.failed(err)
    } catch {
      // Nothing the upstream or the application does may throw into undici: the application's connection goes.
      this.res.destroy()
      this.finish()
    }
  }

  private failed(err: Error): void {
    this.endTap()
    if (this.done || this.appLeft()) return this.finish()
    const f = (this.failure ??= classify(err, this.headed))
    if (this.headed) {
      this.s.stats.abortedMidBody++
      return this.cut()
    }
    this.s.stats.failedBeforeAnswer++
    if (f.unreachable) this.reply(502, `the upstream ${this.s.origin} could not be reached (${f.code}: ${f.message})`)
    else if (f.code === 'UND_ERR_HEADERS_TIMEOUT') this.reply(504, `the upstream ${this.s.origin} sent no response head in time (${f.code})`)
    else this.cut()
  }

  /** The response's bytes on the wire are counted; the tap starts over for the connection's next response. */
  private endTap(): void {
    const tap = this.tap
    if (!tap) return
    if (this.response) this.response.framing.wireBytes = tap.wireBytes
    tap.reset()
    this.tap = undefined
  }

  /** Whether the application went away (closed its connection, or aborted its upload) before its answer ended. */
  private appLeft(): boolean {
    if (this.appGone) return true
    const req = this.req
    const socket = this.res.socket
    if (socket && !socket.destroyed && !(req.destroyed && !req.complete)) return false
    this.onAppClose()
    return true
  }

  /** Sends the head on its own when no body byte followed it in the same turn (a slow first chunk): the application sees it as early as the upstream sent it. */
  private static flushHead(x: Exchange): void {
    if (!x.wrote && !x.done && !x.res.destroyed) x.res.flushHeaders()
  }

  private readonly onDrain = (): void => {
    this.resume?.()
  }

  private readonly onAppClose = (): void => {
    if (this.done || this.appGone || this.res.writableFinished) return
    this.appGone = true
    this.s.stats.appAborted++
    this.failure ??= { code: 'DW_APP_ABORTED', message: 'the application closed its connection before its answer ended', phase: this.headed ? 'body' : 'headers', unreachable: false }
    if (this.abortUpstream) this.abortUpstream(new Error('the application closed its connection'))
    else if (this.t0 === 0) this.finish() // still waiting in admit: never forwarded
  }

  /** A Graph-shaped error from driftwatch: the upstream gave no answer to pass on. */
  private reply(status: 502 | 504, message: string): void {
    const text = JSON.stringify({ error: { message: `driftwatch proxy: ${this.s.redactor.text(message)}`, type: 'DriftwatchProxy', code: status } })
    if (this.s.stopping) this.res.shouldKeepAlive = false
    this.res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text) })
    this.res.end(text)
    this.finish()
  }

  /**
   * Ends the application's connection so that its client fails as it would have on the upstream's
   * own failure. Before the head: reset. After it, what was already written goes first (node:http
   * holds the last writes corked until the next tick), then the connection is reset when the
   * upstream reset it or the body is close-delimited (its end would read as complete), and ends
   * early otherwise (a body with a length or chunks that stops short fails every client).
   */
  private cut(): void {
    this.done = true
    const socket = this.res.socket
    if (!socket || socket.destroyed) this.res.destroy()
    else if (!this.headed) socket.resetAndDestroy()
    else {
      while (socket.writableCorked) socket.uncork()
      // An upstream reset is passed on as a reset once what came before it is written: an app that
      // retries on ECONNRESET must see ECONNRESET, not a clean close that its client words otherwise.
      const reset = this.response?.framing.kind === 'close-delimited' || /ECONNRESET/.test(`${this.failure?.code} ${this.failure?.message}`)
      if (reset) socket.write('', () => socket.resetAndDestroy())
      else socket.destroySoon()
    }
    this.finish()
  }

  /** Once per exchange: counts it out and hands the capture over. */
  private finish(): void {
    this.done = true
    if (this.finished) return
    this.finished = true
    const s = this.s
    s.stats.inflight--
    const socket = this.socket
    socket[BUSY]!--
    socket[LAST] = performance.now()
    if (!s.capture) return
    try {
      s.capture(this.captured())
    } catch {
      // The capture must never break the request path.
    }
  }

  /**
   * What the capture gets: the facts the request path has, and the observation built from them
   * only when the observer takes the exchange (under overload most are skipped, and a skipped one
   * costs no redaction, formatting or hashing). The tokens are read now: the observer's redactor
   * learns every new one, whether it takes the exchange or not.
   */
  private captured(): CapturedExchange {
    const s = this.s
    const now = performance.now()
    const url = `${s.origin}${this.req.url ?? '/'}`
    const h = this.forwardedHeaders
    let secrets: string[] | undefined
    for (let i = 0; i < h.length; i += 2) {
      if (h[i]!.length === 13 && h[i]!.toLowerCase() === 'authorization') {
        const token = BEARER.exec(h[i + 1]!)?.[1]
        if (token) (secrets ??= []).push(token)
      }
    }
    if (url.includes('access_token=')) {
      const token = new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('access_token')
      if (token) (secrets ??= []).push(token)
    }
    let newSecrets: string[] | undefined
    if (secrets) {
      for (const t of secrets) {
        if (s.known.has(t)) continue
        ;(newSecrets ??= []).push(t)
        // Past the bound every token is reported again (the observer dedups).
        if (s.known.size < MAX_KNOWN_SECRETS) s.known.set(t, fingerprint(s.salt, [t]))
      }
    }
    const r = this.response
    const body = this.body
    if (r && body) r.framing.bytesRead = body.size
    const method = this.req.method ?? 'GET'
    return new Finished({
      s,
      index: this.index,
      method,
      url,
      headers: h,
      secrets,
      startedMs: this.startedMs,
      totalMs: round(this.t0 ? now - this.t0 : 0),
      ...(this.ttfb ? { ttfbMs: round(this.ttfb - this.t0) } : {}),
      requestTee: this.requestBody,
      response: r && body ? r : undefined,
      responseTee: body,
      failure: this.failure,
      answeredAt: now,
      kind: kindOfParts(method, url, r && body ? r : undefined, this.failure?.code, this.contentType ?? ''),
      newSecrets,
    })
  }
}

/** The request path's facts about one finished exchange (see Exchange.captured). */
interface FinishedParts {
  s: Shared
  index: number
  method: string
  /** Not yet redacted. */
  url: string
  /** Forwarded request headers [name, value, ...], not yet redacted. */
  headers: string[]
  secrets: string[] | undefined
  startedMs: number
  totalMs: number
  ttfbMs?: number
  requestTee: BodyTee | undefined
  response: ObservedResponse | undefined
  responseTee: BodyTee | undefined
  failure: TransportFailure | undefined
  answeredAt: number
  kind: string
  newSecrets: string[] | undefined
}

/** A captured exchange whose observation (redacted, hashed, dated) is built on first use. */
class Finished implements CapturedExchange {
  readonly index: number
  readonly answeredAt: number
  readonly kind: string
  readonly status: number | undefined
  readonly failed: boolean
  readonly newSecrets?: string[]
  private readonly requestTee: BodyTee | undefined
  private readonly responseTee: BodyTee | undefined
  private parts: FinishedParts | undefined
  private built: { observation: Observation; requestSha256: string | undefined } | undefined

  constructor(p: FinishedParts) {
    this.parts = p
    this.index = p.index
    this.answeredAt = p.answeredAt
    this.kind = p.kind
    this.status = p.response?.status
    this.failed = p.failure !== undefined
    this.requestTee = p.requestTee
    if (p.response) this.responseTee = p.responseTee
    if (p.newSecrets) this.newSecrets = p.newSecrets
  }

  /** The request body's kept prefix, copied on first use. */
  get requestBody(): Uint8Array {
    return this.requestTee?.keptBytes() ?? EMPTY
  }

  /** The response body's kept prefix, copied on first use; undefined without a response. */
  get responseBody(): Uint8Array | undefined {
    return this.responseTee?.keptBytes()
  }

  get observation(): Observation {
    return (this.built ??= this.build()).observation
  }

  get requestSha256(): string | undefined {
    return (this.built ??= this.build()).requestSha256
  }

  private build(): { observation: Observation; requestSha256: string | undefined } {
    const p = this.parts!
    this.parts = undefined
    const { s, secrets } = p
    const sent: RawHeader[] = [['Host', s.upstreamHost]]
    for (let i = 0; i < p.headers.length; i += 2) sent.push([p.headers[i]!, p.headers[i + 1]!])
    const observation: Observation = {
      contract: '',
      sample: p.index,
      startedAt: isoNow(p.startedMs),
      request: {
        method: p.method,
        url: s.redactor.url(p.url),
        headers: s.redactor.headers(sent),
        bodySize: p.requestTee?.size ?? 0,
        tokenSent: secrets !== undefined,
        ...(secrets ? { credential: credentialOf(s, secrets) } : {}),
      },
      timings: { totalMs: p.totalMs, ...(p.ttfbMs !== undefined ? { ttfbMs: p.ttfbMs } : {}) },
    }
    const r = p.response
    if (r && p.responseTee) {
      const size = p.responseTee.size
      const kept = this.responseBody!.length
      r.body = { size, sha256: p.responseTee.sha256(), keptBytes: kept, truncated: kept < size }
      observation.response = r
    }
    if (p.failure) observation.transportError = { ...p.failure, message: s.redactor.text(p.failure.message) }
    return { observation, requestSha256: p.requestTee?.sha256() }
  }
}

/** The fingerprint of a request's tokens; one token's was worked out when it was first seen (most traffic carries one of a few). */
function credentialOf(s: Shared, secrets: string[]): string {
  if (secrets.length !== 1) return fingerprint(s.salt, secrets)
  const token = secrets[0]!
  return s.known.get(token) ?? fingerprint(s.salt, secrets)
}

function dropListed(headers: string[], listed: string): string[] {
  const names = new Set(listed.split(',').map((t) => t.trim().toLowerCase()))
  const out: string[] = []
  for (let i = 0; i < headers.length; i += 2) if (!names.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!)
  return out
}

/** The reason phrase of a status line read off the wire (Latin-1), or undici's when the line is not the one it parsed. */
function reasonOf(statusLine: string, status: number, parsed: string): string {
  const m = /^HTTP\/\d+(?:\.\d+)?[ ]+(\d{3})(?:[ ](.*))?$/s.exec(statusLine)
  return m && Number(m[1]) === status ? (m[2] ?? '') : parsed
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}
