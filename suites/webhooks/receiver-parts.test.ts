/**
 * The receiver's parts on their own: the signature check (every way a header can be wrong), the
 * sink's bound (a slow judge loses bodies, never the delivery), and the webhook redactor (what a
 * person wrote, shared or is identified by goes; the shape a contract judges stays).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { QueuedSink } from '../../src/webhooks/receiver-sink.ts'
import { signBody, verifySignature } from '../../src/webhooks/receiver-signature.ts'
import { redactWebhookBody, TEXT_PLACEHOLDER } from '../../src/webhooks/redact-personal.ts'
import { metaBodies, PERSONAL, ROOT, SECRET } from './receiver-helpers.ts'

const BODIES = metaBodies()
const TEXT = BODIES.get('message/text')!

describe('verifySignature', () => {
  const good = signBody(TEXT, SECRET)
  it.each([
    ['the signature of these bytes', good, 'ok'],
    ['the same in upper-case hex', `sha256=${good.slice(7).toUpperCase()}`, 'ok'],
    ['no header', undefined, 'missing'],
    ['an empty header', '', 'missing'],
    ['another secret', signBody(TEXT, `${SECRET}x`), 'bad'],
    ['one byte of the body changed', signBody(Buffer.from(TEXT.toString().replace('Body Text', 'Body Test')), SECRET), 'bad'],
    ['the body re-serialised (pretty-printed)', signBody(JSON.stringify(JSON.parse(TEXT.toString()), null, 2), SECRET), 'bad'],
    ['the sha1 scheme', `sha1=${good.slice(7, 47)}`, 'bad'],
    ['hex cut short', good.slice(0, -2), 'bad'],
    ['hex with a bad tail (Buffer.from would drop it)', `${good.slice(0, -1)}z`, 'bad'],
    ['two headers joined', `${good},${good}`, 'bad'],
    ['no scheme', good.slice(7), 'bad'],
  ] as const)('%s: %s', (_what, header, verdict) => {
    expect(verifySignature(TEXT, header, SECRET)).toBe(verdict)
  })
})

describe('QueuedSink', () => {
  it('hands bodies over after offer returns, in order', async () => {
    const got: string[] = []
    const sink = new QueuedSink((b, info) => got.push(`${b.toString()}@${info.receivedAt}`))
    sink.offer(Buffer.from('a'), { receivedAt: 't1' })
    sink.offer(Buffer.from('b'), { receivedAt: 't2' })
    expect(got).toEqual([]) // nothing ran on the offering path
    await sink.idle()
    expect(got).toEqual(['a@t1', 'b@t2'])
    expect(sink.stats).toMatchObject({ offered: 2, consumed: 2, skipped: 0, queued: 0 })
  })

  it('past its capacity skips and counts, and a consumer that throws loses one body, not the sink', async () => {
    const got: string[] = []
    const sink = new QueuedSink(
      (b) => {
        if (b.toString() === 'boom') throw new Error('judge failed')
        got.push(b.toString())
      },
      { capacity: 2 },
    )
    for (const s of ['boom', 'x', 'y', 'z']) sink.offer(Buffer.from(s), { receivedAt: 't' })
    await sink.idle()
    expect(got).toEqual(['x'])
    expect(sink.stats).toMatchObject({ offered: 4, consumed: 1, failed: 1, skipped: 2 })
    await sink.close()
    sink.offer(Buffer.from('late'), { receivedAt: 't' })
    expect(sink.stats.skipped).toBe(3)
  })
})

describe('redactWebhookBody', () => {
  const parse = (name: string) => JSON.parse(BODIES.get(name)!.toString()) as unknown

  it('replaces what a person wrote, shared or is identified by, in every fixture', () => {
    for (const [name, body] of BODIES) {
      const text = JSON.stringify(redactWebhookBody(JSON.parse(body.toString())).value)
      for (const p of PERSONAL) expect(text, `${name}: ${p}`).not.toContain(p)
    }
  })

  it('across the corpus (139 bodies, 8 sources), no value of a personal key survives, as a value or inside a text', () => {
    const dir = join(ROOT, 'suites', 'fixtures', 'webhooks', 'corpus')
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { file: string }[]
    // The test's own list, not the redactor's: where Meta puts a person's number, name, words or place.
    const personal = new Set(['from', 'wa_id', 'recipient_id', 'display_phone_number', 'phone', 'formatted_name', 'first_name', 'last_name', 'username', 'body', 'caption', 'filename', 'email', 'address', 'street', 'city', 'user_id', 'parent_user_id', 'new_wa_id', 'url', 'response_json'])
    const leaks: string[] = []
    for (const { file } of index) {
      const body = JSON.parse(readFileSync(join(dir, file), 'utf8')) as unknown
      const values = new Set<string>()
      // Business object ids are kept on purpose; a sample that reuses one as a number (display_phone_number = phone_number_id) is not a leak.
      const kept = new Set<string>()
      const walk = (v: unknown, key?: string, parent?: string): void => {
        if (Array.isArray(v)) return v.forEach((x) => walk(x, key, parent))
        if (v && typeof v === 'object') return Object.entries(v).forEach(([k, x]) => walk(x, k, key))
        if (typeof v !== 'string' || !key) return
        if (key === 'id' || key === 'phone_number_id') kept.add(v)
        else if (personal.has(key) || (key === 'name' && parent === 'profile')) values.add(v)
      }
      walk(body)
      const out = JSON.stringify(redactWebhookBody(body).value)
      for (const v of values) {
        // Placeholders the samples already carry (<WA_ID>, PHONE_NUMBER, sender_wa_id, Meta's 1555 test numbers) are not a person.
        if (v.length < 4 || kept.has(v) || /^<.*>$|^[A-Z_]+$|^[a-z]+(_[a-z]+)+$|^\+?1 ?555/.test(v)) continue
        const digits = v.replace(/\D/g, '')
        if (out.includes(`:${JSON.stringify(v)}`) || (digits.length >= 7 && !kept.has(digits) && out.replace(/\D/g, ' ').split(' ').includes(digits))) leaks.push(`${file}: ${v}`)
      }
    }
    expect(index.length).toBeGreaterThan(100)
    expect(leaks).toEqual([])
  })

  it('keeps the shape: strings stay strings, numbers numbers, structure and ids of business objects as they were', () => {
    const { value, replaced } = redactWebhookBody(parse('message/chosen_location'))
    const v = value as { entry: { id: string; changes: { field: string; value: { metadata: { phone_number_id: string }; messages: Record<string, unknown>[] } }[] }[] }
    const change = v.entry[0]!.changes[0]!
    expect(change.field).toBe('messages')
    expect(v.entry[0]!.id).toBe('1234567890987654321') // the WABA id is the business's
    expect(change.value.metadata.phone_number_id).toBe('1122334455667')
    expect(change.value.messages[0]!.location).toEqual({ latitude: 0, longitude: 0, name: TEXT_PLACEHOLDER, address: TEXT_PLACEHOLDER, url: TEXT_PLACEHOLDER })
    expect(change.value.messages[0]!.type).toBe('location')
    expect(change.value.messages[0]!.timestamp).toBe('1697044557')
    expect(replaced).toBeGreaterThan(5)
  })

  it('a shared contact card: names, phones and emails go, their types stay', () => {
    const card = { object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: { messages: [{ type: 'contacts', contacts: [{ name: { formatted_name: 'Ana Lima' }, emails: [{ email: 'ana@example.com', type: 'WORK' }], addresses: [{ street: 'Rua X 1', city: 'Porto', type: 'HOME' }], org: { company: 'Acme' }, phones: [{ phone: '+351 912 345 678', type: 'CELL' }] }] }] } }] }] }
    const text = JSON.stringify(redactWebhookBody(card).value)
    for (const p of ['Ana Lima', 'ana@example.com', 'Rua X 1', 'Porto', 'Acme', '912 345 678']) expect(text, p).not.toContain(p)
    for (const kept of ['"type":"WORK"', '"type":"HOME"', '"type":"CELL"']) expect(text).toContain(kept)
  })

  it('the same body redacts to the same bytes (a retry by Meta is recognisable), and nothing links two bodies', () => {
    const a = JSON.stringify(redactWebhookBody(parse('message/text')).value)
    expect(JSON.stringify(redactWebhookBody(parse('message/text')).value)).toBe(a)
    expect(a).toContain('Person 1')
  })

  it('leaves a body with nothing personal as it was', () => {
    const template = { object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'message_template_status_update', value: { event: 'APPROVED', message_template_id: 123, message_template_name: 'order_update', message_template_language: 'en_US', reason: 'NONE' } }] }] }
    expect(redactWebhookBody(template)).toEqual({ value: template, replaced: 0 })
  })
})
