/**
 * Sends one prepared request with undici and records what crossed the wire as an Observation:
 * status line, raw headers in order, framing, body hash and size (streamed, capped in memory),
 * timings. Nothing the upstream does can crash this: malformed, truncated, reset, slow or huge
 * responses end as a TransportFailure inside the observation.
 */
import { isUtf8 } from 'node:buffer'
import { lookup as dnsLookup } from 'node:dns/promises'
import { isIP, type LookupFunction } from 'node:net'
import { createHash, hash as cryptoHash, type Hash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client, Pool, buildConnector, type Dispatcher } from 'undici'
import type { AuthMode, HttpMethod } from '../contracts/types.ts'
import { hexPreview, isBinaryText, type ConnectionInfo, type Framing, type Observation, type ObservedBody, type RawHeader, type TransportFailure, type TransportPhase } from '../model/observation.ts'
import { isoNow } from '../util/clock.ts'
import { parseJsonBody } from '../util/json.ts'
import { HostPolicy } from './host-policy.ts'
import { Redactor } from './redact.ts'
import { currentTap, tappedConnector, type SocketTap } from './wire-tap.ts'

/** A token Meta cannot parse, sent by contracts with `auth: invalid`. Not a secret. */
export const INVALID_TOKEN = 'INVALID-driftwatch-probe-token'

/** A request ready to send: templates resolved, body encoded, no credentials yet. */
export interface PreparedRequest {
  contract: string
  sample: number
  method: HttpMethod
  url: string
  /** Headers in send order, excluding Authorization (the transport adds it per host policy). */
  headers: RawHeader[]
  body?: Buffer
  /** Short text form of the body for evidence (JSON or form), redacted by the transport. */
  bodyExcerpt?: string
  auth: AuthMode
  /**
   * `shared` (default): the run's keep-alive connection to the origin. `fresh`: a new TCP (and TLS,
   * with no session resumption) connection for this request alone, to the next of the addresses
   * the host resolves to, round-robin; so samples of one request meet different servers of a
   * fleet that load-balances per connection.
   */
  connection?: 'shared' | 'fresh'
}

/** Resolves a host name to every address it has (dns.lookup with `all: true` by default). */
export type ResolveAll = (hostname: string) => Promise<{ address: string; family: number }[]>

/** Transport settings; all sizes in bytes, times in milliseconds. */
export interface TransportOptions {
  /** The bearer token; attached only where the host policy allows. */
  token?: string
  hostPolicy: HostPolicy
  redactor: Redactor
  /** Deadline for the whole exchange. */
  timeoutMs?: number
  /** Longest silence allowed while the body streams. */
  bodyIdleTimeoutMs?: number
  connectTimeoutMs?: number
  /** Abort (and report) responses larger than this. */
  maxBodyBytes?: number
  /** Bytes of a textual body kept in memory for parsing and evidence. */
  keepBytes?: number
  /** Bytes of a binary body kept (as base64) for recordings; 0 by default: binary bodies are hashed and counted only. */
  keepBinaryBytes?: number
  /** Least time between two request starts to the same origin (politeness on live APIs). */
  minIntervalMs?: number
  userAgent?: string
  /** How fresh connections find a host's addresses; tests pass their own. */
  resolve?: ResolveAll
  /**
   * Keep-alive connections per origin (default 1: probes go one at a time). The proxy forwards
   * what concurrent application requests send; one connection would queue them behind each other.
   */
  connections?: number
}

const DEFAULTS = {
  timeoutMs: 30_000,
  bodyIdleTimeoutMs: 15_000,
  connectTimeoutMs: 10_000,
  maxBodyBytes: 128 * 1024 * 1024,
  keepBytes: 1024 * 1024,
  keepBinaryBytes: 0,
  minIntervalMs: 0,
  userAgent: 'driftwatch/0.1 (+contract probes; https://github.com/driftwatch)',
  resolve: ((hostname) => dnsLookup(hostname, { all: true })) as ResolveAll,
  connections: 1,
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ECONNABORTED', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN'])

/** Error used to abort a response that exceeded the size cap. */
class BodyTooLargeError extends Error {
  readonly code = 'DW_BODY_TOO_LARGE'
}

/** Error used to abort an exchange that exceeded its deadline. */
class DeadlineError extends Error {
  readonly code = 'DW_DEADLINE'
}

/** The code of an exchange abandoned because the run was interrupted: not something the upstream did. */
export const ABORTED = 'DW_ABORTED'

/** Error used to abandon an exchange when the run is interrupted (Ctrl-C, SIGTERM). */
class AbortedError extends Error {
  readonly code = ABORTED
}

/** Sends prepared requests over keep-alive connections (one per origin unless told) and records observations. */
export class Transport {
  private readonly opts: Required<Omit<TransportOptions, 'token'>> & { token?: string }
  private readonly clients = new Map<string, Client | Pool>()
  private readonly lastStart = new Map<string, number>()
  /** Per host name: its addresses (resolved once per run) and the next one a fresh connection takes. */
  private readonly fleets = new Map<string, Promise<{ addresses: { address: string; family: number }[]; next: number }>>()
  private readonly fresh = new Set<Client>()
  private closed = false

  constructor(options: TransportOptions) {
    this.opts = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as typeof this.opts
  }

  /** Sends one request; never throws for anything the upstream does. */
  async send(req: PreparedRequest, signal?: AbortSignal): Promise<Observation> {
    return (await this.sendKeepingBody(req, signal)).observation
  }

  /**
   * Like send, and also returns the body bytes kept, unredacted: what a proxy forwards to its
   * client. Complete only when the body fit `keepBytes` (text) or `keepBinaryBytes` (binary).
   */
  async sendKeepingBody(req: PreparedRequest, signal?: AbortSignal): Promise<{ observation: Observation; body: Buffer }> {
    const url = new URL(req.url)
    const { redactor } = this.opts
    const headers: RawHeader[] = [...req.headers]
    if (!headers.some(([n]) => n.toLowerCase() === 'user-agent')) headers.unshift(['User-Agent', this.opts.userAgent])

    let tokenSent = false
    let tokenWithheld: Observation['request']['tokenWithheld']
    if (req.auth === 'invalid') {
      headers.push(['Authorization', `Bearer ${INVALID_TOKEN}`])
    } else if (req.auth === 'bearer' && this.opts.token) {
      const decision = this.opts.hostPolicy.decide(url)
      if (decision.allowed) {
        headers.push(['Authorization', `Bearer ${this.opts.token}`])
        tokenSent = true
      } else {
        tokenWithheld = { host: url.host, allowed: [...this.opts.hostPolicy.allowHosts] }
      }
    }

    const observation: Observation = {
      contract: req.contract,
      sample: req.sample,
      startedAt: isoNow(),
      request: {
        method: req.method,
        url: redactor.url(url.toString()),
        headers: redactor.headers([['Host', url.host], ...headers]),
        bodySize: req.body?.length ?? 0,
        ...(req.bodyExcerpt ? { bodyExcerpt: redactor.text(req.bodyExcerpt) } : {}),
        tokenSent,
        ...(tokenWithheld ? { tokenWithheld } : {}),
      },
      timings: { totalMs: 0 },
    }

    if (this.opts.minIntervalMs > 0) await this.pace(url.origin)
    if (this.closed) throw new Error('transport is closed')
    const fresh = req.connection === 'fresh' ? await this.freshClient(url) : undefined
    if (fresh && 'failure' in fresh) {
      observation.transportError = { ...fresh.failure, message: redactor.text(fresh.failure.message) }
      observation.connection = { mode: 'fresh', reused: false }
      return { observation, body: EMPTY }
    }
    const client = fresh?.client ?? this.client(url.origin)
    const t0 = performance.now()
    let result: ExchangeResult
    try {
      result = await this.exchange(client, url, req, headers, signal)
    } finally {
      if (fresh) {
        this.fresh.delete(fresh.client)
        // Not awaited: the response is complete; the socket's teardown is not part of the exchange.
        fresh.client.destroy().catch(() => undefined)
      }
    }
    const timings: Observation['timings'] = { totalMs: round(performance.now() - t0) }
    if (result.ttfb !== undefined) timings.ttfbMs = round(result.ttfb - t0)
    if (result.reused !== undefined) timings.reusedConnection = result.reused
    observation.timings = timings
    const connection: ConnectionInfo = { mode: fresh ? 'fresh' : 'shared', reused: result.reused ?? false, ...result.peer }
    if (fresh && connection.remoteAddress === undefined) connection.remoteAddress = fresh.address
    observation.connection = connection
    // An upstream may echo the token back in any spelling: the status line, headers and everything
    // derived from the body are redacted, and a binary body holding a secret keeps its size and hash only.
    if (result.response) observation.response = redactor.response(result.response, result.raw)
    if (result.failure) observation.transportError = { ...result.failure, message: redactor.text(result.failure.message) }
    return { observation, body: result.raw ?? EMPTY }
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    this.closed = true
    const all = [...this.clients.values(), ...this.fresh]
    this.clients.clear()
    this.fresh.clear()
    await Promise.all(all.map((c) => c.destroy().catch(() => undefined)))
  }

  private client(origin: string): Client | Pool {
    let c = this.clients.get(origin)
    if (!c) {
      const connect = tappedConnector(buildConnector({ timeout: this.opts.connectTimeoutMs, allowH2: false }))
      // One request at a time per connection either way: the wire tap relies on it (see wire-tap.ts).
      const options = { connect, pipelining: 1, allowH2: false, keepAliveTimeout: 4_000 }
      c = this.opts.connections > 1 ? new Pool(origin, { ...options, connections: this.opts.connections }) : new Client(origin, options)
      this.clients.set(origin, c)
    }
    return c
  }

  /**
   * A one-off client for one request: a new connection to the next address of the host, with TLS
   * session resumption off, so each sample is a first meeting with whichever server takes it.
   */
  private async freshClient(url: URL): Promise<{ client: Client; address: string } | { failure: TransportFailure }> {
    const host = url.hostname.replace(/^\[|\]$/g, '')
    let fleet = this.fleets.get(host)
    if (!fleet) {
      fleet = isIP(host) ? Promise.resolve({ addresses: [{ address: host, family: isIP(host) }], next: 0 }) : this.opts.resolve(host).then((addresses) => ({ addresses, next: 0 }))
      this.fleets.set(host, fleet)
    }
    let f: Awaited<typeof fleet>
    try {
      f = await fleet
      if (f.addresses.length === 0) throw Object.assign(new Error(`${host} resolves to no address`), { code: 'ENOTFOUND' })
    } catch (err) {
      this.fleets.delete(host) // try again on the next request: DNS failures can be brief
      return { failure: classify(err, false) }
    }
    const pick = f.addresses[f.next++ % f.addresses.length]!
    const lookup: LookupFunction = (_name, options, callback) => {
      if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pick])
      else callback(null, pick.address, pick.family)
    }
    const connect = tappedConnector(buildConnector({ timeout: this.opts.connectTimeoutMs, allowH2: false, maxCachedSessions: 0, lookup } as buildConnector.BuildOptions))
    const client = new Client(url.origin, { connect, pipelining: 1, allowH2: false, keepAliveTimeout: 1 })
    this.fresh.add(client)
    return { client, address: pick.address }
  }

  /** Milliseconds spent waiting for --min-interval pacing so far: a contract's time is its requests', not the pacing between them. */
  pacedMs = 0

  private async pace(origin: string): Promise<void> {
    const last = this.lastStart.get(origin)
    const now = performance.now()
    if (last !== undefined && this.opts.minIntervalMs > 0) {
      const wait = last + this.opts.minIntervalMs - now
      if (wait > 0) {
        await sleep(wait)
        this.pacedMs += performance.now() - now
      }
    }
    this.lastStart.set(origin, performance.now())
  }

  private exchange(client: Client | Pool, url: URL, req: PreparedRequest, headers: RawHeader[], signal?: AbortSignal): Promise<ExchangeResult> {
    return new Promise<ExchangeResult>((resolve) => {
      const handler = new Exchange(req.method, this.opts.keepBytes, this.opts.keepBinaryBytes, this.opts.maxBodyBytes, this.opts.timeoutMs, resolve, signal)
      try {
        client.dispatch(
          {
            origin: url.origin,
            path: `${url.pathname}${url.search}`,
            method: req.method,
            headers: flatten(headers),
            ...(req.body ? { body: req.body } : {}),
            headersTimeout: this.opts.timeoutMs,
            bodyTimeout: this.opts.bodyIdleTimeoutMs,
          },
          // Legacy-shaped handler on purpose (see Exchange); undici 7 types only describe the new shape.
          handler as unknown as Dispatcher.DispatchHandler,
        )
      } catch (err) {
        handler.fail(err)
      }
    })
  }
}

/**
 * One exchange's undici handler. A class, not closures: this runs for every probe, and methods on
 * a prototype cost nothing per request. It uses the handler interface undici 7's core calls
 * natively (onConnect/onHeaders/onData/onComplete/onError): the newer onResponse* interface is
 * adapted onto it and parses every response's headers into an object we never use, which the
 * benchmark showed as a measurable share of per-probe cost. The hash is created only when a second
 * chunk arrives; single-chunk bodies (most API responses) are hashed in one call.
 */
class Exchange {
  private readonly result: ExchangeResult = {}
  private abort: ((reason: Error) => void) | undefined
  private tap: SocketTap | undefined
  private keep = 0
  private readonly kept: Buffer[] = []
  private keptLen = 0
  private size = 0
  private first: Buffer | undefined
  private hash: Hash | undefined
  private textual = true
  private settled = false
  private readonly deadline: NodeJS.Timeout
  private readonly onAbort: (() => void) | undefined

  constructor(
    private readonly method: string,
    private readonly keepBytes: number,
    private readonly keepBinaryBytes: number,
    private readonly maxBodyBytes: number,
    timeoutMs: number,
    private readonly resolve: (r: ExchangeResult) => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.deadline = setTimeout(Exchange.expire, timeoutMs, this, timeoutMs)
    if (signal) {
      this.onAbort = () => this.abort?.(new AbortedError('run interrupted; request abandoned'))
      signal.addEventListener('abort', this.onAbort, { once: true })
    }
  }

  private static expire(self: Exchange, timeoutMs: number): void {
    self.abort?.(new DeadlineError(`no complete response within ${timeoutMs} ms`))
  }

  onConnect(abort: (reason: Error) => void): void {
    this.abort = abort
    if (this.signal?.aborted) abort(new AbortedError('run interrupted; request abandoned'))
  }

  onHeaders(statusCode: number, raw: Buffer[], _resume: () => void, statusMessage?: string): boolean {
    if (statusCode < 200) {
      // Informational; the final response follows, and its head is the one the tap must give.
      currentTap()?.skipHead()
      return true
    }
    const tap = (this.tap = currentTap())
    const head = tap?.claimHead()
    this.result.ttfb = performance.now()
    this.result.reused = tap ? tap.completed > 0 : undefined
    if (tap?.remoteAddress !== undefined) {
      const peer: ExchangeResult['peer'] = { remoteAddress: tap.remoteAddress }
      if (tap.remotePort !== undefined) peer.remotePort = tap.remotePort
      if (tap.tlsSessionReused !== undefined) peer.tlsSessionReused = tap.tlsSessionReused
      if (tap.tlsProtocol !== undefined) peer.tlsProtocol = tap.tlsProtocol
      this.result.peer = peer
    }
    const rawHeaders: RawHeader[] = new Array(raw.length >> 1)
    for (let i = 0; i + 1 < raw.length; i += 2) rawHeaders[i >> 1] = [raw[i]!.toString('latin1'), raw[i + 1]!.toString('utf8')]
    const ct = contentTypeOf(rawHeaders)
    this.textual = ct === undefined || isTextual(ct)
    this.keep = this.textual ? this.keepBytes : this.keepBinaryBytes
    const response: NonNullable<ExchangeResult['response']> = {
      status: statusCode,
      statusText: statusMessage ?? '',
      rawHeaders,
      framing: framingOf(rawHeaders, statusCode, this.method),
      body: { size: 0, sha256: '', keptBytes: 0, truncated: false },
    }
    if (head) {
      response.statusLine = head.statusLine
      if (head.httpVersion) response.httpVersion = head.httpVersion
    }
    this.result.response = response
    return true
  }

  onData(chunk: Buffer): boolean {
    this.size += chunk.length
    if (this.hash) this.hash.update(chunk)
    else if (this.first) this.hash = createHash('sha256').update(this.first).update(chunk)
    else this.first = chunk
    if (this.keptLen < this.keep) {
      const part = chunk.subarray(0, this.keep - this.keptLen)
      this.kept.push(Buffer.from(part))
      this.keptLen += part.length
    }
    if (this.size > this.maxBodyBytes) this.abort?.(new BodyTooLargeError(`response body exceeded ${this.maxBodyBytes} bytes; stopped reading`))
    return true
  }

  onComplete(): void {
    this.finish()
  }

  onError(err: Error): void {
    this.fail(err)
  }

  /** Records a failure (from undici, or from dispatch throwing) and settles. */
  fail(err: unknown): void {
    this.result.failure = classify(err, this.result.response !== undefined)
    this.finish()
  }

  private finish(): void {
    if (this.settled) return
    this.settled = true
    clearTimeout(this.deadline)
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort)
    const r = this.result.response
    if (r) {
      const sha256 = this.hash ? this.hash.digest('hex') : hashOnce(this.first ?? EMPTY)
      const kept = this.kept.length === 1 ? this.kept[0]! : Buffer.concat(this.kept, this.keptLen)
      r.body = makeBody(kept, this.size, sha256, this.textual, contentTypeOf(r.rawHeaders), this.first)
      this.result.raw = kept
      r.framing.bytesRead = this.size
      if (this.tap) r.framing.wireBytes = this.tap.wireBytes
    }
    this.tap?.reset()
    this.resolve(this.result)
  }
}

const EMPTY = Buffer.alloc(0)

function hashOnce(b: Buffer): string {
  return cryptoHash('sha256', b, 'hex')
}

interface ExchangeResult {
  response?: Omit<NonNullable<Observation['response']>, never>
  /** The body bytes kept (all of them when the body was under the keep limits). */
  raw?: Buffer
  failure?: TransportFailure
  ttfb?: number
  reused?: boolean
  peer?: Pick<ConnectionInfo, 'remoteAddress' | 'remotePort' | 'tlsSessionReused' | 'tlsProtocol'>
}

function flatten(headers: readonly RawHeader[]): string[] {
  const out = new Array<string>(headers.length * 2)
  for (let i = 0; i < headers.length; i++) {
    out[2 * i] = headers[i]![0]
    out[2 * i + 1] = headers[i]![1]
  }
  return out
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}

function contentTypeOf(headers: readonly RawHeader[]): string | undefined {
  return headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1]
}

function isTextual(contentType: string): boolean {
  const semi = contentType.indexOf(';')
  const mt = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
  return mt.startsWith('text/') || mt.endsWith('+json') || mt.endsWith('+xml') || ['application/json', 'application/javascript', 'application/xml', 'application/x-www-form-urlencoded', 'application/problem+json'].includes(mt)
}

/** Framing as declared by the headers; `bytesRead` is filled in when the body completes. */
export function framingOf(headers: readonly RawHeader[], status: number, method: string): Framing {
  const te = headers.filter(([n]) => n.toLowerCase() === 'transfer-encoding').map(([, v]) => v.toLowerCase())
  const cl = headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1]
  const declared = cl !== undefined && /^\s*\d+\s*$/.test(cl) ? Number(cl) : undefined
  if (te.some((v) => v.split(',').map((s) => s.trim()).includes('chunked'))) return { kind: 'chunked', bytesRead: 0, ...(declared !== undefined ? { declaredLength: declared } : {}) }
  if (cl !== undefined) return { kind: 'content-length', bytesRead: 0, ...(declared !== undefined ? { declaredLength: declared } : {}) }
  if (method === 'HEAD' || status === 204 || status === 304) return { kind: 'none', bytesRead: 0 }
  return { kind: 'close-delimited', bytesRead: 0 }
}

/**
 * A body as the transport would have observed it, from bytes kept elsewhere (the proxy's request
 * path keeps them; its observer completes the body off that path): text, JSON, base64 or a hex
 * preview by the Content-Type, exactly as for a probe.
 */
export function observedBody(kept: Buffer, size: number, sha256: string, headers: readonly RawHeader[]): ObservedBody {
  const ct = contentTypeOf(headers)
  return makeBody(kept, size, sha256, ct === undefined || isTextual(ct), ct, kept)
}

function makeBody(kept: Buffer, size: number, sha256: string, textual: boolean, contentType: string | undefined, first: Buffer | undefined): ObservedBody {
  const body: ObservedBody = { size, sha256, keptBytes: kept.length, truncated: kept.length < size }
  if (!textual) {
    if (kept.length > 0) body.base64 = kept.toString('base64')
    if (first?.length) body.hexPreview = hexPreview(first)
    return body
  }
  const text = kept.toString('utf8')
  body.text = text
  // A text content type over bytes that are not text: said as bytes in every report, never dumped raw.
  if (kept.length > 0 && (!isUtf8(kept) || isBinaryText(text))) body.hexPreview = hexPreview(kept)
  const looksJson = (contentType ?? '').toLowerCase().includes('json') || /^\s*[[{]/.test(text)
  if (looksJson && size > 0) {
    if (body.truncated) body.jsonError = `body is ${size} bytes; only the first ${kept.length} were kept, so it was not parsed`
    else Object.assign(body, parseJsonBody(text))
  }
  return body
}

/** Names the failure in the terms an on-call engineer uses, and says whether the upstream was reached. */
export function classify(err: unknown, responseStarted: boolean): TransportFailure {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } }
  // undici's HTTPParserError sometimes has no llhttp code; it still means "malformed response".
  const code = e.code ?? e.cause?.code ?? (e.name === 'HTTPParserError' ? 'HPE_MALFORMED_RESPONSE' : 'UNKNOWN')
  let message = e.message ?? String(err)
  if (e.cause?.message && !message.includes(e.cause.message)) message += ` (${e.cause.message})`
  let phase: TransportPhase
  if (responseStarted) phase = 'body'
  else if (UNREACHABLE_CODES.has(code)) phase = 'connect'
  else if (code === 'UND_ERR_HEADERS_TIMEOUT' || code.startsWith('HPE_') || code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') phase = 'headers'
  else phase = 'request'
  if (code === 'UND_ERR_SOCKET' && responseStarted) message = `connection closed before the body was complete: ${message}`
  if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') message = `body length does not match Content-Length: ${message}`
  // undici asserts on some framings llhttp lets through: that is a malformed response, not our bug.
  if (code === 'ERR_ASSERTION') {
    message = `malformed response: the HTTP parser could not follow its framing (${message})`
    if (phase === 'request') phase = 'headers'
  }
  return { code, message, phase, unreachable: phase === 'connect' }
}
