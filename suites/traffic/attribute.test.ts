/**
 * Attribution, rule by rule, on a small pack written here so each rule is seen alone: the path
 * (version optional), the node of each id (learned from earlier answers, or configured), the
 * method (wrong ones, and Graph's legacy method override), the query (required parameters,
 * `fields=`), the request body, and only then the answer's fit. What stays ambiguous is said so.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadContracts } from '../../src/contracts/load.ts'
import type { Observation } from '../../src/model/observation.ts'
import { attribute, learn, mediaForDownload, trafficState, type TrafficState } from '../../src/traffic/attribute.ts'
import { operationYaml } from '../helpers/operation-yaml.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const { dir } = tempDirs('dw-attr-')

const op = operationYaml

function testPack() {
  const d = dir()
  mkdirSync(join(d, 'operations'))
  mkdirSync(join(d, 'schemas'))
  const schemas: Record<string, object> = {
    'media.json': { type: 'object', required: ['url', 'sha256', 'id'], properties: { url: { type: 'string' }, sha256: { type: 'string' }, file_size: { type: 'integer' }, mime_type: { type: 'string' }, id: { type: 'string' } } },
    'phone.json': { type: 'object', required: ['display_phone_number', 'id'], properties: { display_phone_number: { type: 'string' }, verified_name: { type: 'string' }, id: { type: 'string' } } },
    'waba.json': { type: 'object', required: ['id', 'name'], properties: { id: { type: 'string' }, name: { type: 'string' }, currency: { type: 'string' } } },
    'template.json': { type: 'object', required: ['id', 'name'], properties: { id: { type: 'string' }, name: { type: 'string' }, status: { type: 'string' }, components: { type: 'array' } } },
    'analytics.json': { type: 'object', required: ['analytics'], properties: { analytics: { type: 'object' }, id: { type: 'string' } } },
    'upload.json': { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
    'list.json': { type: 'object', required: ['data'], properties: { data: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, display_phone_number: { type: 'string' } } } } } },
    'success.json': { type: 'object', required: ['success'], properties: { success: { const: true } } },
  }
  for (const [f, s] of Object.entries(schemas)) writeFileSync(join(d, 'schemas', f), JSON.stringify(s))
  const ops: Record<string, string> = {
    'media.get': op('media.get', 'media', 'GET', '/{api_version}/{media_id}', '', 'media.json'),
    'media.delete': op('media.delete', 'media', 'DELETE', '/{api_version}/{media_id}', '', 'success.json'),
    'media.upload': op('media.upload', 'media', 'POST', '/{api_version}/{phone_number_id}/media', '', 'upload.json') + 'yields:\n  /id: media\n',
    'media.download': op('media.download', 'media', 'GET', '/whatsapp_business/attachments/', '  query:\n    mid: { required: true }\n').replace('responses:', 'downloads:\n  query: mid\nresponses:').replace('  error:\n    codes: [100]\n', ''),
    'phone.get': op('phone.get', 'phone_number', 'GET', '/{api_version}/{phone_number_id}', '  query:\n    fields: { required: false }\n', 'phone.json'),
    'phone.list': op('phone.list', 'phone_number', 'GET', '/{api_version}/{waba_id}/phone_numbers', '', 'list.json') + 'yields:\n  /data/*/id: phone_number\n',
    'phone.pin': op('phone.pin', 'phone_number', 'POST', '/{api_version}/{phone_number_id}', '  body:\n    type: json\n    schema: { type: object, required: [pin] }\n', 'success.json'),
    'waba.get': op('waba.get', 'waba', 'GET', '/{api_version}/{waba_id}', '  query:\n    fields: { required: false }\n', 'waba.json'),
    'waba.analytics': op('waba.analytics', 'waba', 'GET', '/{api_version}/{waba_id}', '  query:\n    fields: { required: true, includes: [analytics] }\n', 'analytics.json'),
    'template.get': op('template.get', 'template', 'GET', '/{api_version}/{template_id}', '  query:\n    fields: { required: false }\n', 'template.json'),
    'template.edit': op('template.edit', 'template', 'POST', '/{api_version}/{template_id}', '  body:\n    type: json\n    schema: { type: object, anyOf: [{ required: [components] }, { required: [category] }] }\n', 'success.json'),
    'template.delete-by-name': op('template.delete-by-name', 'template', 'DELETE', '/{api_version}/{waba_id}/message_templates', '  query:\n    name: { required: true }\n', 'success.json'),
    'template.delete-by-id': op('template.delete-by-id', 'template', 'DELETE', '/{api_version}/{waba_id}/message_templates', '  query:\n    name: { required: true }\n    hsm_id: { required: true }\n', 'success.json'),
    'messages.text': op('messages.text', 'message', 'POST', '/{api_version}/{phone_number_id}/messages', '  body:\n    type: json\n    schema: { type: object, required: [type], properties: { type: { const: text } } }\n'),
    'messages.read': op('messages.read', 'message', 'POST', '/{api_version}/{phone_number_id}/messages', '  body:\n    type: json\n    schema: { type: object, required: [status], properties: { status: { const: read } }, not: { required: [typing_indicator] } }\n', 'success.json'),
    'messages.typing': op('messages.typing', 'message', 'POST', '/{api_version}/{phone_number_id}/messages', '  body:\n    type: json\n    schema: { type: object, required: [status, typing_indicator], properties: { status: { const: read } } }\n', 'success.json'),
  }
  for (const [id, text] of Object.entries(ops)) writeFileSync(join(d, 'operations', `${id}.yaml`), text)
  return loadContracts(d)
}

const pack = testPack()
const PHONE = '106540352242922'
const WABA = '102290129340398'

function exchange(method: string, url: string, opts: { body?: unknown; status?: number; answer?: unknown; contentType?: string } = {}): { o: Observation; body?: string } {
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body)
  const text = opts.answer === undefined ? '' : JSON.stringify(opts.answer)
  const o: Observation = {
    contract: '',
    sample: 1,
    startedAt: '2026-11-24T00:00:00.000Z',
    request: { method, url, headers: body !== undefined ? [['Content-Type', opts.contentType ?? (typeof opts.body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json')]] : [], bodySize: body?.length ?? 0, tokenSent: true },
    response: { status: opts.status ?? 200, statusText: '', rawHeaders: [], framing: { kind: 'content-length', bytesRead: text.length }, body: { size: text.length, sha256: '', keptBytes: text.length, truncated: false, text, ...(opts.answer !== undefined ? { json: opts.answer } : {}) } },
    timings: { totalMs: 1 },
  }
  return { o, ...(body !== undefined ? { body } : {}) }
}

const run = (e: { o: Observation; body?: string }, state: TrafficState = trafficState()) => attribute(pack, e.o, e.body, state)
const G = 'https://graph.facebook.com'

describe('attribution', () => {
  it('reads a path with or without the version prefix (Graph serves the app\'s default version)', () => {
    const a = run(exchange('GET', `${G}/v19.0/${WABA}/phone_numbers`, { answer: { data: [] } }))
    expect(a.operation?.id).toBe('phone.list')
    const b = run(exchange('GET', `${G}/${WABA}/phone_numbers`, { answer: { data: [] } }))
    expect(b.operation?.id).toBe('phone.list')
    expect(b.basis).toContain("no version in the path: Graph serves the app's default version")
  })

  it('does not take a word, a file name or a version for an id', () => {
    expect(run(exchange('GET', `${G}/v23.0/me`, { answer: { id: '1' } })).candidates).toEqual([])
    expect(run(exchange('GET', 'https://fonts.example.net/a.woff2')).candidates).toEqual([])
    expect(run(exchange('GET', `${G}/v23.0`)).candidates).toEqual([])
  })

  it('learns ids from earlier answers: an upload names a media id, a list names phone ids', () => {
    const state = trafficState()
    const upload = exchange('POST', `${G}/v23.0/${PHONE}/media`, { body: 'multipart', contentType: 'multipart/form-data; boundary=x', answer: { id: '1390000000004242' } })
    const up = run(upload, state)
    expect(up.operation?.id).toBe('media.upload')
    learn(up.operation!, upload.o, 'entry 1', state)
    // Without an answer (an error) nothing else would settle GET /{id}; the id does.
    const a = run(exchange('GET', `${G}/v23.0/1390000000004242`, { status: 400, answer: { error: { message: 'x', type: 'OAuthException', code: 100 } } }), state)
    expect(a.operation?.id).toBe('media.get')
    expect(a.basis).toContain('id 1390000000004242 is a media item (media.upload returned it (entry 1))')
    const list = exchange('GET', `${G}/v23.0/${WABA}/phone_numbers`, { answer: { data: [{ id: '222000000000001', display_phone_number: '+1 555' }] } })
    learn(run(list, state).operation!, list.o, 'entry 2', state)
    expect(run(exchange('GET', `${G}/v23.0/222000000000001`, { status: 400 }), state).operation?.id).toBe('phone.get')
  })

  it('learned ids are bounded: past the limit the least recently used are forgotten (counted), configured and recent ones kept', () => {
    const state = trafficState({ phoneNumberId: PHONE, wabaId: WABA }, { ids: 5, media: 5 })
    const ids = Array.from({ length: 12 }, (_, i) => `13900000000${String(i).padStart(5, '0')}`)
    for (const [i, id] of ids.entries()) {
      const upload = exchange('POST', `${G}/v23.0/${PHONE}/media`, { body: 'multipart', contentType: 'multipart/form-data; boundary=x', answer: { id } })
      learn(run(upload, state).operation!, upload.o, `entry ${i + 1}`, state)
    }
    // Two pinned (configured) and five learned: seven ids, however many the traffic named.
    expect(state.ids.size).toBe(7)
    expect(state.ids.forgotten).toBe(7)
    const errorOn = (id: string) => run(exchange('GET', `${G}/v23.0/${id}`, { status: 400, answer: { error: { message: 'x', type: 'OAuthException', code: 100 } } }), state)
    // The most recent id still settles GET /{id}; a forgotten one is said to be ambiguous, never guessed.
    expect(errorOn(ids[11]!).operation?.id).toBe('media.get')
    const forgotten = errorOn(ids[0]!)
    expect(forgotten.operation).toBeUndefined()
    expect(forgotten.candidates.length).toBeGreaterThan(1)
    // The configured WABA was never used by this traffic, and is still known.
    expect(errorOn(WABA).operation?.id).toBe('waba.get')
  })

  it('under the limit nothing is forgotten', () => {
    const state = trafficState({ phoneNumberId: PHONE }, { ids: 50, media: 50 })
    for (let i = 0; i < 12; i++) {
      const upload = exchange('POST', `${G}/v23.0/${PHONE}/media`, { body: 'multipart', contentType: 'multipart/form-data; boundary=x', answer: { id: `1390000000${i}` } })
      learn(run(upload, state).operation!, upload.o, `entry ${i + 1}`, state)
    }
    expect(state.ids.forgotten).toBe(0)
    expect(run(exchange('GET', `${G}/v23.0/13900000000`, { status: 400 }), state).operation?.id).toBe('media.get')
  })

  it('uses configured ids: WHATSAPP_WABA_ID makes GET /{id} a WABA read', () => {
    const state = trafficState({ phoneNumberId: PHONE, wabaId: WABA })
    const a = run(exchange('GET', `${G}/v23.0/${WABA}`, { status: 400 }), state)
    expect(a.operation?.id).toBe('waba.get')
    expect(a.basis[0]).toBe(`id ${WABA} is a WABA (WHATSAPP_WABA_ID)`)
  })

  it('fields= names decide: analytics is the WABA analytics operation, a phone number field is not', () => {
    const a = run(exchange('GET', `${G}/v19.0/${WABA}?fields=analytics.start(1770606000).end(1770692400).granularity(HALF_HOUR)`, { answer: { analytics: { granularity: 'HALF_HOUR' }, id: WABA } }))
    expect(a.operation?.id).toBe('waba.analytics')
    const b = run(exchange('GET', `${G}/v23.0/${PHONE}?fields=display_phone_number,verified_name`, { status: 500 }))
    expect(b.operation?.id).toBe('phone.get')
    expect(b.basis).toContain('fields=display_phone_number,verified_name are fields of phone.get')
  })

  it('a fields= subset fits the projected schema: what was not asked is not missing', () => {
    const a = run(exchange('GET', `${G}/v23.0/${PHONE}?fields=id,verified_name`, { answer: { id: PHONE, verified_name: 'Shop' } }))
    // id and verified_name are fields of both phone.get (projected) and... only phone.get knows verified_name.
    expect(a.operation?.id).toBe('phone.get')
  })

  it('the body decides among the sends: text, mark-as-read, typing indicator', () => {
    const url = `${G}/v23.0/${PHONE}/messages`
    expect(run(exchange('POST', url, { body: { messaging_product: 'whatsapp', to: '1', type: 'text', text: { body: 'hi' } } })).operation?.id).toBe('messages.text')
    expect(run(exchange('POST', url, { body: { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.X' }, answer: { success: true } })).operation?.id).toBe('messages.read')
    expect(run(exchange('POST', url, { body: { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.X', typing_indicator: { type: 'text' } }, answer: { success: true } })).operation?.id).toBe('messages.typing')
  })

  it('the body decides by what tells the sends apart, not by everything its schema says', () => {
    const url = `${G}/v23.0/${PHONE}/messages`
    // A typing indicator whose status is not the pinned "read": no schema fits, the one key only it takes decides.
    const a = run(exchange('POST', url, { body: { status: 'READ', typing_indicator: { type: 'text' } }, answer: { success: true } }))
    expect(a.operation?.id).toBe('messages.typing')
    expect(a.basis.at(-1)).toBe("no operation's deciding fields all hold; the body is closest to what messages.typing sends ($.typing_indicator)")
    expect(a.offSchema?.map((v) => [v.path, v.keyword])).toEqual([['$.status', 'const']])
    // A body with nothing that tells them apart stays open.
    expect(run(exchange('POST', url, { body: { hello: 'world' }, status: 400 })).candidates.map((c) => c.id).sort()).toEqual(['messages.read', 'messages.text', 'messages.typing'])
  })

  it("the gate's closestBody still narrows where nothing decides: the operations whose schema the body breaks least", () => {
    const e = exchange('POST', `${G}/v23.0/${PHONE}/messages`, { body: {}, status: 400 })
    expect(run(e).candidates).toHaveLength(3)
    const a = attribute(pack, e.o, e.body, trafficState(), { closestBody: true })
    expect(a.candidates.map((c) => c.id).sort()).toEqual(['messages.read', 'messages.text'])
    expect(a.basis.at(-1)).toBe('the request body is closest to what messages.read, messages.text sends')
  })

  it('says no departure for a body it cannot read, or an operation without a body schema', () => {
    const garbled = run(exchange('POST', `${G}/v23.0/${PHONE}`, { body: '{"pin": ', contentType: 'application/json', answer: { success: true } }), trafficState({ phoneNumberId: PHONE }))
    expect(garbled.operation?.id).toBe('phone.pin')
    expect(garbled.offSchema).toBeUndefined()
    const state = trafficState({ wabaId: WABA })
    expect(run(exchange('DELETE', `${G}/v23.0/${WABA}/message_templates?name=x`, { body: { anything: 1 }, answer: { success: true } }), state).offSchema).toBeUndefined()
    // Read, the same body says where it departs.
    expect(run(exchange('POST', `${G}/v23.0/${PHONE}`, { body: { pin: 123456 }, answer: { success: true } }), trafficState({ phoneNumberId: PHONE })).offSchema).toBeUndefined()
    expect(run(exchange('POST', `${G}/v23.0/${PHONE}`, { body: { code: '1' }, answer: { success: true } }), trafficState({ phoneNumberId: PHONE })).offSchema?.map((v) => v.path)).toEqual(['$.pin'])
  })

  it('says departures from the body as sent, whole: not from an excerpt cut short', () => {
    const state = () => trafficState({ phoneNumberId: PHONE })
    const e = exchange('POST', `${G}/v23.0/${PHONE}`, { body: 'code=1&pin=123456', answer: { success: true } })
    // The excerpt alone, cut before the pin: the operation is still told, but nothing is said of a pin it only lost.
    e.o.request.bodyExcerpt = 'code=1'
    expect(attribute(pack, e.o, undefined, state())).toMatchObject({ operation: { id: 'phone.pin' } })
    expect(attribute(pack, e.o, undefined, state()).offSchema).toBeUndefined()
    // An excerpt as long as the body is the body.
    e.o.request.bodySize = 'code=1'.length
    expect(attribute(pack, e.o, undefined, state()).offSchema?.map((v) => v.path)).toEqual(['$.pin'])
  })

  it('required query parameters decide, the most specific wins: hsm_id is a delete by id', () => {
    const url = `${G}/v23.0/${WABA}/message_templates`
    expect(run(exchange('DELETE', `${url}?name=order_update`, { answer: { success: true } })).operation?.id).toBe('template.delete-by-name')
    expect(run(exchange('DELETE', `${url}?name=order_update&hsm_id=1234567890`, { answer: { success: true } })).operation?.id).toBe('template.delete-by-id')
  })

  it('only then the answer: a success that fits exactly one operation\'s schema settles GET /{id}', () => {
    const a = run(exchange('GET', `${G}/v23.0/1390000000004242`, { answer: { url: 'https://x', sha256: 'a', id: '1390000000004242' } }))
    expect(a.operation?.id).toBe('media.get')
    expect(a.basis.at(-1)).toBe('the response fits media.get')
  })

  it('stays unattributed when nothing settles it, naming the candidates and why', () => {
    // {id, name} fits a WABA and a template alike; an error fits nothing.
    const a = run(exchange('GET', `${G}/v21.0/5550000000001?fields=id,name`, { answer: { id: '5550000000001', name: 'x' } }))
    expect(a.operation).toBeUndefined()
    expect(a.candidates.map((c) => c.id).sort()).toEqual(['template.get', 'waba.get'])
    expect(a.reason).toBe('the request alone does not tell template.get, waba.get apart, and the answer fits every one of them')
    const b = run(exchange('GET', `${G}/v19.0/123123`, { status: 400, answer: { error: { message: "Unsupported get request. Object with ID '123123' does not exist", type: 'GraphMethodException', code: 100, error_subcode: 33 } } }))
    expect(b.operation).toBeUndefined()
    expect(b.candidates.map((c) => c.id).sort()).toEqual(['media.get', 'phone.get', 'template.get', 'waba.get'])
  })

  it('a method no operation on the node takes is the consumer\'s mistake', () => {
    const state = trafficState()
    state.ids.set('1390000000004242', { node: 'media', from: 'an upload' })
    const a = run(exchange('POST', `${G}/v23.0/1390000000004242`, { body: { anything: 1 }, status: 405 }), state)
    expect(a.wrongMethod).toMatchObject({ accepts: ['GET', 'DELETE'], certain: true })
    expect(a.wrongMethod!.operations.map((o) => o.id).sort()).toEqual(['media.delete', 'media.get'])
  })

  it('Graph\'s legacy method override (POST with method=get) is read as the GET it asks for (Feb 6 2026)', () => {
    const url = `${G}/v23.0/1390000000004242`
    // Meta honoured it and answered with the media's metadata: the answer settles the node.
    const honoured = run(exchange('POST', url, { body: 'method=get', answer: { url: 'https://x', sha256: 'a', id: '1390000000004242' } }))
    expect(honoured.wrongMethod).toMatchObject({ accepts: ['GET', 'DELETE'], certain: true })
    expect(honoured.basis[0]).toBe("the body asks for GET (method=get, Graph's legacy method override)")
    // Meta refused it (405): the method is wrong whichever operation it was after.
    const refused = run(exchange('POST', url, { body: 'method=get', status: 405 }))
    expect(refused.wrongMethod).toMatchObject({ accepts: ['GET'], certain: false })
    // Not an override: a template edit's body.
    expect(run(exchange('POST', url, { body: { components: [] }, answer: { success: true } })).operation?.id).toBe('template.edit')
  })

  it('an answer that only another method\'s operation gives reveals the node, and the wrong method', () => {
    // A POST with no body the client meant as a read: only GET /{media_id} answers like this.
    const a = run(exchange('POST', `${G}/v23.0/1390000000004242`, { answer: { url: 'https://x', sha256: 'a', id: '1390000000004242' } }))
    expect(a.wrongMethod).toMatchObject({ accepts: ['GET', 'DELETE'], certain: true })
    expect(a.basis.at(-1)).toBe('the answer is what media.get (GET) returns: the id is a media item')
  })

  it('a lone operation for the method is not settled on a path of several nodes: the answer is consulted', () => {
    // DELETE /{id} is only media.delete here, but the id could be anything: a success that fits settles it...
    const a = run(exchange('DELETE', `${G}/v23.0/5550000000002`, { answer: { success: true } }))
    expect(a.operation?.id).toBe('media.delete')
    expect(a.basis.at(-1)).toBe('the response fits media.delete')
    // ...an answer only another method gives says the node: a media item, which DELETE is an operation of (its answer drifted).
    const b = run(exchange('DELETE', `${G}/v23.0/5550000000002`, { answer: { url: 'https://x', sha256: 'a', id: '5550000000002' } }))
    expect(b.operation?.id).toBe('media.delete')
    expect(b.basis.at(-1)).toBe('the answer is what media.get (GET) returns: the id is a media item')
    // An error says nothing either way: the lone candidate stays.
    expect(run(exchange('DELETE', `${G}/v23.0/5550000000002`, { status: 400, answer: { error: { message: 'x', type: 'GraphMethodException', code: 100 } } })).operation?.id).toBe('media.delete')
  })

  it('a URL that does not parse is said, not thrown', () => {
    const e = exchange('GET', 'https://graph.facebook.com/v23.0/%E0%A4%A')
    expect(run(e).candidates).toEqual([])
    e.o.request.url = 'not a url'
    expect(run(e).reason).toBe('the URL not a url does not parse')
  })

  it('a download is checked against the retrieve that handed out its URL, else the one of its media id', () => {
    const state = trafficState()
    const retrieve = exchange('GET', `${G}/v23.0/1390000000004242`, { answer: { url: 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1390000000004242&ext=1&hash=h', sha256: 'b'.repeat(64), file_size: 68, mime_type: 'image/png', id: '1390000000004242' } })
    learn(run(retrieve, state).operation!, retrieve.o, 'entry 1', state)
    const download = exchange('GET', 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1390000000004242&ext=1&hash=h')
    const a = run(download, state)
    expect(a.operation?.id).toBe('media.download')
    expect(mediaForDownload(a.operation!, download.o, state)).toEqual({ sha256: 'b'.repeat(64), size: '68', mimeType: 'image/png' })
    download.o.request.url = 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1390000000004242&ext=2&hash=other'
    expect(mediaForDownload(a.operation!, download.o, state)).toEqual({ sha256: 'b'.repeat(64), size: '68', mimeType: 'image/png' })
  })
})
