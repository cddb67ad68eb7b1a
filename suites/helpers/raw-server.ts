/**
 * A TCP server that answers each HTTP request with exactly the bytes a test scripts: the only way
 * to produce wrong framing, HTTP/1.0 status lines, truncation, resets and garbage on a real socket.
 */
import net from 'node:net'

/** What to do for one request. */
export interface RawReply {
  /** Bytes to write (string is latin1). */
  bytes?: string | Buffer
  /** Written after `delayMs`, then the rest after `thenMs` (for stalls). */
  delayMs?: number
  rest?: string | Buffer
  restDelayMs?: number
  /** Close the connection after writing. */
  end?: boolean
  /** Destroy the socket without writing (reset). */
  reset?: boolean
}

/** A started raw server. */
export interface RawServer {
  url: string
  /** Request heads received, in order (for asserting what the client sent). */
  requests: string[]
  close(): Promise<void>
}

/** Starts a raw server; `reply(path, head)` decides each answer. */
export async function rawServer(reply: (path: string, head: string) => RawReply): Promise<RawServer> {
  const requests: string[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => undefined)
    let buf = Buffer.alloc(0)
    s.on('data', async (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      for (;;) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = buf.subarray(0, end).toString('latin1')
        const len = Number(head.match(/\r\ncontent-length:\s*(\d+)/i)?.[1] ?? 0)
        if (buf.length < end + 4 + len) return
        buf = buf.subarray(end + 4 + len)
        requests.push(head)
        const path = head.split(' ')[1] ?? '/'
        const r = reply(path, head)
        if (r.reset) {
          s.resetAndDestroy()
          return
        }
        if (r.delayMs) await new Promise((res) => setTimeout(res, r.delayMs))
        if (s.destroyed) return
        if (r.bytes !== undefined) s.write(typeof r.bytes === 'string' ? Buffer.from(r.bytes, 'latin1') : r.bytes)
        if (r.rest !== undefined) {
          await new Promise((res) => setTimeout(res, r.restDelayMs ?? 0))
          if (!s.destroyed) s.write(typeof r.rest === 'string' ? Buffer.from(r.rest, 'latin1') : r.rest)
        }
        if (r.end) s.end()
      }
    })
  })
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()))
  const port = (server.address() as net.AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy()
        server.close(() => res())
      }),
  }
}

/** A closed port: listen, note the port, close. Connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', () => res()))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((res) => s.close(() => res()))
  return port
}
