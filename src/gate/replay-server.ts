/**
 * A provider made of golden recordings: each request is answered with what the upstream answered
 * when that contract was last recorded (status, headers in order, body, framing). Pact's Verifier
 * runs against it, so the consumer's expectations meet the real upstream's last known behaviour.
 */
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { RawHeader } from '../model/observation.ts'
import type { Recording } from '../recordings/store.ts'
import type { SimResponse } from '../simulator/graph.ts'
import { write } from '../simulator/server.ts'

/** A request as the replay server and the gate match it. */
export interface RequestShape {
  method: string
  path: string
  query: Record<string, readonly string[]>
  /** Lowercase header names. */
  headers: Record<string, string>
}

/** A running replay server; `served` lists what it answered, for the report. */
export interface ReplayServer {
  url: string
  served: { request: string; recording?: string }[]
  close(): Promise<void>
}

/** The request as matching sees it. */
export function shapeOf(req: IncomingMessage): RequestShape {
  const url = new URL(req.url ?? '/', 'http://replay.invalid')
  const query: Record<string, string[]> = {}
  for (const [k, v] of url.searchParams) (query[k] ??= []).push(v)
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v
  return { method: req.method ?? 'GET', path: url.pathname, query, headers }
}

/** The response a recording holds: its first observation with a complete response. */
export function replayedResponse(rec: Recording): SimResponse | undefined {
  const o = rec.observations.find((x) => x.response && !x.transportError) ?? rec.observations.find((x) => x.response)
  const r = o?.response
  if (!r) return undefined
  const b = r.body
  const body = b.base64 !== undefined ? Buffer.from(b.base64, 'base64') : Buffer.from(b.text ?? '', 'utf8')
  const headers: RawHeader[] = r.rawHeaders.filter(([n]) => !['content-length', 'transfer-encoding'].includes(n.toLowerCase()))
  return { status: r.status, statusText: r.statusText, headers, body, framing: r.framing.kind === 'chunked' ? 'chunked' : 'content-length' }
}

/** Starts a replay server; `resolve` picks the recording for each request. */
export async function startReplayServer(resolve: (req: RequestShape) => Recording | undefined): Promise<ReplayServer> {
  const served: ReplayServer['served'] = []
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const shape = shapeOf(req)
      const rec = resolve(shape)
      const out = rec ? replayedResponse(rec) : undefined
      served.push({ request: `${shape.method} ${req.url}`, ...(rec ? { recording: `${rec.contract}/${rec.name}` } : {}) })
      if (!out) {
        const msg = JSON.stringify({ error: { message: `driftwatch replay: no recording answers ${shape.method} ${shape.path}`, type: 'DriftwatchReplay', code: 0 } })
        res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(msg) })
        res.end(msg)
        return
      }
      write(res, out).catch(() => res.destroy())
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      }),
  }
}
