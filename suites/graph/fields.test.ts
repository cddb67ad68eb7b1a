/**
 * Graph's field expansion (`fields=`) and what it means for a response's shape: only what was
 * asked for, nested selections projected, required only what the full schema requires and was
 * asked for. And the JSON nesting guard that keeps hostile bodies from ending a run.
 */
import { Ajv } from 'ajv'
import { describe, expect, it } from 'vitest'
import { describeFields, knownFields, parseFields, projectSchema } from '../../src/graph/index.ts'
import { jsonDepth, MAX_JSON_DEPTH, parseJsonBody } from '../../src/util/json.ts'

describe('parseFields', () => {
  it.each([
    ['id,display_phone_number', 'id,display_phone_number'],
    ['analytics.start(1700000000).end(1700086400).granularity(DAY)', 'analytics'],
    ['phone_numbers.limit(5){id,display_phone_number}', 'phone_numbers{id,display_phone_number}'],
    ['phone_numbers{id}.limit(5)', 'phone_numbers{id}'],
    ['a,b{c,d{e}},f', 'a,b{c,d{e}},f'],
    ['template_analytics.metric_types(["SENT","DELIVERED"]).template_ids([1,2]){data_points}', 'template_analytics{data_points}'],
    ['conversation_analytics.filtering([{"field":"country","operator":"IN","value":["US"]}])', 'conversation_analytics'],
  ])('%s', (text, shape) => {
    expect(describeFields(parseFields(text)!)).toBe(shape)
  })

  it('keeps modifiers', () => {
    expect(parseFields('analytics.start(1).end(2)')![0]).toEqual({ name: 'analytics', modifiers: ['start(1)', 'end(2)'], fields: [] })
  })

  it.each(['', 'a,', 'a{', 'a{b', 'a.(1)', 'a.limit(5', 'a}{', 'a b', '{a}'])('refuses %j', (text) => {
    expect(parseFields(text)).toBeUndefined()
  })

  it('refuses nesting no client writes instead of recursing into it', () => {
    expect(parseFields(`${'a{'.repeat(5000)}b${'}'.repeat(5000)}`)).toBeUndefined()
  })
})

const PHONE = {
  type: 'object',
  required: ['id', 'display_phone_number', 'verified_name', 'quality_rating'],
  properties: {
    id: { type: 'string' },
    display_phone_number: { type: 'string' },
    verified_name: { type: 'string' },
    quality_rating: { enum: ['GREEN', 'YELLOW', 'RED'] },
    throughput: { type: 'object', required: ['level'], properties: { level: { type: 'string' }, burst: { type: 'integer' } } },
  },
}
const WABA = {
  type: 'object',
  required: ['id', 'name'],
  properties: { id: { type: 'string' }, name: { type: 'string' }, phone_numbers: { type: 'object', properties: { data: { type: 'array', items: PHONE } } } },
}
const valid = (schema: unknown, body: unknown) => {
  const v = new Ajv({ strict: false }).compile(schema as object)
  return v(body) ? [] : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message}`)
}

describe('projectSchema', () => {
  it('asks only for what was requested: the default set\'s required fields are not missing', () => {
    const s = projectSchema(PHONE, parseFields('id,verified_name')!)
    expect(valid(s, { id: '1', verified_name: 'Shop' })).toEqual([])
    // Asked for and required by the full schema: still required.
    expect(valid(s, { id: '1' })).toEqual([" must have required property 'verified_name'"])
    // Types still hold.
    expect(valid(s, { id: '1', verified_name: 7 })).toEqual(['/verified_name must be string'])
  })

  it('always keeps id (Graph adds it to a node) and allows fields the schema does not know', () => {
    const s = projectSchema(PHONE, parseFields('name_status')!) as { properties: Record<string, unknown> }
    expect(Object.keys(s.properties).sort()).toEqual(['id', 'name_status'])
    expect(valid(s, { name_status: { anything: true }, id: '1' })).toEqual([])
  })

  it('projects nested selections into objects and into edges\' data items', () => {
    const nested = projectSchema(PHONE, parseFields('throughput{burst}')!)
    expect(valid(nested, { throughput: { burst: 5 }, id: '1' })).toEqual([]) // level not asked for
    expect(valid(nested, { throughput: { burst: 'x' } })).toEqual(['/throughput/burst must be integer'])
    const edge = projectSchema(WABA, parseFields('phone_numbers.limit(2){id,display_phone_number}')!)
    expect(valid(edge, { phone_numbers: { data: [{ id: '1', display_phone_number: '+1' }] }, id: '2' })).toEqual([])
    expect(valid(edge, { phone_numbers: { data: [{ id: '1' }] } })).toEqual(["/phone_numbers/data/0 must have required property 'display_phone_number'"])
  })

  it('an edge response ({data: [...]}) projects its items', () => {
    const list = { type: 'object', required: ['data'], properties: { data: { type: 'array', items: PHONE }, paging: { type: 'object' } } }
    const s = projectSchema(list, parseFields('id,display_phone_number')!)
    expect(valid(s, { data: [{ id: '1', display_phone_number: '+1' }] })).toEqual([])
    expect(knownFields(list)).toEqual(Object.keys(PHONE.properties))
  })
})

describe('JSON bodies nested beyond any API answer', () => {
  it('are measured without recursion and left unparsed, with the reason', () => {
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`
    expect(jsonDepth(deep, MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1)
    expect(parseJsonBody(deep)).toEqual({ jsonError: `nested deeper than ${MAX_JSON_DEPTH} levels; not parsed (no API answer nests this deep)` })
  })

  it('count brackets inside strings as text, and parse ordinary bodies', () => {
    expect(jsonDepth('{"a":"[[[[{{{{","b":[{"c":1}]}')).toBe(3)
    // An escaped quote does not end the string: the brackets after it are still text.
    expect(parseJsonBody('{"a":"\\"[[["}')).toEqual({ json: { a: '"[[[' } })
    expect(jsonDepth('{"a":"\\"[[["}')).toBe(1)
    expect(parseJsonBody('{"a":').jsonError).toMatch(/JSON/)
  })
})
