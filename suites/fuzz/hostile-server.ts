/**
 * A loopback TCP server that answers each HTTP request with a scripted sequence of raw steps
 * (write bytes, wait, end, reset, hang): the malformed HTTP no `node:http` server can be made to
 * send. Requests on one connection are answered one at a time, in order.
 */
import net from 'node:net'

/** One thing the server does while answering. */
export type Step = { write: string | Buffer } | { wait: number } | { end: true } | { reset: true } | { hang: true }

/** A started server; `served` lists the reply labels in order, for failure messages. */
export interface HostileServer {
  url: string
  served: string[]
  close(): Promise<void>
}

/** What to answer a request with: a label (for failure messages) and the steps. */
export interface Reply {
  label: string
  steps: Step[]
}

/** Where a request (head + body) ends in `buf`, or -1 while it is incomplete. */
function requestEnd(buf: Buffer): number {
  const head = buf.indexOf('\r\n\r\n')
  if (head < 0) return -1
  const text = buf.subarray(0, head).toString('latin1')
  if (/\r\ntransfer-encoding:\s*chunked/i.test(text)) {
    const last = buf.indexOf('\r\n0\r\n\r\n', head + 2)
    return last < 0 ? -1 : last + 7
  }
  const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1] ?? 0)
  return buf.length < head + 4 + len ? -1 : head + 4 + len
}

/** Starts a server; `reply(head)` scripts each answer. */
export async function hostileServer(reply: (head: string, baseUrl: string) => Reply): Promise<HostileServer> {
  const sockets = new Set<net.Socket>()
  const served: string[] = []
  let url = ''
  const server = net.createServer((s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => undefined)
    let buf = Buffer.alloc(0)
    let busy = false
    const pump = async (): Promise<void> => {
      if (busy) return
      busy = true
      try {
        for (;;) {
          const end = requestEnd(buf)
          if (end < 0 || s.destroyed) return
          const head = buf.subarray(0, buf.indexOf('\r\n\r\n')).toString('latin1')
          buf = buf.subarray(end)
          const r = reply(head, url)
          served.push(r.label)
          for (const step of r.steps) {
            if (s.destroyed) return
            if ('write' in step) s.write(step.write)
            else if ('wait' in step) await new Promise((res) => setTimeout(res, step.wait))
            else if ('end' in step) return void s.end()
            else if ('reset' in step) return void s.resetAndDestroy()
            else return // hang: never answer; the client's deadline ends it
          }
        }
      } finally {
        busy = false
      }
    }
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      void pump()
    })
  })
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()))
  url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`
  return {
    url,
    served,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy()
        server.close(() => res())
      }),
  }
}
