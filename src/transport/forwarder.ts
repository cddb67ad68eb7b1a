/**
 * The upstream side of the proxy's pass-through (src/proxy/passthrough.ts): a keep-alive undici
 * pool to one origin, and the handler shape undici 7's HTTP/1.1 core calls natively (onConnect /
 * onHeaders / onData / onComplete / onError, with the raw header list as bytes and the reason
 * phrase). That shape, not the newer onResponse* one: undici adapts the new one onto it and parses
 * every header list into an object the pass-through never reads. Here because undici is used in
 * the transport only; the pass-through itself stays free of it.
 */
import type { Socket } from 'node:net'
import type { Readable } from 'node:stream'
import { Pool, buildConnector, type Dispatcher } from 'undici'
import { tappedConnector } from './wire-tap.ts'

/** What undici calls while one forwarded request runs (the legacy handler shape; see the file comment). */
export interface ForwardHandler {
  /** The request is on its way; `abort` cancels it (and its connection). */
  onConnect(abort: (reason: Error) => void): void
  /** Each request body chunk as it is written to the upstream. */
  onBodySent(chunk: Buffer | string): void
  /** Response head (also for 1xx); `raw` is [name, value, ...] as bytes. Return false to pause until `resume`. */
  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean
  /** A body chunk (de-chunked); return false to pause until `resume`. */
  onData(chunk: Buffer): boolean
  /** The body ended as its framing said; `trailers` as [name, value, ...] bytes. */
  onComplete(trailers: Buffer[] | null): void
  onError(err: Error): void
}

/** One request to forward: path and query, method, headers [name, value, ...] in order. */
export interface ForwardRequest {
  path: string
  method: string
  headers: string[]
  /** The body as it arrives (the application's request stream), or null when it has none. */
  body: Readable | null
}

/** Pool settings: sizes in bytes, times in milliseconds. */
export interface ForwarderOptions {
  /** Keep-alive connections to the upstream (default 32). */
  connections?: number
  connectTimeoutMs?: number
  /** No response head within this long: the request fails with UND_ERR_HEADERS_TIMEOUT. */
  headersTimeoutMs?: number
  /** Longest silence while a body streams. */
  bodyTimeoutMs?: number
  /** Largest response head accepted (larger than an application's client would take: the proxy must not refuse what the app would read). */
  maxHeaderBytes?: number
}

/** A keep-alive pool to one upstream origin, for the pass-through. */
export class Forwarder {
  private readonly pool: Pool
  private readonly origin: string

  constructor(origin: string, opts: ForwarderOptions = {}) {
    this.origin = origin
    // Tapped, so the pass-through knows the status line as received and the HTTP version (see wire-tap.ts).
    const connect = earlyAnswers(tappedConnector(buildConnector({ timeout: opts.connectTimeoutMs ?? 10_000, allowH2: false })))
    this.pool = new Pool(origin, {
      connect,
      connections: opts.connections ?? 32,
      pipelining: 1,
      allowH2: false,
      keepAliveTimeout: 4_000,
      headersTimeout: opts.headersTimeoutMs ?? 30_000,
      bodyTimeout: opts.bodyTimeoutMs ?? 300_000,
      maxHeaderSize: opts.maxHeaderBytes ?? 256 * 1024,
    })
  }

  /** Starts one request; everything after (including a failure to start) reaches `handler`. */
  dispatch(req: ForwardRequest, handler: ForwardHandler): void {
    try {
      this.pool.dispatch({ origin: this.origin, path: req.path, method: req.method as Dispatcher.HttpMethod, headers: req.headers, body: req.body }, handler as unknown as Dispatcher.DispatchHandler)
    } catch (err) {
      handler.onError(err as Error)
    }
  }

  /** Lets running requests finish, then closes the connections. */
  close(): Promise<void> {
    return this.pool.close()
  }

  /** Closes every connection now; running requests fail. */
  destroy(): Promise<void> {
    return this.pool.destroy()
  }
}

/** How long a connection whose upstream stopped reading the request body stays open for the answer it may have sent (see earlyAnswers). */
const EARLY_ANSWER_GRACE_MS = 1_000

type WriteCallback = (err?: Error | null) => void
type Writer = Socket & { _writeGeneric(writev: boolean, data: unknown, encoding: string, cb: WriteCallback): void }

/**
 * An upstream may answer before it has read the whole request body (a 413 for an upload too large,
 * a 401 on a bad token) and close its connection: the proxy's next write of the body the
 * application is still sending fails with EPIPE or ECONNRESET. An application sending direct reads
 * the answer; a proxy busy relaying that body writes first, and a failed write errors the socket,
 * which stops reading: the answer is lost unread. So on these sockets the first such failure is
 * held: writing stops (later writes wait behind it), reading goes on, undici parses the answer
 * and ends the request itself; the failure is let through when reading ends, or after a grace.
 * Wraps net.Socket's `_writeGeneric`, which every write of a TCP or TLS socket goes through.
 */
function earlyAnswers(base: buildConnector.connector): buildConnector.connector {
  return (options, callback) => {
    base(options, (err, socket) => {
      if (socket) holdWriteFailure(socket as Writer)
      ;(callback as (err: Error | null, socket: unknown) => void)(err, socket)
    })
  }
}

function holdWriteFailure(socket: Writer): void {
  const write = socket._writeGeneric
  if (typeof write !== 'function') return
  let held = false
  socket._writeGeneric = function (this: Writer, writev, data, encoding, cb) {
    write.call(this, writev, data, encoding, (err) => {
      const code = (err as NodeJS.ErrnoException | null | undefined)?.code
      if (!err || held || (code !== 'EPIPE' && code !== 'ECONNRESET') || this.destroyed) return cb(err)
      held = true
      let done = false
      const release = () => {
        if (done) return
        done = true
        clearTimeout(timer)
        cb(err)
      }
      const timer = setTimeout(release, EARLY_ANSWER_GRACE_MS)
      timer.unref()
      this.once('end', release)
      this.once('close', release)
    })
  }
}
