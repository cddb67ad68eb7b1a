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

/** Per-socket capture of the current response's head and wire byte count. */
export class SocketTap {
  private chunks: Buffer[] = []
  private headBytes = 0
  /** Status line + header block as received (latin1, exact bytes), once complete. */
  head: string | undefined
  /** Bytes read off the socket since the current response began. */
  wireBytes = 0
  /** Responses completed on this socket; > 0 means the connection was reused. */
  completed = 0

  /** Records a chunk read off the socket. */
  feed(chunk: Buffer): void {
    this.wireBytes += chunk.length
    if (this.head !== undefined || this.headBytes >= MAX_HEAD_BYTES) return
    this.chunks.push(chunk)
    this.headBytes += chunk.length
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)
    this.chunks = [all]
    const end = all.indexOf(CRLFCRLF)
    if (end >= 0) {
      this.head = all.subarray(0, end).toString('latin1')
      this.chunks = []
    }
  }

  /** Marks the end of a response: the next bytes on this socket start a new one. */
  reset(): void {
    this.chunks = []
    this.headBytes = 0
    this.head = undefined
    this.wireBytes = 0
    this.completed++
  }

  /** The status line, e.g. `HTTP/1.1 200 OK`. */
  get statusLine(): string | undefined {
    return this.head?.split('\r\n', 1)[0]
  }

  /** `1.1`, `1.0`, ... from the status line. */
  get httpVersion(): string | undefined {
    return this.statusLine?.match(/^HTTP\/(\d+(?:\.\d+)?)\s/)?.[1]
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
      ;(socket as Socket).on('data', (chunk: Buffer) => {
        lastActive = tap
        tap.feed(chunk)
      })
      callback(null, socket)
    })
  }
}
