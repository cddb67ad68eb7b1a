/**
 * `driftwatch webhook`: a receiver in front of the application's webhook endpoint (issue 19 item 4).
 *
 * - GET (Meta's verification handshake, `hub.mode`/`hub.verify_token`/`hub.challenge`) is
 *   forwarded with its query, and Meta gets the app's answer: status, headers, body.
 * - POST: the body is read whole and its `X-Hub-Signature-256` checked against the raw bytes with
 *   the app secret (receiver-signature.ts). Missing: 401; bad: 403; neither is forwarded, journaled
 *   or kept, only counted and announced (no body, no signature value).
 * - A good one is journaled, redacted and fsynced (receiver-journal.ts, redact-personal.ts),
 *   BEFORE it is forwarded: byte-identical body, the request's headers in their order and case
 *   minus hop-by-hop ones (Host names the app). Meta gets the app's answer: status, reason,
 *   headers, body. An app that cannot be reached, resets or does not answer in time gets Meta a
 *   502 or 504, so that Meta retries; an app's own 5xx is passed on as it is (Meta retries it too).
 * - The raw body is then offered to the sink (judging, off the forwarding path; receiver-sink.ts).
 *
 * Nothing else happens on this path: no JSON beyond the redaction for the journal, no judging.
 */
import { createServer, request as httpRequest, Agent as HttpAgent, type IncomingMessage, type ServerResponse } from 'node:http'
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https'
import type { AddressInfo } from 'node:net'
import { isoNow } from '../util/clock.ts'
import { HarnessError } from '../util/errors.ts'
import { parseJsonBody } from '../util/json.ts'
import { Redactor } from '../transport/redact.ts'
import type { ReceiverAlerts } from './receiver-alerts.ts'
import { receiverJournalPath, WebhookJournal, type JournalOutcome } from './receiver-journal.ts'
import { ReceiverMetrics, type AppErrorReason, type ReceiverCounts, type RejectReason } from './receiver-metrics.ts'
import { statusIndex } from './status-index.ts'
import { verifySignature } from './receiver-signature.ts'
import { CountingSink, type WebhookSink } from './receiver-sink.ts'
import { redactWebhookBody } from './redact-personal.ts'

/** How to run the receiver; sizes in bytes, times in milliseconds. */
export interface ReceiverOptions {
  /** The app's webhook URL; the request's path (when not `/`) and query are appended to its path. */
  forward: string
  /** Meta's app secret: the HMAC key of X-Hub-Signature-256. */
  appSecret: string
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0 (a free port). */
  port?: number
  /** The journal goes to `<outDir>/.journal/`. */
  outDir: string
  /** Where accepted bodies go for judging (default: a CountingSink). */
  sink?: WebhookSink
  metrics?: ReceiverMetrics
  alerts?: ReceiverAlerts
  /** No complete answer from the app within this long: Meta gets a 504 (default 10 s). */
  appTimeoutMs?: number
  /** Bodies over this are refused with 413, unread and not forwarded (default 16 MiB; Meta's are 3 MB at most). */
  maxBodyBytes?: number
  /** How long `close` lets in-flight deliveries finish before cutting them (default 30 s). */
  graceMs?: number
  /** One event per request, for the command's lines (never a body, a query or a signature). */
  onEvent?: (e: ReceiverEvent) => void
}

/** What happened to one request; the command prints it. */
export type ReceiverEvent =
  | { kind: 'rejected'; reason: RejectReason; path: string; bytes: number }
  | { kind: 'delivery'; delivery: number; path: string; bytes: number; fields: string[]; status: number; outcome: JournalOutcome['outcome']; reason?: string; journaled: boolean }
  | { kind: 'verification'; path: string; status: number; reason?: string }
  | { kind: 'method'; method: string; path: string }
  /** A request not forwarded for its path (dot or empty segments: 400) or because a GET was not the verification handshake (404). */
  | { kind: 'refused'; method: string; path: string; status: 400 | 404; reason: string }
  | { kind: 'journal-failed'; delivery: number; message: string }

/** A running receiver. */
export interface Receiver {
  /** http://host:port Meta's callback URL points at (through TLS in front). */
  url: string
  /** The journal file (created with the first accepted delivery). */
  journal: WebhookJournal
  metrics: ReceiverMetrics
  counts(): ReceiverCounts
  /** Stops accepting, lets in-flight deliveries finish (within the grace), flushes the journal. */
  close(): Promise<ReceiverCounts>
  /** Cuts every connection now and flushes the journal. */
  abort(): Promise<ReceiverCounts>
}

/** Hop-by-hop headers (RFC 9110 7.6.1), plus Expect (answered here already) and Host (rewritten in place). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect'])
const DEFAULT_MAX_BODY = 16 * 1024 * 1024
/** An app answer bigger than this is not an answer to a webhook: Meta gets a 502. */
const MAX_APP_ANSWER = 1024 * 1024

/** Starts the receiver; throws DW_USAGE (exit 2) when it cannot listen, having left nothing behind. */
export async function startReceiver(opts: ReceiverOptions): Promise<Receiver> {
  let target: URL
  try {
    target = new URL(opts.forward)
  } catch {
    throw new HarnessError('DW_USAGE', `--forward needs the app's webhook URL, e.g. http://127.0.0.1:3000/webhook (got "${opts.forward.replace(/\/\/[^/]*@/, '//…@')}")`)
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new HarnessError('DW_USAGE', `--forward needs an http(s) URL, not ${target.protocol}`)
  const host = opts.host ?? '127.0.0.1'
  const port = opts.port ?? 0
  const sink = opts.sink ?? new CountingSink()
  const metrics = opts.metrics ?? new ReceiverMetrics()
  const appTimeoutMs = opts.appTimeoutMs ?? 10_000
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY
  const graceMs = opts.graceMs ?? 30_000
  const emit = opts.onEvent ?? (() => undefined)
  const basePath = target.pathname.replace(/\/+$/, '')
  const shownTarget = `${target.origin}${target.pathname}`
  const startedAt = isoNow()
  // A last pass over each journal line: the app secret in any spelling, tokens by their shape.
  const redactor = new Redactor({ secrets: [opts.appSecret] })
  const journal = new WebhookJournal(receiverJournalPath(opts.outDir, startedAt, process.pid), { journal: 'webhook', version: 1, startedAt, pid: process.pid, forward: shownTarget }, (l) => redactor.text(l))
  const agent = target.protocol === 'https:' ? new HttpsAgent({ keepAlive: true, maxSockets: 64 }) : new HttpAgent({ keepAlive: true, maxSockets: 64 })
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest
  let seq = 0
  let inflight = 0
  let stopping = false
  let idle: (() => void) | undefined

  const track = (delta: number) => {
    inflight += delta
    metrics.setInflight(inflight)
    if (inflight === 0) idle?.()
  }

  /** The app's URL for a request: the request's path appended to --forward's (`/` alone keeps --forward's), its query kept. */
  const appPath = (url: string): string => {
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    const query = q < 0 ? '' : url.slice(q)
    return `${path === '/' || path === '' ? basePath || '/' : `${basePath}${path}`}${query}`
  }

  /** The request's headers in order and case, hop-by-hop ones and those Connection names dropped, Host naming the app. */
  const forwardHeaders = (req: IncomingMessage, bodyLength: number | undefined): string[] => {
    const named = new Set(String(req.headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim()).filter(Boolean))
    const raw = req.rawHeaders
    const out: string[] = []
    let hasLength = false
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!
      const lower = name.toLowerCase()
      if (HOP_BY_HOP.has(lower) || named.has(lower)) continue
      if (lower === 'host') out.push(name, target.host)
      else out.push(name, raw[i + 1]!)
      if (lower === 'content-length') hasLength = true
    }
    // A chunked delivery was read whole: it goes on with its length (its framing was hop-by-hop).
    if (bodyLength !== undefined && !hasLength) out.push('Content-Length', String(bodyLength))
    return out
  }

  /** Sends one request to the app and reads its whole answer; retried once when a reused keep-alive socket was already closed by the app. */
  const toApp = (method: string, path: string, headers: string[], body: Buffer | undefined, retried = false): Promise<AppAnswer> =>
    new Promise((resolve) => {
      let settled = false
      const done = (a: AppAnswer) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(a)
      }
      const out = send({ protocol: target.protocol, hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'), port: target.port, method, path, headers, agent }, (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.length
          if (size > MAX_APP_ANSWER) {
            res.destroy()
            done({ failed: 'reset', detail: `the app's answer is over ${MAX_APP_ANSWER} bytes` })
            return
          }
          chunks.push(c)
        })
        res.on('end', () => done({ status: res.statusCode ?? 502, statusMessage: res.statusMessage ?? '', rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }))
        res.on('error', (err: NodeJS.ErrnoException) => done({ failed: 'reset', detail: `the app cut its answer (${err.code ?? err.message})` }))
        res.on('aborted', () => done({ failed: 'reset', detail: 'the app cut its answer' }))
      })
      const timer = setTimeout(() => {
        out.destroy()
        done({ failed: 'timeout', detail: `no answer from the app within ${appTimeoutMs / 1000} s` })
      }, appTimeoutMs)
      out.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return
        if (!retried && out.reusedSocket && err.code === 'ECONNRESET') {
          settled = true
          clearTimeout(timer)
          resolve(toApp(method, path, headers, body, true))
          return
        }
        const code = err.code ?? err.message
        const reset = code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/.test(err.message)
        done(reset ? { failed: 'reset', detail: `the app closed the connection without an answer (${code})` } : { failed: 'unreachable', detail: `the app could not be reached (${code})` })
      })
      out.end(body)
    })

  /** Meta's answer: the app's, as it gave it (hop-by-hop headers dropped, a length when it had none). */
  const answerAsApp = (res: ServerResponse, a: AppReply) => {
    const headers: string[] = []
    let hasLength = false
    const named = new Set<string>()
    for (let i = 0; i + 1 < a.rawHeaders.length; i += 2) if (a.rawHeaders[i]!.toLowerCase() === 'connection') for (const n of a.rawHeaders[i + 1]!.toLowerCase().split(',')) named.add(n.trim())
    for (let i = 0; i + 1 < a.rawHeaders.length; i += 2) {
      const lower = a.rawHeaders[i]!.toLowerCase()
      if (HOP_BY_HOP.has(lower) || named.has(lower)) continue
      if (lower === 'content-length') hasLength = true
      headers.push(a.rawHeaders[i]!, a.rawHeaders[i + 1]!)
    }
    if (!hasLength && a.status !== 204 && a.status !== 304) headers.push('Content-Length', String(a.body.length))
    if (stopping) headers.push('Connection', 'close')
    res.writeHead(a.status, a.statusMessage, headers)
    res.end(a.body)
  }

  /** Meta's answer when the app gave none: a 5xx so that Meta retries. */
  const answerFailure = (res: ServerResponse, status: number, message: string) => {
    const body = JSON.stringify({ error: { message: `driftwatch webhook: ${message}; Meta will retry this delivery`, type: 'DriftwatchWebhookError' } })
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(stopping ? { connection: 'close' } : {}) })
    res.end(body)
  }

  const plain = (res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extra, ...(stopping ? { connection: 'close' } : {}) })
    res.end(text)
  }

  const verification = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const a = await toApp('GET', appPath(req.url ?? '/'), forwardHeaders(req, undefined), undefined)
    metrics.verification()
    if ('failed' in a) {
      answerFailure(res, a.failed === 'timeout' ? 504 : 502, a.detail)
      emit({ kind: 'verification', path, status: a.failed === 'timeout' ? 504 : 502, reason: a.detail })
      return
    }
    answerAsApp(res, a)
    emit({ kind: 'verification', path, status: a.status })
  }

  const delivery = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const body = await readBody(req, maxBody)
    if (body === undefined) {
      metrics.received()
      metrics.rejected('too-large')
      plain(res, 413, `driftwatch webhook: the body is over ${maxBody} bytes; not forwarded\n`, { connection: 'close' })
      emit({ kind: 'rejected', reason: 'too-large', path, bytes: Number(req.headers['content-length']) || 0 })
      return
    }
    if (body === null) return // Meta (or whoever) went away mid-body: nothing was accepted
    metrics.received()
    const receivedAt = isoNow()
    const header = req.headers['x-hub-signature-256']
    const verdict = verifySignature(body, Array.isArray(header) ? header.join(',') : header, opts.appSecret)
    if (verdict !== 'ok') {
      const reason: RejectReason = verdict === 'missing' ? 'missing-signature' : 'bad-signature'
      metrics.rejected(reason)
      opts.alerts?.signatureBad(verdict === 'missing' ? 'no X-Hub-Signature-256' : 'X-Hub-Signature-256 does not match the body')
      plain(res, verdict === 'missing' ? 401 : 403, verdict === 'missing' ? 'missing X-Hub-Signature-256\n' : 'X-Hub-Signature-256 does not match\n')
      emit({ kind: 'rejected', reason, path, bytes: body.length })
      return
    }
    opts.alerts?.signatureGood()
    const n = ++seq
    const parsed = parseJsonBody(body.toString('utf8'))
    const fields = fieldsOf(parsed.json)
    let journaled = true
    try {
      const redacted = parsed.json !== undefined ? redactWebhookBody(parsed.json) : undefined
      await journal.delivery({
        delivery: n,
        receivedAt,
        bytes: body.length,
        ...(redacted ? { body: redacted.value } : { note: `not JSON (${parseErrorWhere(parsed.jsonError)}): kept as its size only` }),
        personalData: redacted?.replaced ?? 0,
        ...statusIndex(parsed.json),
      })
      metrics.journaled()
    } catch (err) {
      // The app still gets it: if it takes it, nothing is lost; if not, Meta retries. /healthz says 503 from now on.
      journaled = false
      const message = (err as NodeJS.ErrnoException).code ?? (err as Error).message
      metrics.journalFailed(message)
      emit({ kind: 'journal-failed', delivery: n, message })
    }
    metrics.forwarded()
    const a = await toApp('POST', appPath(req.url ?? '/'), forwardHeaders(req, body.length), body)
    let outcome: JournalOutcome
    if ('failed' in a) {
      const status = a.failed === 'timeout' ? 504 : 502
      answerFailure(res, status, a.detail)
      metrics.appError(a.failed)
      opts.alerts?.appFailed(a.detail)
      outcome = { delivery: n, at: isoNow(), outcome: 'failed', status, reason: a.detail }
    } else {
      answerAsApp(res, a)
      if (a.status >= 200 && a.status < 300) {
        metrics.delivered()
        opts.alerts?.appTook()
        outcome = { delivery: n, at: isoNow(), outcome: 'delivered', status: a.status }
      } else {
        const reason: AppErrorReason = a.status >= 500 ? 'status-5xx' : 'status-other'
        metrics.appError(reason)
        opts.alerts?.appFailed(`the app answered ${a.status}`)
        outcome = { delivery: n, at: isoNow(), outcome: a.status >= 500 ? 'failed' : 'refused', status: a.status, reason: `the app answered ${a.status}` }
      }
    }
    journal.outcome(outcome)
    emit({ kind: 'delivery', delivery: n, path, bytes: body.length, fields, status: outcome.status, outcome: outcome.outcome, ...(outcome.reason ? { reason: outcome.reason } : {}), journaled })
    // Judging is the sink's, after Meta has its answer.
    try {
      sink.offer(body, { receivedAt })
    } catch {
      // a sink must not throw; one that does loses this body, never the delivery
    }
  }

  /** A JSON parse error without the body text V8 quotes in it (a person's words can be there): where it failed, at most. */
  const parseErrorWhere = (message: string | undefined): string => {
    const at = /position (\d+)/.exec(message ?? '')?.[1]
    return at ? `invalid at byte ${at}` : /end of JSON|Unexpected end/i.test(message ?? '') ? 'ends early' : 'invalid'
  }

  /** Meta's verification GET: hub.mode=subscribe with a verify token and a challenge. */
  const isVerification = (url: string): boolean => {
    const q = url.indexOf('?')
    if (q < 0) return false
    const p = new URLSearchParams(url.slice(q + 1))
    return p.get('hub.mode') === 'subscribe' && p.has('hub.verify_token') && p.has('hub.challenge')
  }

  const server = createServer((req, res) => {
    res.sendDate = false // Meta gets the app's headers, not one the receiver adds
    const path = (req.url ?? '/').split('?')[0]!
    if (stopping) {
      req.resume()
      plain(res, 503, 'driftwatch webhook is stopping; retry\n', { 'retry-after': '5' })
      return
    }
    // Dot segments or an empty segment would let a request reach another endpoint of the app than --forward's tree.
    if (/(^|\/)\.\.?(\/|$)|\/\/|%2e|%2f|\\/i.test(path)) {
      req.resume()
      plain(res, 400, 'driftwatch webhook: a path with dot segments or empty segments is not forwarded\n', { connection: 'close' })
      emit({ kind: 'refused', method: req.method ?? '?', path, status: 400, reason: 'dot or empty segments in the path' })
      return
    }
    // A GET is forwarded only as Meta's verification handshake: any other GET would expose the app's other endpoints, unsigned.
    if (req.method === 'GET' && !isVerification(req.url ?? '')) {
      req.resume()
      plain(res, 404, 'driftwatch webhook forwards GET only for the verification handshake (hub.mode, hub.verify_token, hub.challenge)\n')
      emit({ kind: 'refused', method: 'GET', path, status: 404, reason: 'not the verification handshake (hub.mode=subscribe, hub.verify_token, hub.challenge)' })
      return
    }
    track(1)
    res.on('close', () => track(-1))
    const handle = req.method === 'POST' ? delivery(req, res, path) : req.method === 'GET' ? verification(req, res, path) : undefined
    if (!handle) {
      metrics.otherMethod()
      req.resume()
      plain(res, 405, 'driftwatch webhook takes GET (verification) and POST (deliveries)\n', { allow: 'GET, POST' })
      emit({ kind: 'method', method: req.method ?? '?', path })
      return
    }
    handle.catch((err: unknown) => {
      if (!res.headersSent) answerFailure(res, 502, `internal error (${(err as Error).message})`)
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'EADDRINUSE: another process listens there' : err.code === 'EACCES' ? 'EACCES: not allowed to bind it' : (err.code ?? err.message)
      reject(new HarnessError('DW_USAGE', `--port ${port}: cannot listen on ${host}:${port} (${why}); stop that process, pick another --port, or 0 for a free one`))
    })
    server.listen(port, host, () => resolve())
  })
  const addr = server.address() as AddressInfo
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
  // --forward at the receiver itself: each delivery would come back as a new one, for ever.
  if (forwardsToItself(target, addr)) {
    await new Promise((r) => server.close(r))
    throw new HarnessError('DW_USAGE', `--forward ${shownTarget} is this receiver (${url}): every delivery would be forwarded back to it without end. Give the app's own webhook URL`)
  }

  const finish = async (): Promise<ReceiverCounts> => {
    agent.destroy()
    await journal.close()
    await journal.removeIfEmpty()
    return { ...metrics.counts }
  }

  let ending: Promise<ReceiverCounts> | undefined
  return {
    url,
    journal,
    metrics,
    counts: () => ({ ...metrics.counts }),
    close() {
      ending ??= closeGracefully()
      return ending
    },
    abort() {
      // Also during a graceful close (a second Ctrl-C): what is in flight is cut now.
      stopping = true
      server.close()
      server.closeAllConnections()
      ending = finish()
      return ending
    },
  }

  async function closeGracefully(): Promise<ReceiverCounts> {
    stopping = true
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeIdleConnections()
    if (inflight > 0) {
      await new Promise<void>((resolve) => {
        idle = resolve
        setTimeout(resolve, graceMs).unref()
      })
    }
    server.closeAllConnections()
    await closed
    return finish()
  }
}

/** The app's whole answer. */
interface AppReply {
  status: number
  statusMessage: string
  rawHeaders: string[]
  body: Buffer
}

/** The app's answer, or why there was none. */
type AppAnswer = AppReply | { failed: 'unreachable' | 'timeout' | 'reset'; detail: string }

/** The whole body; undefined when it is over `max` (the rest is not read), null when the sender went away mid-body. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined | null> {
  return new Promise((resolve) => {
    if (Number(req.headers['content-length']) > max) {
      req.resume()
      resolve(undefined)
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (c: Buffer) => {
      if (over) return
      size += c.length
      if (size > max) {
        over = true
        chunks.length = 0
        resolve(undefined)
        return
      }
      chunks.push(c)
    })
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks))
    })
    req.on('close', () => {
      if (!req.complete && !over) resolve(null)
    })
    req.on('error', () => resolve(null))
  })
}

/** The `field`s a body's changes name (messages, statuses are in `messages` too), for the delivery's line; at most five, each cut at 40 characters. */
function fieldsOf(json: unknown): string[] {
  const out = new Set<string>()
  const entries = (json as { entry?: unknown })?.entry
  if (!Array.isArray(entries)) return []
  for (const e of entries) {
    const changes = (e as { changes?: unknown })?.changes
    if (!Array.isArray(changes)) continue
    for (const c of changes) {
      const f = (c as { field?: unknown })?.field
      if (typeof f === 'string') out.add(f.slice(0, 40))
      if (out.size >= 5) return [...out]
    }
  }
  return [...out]
}

/** True when `target` names the receiver listening at `addr` (same port, and a loopback or wildcard address on both sides, or the same one). */
function forwardsToItself(target: URL, addr: AddressInfo): boolean {
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80))
  if (port !== addr.port || target.protocol !== 'http:') return false
  const host = target.hostname.replace(/^\[|\]$/g, '')
  const local = (h: string) => h === 'localhost' || h === '::1' || h === '::' || h === '0.0.0.0' || /^127\./.test(h)
  return host === addr.address || (local(host) && local(addr.address))
}
