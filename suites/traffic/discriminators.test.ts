/**
 * What decides an operation, rule by rule, on schemas written here so each rule is seen alone: a
 * pinned value, a key an operation rules out, a key another rules out, the key that picks an
 * alternative, and what never decides (types, payload keys). Then the same rules through attribution
 * on a small pack: `$ref`, `allOf`, `oneOf`, a `not` with alternatives, and a departure from a
 * schema read against the alternative the body meant.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compareEvidence, decides, meantViolations, ruledOutPaths, weighBody } from '../../src/contracts/discriminators.ts'
import { loadContracts } from '../../src/contracts/load.ts'
import type { Observation } from '../../src/model/observation.ts'
import { attribute, trafficState } from '../../src/traffic/attribute.ts'
import { operationYaml } from '../helpers/operation-yaml.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const { dir } = tempDirs('dw-decide-')
const none = () => undefined
const weigh = (schema: unknown, body: unknown, ruledOut: string[] = []) => weighBody(schema, body, new Set(ruledOut), none)

describe('what decides, in a schema', () => {
  it('a pinned value decides (const, enum); another value contradicts it', () => {
    const text = { type: 'object', required: ['type'], properties: { type: { const: 'text' } } }
    expect(decides(weigh(text, { type: 'text' }))).toBe(true)
    expect(weigh(text, { type: 'image' })).toMatchObject({ contradicts: 1 })
    const media = { type: 'object', required: ['type'], properties: { type: { enum: ['image', 'video'] } } }
    expect(decides(weigh(media, { type: 'video' }))).toBe(true)
    expect(weigh(media, { type: 'text' })).toMatchObject({ contradicts: 1 })
    // A pinned object is compared as a whole, key for key.
    const pinned = { properties: { flags: { const: { a: 1, b: [true] } } } }
    expect(weigh(pinned, { flags: { b: [true], a: 1 } })).toMatchObject({ contradicts: 0, matches: 1 })
    expect(weigh(pinned, { flags: { a: 1, b: [true], c: 0 } })).toMatchObject({ contradicts: 1 })
  })

  it('a key the schema requires decides only when its value is pinned, another operation rules it out, or it picks an alternative', () => {
    const schema = { type: 'object', required: ['to', 'status', 'typing_indicator'], properties: { to: { type: 'string' }, status: { const: 'read' } } }
    // to carries payload: missing, it lacks nothing that decides.
    expect(weigh(schema, { status: 'read', typing_indicator: {} }, ['$.typing_indicator'])).toMatchObject({ lacks: 0, contradicts: 0 })
    // status is pinned, typing_indicator ruled out elsewhere: missing, they are lacking.
    expect(weigh(schema, { to: '1' }, ['$.typing_indicator'])).toMatchObject({ lacks: 2 })
    // Not ruled out anywhere, typing_indicator would carry payload too.
    expect(weigh(schema, { to: '1' })).toMatchObject({ lacks: 1 })
    // The key that picks an alternative decides (text with no type).
    const alternatives = { anyOf: [{ required: ['type'], properties: { type: { const: 'text' } } }, { required: ['text'], not: { required: ['type'] } }] }
    expect(decides(weigh(alternatives, { text: { body: 'hi' } }))).toBe(true)
    expect(decides(weigh(alternatives, { status: 'read' }))).toBe(false)
  })

  it('a key a schema rules out contradicts it when present, and is named', () => {
    const read = { required: ['status'], properties: { status: { const: 'read' } }, not: { required: ['typing_indicator'] } }
    expect(weigh(read, { status: 'read', typing_indicator: { type: 'text' } })).toMatchObject({ contradicts: 1, ruledOut: ['$.typing_indicator'] })
    expect(weigh(read, { status: 'read' })).toMatchObject({ contradicts: 0, ruledOut: [] })
    // A not with alternatives rules out each of them.
    const pin = { required: ['pin'], not: { anyOf: [{ required: ['components'] }, { required: ['category'] }] } }
    expect(weigh(pin, { pin: '1', category: 'X' })).toMatchObject({ contradicts: 1, ruledOut: ['$.category'] })
    expect(weigh(pin, { pin: '1' })).toMatchObject({ contradicts: 0 })
  })

  it('types, formats, lengths and closed objects never decide', () => {
    const strict = { type: 'object', additionalProperties: false, required: ['kind'], properties: { kind: { const: 'a' }, to: { type: 'string', pattern: '^[0-9]+$' }, items: { type: 'array', minItems: 3 } } }
    expect(decides(weigh(strict, { kind: 'a', to: 16315550199, items: [], extra: true }))).toBe(true)
  })

  it('an alternative is chosen by what the body carries, and its schema path recorded as ajv writes it', () => {
    const byId = { required: ['type'], properties: { type: { enum: ['image', 'video'] } }, anyOf: [{ required: ['image'], properties: { type: { const: 'image' } } }, { required: ['video'], properties: { type: { const: 'video' } } }] }
    expect(weigh(byId, { type: 'video', video: {} }).branches).toEqual(['#/anyOf/1'])
    expect(weigh({ oneOf: [{ required: ['a'] }, { properties: { p: { allOf: [{ anyOf: [{ const: 1 }, { const: 2 }] }] } } }] }, { p: 2 }).branches.sort()).toEqual(['#/oneOf/1', '#/oneOf/1/properties/p/allOf/0/anyOf/1'])
  })

  it('orders evidence: all facts holding first, then the most carried less contradicted or lacking', () => {
    const e = (contradicts: number, lacks: number, matches: number) => ({ contradicts, lacks, matches, decided: [], branches: [], ruledOut: [] })
    expect([e(0, 1, 1), e(1, 0, 4), e(0, 0, 1)].sort(compareEvidence)).toEqual([e(0, 0, 1), e(1, 0, 4), e(0, 1, 1)])
    expect(compareEvidence(e(1, 0, 3), e(0, 0, 2)) > 0).toBe(true)
  })

  it('lists the keys every schema rules out, by JSON path', () => {
    const schema = { properties: { image: { not: { required: ['link'] } } }, not: { required: ['typing_indicator'] }, anyOf: [{ properties: { 'odd key': { not: { required: ['id'] } } } }] }
    expect(ruledOutPaths(schema, none).sort()).toEqual(['$.image.link', '$.typing_indicator', '$["odd key"].id'])
    expect(ruledOutPaths({ properties: { a: { type: 'string' } } }, none)).toEqual([])
  })

  it('a $ref that names no schema decides nothing', () => {
    expect(weighBody({ $ref: 'nowhere.json', required: ['kind'], properties: { kind: { const: 'a' } } }, { kind: 'a' }, new Set(), none)).toMatchObject({ contradicts: 0, matches: 1 })
    expect(ruledOutPaths({ $ref: 'nowhere.json' }, none)).toEqual([])
  })

  it('ends on a $ref cycle instead of recursing forever, and treats false as a contradiction', () => {
    const cyclic = { $ref: 'self.json' }
    const resolve = (ref: string) => (ref === 'self.json' ? cyclic : undefined)
    expect(weighBody(cyclic, { a: 1 }, new Set(), resolve)).toMatchObject({ contradicts: 0 })
    expect(ruledOutPaths(cyclic, resolve)).toEqual([])
    expect(weigh({ properties: { never: false } }, { never: 1 })).toMatchObject({ contradicts: 1 })
  })
})

describe('departures read against the alternative the body meant', () => {
  const evidence = (branches: string[], ruledOut: string[] = []) => ({ contradicts: 0, lacks: 0, matches: 0, decided: [], branches, ruledOut })
  it('keeps what is wrong in the chosen branch, drops the other branches and the anyOf summary', () => {
    const violations = [
      { path: '$.audio', keyword: 'required', message: 'is missing (required)', schemaPath: '#/anyOf/0/required' },
      { path: '$.video.id', keyword: 'type', message: 'must be string, is integer 1', schemaPath: '#/anyOf/1/properties/video/properties/id/type' },
      { path: '$', keyword: 'anyOf', message: 'must match a schema in anyOf', schemaPath: '#/anyOf' },
      { path: '$.to', keyword: 'type', message: 'must be string, is integer 1', schemaPath: '#/properties/to/type' },
    ]
    expect(meantViolations(violations, evidence(['#/anyOf/1'])).map((v) => v.path)).toEqual(['$.video.id', '$.to'])
  })

  it('keeps every violation of a schema without alternatives, and adds the keys ruled out (ajv names none)', () => {
    const violations = [
      { path: '$.to', keyword: 'type', message: 'must be string, is integer 1', schemaPath: '#/properties/to/type' },
      { path: '$', keyword: 'not', message: 'must NOT be valid', schemaPath: '#/not' },
    ]
    expect(meantViolations(violations, evidence([], ['$.typing_indicator'])).map((v) => [v.path, v.keyword])).toEqual([
      ['$.to', 'type'],
      ['$.typing_indicator', 'not'],
    ])
  })
})

/** An operation whose request body has this schema (YAML flow). */
const op = (id: string, node: string, method: string, path: string, schema: string) => operationYaml(id, node, method, path, `  body:\n    type: json\n    schema: ${schema}\n`)

/** Operations on one path whose request schemas use $ref (a pack schema by its id), allOf, oneOf and a not with alternatives. */
function refPack() {
  const d = dir()
  mkdirSync(join(d, 'operations'))
  mkdirSync(join(d, 'schemas'))
  writeFileSync(join(d, 'schemas', 'kinds.json'), JSON.stringify({ definitions: { order: { required: ['kind'], properties: { kind: { const: 'order' }, total: { type: 'integer' } } } } }))
  const path = '/{api_version}/{phone_number_id}/things'
  const ops: Record<string, string> = {
    'things.order': op('things.order', 'thing', 'POST', path, "{ $ref: 'https://driftwatch.invalid/schemas/kinds.json#/definitions/order' }"),
    'things.refund': op('things.refund', 'thing', 'POST', path, '{ allOf: [{ required: [kind], properties: { kind: { const: refund } } }, { properties: { amount: { type: number } } }] }'),
    'things.note': op('things.note', 'thing', 'POST', path, '{ oneOf: [{ required: [note] }, { required: [memo] }], not: { anyOf: [{ required: [kind] }, { required: [ref] }] } }'),
  }
  for (const [id, text] of Object.entries(ops)) writeFileSync(join(d, 'operations', `${id}.yaml`), text)
  return loadContracts(d)
}

function post(pack: ReturnType<typeof refPack>, body: unknown) {
  const text = JSON.stringify(body)
  const o: Observation = {
    contract: '',
    sample: 1,
    startedAt: '2026-03-02T09:00:00.000Z',
    request: { method: 'POST', url: 'https://graph.facebook.com/v21.0/109000000000888/things', headers: [['Content-Type', 'application/json']], bodySize: text.length, tokenSent: true },
    response: { status: 400, statusText: '', rawHeaders: [], framing: { kind: 'content-length', bytesRead: 1 }, body: { size: 1, sha256: '', keptBytes: 1, truncated: false, text: '{}', json: {} } },
    timings: { totalMs: 1 },
  }
  return attribute(pack, o, text, trafficState())
}

describe('what decides, through attribution', () => {
  const pack = refPack()
  it('reads a $ref into a schema file (with a JSON pointer), an allOf and a oneOf', () => {
    const order = post(pack, { kind: 'order', total: '12.50' })
    expect(order.operation?.id).toBe('things.order')
    expect(order.basis.at(-1)).toBe('the fields that decide ($.kind) are what things.order sends')
    expect(order.offSchema?.map((v) => [v.path, v.actual, v.allowed])).toEqual([['$.total', 'string', 'integer']])
    expect(post(pack, { amount: '3', kind: 'refund' }).operation?.id).toBe('things.refund')
    expect(post(pack, { memo: 'x' }).operation?.id).toBe('things.note')
  })

  it('a key ruled out by an alternative of a not is what keeps a note from an order', () => {
    // kind is ruled out for a note: an order with a memo is still an order.
    expect(post(pack, { kind: 'order', memo: 'gift' }).operation?.id).toBe('things.order')
    // A ref is ruled out for a note too, and nothing else here decides: the body says nothing that tells them apart.
    const vague = post(pack, { ref: 'r-1' })
    expect(vague.operation).toBeUndefined()
    expect(vague.candidates.map((c) => c.id).sort()).toEqual(['things.note', 'things.order', 'things.refund'])
  })
})
