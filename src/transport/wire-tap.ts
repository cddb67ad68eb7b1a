/**
 * A socket tap for undici connections. undici parses responses with llhttp and hands handlers the
 * raw header list, but not the status line's HTTP version nor the byte count on the wire. The tap
 * listens to the socket's 'data' events, which Node emits synchronously inside the `read()` undici
 * calls just before it parses that chunk; so when a handler's `onResponseStart` runs, the most
 * recently tapped socket is the one whose response is being parsed, and its head is complete.
 * One request at a time per connection (pipelining 1) keeps each tap's state per response.
 */
import type { Socket } from 'node:net'
import type { buildConnector } from 'undici'

const MAX_HEAD_BYTES = 64 * 1024
const CRLFCRLF = Buffer.from('\r\n\r\n')

/** What the tap saw of one response's head. */
export interface TappedHead {
  /** Status line, e.g. `HTTP/1.1 200 OK`. */
  statusLine: string
  /** `1.1`, `1.0`, ... from the status line. */
  httpVersion: string | undefined
}

/** Per-socket capture of the current response's first bytes and its wire byte count. */
export class SocketTap {
  // References to the chunks that hold the head; searched once, when the handler claims them.
  private chunks: Buffer[] = []
  private headBytes = 0
  private claimed = false
  /** Bytes read off the socket since the current response began. */
  wireBytes = 0
  /** Responses completed on this socket; > 0 means the connection was reused. */
  completed = 0
  /** The peer, as connected: which server (or front-end) took this connection. */
  remoteAddress: string | undefined
  remotePort: number | undefined
  /** TLS only: whether the handshake resumed a cached session, and the protocol version. */
  tlsSessionReused: boolean | undefined
  tlsProtocol: string | undefined

  /** Records a chunk read off the socket. */
  feed(chunk: Buffer): void {
    this.wireBytes += chunk.length
    if (this.claimed || this.headBytes >= MAX_HEAD_BYTES) return
    this.chunks.push(chunk)
    this.headBytes += chunk.length
  }

  /** An informational (1xx) head was just parsed: its bytes go, so the final head is the one `claimHead` finds. */
  skipHead(): void {
    if (this.claimed) return
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)
    const end = all.indexOf(CRLFCRLF)
    const rest = end < 0 ? all.subarray(all.length) : all.subarray(end + 4)
    this.chunks = rest.length ? [rest] : []
    this.headBytes = rest.length
  }

  /** The status line of the response whose headers were just parsed; call from `onResponseStart`. */
  claimHead(): TappedHead | undefined {
    if (this.claimed) return undefined
    this.claimed = true
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)
    this.chunks = []
    const end = all.indexOf(CRLFCRLF)
    if (end < 0) return undefined
    const eol = all.indexOf(13)
    const statusLine = all.toString('latin1', 0, eol >= 0 && eol < end ? eol : end)
    return { statusLine, httpVersion: /^HTTP\/(\d+(?:\.\d+)?)\s/.exec(statusLine)?.[1] }
  }

  /** Marks the end of a response: the next bytes on this socket start a new one. */
  reset(): void {
    this.chunks = []
    this.headBytes = 0
    this.claimed = false
    this.wireBytes = 0
    this.completed++
  }
}

let lastActive: SocketTap | undefined

/** The tap of the socket whose bytes are being parsed right now; call from `onResponseStart`. */
export function currentTap(): SocketTap | undefined {
  return lastActive
}

/** Wraps an undici connector so every socket it opens is tapped. */
export function tappedConnector(base: buildConnector.connector): buildConnector.connector {
  return (options, callback) => {
    base(options, (err, socket) => {
      if (err || !socket) {
        callback(err ?? new Error('connect failed'), null)
        return
      }
      const tap = new SocketTap()
      const s = socket as Socket & { encrypted?: boolean; isSessionReused?: () => boolean; getProtocol?: () => string | null }
      tap.remoteAddress = s.remoteAddress
      tap.remotePort = s.remotePort
      if (s.encrypted) {
        tap.tlsSessionReused = s.isSessionReused?.()
        tap.tlsProtocol = s.getProtocol?.() ?? undefined
      }
      ;(socket as Socket).on('data', (chunk: Buffer) => {
        lastActive = tap
        tap.feed(chunk)
      })
      callback(null, socket)
    })
  }
}
