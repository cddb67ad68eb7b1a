/**
 * personal-data.ts's text(): the same replacements as trying every value seen, longest first, at a
 * cost that follows the text and not the traffic seen before it (every send adds a wamid).
 */
import { describe, expect, it } from 'vitest'
import type { Observation } from '../../src/model/observation.ts'
import { PersonalDataRedactor } from '../../src/recordings/personal-data.ts'
import { redactPersonal } from '../../src/recordings/store.ts'
import { fuzzCases } from '../fuzz/seed.ts'

const E164_IN_TEXT = /\+\d[\d ()-]{8,18}\d/g

/** The replacement as it was: every value seen, longest first (ties in order first seen), then numbers in free text. */
function everyValue(p: PersonalDataRedactor, s: string): string {
  const values = [...((p as unknown as { replaced: { values: Map<string, { fake: string }> } }).replaced.values)]
  values.sort((a, b) => b[0].length - a[0].length)
  let out = s
  for (const [real, { fake }] of values) if (out.includes(real)) out = out.split(real).join(fake)
  return out.replace(E164_IN_TEXT, (m) => p.phone(m))
}

/** A small deterministic generator, so a failure repeats. */
function random(seed: number): () => number {
  let x = seed
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648
    return x / 2147483648
  }
}

const wamid = (k: number) => `wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0I0Q0Q${k.toString(16).toUpperCase().padStart(12, '0')}`

function body(r: () => number, k: number): unknown {
  const names = ['Ana Souza', 'Ana', 'José Ñúñez', 'A', 'Souza', 'O\'Brien "Bob"', 'Zoë']
  const phone = `1650555${String(Math.floor(r() * 40)).padStart(4, '0')}`
  return {
    contacts: [{ input: r() < 0.5 ? `+${phone}` : `+1 650-555-${phone.slice(-4)}`, wa_id: phone, profile: { name: names[Math.floor(r() * names.length)] } }],
    messages: [{ id: wamid(k) }],
    first_name: names[Math.floor(r() * names.length)],
  }
}

// The reference tries every value seen so far, so the cost grows with the square of the texts: all 2,000 in
// test:e2e, the first 800 in npm test.
const TEXTS = fuzzCases(2000, 800)

describe('personal data in raw text', () => {
  it(`replaces exactly as trying every value seen, longest first, over ${TEXTS.toLocaleString('en-US')} mixed texts`, () => {
    const r = random(7)
    const fast = new PersonalDataRedactor()
    const slow = new PersonalDataRedactor()
    let differing = 0
    let changed = 0
    for (let k = 0; k < TEXTS; k++) {
      const b = body(r, k)
      fast.json(b)
      slow.json(b)
      // A raw body quoting values seen before, escaped spellings, a number in free text and a URL with a wamid in it.
      const old = wamid(Math.floor(r() * (k + 1)))
      const text = `${JSON.stringify(b)} ${JSON.stringify(body(r, k))} Jos\\u00e9 \\u00d1\\u00fa\\u00f1ez /v21.0/${old}?to=+1650555${String(Math.floor(r() * 60)).padStart(4, '0')} AnaAna`
      const got = fast.text(text)
      const want = everyValue(slow, text)
      if (got !== want) differing++
      if (got !== text) changed++
      expect(got).toBe(want)
    }
    expect(differing).toBe(0)
    // The corpus did exercise replacement: every text had values to replace.
    expect(changed).toBe(TEXTS)
  })

  it("costs the same whether 10 or 10,000 wamids were seen before (comparisons, not time)", () => {
    const p = new PersonalDataRedactor()
    for (let k = 0; k < 10; k++) p.json({ messages: [{ id: wamid(k) }], contacts: [{ wa_id: `1650555${String(k).padStart(4, '0')}` }] })
    const text = `{"messages":[{"id":"${wamid(5)}"}],"contacts":[{"wa_id":"16505550005"}]} ${'x'.repeat(2000)}`
    const before = p.comparisons
    const first = p.text(text)
    const few = p.comparisons - before
    for (let k = 10; k < 10000; k++) p.json({ messages: [{ id: wamid(k) }], contacts: [{ wa_id: `1650555${String(k).padStart(4, '0')}` }] })
    const mid = p.comparisons
    expect(p.text(text)).toBe(first)
    const many = p.comparisons - mid
    expect(few).toBeGreaterThan(0)
    expect(many).toBe(few)
    expect(first).toContain('wamid.REDACTED6')
  })

  it('a text starting no value costs no comparison and comes back as it was', () => {
    const p = new PersonalDataRedactor()
    for (let k = 0; k < 1000; k++) p.json({ messages: [{ id: wamid(k) }] })
    const before = p.comparisons
    expect(p.text('{"status":"read","timestamp":"1733500000"}')).toBe('{"status":"read","timestamp":"1733500000"}')
    expect(p.comparisons).toBe(before)
  })

  it('an empty name replaces nothing (it used to put the placeholder between every character)', () => {
    const p = new PersonalDataRedactor()
    p.json({ contacts: [{ profile: { first_name: '', last_name: 'Souza' } }] })
    expect(p.text('{"last_name":"Souza","ok":true}')).toBe('{"last_name":"Person 2","ok":true}')
  })
})

describe('a long-running redactor is bounded', () => {
  it('remembers at most its limit (twice, with escaped spellings), still replaces every new value, and never reuses a placeholder', () => {
    const p = new PersonalDataRedactor(10)
    const fakes = new Set<string>()
    for (let k = 0; k < 200; k++) {
      const out = p.json({ messages: [{ id: wamid(k) }], contacts: [{ wa_id: `1650555${String(1000 + k)}` }] }) as { messages: { id: string }[]; contacts: { wa_id: string }[] }
      // Nothing real gets through, however much was forgotten.
      expect(JSON.stringify(out)).not.toContain(wamid(k))
      expect(JSON.stringify(out)).not.toContain(`1650555${String(1000 + k)}`)
      expect(fakes.has(out.messages[0]!.id)).toBe(false)
      fakes.add(out.messages[0]!.id)
    }
    expect(p.remembered).toBeLessThanOrEqual(20)
    expect(p.count).toBe(400)
    // A value seen again within the limit keeps its placeholder; text replacement uses what is remembered.
    const again = p.json({ messages: [{ id: wamid(199) }] }) as { messages: { id: string }[] }
    expect(again.messages[0]!.id).toBe('wamid.REDACTED200')
    expect(p.text(`status for ${wamid(199)}`)).toBe('status for wamid.REDACTED200')
  })

  it('forgets nothing under its limit: placeholders stay stable across a run', () => {
    const p = new PersonalDataRedactor(1000)
    const first = (p.json({ messages: [{ id: wamid(1) }] }) as { messages: { id: string }[] }).messages[0]!.id
    for (let k = 2; k < 300; k++) p.json({ messages: [{ id: wamid(k) }] })
    expect((p.json({ messages: [{ id: wamid(1) }] }) as { messages: { id: string }[] }).messages[0]!.id).toBe(first)
    expect(p.count).toBe(299)
  })
})

describe('copy on write', () => {
  it('gives back the very value when nothing in it is personal, and a copy (the original untouched) when something is', () => {
    const p = new PersonalDataRedactor()
    const clean = { data: [{ name: 'order_update', status: 'APPROVED', components: [{ type: 'BODY', text: 'Hi' }] }], paging: { cursors: { before: 'x' } } }
    expect(p.json(clean)).toBe(clean)
    const personal = { messaging_product: 'whatsapp', contacts: [{ input: '+16505551234', wa_id: '16505551234' }], messages: [{ id: wamid(7) }], ['__proto__']: { x: 1 } }
    const snapshot = JSON.stringify(personal)
    const out = p.json(personal) as typeof personal
    expect(out).not.toBe(personal)
    expect(JSON.stringify(personal)).toBe(snapshot)
    expect(out.messaging_product).toBe('whatsapp')
    expect(out.contacts[0]!.wa_id).not.toBe('16505551234')
    expect(out.messages[0]!.id).toMatch(/^wamid\.REDACTED\d+$/)
    // A "__proto__" key stays an own key, as JSON.parse made it.
    expect(Object.hasOwn(out, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
  })
})

describe('a body whose text and JSON passes replace different values', () => {
  /** A response observation carrying `text` (and its JSON), as the HAR reader builds one. */
  function withBody(text: string): Observation {
    const size = Buffer.byteLength(text)
    return {
      contract: 'traffic',
      sample: 0,
      startedAt: '2026-02-09T08:00:00.000Z',
      request: { method: 'POST', url: 'https://graph.facebook.com/v21.0/106540352242922/messages', headers: [], bodySize: 0, tokenSent: true },
      response: { status: 200, statusText: 'OK', rawHeaders: [], framing: { kind: 'content-length', declaredLength: size, bytesRead: size }, body: { size, sha256: 'x', text, keptBytes: size, truncated: false, json: JSON.parse(text) } },
      timings: { totalMs: 1 },
    }
  }

  it('replaces a known number quoted where no key marks it as personal, in the text and the JSON both', () => {
    const p = new PersonalDataRedactor()
    const text = JSON.stringify({ contacts: [{ input: '+1 631-555-0142', wa_id: '16315550142' }], messages: [{ id: wamid(1) }], note: 'delivered to 16315550142' })
    const body = redactPersonal(withBody(text), p).response!.body
    expect(body.text).not.toContain('16315550142')
    expect(JSON.stringify(body.json)).not.toContain('16315550142')
    expect(JSON.parse(body.text!)).toEqual(body.json)
    // Each value once, with the placeholders a single pass gives (walking the body again renumbers nothing).
    expect(body.json).toEqual({ contacts: [{ input: '+1 555-000-0001', wa_id: '15550000001' }], messages: [{ id: 'wamid.REDACTED1' }], note: 'delivered to 15550000001' })
    expect(body.sha256).not.toBe('x')
  })

  it('replaces a name an encoder escaped in the text', () => {
    const p = new PersonalDataRedactor()
    // "José" with its é escaped, as some encoders write it: the text pass finds no "José" in the raw text.
    const text = '{"contacts":[{"profile":{"name":"Jos\\u00e9 Ñ"},"wa_id":"16315550142"}]}'
    const body = redactPersonal(withBody(text), p).response!.body
    expect(body.text).not.toMatch(/Jos/)
    expect(body.json).toEqual({ contacts: [{ profile: { name: 'Person 1' }, wa_id: '15550000001' }] })
  })

  it('leaves placeholders as they are when met again (a redacted body read by another pass)', () => {
    const p = new PersonalDataRedactor()
    const once = p.json({ contacts: [{ profile: { name: 'Ana Souza' }, wa_id: '16505551234' }], messages: [{ id: wamid(3) }] })
    expect(p.json(once)).toBe(once)
  })

  it('keeps a compact body whose passes agree as the very object, without parsing it again', () => {
    const p = new PersonalDataRedactor()
    const clean = withBody('{"data":[{"name":"order_update","status":"APPROVED"}]}')
    expect(redactPersonal(clean, p).response!.body).toBe(clean.response!.body)
  })
})
