/**
 * Every walk over a body, given a value nested far deeper than any stack allows, and one nested
 * normally: the deep one stops at the shared limit (src/util/json.ts) instead of overflowing, the normal
 * one is walked as before. Values are built already parsed, as a recording read from disk or a HAR
 * read whole hands them over: the parse guard cannot protect these walks.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadContracts } from '../../src/contracts/load.ts'
import { TOO_DEEP_VIOLATION } from '../../src/contracts/schemas.ts'
import { HarnessError } from '../../src/util/errors.ts'
import { MAX_JSON_DEPTH, MAX_WALK_DEPTH, parseJsonBody, TOO_DEEP, valueDepth } from '../../src/util/json.ts'
import { PersonalDataRedactor } from '../../src/recordings/personal-data.ts'
import { loadRecordings } from '../../src/recordings/store.ts'
import { maskVolatile, volatileBodyPaths } from '../../src/recordings/volatile.ts'
import { schemaDeltas } from '../../src/schema/drift.ts'
import { inferSchema } from '../../src/schema/infer.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const DEEP = 20_000

/** `{a: [{a: [... leaf]}]}`, `depth` levels, built without recursion; each level also holds a phone and an id. */
function nested(depth: number, leaf: unknown = 'EAAfuzz0token0not0real0fuzz0ZDZD'): unknown {
  let v = leaf
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v, wa_id: '16315550199', id: '1390000000007919' }
  return v
}

const tmp = tempDirs('dw-deep-')

describe('the shared depth limit', () => {
  it('valueDepth measures without recursion and stops counting past the limit', () => {
    expect(valueDepth({ a: [1, { b: null }] })).toBe(3)
    expect(valueDepth('x')).toBe(0)
    expect(valueDepth(nested(100_000), MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1)
  })

  it('a body text nested deeper than the limit is not parsed, and says why; one at the limit is', () => {
    expect(parseJsonBody('['.repeat(DEEP) + ']'.repeat(DEEP)).jsonError).toMatch(`nested deeper than ${MAX_JSON_DEPTH} levels`)
    expect(parseJsonBody('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH)).json).toBeDefined()
  })
})

describe('walkers stop at the limit', () => {
  it('Redactor.deep: what lies below the limit is replaced (never passed through unredacted); a normal value is redacted in place', () => {
    const r = new Redactor({ secrets: ['EAAfuzz0token0not0real0fuzz0ZDZD'] })
    const deep = JSON.stringify(r.deep(nested(DEEP)))
    expect(deep).toContain(JSON.stringify(TOO_DEEP))
    expect(deep).not.toContain('EAAfuzz0token')
    const shallow = { a: ['x', { b: 'Bearer EAAfuzz0token0not0real0fuzz0ZDZD' }], keep: { same: 1 } }
    const out = r.deep(shallow)
    expect(out).toEqual({ a: ['x', { b: 'Bearer [REDACTED]' }], keep: { same: 1 } })
    expect(out.keep).toBe(shallow.keep) // unchanged parts keep their identity
  })

  it('PersonalDataRedactor.json: below the limit is replaced; above it, phone numbers are placeholders', () => {
    const p = new PersonalDataRedactor()
    const deep = JSON.stringify(p.json(nested(DEEP)))
    expect(deep).toContain(JSON.stringify(TOO_DEEP))
    expect(deep).not.toContain('16315550199')
    expect(p.json(nested(3))).toEqual({ a: [{ a: 'EAAfuzz0token0not0real0fuzz0ZDZD', wa_id: '15550000001', id: '1390000000007919' }], wa_id: '15550000001', id: '1390000000007919' })
  })

  it('volatileBodyPaths and maskVolatile: bounded on a deep body, exact on a normal one', () => {
    expect(volatileBodyPaths(nested(DEEP)).length).toBeLessThanOrEqual(MAX_WALK_DEPTH)
    expect(JSON.stringify(maskVolatile(nested(DEEP)))).toContain(JSON.stringify(TOO_DEEP))
    expect(volatileBodyPaths(nested(3))).toEqual(['/a/*/id', '/a/*/wa_id', '/id', '/wa_id'])
    expect(maskVolatile(nested(3))).toEqual({ a: [{ a: 'EAAfuzz0token0not0real0fuzz0ZDZD', wa_id: '<volatile>', id: '<volatile>' }], wa_id: '<volatile>', id: '<volatile>' })
  })

  it('inferSchema: records types only below the limit; a normal body in full', () => {
    const deep = inferSchema([nested(DEEP)])
    expect(valueDepth(deep)).toBeLessThanOrEqual(3 * (MAX_WALK_DEPTH + 1))
    expect(inferSchema([{ a: [1] }])).toEqual({ type: 'object', properties: { a: { type: 'array', items: { type: 'integer' } } }, required: ['a'], additionalProperties: false })
  })

  it('schema drift against a recording compares deep bodies without overflowing: what changed above the limit is found, below it is not walked', async () => {
    const golden = { bodies: [nested(DEEP, 'x')], recordedAt: '2026-11-24T00:00:00Z' }
    expect(await schemaDeltas({ bodies: [nested(DEEP, 1)], golden, validate: () => [] })).toEqual([])
    const changed = nested(DEEP, 'x') as [{ wa_id: unknown }]
    changed[0].wa_id = 16315550199
    const deltas = await schemaDeltas({ bodies: [changed], golden, validate: () => [] })
    expect(deltas.map((d) => [d.path, d.kind, d.before, d.after])).toEqual([['$[*].wa_id', 'changed', 'string', 'integer']])
  })
})

describe('ajv is never handed a body deeper than the limit', () => {
  const pack = loadContracts(join(ROOT, 'contracts/meta'), { cwd: ROOT })

  it('a deep body is one violation that says it was not checked, with the limit', () => {
    expect(pack.validateBody('phone-number.json', nested(DEEP))).toEqual([TOO_DEEP_VIOLATION])
    expect(TOO_DEEP_VIOLATION.message).toBe(`is nested deeper than ${MAX_JSON_DEPTH} levels: not checked against the schema`)
  })

  it('a body at the limit is validated as usual', () => {
    const violations = pack.validateBody('phone-number.json', nested(MAX_JSON_DEPTH - 1))
    expect(violations.length).toBeGreaterThan(0)
    expect(violations).not.toContainEqual(TOO_DEEP_VIOLATION)
  })
})

describe('recordings read from disk', () => {
  const golden = () => JSON.parse(readFileSync(join(ROOT, 'recordings/meta/phone-numbers.get/sim-baseline.json'), 'utf8'))
  const write = (rec: unknown, raw?: string): string => {
    const dir = tmp.dir()
    mkdirSync(join(dir, 'phone-numbers.get'))
    writeFileSync(join(dir, 'phone-numbers.get', 'sim-baseline.json'), raw ?? JSON.stringify(rec))
    return dir
  }

  it('a body nested too deep is kept unparsed with the reason, as one off the wire would be', () => {
    const rec = golden()
    rec.observations[0].response.body.json = '@@'
    const dir = write(undefined, JSON.stringify(rec).replace('"@@"', '['.repeat(DEEP) + ']'.repeat(DEEP)))
    const body = loadRecordings(dir, dir).get('phone-numbers.get')![0]!.observations[0]!.response!.body
    expect(body.json).toBeUndefined()
    expect(body.jsonError).toMatch(`nested deeper than ${MAX_JSON_DEPTH} levels`)
  })

  it('a field of the wrong type fails naming the file and the field; the file as recorded loads', () => {
    const rec = golden()
    expect(loadRecordings(write(rec)).get('phone-numbers.get')).toHaveLength(1)
    rec.observations[0].response.status = '200'
    const dir = write(rec)
    const err = (() => {
      try {
        loadRecordings(dir, dir)
      } catch (e) {
        return e as HarnessError
      }
    })()
    expect(err?.code).toBe('DW_RECORDING_INVALID')
    expect(err?.message).toMatch(/^recording phone-numbers\.get\/sim-baseline\.json has observations\[0\]\.response\.status that must be integer: re-record it/)
  })

  it('a missing field and a deep value elsewhere are named too', () => {
    const rec = golden()
    delete rec.recordedAt
    const problems: { message: string }[] = []
    loadRecordings(write(rec), undefined, problems as never)
    expect(problems[0]?.message).toMatch(/has no "recordedAt"$/)
    const deep = golden()
    deep.observations[0].request.headers = '@@'
    const dir = write(undefined, JSON.stringify(deep).replace('"@@"', '['.repeat(DEEP) + ']'.repeat(DEEP)))
    expect(() => loadRecordings(dir, dir)).toThrow(`is nested deeper than ${MAX_WALK_DEPTH} levels`)
  })
})
