/**
 * A webhook receiver on loopback and the calls that make the simulator send webhooks, for the
 * simulator's webhook suites. Waits are on received bodies, never on the clock.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { RunningSimulator } from '../../src/simulator/server.ts'

/** One POST the receiver got, raw bytes kept for the signature. */
export interface Received {
  headers: http.IncomingHttpHeaders
  raw: Buffer
  json: any
}

/** A loopback webhook receiver: `answer` decides each response status (default 200). */
export interface Receiver {
  url: string
  received: Received[]
  /** Resolves once `n` POSTs have arrived (answered or not). */
  waitFor(n: number): Promise<Received[]>
  close(): Promise<void>
}

/** Starts a receiver on a free loopback port; every POST is kept, answered with `answer`'s status. */
export async function startReceiver(answer: (r: Received, index: number) => number = () => 200): Promise<Receiver> {
  const received: Received[] = []
  const waiters: { n: number; resolve: (r: Received[]) => void }[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      let json: unknown
      try {
        json = JSON.parse(raw.toString('utf8'))
      } catch {
        json = undefined
      }
      const r: Received = { headers: req.headers, raw, json }
      received.push(r)
      const status = answer(r, received.length - 1)
      res.writeHead(status, { 'Content-Length': '0' })
      res.end()
      for (const w of waiters.splice(0)) {
        if (received.length >= w.n) w.resolve(received.slice())
        else waiters.push(w)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/webhook`,
    received,
    waitFor: (n) => (received.length >= n ? Promise.resolve(received.slice()) : new Promise((resolve) => waiters.push({ n, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** Sends a text message through the simulator's Graph API; returns the status and the wamid. */
export function sendText(sim: RunningSimulator, to: string, type = 'text'): Promise<{ status: number; id?: string }> {
  const payload = type === 'template' ? { messaging_product: 'whatsapp', to, type, template: { name: 'hello_world', language: { code: 'en_US' } } } : { messaging_product: 'whatsapp', to, type: 'text', text: { body: 'hello' } }
  return postJson(`${sim.url}/v23.0/${sim.credentials.phoneNumberId}/messages`, payload, sim.credentials.token)
}

/** POSTs JSON (with a bearer token when given); resolves with the status and the body's `id` or `messages[0].id`. */
export function postJson(url: string, payload: unknown, token?: string): Promise<{ status: number; id?: string; json?: any }> {
  const body = Buffer.from(JSON.stringify(payload))
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        let json: any
        try {
          json = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        } catch {
          json = undefined
        }
        resolve({ status: res.statusCode!, id: json?.messages?.[0]?.id ?? json?.id, json })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** The first status object of a status webhook body. */
export function statusOf(body: any): any {
  return body.entry[0].changes[0].value.statuses[0]
}

/**
 * Problems with a status webhook body against Meta's shape (FACTS.md "Webhooks as Meta delivers them";
 * the statuses in ../shared/meta/webhooks/message_status.json): empty when it is valid.
 */
export function metaStatusProblems(body: any): string[] {
  const p: string[] = []
  const str = (v: unknown, where: string) => typeof v === 'string' || p.push(`${where} not a string`)
  if (body?.object !== 'whatsapp_business_account') p.push('object')
  if (!Array.isArray(body?.entry)) return [...p, 'entry not an array']
  for (const e of body.entry) {
    str(e.id, 'entry.id')
    if (!Array.isArray(e.changes)) {
      p.push('changes not an array')
      continue
    }
    for (const c of e.changes) {
      if (c.field !== 'messages') p.push('field')
      const v = c.value
      if (v?.messaging_product !== 'whatsapp') p.push('messaging_product')
      str(v?.metadata?.display_phone_number, 'metadata.display_phone_number')
      str(v?.metadata?.phone_number_id, 'metadata.phone_number_id')
      if (!Array.isArray(v?.statuses)) {
        p.push('statuses not an array')
        continue
      }
      for (const s of v.statuses) {
        if (!/^wamid\./.test(String(s.id))) p.push('status.id')
        if (!['sent', 'delivered', 'read', 'failed'].includes(s.status)) p.push('status.status')
        if (typeof s.timestamp !== 'string' || !/^\d+$/.test(s.timestamp)) p.push('status.timestamp')
        str(s.recipient_id, 'status.recipient_id')
        if (s.status === 'failed' && !Array.isArray(s.errors)) p.push('status.errors not an array')
        if (s.errors !== undefined) {
          if (!Array.isArray(s.errors)) p.push('status.errors not an array')
          else
            for (const err of s.errors) {
              if (typeof err.code !== 'number') p.push('errors[].code not a number')
              for (const k of ['title', 'message', 'href']) str(err[k], `errors[].${k}`)
              str(err.error_data?.details, 'errors[].error_data.details')
            }
        }
      }
    }
  }
  return p
}
