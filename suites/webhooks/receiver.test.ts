/**
 * The receiver in front of an app, on real sockets: what Meta sends reaches the app byte for byte
 * (body and headers in order), what Meta gets back is the app's answer, a forged or unsigned
 * delivery never reaches the app or the disk, and a delivery the app does not take is on disk
 * (redacted) with a 5xx to Meta so that it retries.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startReceiver, type Receiver, type ReceiverEvent, type ReceiverOptions } from '../../src/webhooks/receiver.ts'
import { ReceiverAlerts } from '../../src/webhooks/receiver-alerts.ts'
import { ReceiverMetrics, serveReceiverMetrics } from '../../src/webhooks/receiver-metrics.ts'
import { QueuedSink } from '../../src/webhooks/receiver-sink.ts'
import { signBody } from '../../src/webhooks/receiver-signature.ts'
import { webhookSink, type Alert } from '../../src/watch/alerts.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { app, deadPort, metaBodies, metaHeaders, pairs, PERSONAL, SECRET, send, until } from './receiver-helpers.ts'

const tmp = tempDirs('dw-wh-recv-')
const cleanup: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

const BODIES = metaBodies()
const TEXT = BODIES.get('message/text')!

async function receiver(forward: string, more: Partial<ReceiverOptions> = {}): Promise<{ r: Receiver; events: ReceiverEvent[]; out: string }> {
  const out = tmp.dir()
  const events: ReceiverEvent[] = []
  const r = await startReceiver({ forward, appSecret: SECRET, outDir: out, onEvent: (e) => events.push(e), ...more })
  cleanup.push(() => r.abort())
  return { r, events, out }
}

async function theApp(answer?: Parameters<typeof app>[0]) {
  const a = await app(answer)
  cleanup.push(() => a.close())
  return a
}

/** The journal's lines (header first). */
function journalLines(r: Receiver): Record<string, unknown>[] {
  return readFileSync(r.journal.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
}

const HOP = ['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection']

describe('a delivery with a good signature', () => {
  it('reaches the app byte-identical, headers in order and case, and Meta gets the app answer as the app gave it', async () => {
    const a = await theApp((_req, res) => {
      res.sendDate = false
      res.writeHead(202, 'Taken Gladly', ['X-App', 'one', 'Content-Type', 'text/plain', 'x-app', 'two', 'Content-Length', '14'])
      res.end('EVENT_RECEIVED')
    })
    const { r } = await receiver(`${a.url}/hooks/whatsapp`)
    // Bytes JSON.stringify would never write: escaped slashes and non-ASCII, spacing. A re-serialised body fails the app's own signature check.
    const body = Buffer.concat([Buffer.from('{"object":"whatsapp_business_account", "entry":[{"id":"1\\/2","x":"caf\\u00e9 ✓"}]'), Buffer.from('}\n')])
    const headers = [...metaHeaders(r.url, body), 'X-Custom-Trace', 'abc', 'x-custom-trace', 'def']
    const got = await send(r.url, 'POST', '/', headers, body)

    expect(a.seen).toHaveLength(1)
    const at = a.seen[0]!
    expect(at.url).toBe('/hooks/whatsapp')
    expect(at.body.equals(body)).toBe(true)
    const expected = pairs(headers, HOP).map(([n, v]): [string, string] => (n.toLowerCase() === 'host' ? [n, new URL(a.url).host] : [n, v]))
    expect(pairs(at.rawHeaders, HOP)).toEqual(expected)
    expect(pairs(at.rawHeaders).find(([n]) => n === 'X-Hub-Signature-256')?.[1]).toBe(signBody(body, SECRET))

    expect(got.status).toBe(202)
    expect(got.statusMessage).toBe('Taken Gladly')
    expect(pairs(got.rawHeaders, HOP)).toEqual([['X-App', 'one'], ['Content-Type', 'text/plain'], ['x-app', 'two'], ['Content-Length', '14']])
    expect(got.body.toString()).toBe('EVENT_RECEIVED')
    expect(r.counts()).toMatchObject({ received: 1, forwarded: 1, delivered: 1, journaled: 1 })
  })

  it('appends the request path and query to --forward, and keeps --forward whole for a request to /', async () => {
    const a = await theApp()
    const { r } = await receiver(`${a.url}/base/`)
    await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT), TEXT)
    await send(r.url, 'POST', '/wa/1?x=1', metaHeaders(r.url, TEXT), TEXT)
    expect(a.seen.map((s) => s.url)).toEqual(['/base', '/base/wa/1?x=1'])
  })

  it('is offered to the sink as the raw bytes Meta signed, after Meta has its answer', async () => {
    const a = await theApp()
    const got: Buffer[] = []
    const sink = new QueuedSink((b) => got.push(b))
    const { r } = await receiver(a.url, { sink })
    for (const b of [TEXT, BODIES.get('message_status/failed')!]) expect((await send(r.url, 'POST', '/', metaHeaders(r.url, b), b)).status).toBe(200)
    await sink.idle()
    expect(got.map((b) => b.toString())).toEqual([TEXT.toString(), BODIES.get('message_status/failed')!.toString()])
    expect(sink.stats).toMatchObject({ offered: 2, consumed: 2, skipped: 0 })
  })
})

describe('framing and limits', () => {
  it('a chunked delivery reaches the app whole, with its length (chunking is hop-by-hop)', async () => {
    const a = await theApp()
    const { r } = await receiver(a.url)
    const headers = metaHeaders(r.url, TEXT).flatMap((x, i, all) => (i % 2 === 0 && x === 'Content-Length' ? [] : i % 2 === 1 && all[i - 1] === 'Content-Length' ? [] : [x]))
    const got = await send(r.url, 'POST', '/', [...headers, 'Transfer-Encoding', 'chunked'], TEXT)
    expect(got.status).toBe(200)
    expect(a.seen[0]!.body.equals(TEXT)).toBe(true)
    expect(pairs(a.seen[0]!.rawHeaders).filter(([n]) => /^(content-length|transfer-encoding)$/i.test(n))).toEqual([['Content-Length', String(TEXT.length)]])
  })

  it('a body over the limit is refused with 413, not forwarded, not kept', async () => {
    const a = await theApp()
    const { r, events } = await receiver(a.url, { maxBodyBytes: 100 })
    const got = await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT), TEXT)
    expect(got.status).toBe(413)
    expect(a.seen).toEqual([])
    expect(r.counts()).toMatchObject({ received: 1, forwarded: 0, journaled: 0, rejected: { 'too-large': 1 } })
    expect(events.map((e) => e.kind)).toEqual(['rejected'])
  })

  it('a journal that cannot be written: the delivery is forwarded all the same, counted, and /healthz turns 503', async () => {
    const a = await theApp()
    const out = tmp.dir()
    writeFileSync(join(out, '.journal'), 'a file where the journal folder should be')
    const events: ReceiverEvent[] = []
    const r = await startReceiver({ forward: a.url, appSecret: SECRET, outDir: out, onEvent: (e) => events.push(e) })
    cleanup.push(() => r.abort())
    expect((await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT), TEXT)).status).toBe(200)
    expect(a.seen).toHaveLength(1)
    expect(r.counts()).toMatchObject({ forwarded: 1, delivered: 1, journaled: 0, journalFailed: 1 })
    expect(events[0]).toMatchObject({ kind: 'journal-failed', delivery: 1 })
    expect(events[1]).toMatchObject({ kind: 'delivery', outcome: 'delivered', journaled: false })
    expect(r.metrics.health().ok).toBe(false)
  })
})

describe('a delivery with a missing or bad signature', () => {
  it.each([
    ['forged (signed with another secret)', 403, 'bad-signature', signBody(TEXT, 'not-the-secret')],
    ['for another body', 403, 'bad-signature', signBody(Buffer.from('{}'), SECRET)],
    ['malformed (not sha256=<64 hex>)', 403, 'bad-signature', 'sha256=xyz'],
    ['the sha1 header only', 401, 'missing-signature', null],
  ] as const)('%s: answered %i, never forwarded, nothing on disk', async (_what, status, reason, signature) => {
    const a = await theApp()
    const { r, events, out } = await receiver(a.url)
    const got = await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT, signature), TEXT)
    expect(got.status).toBe(status)
    expect(a.seen).toEqual([])
    expect(r.counts()).toMatchObject({ received: 1, forwarded: 0, journaled: 0, rejected: { [reason]: 1 } })
    expect(events).toEqual([{ kind: 'rejected', reason, path: '/', bytes: TEXT.length }])
    await r.close()
    expect(existsSync(join(out, '.journal'))).toBe(false)
  })

  it('a good delivery after a forged one still goes through', async () => {
    const a = await theApp()
    const { r } = await receiver(a.url)
    expect((await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT, signBody(TEXT, 'x')), TEXT)).status).toBe(403)
    expect((await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT), TEXT)).status).toBe(200)
    expect(a.seen).toHaveLength(1)
  })
})

describe('an app that does not take the delivery', () => {
  it('down: Meta gets a 502 and the body is in the journal, redacted', async () => {
    const { r, events } = await receiver(`http://127.0.0.1:${await deadPort()}/webhook`)
    const got = await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT), TEXT)
    expect(got.status).toBe(502)
    const counts = await r.close()
    expect(counts).toMatchObject({ received: 1, forwarded: 1, delivered: 0, journaled: 1, appErrors: { unreachable: 1 } })
    const [header, delivery, outcome] = journalLines(r)
    expect(header).toMatchObject({ journal: 'webhook', version: 1 })
    expect(delivery).toMatchObject({ delivery: 1, bytes: TEXT.length, body: { object: 'whatsapp_business_account' } })
    expect(outcome).toMatchObject({ delivery: 1, outcome: 'failed', status: 502 })
    const text = readFileSync(r.journal.file, 'utf8')
    for (const p of PERSONAL) expect(text, p).not.toContain(p)
    expect(events).toEqual([expect.objectContaining({ kind: 'delivery', outcome: 'failed', status: 502, journaled: true })])
  })

  it('answering 500: Meta gets the 500 as the app gave it, and the journal keeps the body', async () => {
    const a = await theApp((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' })
      res.end('database is down')
    })
    const { r } = await receiver(a.url)
    const b = BODIES.get('message/image')!
    const got = await send(r.url, 'POST', '/', metaHeaders(r.url, b), b)
    expect(got.status).toBe(500)
    expect(got.body.toString()).toBe('database is down')
    await r.close()
    const lines = journalLines(r)
    expect(lines.slice(1)).toEqual([expect.objectContaining({ delivery: 1, body: expect.objectContaining({ object: 'whatsapp_business_account' }) }), expect.objectContaining({ delivery: 1, outcome: 'failed', status: 500 })])
  })

  it('not answering in time: Meta gets a 504, the body stays in the journal', async () => {
    const a = await theApp(() => undefined) // holds the request
    const { r } = await receiver(a.url, { appTimeoutMs: 300, graceMs: 1000 })
    const got = await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT), TEXT)
    expect(got.status).toBe(504)
    expect(r.counts()).toMatchObject({ forwarded: 1, journaled: 1, appErrors: { timeout: 1 } })
  })

  it('answered 200 is delivered: the outcome line says so', async () => {
    const a = await theApp()
    const { r } = await receiver(a.url)
    await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT), TEXT)
    await r.close()
    expect(journalLines(r)[2]).toMatchObject({ delivery: 1, outcome: 'delivered', status: 200 })
  })
})

describe('GET verification', () => {
  /** An app that answers the challenge when the token is its own, 403 otherwise (Meta's documented handshake). */
  const verifying = (_req: unknown, res: import('node:http').ServerResponse, _b: Buffer, url = '') => {
    const q = new URL(url, 'http://x').searchParams
    if (q.get('hub.mode') === 'subscribe' && q.get('hub.verify_token') === 'my-token') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end(q.get('hub.challenge'))
    } else {
      res.writeHead(403, 'Forbidden', { 'content-type': 'text/plain' })
      res.end('wrong token')
    }
  }

  it('the challenge round-trips, and a wrong token is answered as the app answers it', async () => {
    const a = await theApp((req, res, b) => verifying(req, res, b, req.url))
    const { r, events } = await receiver(`${a.url}/webhook`)
    const ok = await send(r.url, 'GET', '/?hub.mode=subscribe&hub.verify_token=my-token&hub.challenge=1158201444', ['Host', 'x'])
    expect(ok.status).toBe(200)
    expect(ok.body.toString()).toBe('1158201444')
    const wrong = await send(r.url, 'GET', '/?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1', ['Host', 'x'])
    expect(wrong.status).toBe(403)
    expect(wrong.statusMessage).toBe('Forbidden')
    expect(wrong.body.toString()).toBe('wrong token')
    expect(a.seen.map((s) => s.url)).toEqual(['/webhook?hub.mode=subscribe&hub.verify_token=my-token&hub.challenge=1158201444', '/webhook?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1'])
    // The verify token is a secret: no event carries the query.
    expect(JSON.stringify(events)).not.toContain('my-token')
    expect(events.map((e) => e.kind === 'verification' && e.status)).toEqual([200, 403])
  })

  it('a GET that is not the handshake, or a path with dot or empty segments, reaches nothing behind the receiver (newcomer review)', async () => {
    const a = await theApp((req, res, b) => verifying(req, res, b, req.url))
    const { r, events } = await receiver(`${a.url}/webhook`)
    expect((await send(r.url, 'GET', '/admin/users?x=1', ['Host', 'x'])).status).toBe(404)
    expect((await send(r.url, 'GET', '/internal/metrics', ['Host', 'x'])).status).toBe(404)
    expect((await send(r.url, 'GET', '/../../admin?hub.mode=subscribe&hub.verify_token=t&hub.challenge=1', ['Host', 'x'])).status).toBe(400)
    expect((await send(r.url, 'GET', '//evil.example/x?hub.mode=subscribe&hub.verify_token=t&hub.challenge=1', ['Host', 'x'])).status).toBe(400)
    const signed = BODIES.values().next().value!
    expect((await send(r.url, 'POST', '/%2e%2e/admin', metaHeaders(r.url, signed), signed)).status).toBe(400)
    expect(a.seen).toEqual([])
    expect(events.map((e) => e.kind === 'refused' && e.status)).toEqual([404, 404, 400, 400, 400])
    // The handshake itself still goes through.
    expect((await send(r.url, 'GET', '/?hub.mode=subscribe&hub.verify_token=my-token&hub.challenge=7', ['Host', 'x'])).status).toBe(200)
    expect(a.seen).toHaveLength(1)
  })

  it('a signed body that is not JSON: the journal keeps its size and where it broke, never its words', async () => {
    const { r } = await receiver(`http://127.0.0.1:${await deadPort()}`)
    const b = Buffer.from('{"object":"whatsapp_business_account","from":"4915112345678","name":Jane Doe}')
    expect((await send(r.url, 'POST', '/', metaHeaders(r.url, b), b)).status).toBe(502)
    await r.close()
    const text = readFileSync(r.journal.file, 'utf8')
    expect(text).toMatch(/"note":"not JSON \(invalid( at byte \d+)?\): kept as its size only"/)
    for (const p of ['Jane', 'Doe', '4915112345678']) expect(text, p).not.toContain(p)
  })

  it('a --forward that is the receiver itself is refused at start (one delivery became hundreds, each forwarded back)', async () => {
    const port = await deadPort()
    await expect(startReceiver({ forward: `http://127.0.0.1:${port}/hook`, appSecret: SECRET, outDir: tmp.dir(), port })).rejects.toThrow(/is this receiver .*without end/)
    await expect(startReceiver({ forward: `http://localhost:${port}/hook`, appSecret: SECRET, outDir: tmp.dir(), port, host: '0.0.0.0' })).rejects.toThrow(/is this receiver/)
  })

  it('an app that is down gets Meta a 502 for the verification too', async () => {
    const { r } = await receiver(`http://127.0.0.1:${await deadPort()}`)
    expect((await send(r.url, 'GET', '/?hub.mode=subscribe&hub.verify_token=t&hub.challenge=1', ['Host', 'x'])).status).toBe(502)
  })
})

describe('personal data', () => {
  it('no fixture body leaves a name, a number, a text, a place or a user id in the journal or the events', async () => {
    const { r, events } = await receiver(`http://127.0.0.1:${await deadPort()}`)
    for (const b of BODIES.values()) expect((await send(r.url, 'POST', '/', metaHeaders(r.url, b), b)).status).toBe(502)
    await r.close()
    const text = readFileSync(r.journal.file, 'utf8')
    expect(journalLines(r)).toHaveLength(1 + 2 * BODIES.size)
    for (const p of PERSONAL) expect(text, p).not.toContain(p)
    for (const p of PERSONAL) expect(JSON.stringify(events), p).not.toContain(p)
    expect(text).not.toContain(SECRET)
  })
})

describe('stopping', () => {
  it('lets an in-flight delivery finish, then refuses new ones; the journal is flushed', async () => {
    let release: (() => void) | undefined
    const a = await theApp((_req, res) => {
      release = () => {
        res.writeHead(200)
        res.end('ok')
      }
    })
    const { r } = await receiver(a.url)
    const inflight = send(r.url, 'POST', '/', metaHeaders(r.url, TEXT), TEXT)
    await until(() => release !== undefined, 10_000, 'the app to hold the delivery')
    const closing = r.close()
    release!()
    expect((await inflight).status).toBe(200)
    const counts = await closing
    expect(counts).toMatchObject({ received: 1, forwarded: 1, delivered: 1, journaled: 1 })
    expect(journalLines(r)).toHaveLength(3)
  })

  it('leaves no journal when nothing was delivered', async () => {
    const { r, out } = await receiver('http://127.0.0.1:9')
    await r.close()
    expect(readdirSync(out)).toEqual([])
  })
})

describe('metrics and alerts', () => {
  it('counts by reason on /metrics, and alerts when the app fails N deliveries in a row, recovering on the next 2xx', async () => {
    const hookGot: Alert[] = []
    const hook = await theApp((_req, res, b) => {
      hookGot.push(JSON.parse(b.toString()) as Alert)
      res.writeHead(204)
      res.end()
    })
    let failing = true
    const a = await theApp((_req, res) => {
      res.writeHead(failing ? 503 : 200)
      res.end()
    })
    const metrics = new ReceiverMetrics()
    const raised: Alert[] = []
    const alerts = new ReceiverAlerts({ sinks: [webhookSink(hook.url)], after: 2, target: a.url, onAlert: (al) => raised.push(al) })
    const { r } = await receiver(a.url, { metrics, alerts })
    const server = await serveReceiverMetrics(metrics, 0)
    cleanup.push(() => server.close())

    await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT), TEXT)
    expect(raised).toEqual([]) // one failure is not yet an incident
    await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT), TEXT)
    await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT, null), TEXT)
    failing = false
    await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT), TEXT)
    await alerts.settled()
    expect(raised.map((al) => [al.kind, al.check])).toEqual([['drift', 'app-delivery'], ['recovery', 'app-delivery']])
    expect(hookGot.map((al) => al.kind)).toEqual(['drift', 'recovery'])
    expect(raised[0]!.title).toBe('the app did not take 2 webhook deliveries in a row (last: the app answered 503)')

    const text = await (await fetch(`${server.url}/metrics`)).text()
    expect(text).toMatch(/^driftwatch_webhook_received_total 4$/m)
    expect(text).toMatch(/^driftwatch_webhook_forwarded_total 3$/m)
    expect(text).toMatch(/^driftwatch_webhook_delivered_total 1$/m)
    expect(text).toMatch(/^driftwatch_webhook_journaled_total 3$/m)
    expect(text).toMatch(/^driftwatch_webhook_rejected_total\{reason="missing-signature"\} 1$/m)
    expect(text).toMatch(/^driftwatch_webhook_rejected_total\{reason="bad-signature"\} 0$/m)
    expect(text).toMatch(/^driftwatch_webhook_app_errors_total\{reason="status-5xx"\} 2$/m)
    const health = await fetch(`${server.url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok', received: 4, failingStreak: 0 })
  })

  it('alerts when deliveries keep failing the signature check (a rotated app secret), not on one', async () => {
    const a = await theApp()
    const raised: Alert[] = []
    const alerts = new ReceiverAlerts({ sinks: [], after: 3, target: a.url, onAlert: (al) => raised.push(al) })
    const { r } = await receiver(a.url, { alerts })
    const forged = signBody(TEXT, 'the-old-secret')
    for (let i = 0; i < 2; i++) await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT, forged), TEXT)
    await alerts.settled()
    expect(raised).toEqual([])
    await send(r.url, 'POST', '/', metaHeaders(r.url, TEXT, forged), TEXT)
    await alerts.settled()
    expect(raised.map((al) => [al.kind, al.check, al.severity])).toEqual([['drift', 'webhook-signature', 'warning']])
  })
})
