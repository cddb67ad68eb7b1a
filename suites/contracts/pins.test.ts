/**
 * Pins (issue 18: attribution's CPU an entry): a request body whose `type` or `status` a schema pins
 * to other values is answered "does not fit" without running the validator. The answer must always
 * be the validator's: checked on every operation's example bodies, Meta's own, and on each of them
 * with every pinned key set to every other value and taken out.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadContracts } from '../../src/contracts/load.ts'
import { pinsOf, ruledOutByPins } from '../../src/contracts/pins.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const EXAMPLES = join(ROOT, 'suites', 'operations', 'examples')

describe('pinsOf', () => {
  it('reads const and enum of plain values on the schema, its allOf members, and keys every anyOf branch pins or forbids', () => {
    expect(pinsOf({ properties: { messaging_product: { const: 'whatsapp' }, type: { enum: ['image', 'video'] }, to: { type: 'string' } } })).toEqual([
      ['messaging_product', ['whatsapp']],
      ['type', ['image', 'video']],
    ])
    expect(pinsOf({ allOf: [{ properties: { status: { const: 'read' } } }] })).toEqual([['status', ['read']]])
    // send-text: `type` is text, or absent.
    expect(pinsOf({ anyOf: [{ required: ['type'], properties: { type: { const: 'text' } } }, { required: ['text'], not: { required: ['type'] } }] })).toEqual([['type', ['text']]])
  })

  it('reads nothing it cannot be sure of', () => {
    // A branch that says nothing of the key, a `not` that needs more than the key, an enum of objects, a $ref beside keywords.
    expect(pinsOf({ anyOf: [{ properties: { type: { const: 'text' } } }, { required: ['text'] }] })).toEqual([])
    expect(pinsOf({ anyOf: [{ properties: { type: { const: 'text' } } }, { not: { required: ['type'], properties: { type: { const: 'x' } } } }] })).toEqual([])
    expect(pinsOf({ properties: { type: { enum: ['a', { b: 1 }] }, kind: { const: [1] } } })).toEqual([])
    expect(pinsOf({ $ref: 'other.json', properties: { type: { const: 'text' } } })).toEqual([])
    expect(pinsOf({ properties: { type: { $ref: '#/definitions/t', const: 'text' } } })).toEqual([])
  })

  it('rules out a body that holds a pinned key with another value, never one without the key or not an object', () => {
    const pins = pinsOf({ properties: { type: { const: 'text' } } })
    expect(ruledOutByPins(pins, { type: 'image' })).toBe(true)
    expect(ruledOutByPins(pins, { type: { text: 1 } })).toBe(true)
    expect(ruledOutByPins(pins, { type: 'text' })).toBe(false)
    expect(ruledOutByPins(pins, { text: {} })).toBe(false)
    expect(ruledOutByPins(pins, ['image'])).toBe(false)
    expect(ruledOutByPins(pins, null)).toBe(false)
  })
})

describe('fits with pins answers as the validator does', () => {
  it("on every operation's example bodies, and on each with every pinned key changed or taken out", () => {
    const pack = loadContracts(join(ROOT, 'contracts', 'meta'), { cwd: ROOT })
    const withSchema = pack.operations.filter((op) => op.request.body?.schema)
    const pins = withSchema.map((op) => pinsOf(pack.schemaJson(op.request.body!.schema!)))
    const keys = new Set(pins.flat().map(([k]) => k))
    const values = [...new Set(pins.flat().flatMap(([, allowed]) => allowed)), 1, null, true, {}, ['text'], 'TEXT']
    const bodies: unknown[] = []
    for (const file of readdirSync(EXAMPLES)) {
      const { examples } = JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as { examples: { request: { body?: unknown } }[] }
      for (const e of examples) {
        const b = e.request.body
        if (b === undefined || b === null || typeof b !== 'object' || Array.isArray(b)) continue
        bodies.push(b)
        for (const k of keys) {
          const { [k]: _gone, ...without } = b as Record<string, unknown>
          bodies.push(without)
          for (const v of values) bodies.push({ ...(b as object), [k]: v })
        }
      }
    }
    let ruledOut = 0
    let fit = 0
    for (const [i, op] of withSchema.entries()) {
      for (const body of bodies) {
        const byValidator = pack.requestViolations(op, body).length === 0
        expect(pack.requestFits(op, body), `${op.id}: ${JSON.stringify(body)}`).toBe(byValidator)
        if (ruledOutByPins(pins[i]!, body)) ruledOut++
        if (byValidator) fit++
      }
    }
    // Not a quiet comparison: pins ruled out many pairs, and many bodies fit.
    expect(bodies.length).toBeGreaterThan(500)
    expect(ruledOut).toBeGreaterThan(1000)
    expect(fit).toBeGreaterThan(100)
  })
})
