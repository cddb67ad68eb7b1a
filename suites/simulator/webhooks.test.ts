/**
 * The simulator sends webhooks as Meta does: signed with the app secret, status webhooks after each
 * accepted send in Meta's shape, failed with errors[] for an undeliverable recipient, inbound
 * messages on request, retried when the receiver errs, and never a crash when it is down. A real
 * receiver on loopback; every wait is on received bodies or on the sender going idle.
 */
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { DEV_APP_SECRET, INBOUND_PATH, startSimulator, UNDELIVERABLE_RECIPIENT, type RunningSimulator, type SimulatorOptions } from '../../src/simulator/server.ts'
import { INBOUND_TYPES, type WebhookDeliveryEvent } from '../../src/simulator/webhooks.ts'
import { metaStatusProblems, postJson, sendText, startReceiver, statusOf, type Receiver } from './webhooks-receiver.ts'

const SECRET = 'test-app-secret-0123456789abcdef'
// Meta's shapes as one SDK captured them (pywa tests, MIT; see the file's _source).
const pywa = JSON.parse(readFileSync('suites/simulator/fixtures/pywa-webhooks.json', 'utf8'))
const fixtures = pywa.statuses
const inboundFixtures = pywa.inbound

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close()
})

async function receiver(answer?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(answer)
  open.push(r)
  return r
}

async function simulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const sim = await startSimulator(options)
  open.push(sim)
  return sim
}

function hmac(raw: Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`
}

/** Every key path in a JSON value, arrays as `[]`: the shape, without the values. */
function paths(v: unknown, prefix = '$'): string[] {
  if (Array.isArray(v)) return v.flatMap((x) => paths(x, `${prefix}[]`))
  if (v !== null && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [`${prefix}.${k}`, ...paths(x, `${prefix}.${k}`)])
  return []
}

describe('status webhooks after a send', () => {
  it('signs each body with the app secret and sends sent, delivered, read in that order, timestamps increasing', async () => {
    const r = await receiver()
    const sim = await simulator({ webhooks: { url: r.url, appSecret: SECRET } })
    const send = await sendText(sim, sim.credentials.testRecipient)
    expect(send.status).toBe(200)
    const got = await r.waitFor(3)
    for (const g of got) {
      expect(g.headers['x-hub-signature-256']).toBe(hmac(g.raw, SECRET))
      expect(g.headers['x-hub-signature-256']).not.toBe(hmac(g.raw, DEV_APP_SECRET))
      expect(g.headers['content-type']).toBe('application/json')
      expect(Number(g.headers['content-length'])).toBe(g.raw.length)
    }
    const statuses = got.map((g) => statusOf(g.json))
    expect(statuses.map((s) => s.status)).toEqual(['sent', 'delivered', 'read'])
    const times = statuses.map((s) => Number(s.timestamp))
    expect(times[0]).toBeLessThan(times[1]!)
    expect(times[1]).toBeLessThan(times[2]!)
    for (const s of statuses) {
      expect(s.id).toBe(send.id)
      expect(s.recipient_id).toBe(sim.credentials.testRecipient)
      expect(s.timestamp).toMatch(/^\d{10}$/)
    }
    expect(sim.webhooks!.appSecretSource).toBe('option')
  })

  it('shapes bodies like Meta: envelope, WABA id, metadata, no contacts, pricing on sent and delivered only', async () => {
    const r = await receiver()
    const sim = await simulator({ webhooks: { url: r.url, appSecret: SECRET } })
    await sendText(sim, sim.credentials.testRecipient, 'template')
    const got = await r.waitFor(3)
    for (const g of got) {
      expect(metaStatusProblems(g.json)).toEqual([])
      expect(g.json.entry[0].id).toBe(sim.credentials.wabaId)
      const value = g.json.entry[0].changes[0].value
      expect(Object.keys(value)).toEqual(['messaging_product', 'metadata', 'statuses'])
      expect(value.metadata.phone_number_id).toBe(sim.credentials.phoneNumberId)
      expect(value.metadata.display_phone_number).toMatch(/^\d+$/)
    }
    // Every field path the simulator sends is one Meta's captured status webhooks have; PMP's `pricing.type` is the one addition.
    const meta = new Set(['sent', 'delivered', 'read'].flatMap((k) => paths(fixtures[k])))
    const ours = new Set(got.flatMap((g) => paths(g.json)))
    expect([...ours].filter((p) => !meta.has(p))).toEqual(['$.entry[].changes[].value.statuses[].pricing.type'])
    const [sent, delivered, read] = got.map((g) => statusOf(g.json))
    expect(sent.pricing).toEqual({ billable: true, pricing_model: 'PMP', category: 'utility', type: 'regular' })
    expect(sent.conversation.expiration_timestamp).toMatch(/^\d+$/)
    expect(delivered.conversation.id).toBe(sent.conversation.id)
    expect(delivered.conversation.expiration_timestamp).toBeUndefined()
    expect(read.pricing).toBeUndefined()
    expect(read.conversation).toBeUndefined()
  })

  it('sends failed with errors[] (131026 Message undeliverable) for an undeliverable recipient, and nothing else', async () => {
    const r = await receiver()
    const sim = await simulator({ webhooks: { url: r.url, appSecret: SECRET } })
    const send = await sendText(sim, UNDELIVERABLE_RECIPIENT)
    expect(send.status).toBe(200)
    await sim.webhooks!.idle()
    expect(r.received).toHaveLength(1)
    const s = statusOf(r.received[0]!.json)
    expect(s).toMatchObject({ id: send.id, status: 'failed', recipient_id: UNDELIVERABLE_RECIPIENT })
    expect(s.errors).toEqual([{ code: 131026, title: 'Message undeliverable', message: 'Message undeliverable', error_data: { details: 'Message Undeliverable.' }, href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/' }])
    // The same keys as Meta's failed example, error object included.
    const metaFailed = statusOf(fixtures.failed)
    expect(Object.keys(s).sort()).toEqual(Object.keys(metaFailed).sort())
    expect(Object.keys(s.errors[0]).sort()).toEqual(Object.keys(metaFailed.errors[0]).sort())
    expect(metaStatusProblems(r.received[0]!.json)).toEqual([])
  })

  it('sends nothing for a rejected send or a read receipt', async () => {
    const r = await receiver()
    const sim = await simulator({ webhooks: { url: r.url, appSecret: SECRET } })
    expect((await sendText(sim, 'not-a-number')).status).toBe(400)
    const read = await postJson(`${sim.url}/v23.0/${sim.credentials.phoneNumberId}/messages`, { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.HBgLxyz' }, sim.credentials.token)
    expect(read.json).toEqual({ success: true })
    // Then a real send: its three webhooks are the only ones.
    const send = await sendText(sim, sim.credentials.testRecipient)
    await sim.webhooks!.idle()
    expect(r.received.map((g) => statusOf(g.json).id)).toEqual([send.id, send.id, send.id])
  })

  it('signs with the public dev secret when none is given, and says so', async () => {
    const r = await receiver()
    const sim = await simulator({ webhooks: { url: r.url } })
    await sendText(sim, sim.credentials.testRecipient)
    const [first] = await r.waitFor(1)
    expect(first!.headers['x-hub-signature-256']).toBe(hmac(first!.raw, DEV_APP_SECRET))
    expect(sim.webhooks!.appSecretSource).toBe('dev-default')
  })

  it('sends nothing without a callback URL', async () => {
    const r = await receiver()
    const sim = await startSimulator({})
    expect((await sendText(sim, sim.credentials.testRecipient)).status).toBe(200)
    expect(() => sim.sendInbound({ type: 'text' })).toThrow(/no webhook callback URL/)
    const control = await postJson(`${sim.url}${INBOUND_PATH}`, { type: 'text' })
    expect(control.status).toBe(409)
    expect(sim.webhooks).toBeUndefined()
    await sim.close()
    expect(r.received).toEqual([])
  })
})

describe('delivery failures', () => {
  it('retries a body the receiver answers 500, byte-identical and signed the same, until it takes it', async () => {
    const r = await receiver((_g, i) => (i === 0 ? 500 : 200))
    const events: WebhookDeliveryEvent[] = []
    const sim = await simulator({ webhooks: { url: r.url, appSecret: SECRET, retry: { baseDelayMs: 5 }, onEvent: (e) => events.push(e) } })
    await sendText(sim, sim.credentials.testRecipient)
    await sim.webhooks!.idle()
    // sent twice (500, then 200), then delivered and read once each.
    expect(r.received.map((g) => statusOf(g.json).status)).toEqual(['sent', 'sent', 'delivered', 'read'])
    expect(r.received[1]!.raw.equals(r.received[0]!.raw)).toBe(true)
    expect(r.received[1]!.headers['x-hub-signature-256']).toBe(r.received[0]!.headers['x-hub-signature-256'])
    expect(events.map((e) => `${e.kind} ${e.outcome} ${e.status}`)).toEqual(['status:sent retrying 500', 'status:sent delivered 200', 'status:delivered delivered 200', 'status:read delivered 200'])
    expect(events[0]!.retryInMs).toBe(5)
    expect(sim.webhooks!.stats).toMatchObject({ delivered: 3, attempts: 4, gaveUp: 0, pending: 0 })
  })

  it('backs off exponentially, bounded, then gives up; a receiver that is down never crashes the simulator', async () => {
    const gone = http.createServer()
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve))
    const { port } = gone.address() as AddressInfo
    await new Promise<void>((resolve) => gone.close(() => resolve()))
    const events: WebhookDeliveryEvent[] = []
    const sim = await simulator({ webhooks: { url: `http://127.0.0.1:${port}/hook`, retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 8 }, onEvent: (e) => events.push(e) } })
    await sendText(sim, sim.credentials.testRecipient)
    sim.sendInbound({ type: 'text', text: 'anyone there?' })
    await sim.webhooks!.idle()
    const sent = events.filter((e) => e.kind === 'status:sent')
    expect(sent.map((e) => `${e.outcome} ${e.error} ${e.retryInMs}`)).toEqual(['retrying ECONNREFUSED 5', 'retrying ECONNREFUSED 8', 'gave-up ECONNREFUSED undefined'])
    expect(sim.webhooks!.stats).toMatchObject({ delivered: 0, attempts: 12, gaveUp: 4, pending: 0 })
    // Still serving, still accepting sends.
    expect((await sendText(sim, sim.credentials.testRecipient)).status).toBe(200)
  })

  it('retries a receiver that hangs up without answering, and one that never answers within the timeout', async () => {
    let calls = 0
    const rude = http.createServer((req, res) => {
      calls++
      if (calls === 1) return req.socket.destroy()
      if (calls === 2) return // never answers: the sender's timeout ends it
      res.writeHead(200, { 'Content-Length': '0' }).end()
    })
    await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', resolve))
    open.push({ close: () => new Promise<void>((resolve) => (rude.close(() => resolve()), rude.closeAllConnections())) })
    const events: WebhookDeliveryEvent[] = []
    const sim = await simulator({ webhooks: { url: `http://127.0.0.1:${(rude.address() as AddressInfo).port}/`, timeoutMs: 1_000, retry: { baseDelayMs: 5 }, onEvent: (e) => events.push(e) } })
    sim.sendInbound({ type: 'location' })
    await sim.webhooks!.idle()
    expect(events.map((e) => `${e.outcome} ${e.status ?? e.error}`)).toEqual(['retrying ECONNRESET', 'retrying no answer within 1000 ms', 'delivered 200'])
    expect(calls).toBe(3)
  })

  it('drops pending retries at close instead of holding the process', async () => {
    const r = await receiver(() => 503)
    const events: WebhookDeliveryEvent[] = []
    let waiting!: () => void
    const retrying = new Promise<void>((resolve) => (waiting = resolve))
    const onEvent = (e: WebhookDeliveryEvent) => {
      events.push(e)
      if (e.outcome === 'retrying') waiting()
    }
    const sim = await startSimulator({ webhooks: { url: r.url, retry: { attempts: 5, baseDelayMs: 60_000 }, onEvent } })
    await sendText(sim, sim.credentials.testRecipient)
    await retrying
    await sim.close()
    // sent was waiting a minute for its retry; delivered and read had not started: all three dropped, nothing left behind.
    expect(events.map((e) => `${e.kind} ${e.outcome}`)).toEqual(['status:sent retrying', 'status:sent dropped', 'status:delivered dropped', 'status:read dropped'])
    expect(sim.webhooks!.stats).toMatchObject({ delivered: 0, gaveUp: 0, dropped: 3, pending: 0 })
    expect(r.received).toHaveLength(1)
  })

  it('a listener that throws does not stop deliveries', async () => {
    const r = await receiver()
    const sim = await simulator({
      webhooks: {
        url: r.url,
        onEvent: () => {
          throw new Error('listener bug')
        },
      },
    })
    await sendText(sim, sim.credentials.testRecipient)
    expect(await r.waitFor(3)).toHaveLength(3)
  })

  it('refuses a callback URL that is not http(s)', async () => {
    await expect(startSimulator({ webhooks: { url: 'ftp://127.0.0.1/x' } })).rejects.toMatchObject({ code: 'DW_USAGE' })
    await expect(startSimulator({ webhooks: { url: 'not a url' } })).rejects.toMatchObject({ code: 'DW_USAGE' })
  })
})

describe('inbound messages on request', () => {
  it('sends a text through the control route, signed, shaped like Meta\'s', async () => {
    const r = await receiver()
    const sim = await simulator({ webhooks: { url: r.url, appSecret: SECRET } })
    const res = await postJson(`${sim.url}${INBOUND_PATH}`, { type: 'text', text: 'Where is my order?', name: 'Ana' })
    expect(res.status).toBe(202)
    const [g] = await r.waitFor(1)
    expect(g!.headers['x-hub-signature-256']).toBe(hmac(g!.raw, SECRET))
    const value = g!.json.entry[0].changes[0].value
    expect(value.contacts).toEqual([{ profile: { name: 'Ana' }, wa_id: sim.credentials.testRecipient }])
    expect(value.messages[0]).toMatchObject({ from: sim.credentials.testRecipient, id: res.id, type: 'text', text: { body: 'Where is my order?' } })
    expect(value.messages[0].timestamp).toMatch(/^\d{10}$/)
    expect(Object.keys(value.messages[0]).sort()).toEqual(Object.keys(inboundFixtures.text.entry[0].changes[0].value.messages[0]).sort())
  })

  it('sends every inbound type, each under Meta\'s type name, media ones with media the app can retrieve', async () => {
    const r = await receiver()
    const sim = await simulator({ webhooks: { url: r.url } })
    const ids = INBOUND_TYPES.map((type) => sim.sendInbound({ type }))
    await sim.webhooks!.idle()
    const messages = r.received.map((g) => g.json.entry[0].changes[0].value.messages[0])
    expect(messages.map((m) => m.id).sort()).toEqual([...ids].sort())
    const types = messages.map((m) => m.type).sort()
    expect(types).toEqual(['audio', 'button', 'document', 'image', 'interactive', 'interactive', 'location', 'reaction', 'sticker', 'text', 'unsupported', 'video'])
    for (const m of messages) {
      expect(m.from).toBe(sim.credentials.testRecipient)
      if (m.type === 'unsupported') expect(m.errors).toEqual([expect.objectContaining({ code: 131051 })])
      else expect(m[m.type], m.type).toBeTypeOf('object')
      if (['image', 'video', 'audio', 'document', 'sticker'].includes(m.type)) expect(sim.state.media.get(m[m.type].id)?.mimeType, m.type).toBe(m[m.type].mime_type)
    }
  })

  it('answers 400 for an unknown type or a non-string field, and sends nothing', async () => {
    const r = await receiver()
    const sim = await simulator({ webhooks: { url: r.url } })
    expect((await postJson(`${sim.url}${INBOUND_PATH}`, { type: 'hologram' })).json.error).toMatch(/unknown inbound type "hologram"/)
    expect((await postJson(`${sim.url}${INBOUND_PATH}`, { type: 'text', text: { nested: true } })).status).toBe(400)
    await sim.webhooks!.idle()
    expect(r.received).toEqual([])
  })

  it('sends an image whose media the app can then retrieve, a reaction to the last send, and an interactive button reply', async () => {
    const r = await receiver()
    const sim = await simulator({ webhooks: { url: r.url } })
    const send = await sendText(sim, sim.credentials.testRecipient)
    await r.waitFor(3)
    sim.sendInbound({ type: 'image', text: 'the receipt' })
    sim.sendInbound({ type: 'reaction', emoji: '\u{2764}\u{FE0F}' })
    sim.sendInbound({ type: 'button_reply', replyId: 'confirm', title: 'Confirm' })
    await sim.webhooks!.idle()
    const messages = r.received.slice(3).map((g) => g.json.entry[0].changes[0].value.messages[0])
    const byType = Object.fromEntries(messages.map((m) => [m.type, m]))
    expect(Object.keys(byType).sort()).toEqual(['image', 'interactive', 'reaction'])
    expect(Object.keys(byType.image.image).sort()).toEqual(['caption', 'id', 'mime_type', 'sha256'])
    const media = await new Promise<any>((resolve, reject) => {
      http.get(`${sim.url}/v23.0/${byType.image.image.id}`, { headers: { authorization: `Bearer ${sim.credentials.token}` } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString())))
      }).on('error', reject)
    })
    expect(media).toMatchObject({ id: byType.image.image.id, mime_type: byType.image.image.mime_type })
    expect(Buffer.from(media.sha256, 'hex').toString('base64')).toBe(byType.image.image.sha256)
    expect(byType.reaction.reaction).toEqual({ message_id: send.id, emoji: '\u{2764}\u{FE0F}' })
    expect(Object.keys(byType.reaction).sort()).toEqual(Object.keys(inboundFixtures.reaction.entry[0].changes[0].value.messages[0]).sort())
    expect(byType.interactive).toMatchObject({ context: { id: send.id }, interactive: { type: 'button_reply', button_reply: { id: 'confirm', title: 'Confirm' } } })
    // Inbound ids are their own series, never a business send's.
    expect(new Set(messages.map((m) => m.id)).size).toBe(3)
    expect(messages.map((m) => m.id)).not.toContain(send.id)
  })
})
