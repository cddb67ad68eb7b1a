/**
 * Attribution against the Meta pack of every send Meta accepts, as the docs write it and as apps
 * really send it: another JSON type than the docs say, optional fields left out, fields the docs do
 * not list, keys in another order. Each is the operation a person would say; only a type the docs
 * do not allow is a departure, named by its path; a body the docs describe has none.
 */
import { describe, expect, it } from 'vitest'
import { loadContracts } from '../../src/contracts/load.ts'
import type { Observation } from '../../src/model/observation.ts'
import { attribute, trafficState } from '../../src/traffic/attribute.ts'

const pack = loadContracts('contracts/meta')
const PHONE = '109000000000888'
const URL = `https://graph.facebook.com/v21.0/${PHONE}/messages`
const WAMID = 'wamid.HBgLMTYzMTU1NTAxOTkVAgASGBQzRUIwRklYVFVSRUlOQk9VTkQwMQA='
const SENT = { messaging_product: 'whatsapp', contacts: [{ input: '16315550199', wa_id: '16315550199' }], messages: [{ id: 'wamid.X' }] }

function send(body: unknown, opts: { status?: number; answer?: unknown; contentType?: string } = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  const answer = opts.answer ?? SENT
  const o: Observation = {
    contract: '',
    sample: 1,
    startedAt: '2026-03-02T09:00:00.000Z',
    request: { method: 'POST', url: URL, headers: [['Content-Type', opts.contentType ?? 'application/json']], bodySize: text.length, tokenSent: true },
    response: { status: opts.status ?? 200, statusText: '', rawHeaders: [], framing: { kind: 'content-length', bytesRead: 1 }, body: { size: 1, sha256: '', keptBytes: 1, truncated: false, text: JSON.stringify(answer), json: answer } },
    timings: { totalMs: 1 },
  }
  return attribute(pack, o, text, trafficState({ phoneNumberId: PHONE }))
}

/** Every send the pack documents, each as the docs (and Meta's examples) write it. */
const DOCUMENTED: [string, Record<string, unknown>, unknown?][] = [
  ['messages.send-text', { messaging_product: 'whatsapp', recipient_type: 'individual', to: '16315550199', type: 'text', text: { preview_url: false, body: 'hi' } }],
  ...(['image', 'audio', 'video', 'document', 'sticker'] as const).flatMap((m): [string, Record<string, unknown>][] => [
    ['messages.send-media-by-id', { messaging_product: 'whatsapp', recipient_type: 'individual', to: '16315550199', type: m, [m]: { id: '1761991787669262' } }],
    ['messages.send-media-by-link', { messaging_product: 'whatsapp', recipient_type: 'individual', to: '16315550199', type: m, [m]: { link: `https://cdn.example.com/x.${m}` } }],
  ]),
  ['messages.send-location', { messaging_product: 'whatsapp', to: '16315550199', type: 'location', location: { latitude: '37.4847', longitude: '-122.1477', name: 'Pickup', address: '1 Hacker Way' } }],
  ['messages.send-contacts', { messaging_product: 'whatsapp', to: '16315550199', type: 'contacts', contacts: [{ name: { formatted_name: 'Front desk' }, phones: [{ phone: '+1 631 555 0100' }] }] }],
  ['messages.send-interactive', { messaging_product: 'whatsapp', to: '16315550199', type: 'interactive', interactive: { type: 'button', body: { text: 'Confirm?' }, action: { buttons: [{ type: 'reply', reply: { id: 'y', title: 'Yes' } }] } } }],
  ['messages.send-interactive', { messaging_product: 'whatsapp', to: '16315550199', type: 'interactive', interactive: { type: 'list', body: { text: 'Pick' }, action: { button: 'Times', sections: [{ title: 'Tonight', rows: [{ id: '19', title: '7pm' }] }] } } }],
  ['messages.send-interactive', { messaging_product: 'whatsapp', to: '16315550199', type: 'interactive', interactive: { type: 'cta_url', body: { text: 'Book' }, action: { name: 'cta_url', parameters: { display_text: 'Book', url: 'https://example.com' } } } }],
  ['messages.send-interactive', { messaging_product: 'whatsapp', to: '16315550199', type: 'interactive', interactive: { type: 'flow', body: { text: 'Rate us' }, action: { name: 'flow', parameters: { flow_message_version: '3', flow_id: '1189028149420551', flow_cta: 'Start' } } } }],
  ['messages.send-interactive', { messaging_product: 'whatsapp', to: '16315550199', type: 'interactive', interactive: { type: 'product', body: { text: 'This one' }, action: { catalog_id: '1', product_retailer_id: 'sku-1' } } }],
  ['messages.send-template', { messaging_product: 'whatsapp', to: '16315550199', type: 'template', template: { name: 'hello_world', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: '7pm' }] }] } }],
  ['messages.send-reaction', { messaging_product: 'whatsapp', to: '16315550199', type: 'reaction', reaction: { message_id: WAMID, emoji: '\u{1F44D}' } }],
  ['messages.mark-as-read', { messaging_product: 'whatsapp', status: 'read', message_id: WAMID }, { success: true }],
  ['messages.typing-indicator', { messaging_product: 'whatsapp', status: 'read', message_id: WAMID, typing_indicator: { type: 'text' } }, { success: true }],
]

const reversed = (b: Record<string, unknown>) => Object.fromEntries(Object.entries(b).reverse())
/** What the docs leave optional, left out: recipient_type, captions, a template's components, a location's name and address, preview_url. */
function withoutOptional(b: Record<string, unknown>): Record<string, unknown> {
  const { recipient_type: _r, ...rest } = b
  const optional: Record<string, string[]> = { text: ['preview_url'], location: ['name', 'address'], template: ['components'], image: ['caption'], video: ['caption'], document: ['caption', 'filename'] }
  const inner = rest[rest.type as string]
  if (inner && typeof inner === 'object' && !Array.isArray(inner)) rest[rest.type as string] = Object.fromEntries(Object.entries(inner).filter(([k]) => !optional[rest.type as string]?.includes(k)))
  return rest
}
const withExtras = (b: Record<string, unknown>) => ({ ...b, recipient_type: 'individual', biz_opaque_callback_data: 'order-4411', context: { message_id: WAMID } })

describe('sends Meta accepts, attributed against the Meta pack', () => {
  it.each(DOCUMENTED.map(([op, body, answer]) => [op, `${String(body.type ?? body.status)}${body.type && typeof body[body.type as string] === 'object' ? ` ${Object.keys(body[body.type as string] as object)[0]}` : ''}`, body, answer] as const))('%s (%s): as documented, reordered, without optional fields, with extra fields: the operation, no departure', (op, _what, body, answer) => {
    for (const variant of [body, reversed(body), withoutOptional(body), withExtras(body), reversed(withExtras(withoutOptional(body)))]) {
      const a = send(variant, answer === undefined ? {} : { answer })
      expect(a.operation?.id, JSON.stringify(variant)).toBe(op)
      expect(a.offSchema, JSON.stringify(variant)).toBeUndefined()
    }
  })

  it.each(DOCUMENTED.filter(([, body]) => 'to' in body).map(([op, body]) => [op, String(body.type), body] as const))('%s (%s) with "to" as a number, as ruby_whatsapp_sdk sends it: the operation, and the departure at $.to', (op, _type, body) => {
    const a = send(reversed({ ...body, to: 16315550199 }))
    expect(a.operation?.id).toBe(op)
    expect(a.offSchema?.map((v) => [v.path, v.actual, v.allowed])).toEqual([['$.to', 'integer', 'string']])
  })

  it('preview_url as a string or a number is a text send, with its departure; as a boolean, none', () => {
    for (const [value, actual] of [['true', 'string'], [1, 'integer']] as const) {
      const a = send({ messaging_product: 'whatsapp', to: '16315550199', type: 'text', text: { preview_url: value, body: 'https://example.com' } })
      expect(a.operation?.id).toBe('messages.send-text')
      expect(a.offSchema?.map((v) => [v.path, v.actual, v.allowed])).toEqual([['$.text.preview_url', actual, 'boolean']])
    }
    expect(send({ messaging_product: 'whatsapp', to: '16315550199', text: { preview_url: true, body: 'https://example.com' } }).offSchema).toBeUndefined()
  })

  it('a media id as a number is named where it is, not as a failure of the four other media kinds', () => {
    const a = send({ messaging_product: 'whatsapp', to: '16315550199', type: 'video', video: { id: 1022910432280233 } })
    expect(a.operation?.id).toBe('messages.send-media-by-id')
    expect(a.offSchema?.map((v) => [v.path, v.keyword])).toEqual([['$.video.id', 'type']])
  })

  it('a mark-as-read with typing_indicator added is the typing indicator; with to and recipient_type added, still a mark-as-read', () => {
    expect(send({ messaging_product: 'whatsapp', status: 'read', message_id: WAMID, to: '16315550199', recipient_type: 'individual' }, { answer: { success: true } }).operation?.id).toBe('messages.mark-as-read')
    expect(send({ recipient_type: 'individual', status: 'read', message_id: WAMID, messaging_product: 'whatsapp', typing_indicator: { type: 'text' } }, { answer: { success: true } }).operation?.id).toBe('messages.typing-indicator')
  })

  it('a form-encoded send is read as Graph reads it: parameters, objects as JSON', () => {
    const form = new URLSearchParams({ messaging_product: 'whatsapp', to: '16315550199', type: 'text', text: JSON.stringify({ body: 'hi', preview_url: 'false' }) }).toString()
    const a = send(form, { contentType: 'application/x-www-form-urlencoded' })
    expect(a.operation?.id).toBe('messages.send-text')
    expect(a.offSchema?.map((v) => v.path)).toEqual(['$.text.preview_url'])
    // A parameter that is not JSON stays the string it is.
    expect(send('messaging_product=whatsapp&to=16315550199&type=text&text=%7Bbroken', { contentType: 'application/x-www-form-urlencoded' }).operation?.id).toBe('messages.send-text')
  })

  it('what Meta refused is attributed all the same, with the departure: a send without to, a template without messaging_product', () => {
    const refused = { status: 400, answer: { error: { message: '(#100) The parameter to is required.', type: 'OAuthException', code: 100 } } }
    const noTo = send({ messaging_product: 'whatsapp', type: 'text', text: { body: 'hi' } }, refused)
    expect(noTo.operation?.id).toBe('messages.send-text')
    expect(noTo.offSchema?.map((v) => [v.path, v.keyword])).toEqual([['$.to', 'required']])
    const noProduct = send({ to: '16315550199', type: 'template', template: { name: 'hello_world' } }, refused)
    expect(noProduct.operation?.id).toBe('messages.send-template')
    expect(noProduct.basis.at(-1)).toBe("no operation's deciding fields all hold; the body is closest to what messages.send-template sends ($.type)")
  })

  it('an image without type is the media send its keys say, the missing type its departure', () => {
    const a = send({ messaging_product: 'whatsapp', to: '16315550199', image: { link: 'https://cdn.example.com/menu.png' } })
    expect(a.operation?.id).toBe('messages.send-media-by-link')
    expect(a.offSchema?.map((v) => [v.path, v.keyword])).toEqual([['$.type', 'required']])
  })

  it('stays unattributed where what decides leaves several open: both id and link, a body with nothing that tells', () => {
    const both = send({ messaging_product: 'whatsapp', to: '16315550199', type: 'image', image: { id: '1', link: 'https://cdn.example.com/a.png' } }, { status: 400, answer: { error: { message: 'x', type: 'OAuthException', code: 100 } } })
    expect(both.operation).toBeUndefined()
    expect(both.candidates.map((c) => c.id).sort()).toEqual(['messages.send-media-by-id', 'messages.send-media-by-link'])
    const bare = send({ messaging_product: 'whatsapp', to: '16315550199' }, { status: 400, answer: { error: { message: 'x', type: 'OAuthException', code: 100 } } })
    expect(bare.operation).toBeUndefined()
    expect(bare.candidates).toHaveLength(10)
  })
})
