/**
 * Build-time validators of constant schemas (src/contracts/precompiled.ts): the contract file schemas
 * answer yes or no from code generated at build, and a file that fails is worded by the compiled
 * validator as before; report.json's validator words its first error. Each must give the answer a
 * compile gives, and a file generated from anything else, or damaged, must never be used.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { parse } from 'yaml'
import type { ContractProblem } from '../../src/util/errors.ts'
import { PRECOMPILED as FILE_SPECS } from '../../src/contracts/load.ts'
import { generatedBy, keyJson, precompiled, precompiledKey, type PrecompiledSpec } from '../../src/contracts/precompiled.ts'
import { packSchemasSource, precompiledSource, writePrecompiled } from '../../src/contracts/precompile.ts'
import { PRECOMPILED as REPORT_SPECS, reportProblem } from '../../src/model/report-schema.ts'
import { PRECOMPILED as RECORDING_SPECS, recordingProblem } from '../../src/recordings/recording-shape.ts'
import { builtPackSchemas, loadSchemas, packSchemasKey, PACK_SCHEMAS_FILE, PRECOMPILED as META_SPECS, readSchemaFiles, useBuiltMetaSchema } from '../../src/contracts/schemas.ts'

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv, formats?: string[]) => Ajv

const dir = mkdtempSync(join(tmpdir(), 'dw-precompiled-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Each spec generated once into `dir` (each test that damages one uses its own name). */
for (const spec of [...FILE_SPECS, ...REPORT_SPECS, ...RECORDING_SPECS, ...META_SPECS]) writePrecompiled(spec, dir)

/** The validator a compile gives today (the worded one for contract files: allErrors, verbose). */
function compiled(spec: PrecompiledSpec, worded: boolean): ValidateFunction {
  const ajv = new Ajv(worded ? { allErrors: true, strict: true, verbose: true, code: { optimize: false } } : { ...spec.options })
  if (spec.formats && spec.formats !== 'all') addFormats(ajv, [...spec.formats])
  return ajv.compile(spec.schema)
}

const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.yaml') ? [join(d, e.name)] : []))

/** Every YAML mapping in the shipped pack and the examples, and three damaged copies of each (a key dropped, one retyped, one added). */
function corpus(sub: string): unknown[] {
  const docs = walk(sub).map((f) => parse(readFileSync(f, 'utf8')) as unknown).filter((d): d is Record<string, unknown> => !!d && typeof d === 'object' && !Array.isArray(d))
  return docs.flatMap((d) => {
    const keys = Object.keys(d)
    const k = keys[keys.length > 2 ? 2 : 0]!
    const { [k]: _dropped, ...dropped } = d
    return [d, dropped, { ...d, [k]: 42 }, { ...d, requestt: {} }, { ...d, request: { ...(d.request as object), method: 'FETCH' } }]
  })
}

describe('contract file schemas', () => {
  for (const [spec, sub] of [
    [FILE_SPECS[0]!, 'contracts/meta/operations'],
    [FILE_SPECS[1]!, 'contracts/meta'],
  ] as const) {
    it(`${spec.name}: the generated validator says yes and no where the worded one does`, () => {
      const quick = precompiled(spec, dir)
      expect(quick).toBeTypeOf('function')
      const worded = compiled(spec, true)
      const docs = corpus(sub)
      const verdicts = docs.map((d) => [worded(d), quick!(d)])
      expect(verdicts.filter(([w, q]) => w !== q)).toEqual([])
      // Both kinds of answer were asked for: the corpus is not all valid or all broken.
      expect(verdicts.some(([w]) => w)).toBe(true)
      expect(verdicts.some(([w]) => !w)).toBe(true)
    })
  }
})

describe('report.json schema', () => {
  const spec = REPORT_SPECS[0]!
  const report = JSON.parse(readFileSync('suites/reporters/golden/report.json', 'utf8')) as Record<string, unknown>
  const broken: unknown[] = [
    report,
    { ...report, version: 2 },
    { ...report, startedAt: 'yesterday' },
    { ...report, outcome: '<img src=x>' },
    { ...report, extra: true },
    { ...report, summary: { ...(report.summary as object), passed: -1 } },
    (({ findings: _f, ...r }) => r)(report),
    [],
    'report',
  ]

  it('the generated validator gives the errors a compile gives (the first one is worded)', () => {
    const generated = precompiled(spec, dir)
    expect(generated).toBeTypeOf('function')
    const compile = compiled(spec, false)
    for (const doc of broken) {
      expect(generated!(doc), JSON.stringify(doc).slice(0, 80)).toBe(compile(doc))
      expect(generated!.errors ?? null).toEqual(compile.errors ?? null)
    }
    // The corpus holds a valid report and invalid ones.
    expect(broken.map((d) => compile(d))).toContain(true)
    expect(broken.map((d) => compile(d))).toContain(false)
  })

  it('words a broken report as before', () => {
    expect(reportProblem({ ...report, outcome: '<img src=x>' })).toBe('outcome must be one of pass, drift, inconclusive, error, interrupted (got "<img src=x>")')
    expect(reportProblem(report)).toBeUndefined()
  })
})

describe('recording schema', () => {
  const spec = RECORDING_SPECS[0]!
  const recs = readdirSync('recordings/meta').map((d) => JSON.parse(readFileSync(join('recordings/meta', d, 'sim-baseline.json'), 'utf8')) as { observations: Record<string, unknown>[] })
  const first = recs[0]!
  const o = first.observations[0]!
  const docs: unknown[] = [
    ...recs,
    { ...first, observations: [{ ...o, response: { ...(o.response as object), status: '200' } }] },
    { ...first, observations: [(({ request: _r, ...rest }) => rest)(o)] },
    { ...first, observations: [{ ...o, sample: -1 }] },
    { ...first, observations: 'none' },
  ]

  it('the generated validator gives the errors a compile gives', () => {
    const generated = precompiled(spec, dir)
    expect(generated).toBeTypeOf('function')
    const compile = compiled(spec, false)
    for (const doc of docs) {
      expect(generated!(doc)).toBe(compile(doc))
      expect(generated!.errors ?? null).toEqual(compile.errors ?? null)
    }
    expect(docs.map((d) => compile(d))).toContain(true)
    expect(docs.map((d) => compile(d))).toContain(false)
  })

  it('words a broken recording as before', () => {
    expect(recordingProblem(structuredClone(docs[recs.length + 1]) as { observations: unknown[] })).toBe('has no "observations[0].request"')
    expect(recordingProblem(structuredClone(first))).toBeUndefined()
  })
})

describe('the meta-schema pack schemas are checked against', () => {
  /** The pack's worded compiler, with the generated meta-schema validator or compiling its own. */
  const worded = (built: boolean): { ajv: Ajv; used: boolean } => {
    const ajv = addFormats(new Ajv({ ...META_SPECS[0]!.options }))
    return { ajv, used: built ? useBuiltMetaSchema(ajv, dir) : false }
  }
  const shipped = readdirSync('contracts/meta/schemas').map((f) => JSON.parse(readFileSync(join('contracts/meta/schemas', f), 'utf8')) as Record<string, unknown>)
  const schemas: Record<string, unknown>[] = [
    ...shipped.map((s, i) => ({ ...s, $id: `https://t.invalid/${i}` })),
    { type: 'strin' },
    { type: 'object', required: 'id', properties: { a: { type: ['string', 7] } } },
    { type: 'string', pattern: '(' },
    { properties: { a: { format: 5, minLength: -1 } }, additionalProperties: 'no' },
    { $schema: 'http://json-schema.org/draft-07/schema#', items: [{ type: 'x' }], enum: [] },
    { $ref: '#/definitions/missing' },
    { type: 'string', format: 'date-time', formatMinimum: '2020-01-01T00:00:00Z' },
    { $id: 'https://t.invalid/dup', properties: { a: { $id: 'https://t.invalid/dup' } } },
  ]
  /** What ajv says of adding, then compiling, a schema: nothing, or its message. */
  const outcome = (ajv: Ajv, s: object, i: number): string[] => {
    const said: string[] = []
    const tryIt = (f: () => unknown) => {
      try {
        f()
        said.push('ok')
      } catch (err) {
        said.push((err as Error).message)
      }
    }
    tryIt(() => ajv.addSchema(structuredClone(s), `k${i}`))
    tryIt(() => ajv.compile(structuredClone(s)))
    said.push(String(ajv.validateSchema(s)), ajv.errorsText(ajv.errors))
    return said
  }

  it('is used when generated, and not without one', () => {
    expect(worded(true).used).toBe(true)
    expect(useBuiltMetaSchema(addFormats(new Ajv({ ...META_SPECS[0]!.options })), join(dir, 'missing'))).toBe(false)
  })

  it('refuses and accepts the schemas ajv does, in the same words', () => {
    const a = worded(true)
    const b = worded(false)
    const with_ = schemas.map((s, i) => outcome(a.ajv, s, i))
    const without = schemas.map((s, i) => outcome(b.ajv, s, i))
    expect(with_).toEqual(without)
    // Both kinds of answer: the shipped schemas pass, the broken ones are refused.
    expect(without.slice(0, shipped.length).every((o) => o[0] === 'ok')).toBe(true)
    expect(without.slice(shipped.length).filter((o) => o[0]!.startsWith('schema is invalid')).length).toBeGreaterThan(3)
  })
})

describe("the shipped pack's schemas", () => {
  const SCHEMAS = 'contracts/meta/schemas'
  writeFileSync(join(dir, PACK_SCHEMAS_FILE), packSchemasSource('contracts/meta')!)
  const rel = (p: string) => p
  const names = readdirSync(SCHEMAS).filter((f) => f.endsWith('.json'))
  /** Every JSON body of the simulator's goldens, and three damaged copies of each object (a key dropped, one retyped, one added). */
  const bodies = readdirSync('recordings/meta').flatMap((d) => {
    const rec = JSON.parse(readFileSync(join('recordings/meta', d, 'sim-baseline.json'), 'utf8')) as { observations: { response?: { body?: { json?: unknown } } }[] }
    return rec.observations.map((o) => o.response?.body?.json).filter((b) => b !== undefined)
  })
  const corpus = bodies.flatMap((b) => {
    if (!b || typeof b !== 'object' || Array.isArray(b)) return [b]
    const keys = Object.keys(b)
    const k = keys[0] ?? 'x'
    const { [k]: _d, ...dropped } = b as Record<string, unknown>
    return [b, dropped, { ...b, [k]: 42 }, { ...b, unexpected_field: true }]
  })

  it('built, the registry words and answers every body as the compiled one does', () => {
    const problems: ContractProblem[] = []
    expect(builtPackSchemas(readSchemaFiles(SCHEMAS, rel, problems), dir)).toBeDefined()
    const built = loadSchemas(SCHEMAS, rel, problems, dir)
    const compiled = loadSchemas(SCHEMAS, rel, problems, join(dir, 'missing'))
    expect(problems).toEqual([])
    let violations = 0
    for (const name of names) {
      for (const body of corpus) {
        const v = compiled.validate(name, body)
        violations += v.length
        expect(built.validate(name, body), name).toEqual(v)
        expect(built.fits(name, body), name).toBe(compiled.fits(name, body))
      }
    }
    // Answers of both kinds were compared.
    expect(violations).toBeGreaterThan(0)
    expect(names.some((n) => corpus.some((b) => compiled.fits(n, b)))).toBe(true)
    // Projections are still compiled from the registry's schemas.
    const key = built.project('phone-number.json', 'id,verified_name')
    expect(key).toBe(compiled.project('phone-number.json', 'id,verified_name'))
    for (const body of corpus) expect(built.validate(key, body)).toEqual(compiled.validate(key, body))
  })

  it("built, operations' inline request schemas word and answer every request body as compiled ones do", () => {
    const har = JSON.parse(readFileSync('suites/verify/fixtures/cloud-api-traffic.har', 'utf8')) as { log: { entries: { request: { postData?: { text?: string } } }[] } }
    const sent = har.log.entries.flatMap((e) => {
      try {
        return [JSON.parse(e.request.postData?.text ?? '') as unknown]
      } catch {
        return []
      }
    })
    const requests = sent.flatMap((b) => (b && typeof b === 'object' && !Array.isArray(b) ? [b, { ...b, to: 7 }, { ...b, type: 'nonsense' }, (({ messaging_product: _m, ...r }) => r)(b as Record<string, unknown>)] : [b]))
    const ops = readdirSync('contracts/meta/operations').map((f) => parse(readFileSync(join('contracts/meta/operations', f), 'utf8')) as { id: string; request: { body?: { schema?: object } } })
    const inline = ops.filter((o) => o.request.body?.schema)
    expect(inline.length).toBeGreaterThan(5)
    const registries = [dir, join(dir, 'missing')].map((d) => {
      const r = loadSchemas(SCHEMAS, rel, [], d)
      const said: string[] = []
      for (const o of inline) r.addInline(`request:${o.id}`, structuredClone(o.request.body!.schema!), (m) => said.push(m))
      expect(said).toEqual([])
      return r
    })
    const [built, compiled] = registries as [ReturnType<typeof loadSchemas>, ReturnType<typeof loadSchemas>]
    let fit = 0
    for (const o of inline) {
      for (const body of requests) {
        expect(built.validate(`request:${o.id}`, body), o.id).toEqual(compiled.validate(`request:${o.id}`, body))
        expect(built.fits(`request:${o.id}`, body), o.id).toBe(compiled.fits(`request:${o.id}`, body))
        if (compiled.fits(`request:${o.id}`, body)) fit++
      }
    }
    expect(fit).toBeGreaterThan(0)
    expect(fit).toBeLessThan(inline.length * requests.length)
  })

  it('a changed schema file is compiled, and the change is what counts', () => {
    const changed = mkdtempSync(join(dir, 'schemas-'))
    cpSync(SCHEMAS, changed, { recursive: true })
    const file = join(changed, 'media-url.json')
    const schema = JSON.parse(readFileSync(file, 'utf8')) as { required: string[] }
    schema.required = [...schema.required, 'added_after_the_build']
    writeFileSync(file, JSON.stringify(schema))
    const problems: ContractProblem[] = []
    expect(builtPackSchemas(readSchemaFiles(changed, rel, problems), dir)).toBeUndefined()
    const r = loadSchemas(changed, rel, problems, dir)
    const body = corpus.find((b) => loadSchemas(SCHEMAS, rel, [], dir).fits('media-url.json', b))
    expect(body).toBeDefined()
    expect(r.validate('media-url.json', body).map((v) => v.path)).toContain('$.added_after_the_build')
  })

  it('a schema that differs only where JSON.stringify writes two values the same (NaN as null, -0 as 0) is not taken for the built one', () => {
    // A contract file is read with the YAML parser, which takes .nan and .inf: the key must tell them from null.
    const withNull = { type: 'object', properties: { a: { enum: [null, 'x'] } } }
    const withNaN = { type: 'object', properties: { a: { enum: [Number.NaN, 'x'] } } }
    expect(keyJson(withNaN)).not.toBe(keyJson(withNull))
    expect(keyJson([-0])).not.toBe(keyJson([0]))
    expect(keyJson([Number.POSITIVE_INFINITY])).not.toBe(keyJson([null]))
    // A string that looks like a tagged number is escaped, so it cannot stand for one either.
    expect(keyJson(['\u0001n:NaN'])).not.toBe(keyJson([Number.NaN]))
    const built = join(mkdtempSync(join(dir, 'nan-')), 'pack')
    const files = (schema: object) => [{ name: 'a.json', abs: join(built, 'a.json'), rel: 'a.json', schema }] as unknown as Parameters<typeof packSchemasKey>[0]
    expect(packSchemasKey(files(withNaN))).not.toBe(packSchemasKey(files(withNull)))
    expect(precompiledKey({ ...FILE_SPECS[0]!, schema: withNaN })).not.toBe(precompiledKey({ ...FILE_SPECS[0]!, schema: withNull }))
    // And the key holds what the generated code depends on besides the schema: ajv, ajv-formats and driftwatch.
    expect(generatedBy().split(' ')).toHaveLength(3)
    expect(generatedBy()).not.toContain('?')
  })

  it('a damaged module is not used', () => {
    const good = readFileSync(join(dir, PACK_SCHEMAS_FILE), 'utf8')
    const bad = mkdtempSync(join(dir, 'pack-corrupt-'))
    writeFileSync(join(bad, PACK_SCHEMAS_FILE), good.replace('errors === 0', 'errors <= 99'))
    const problems: ContractProblem[] = []
    const parsed = readSchemaFiles(SCHEMAS, rel, problems)
    expect(() => builtPackSchemas(parsed, bad)).not.toThrow()
    expect(builtPackSchemas(parsed, bad)).toBeUndefined()
    writeFileSync(join(bad, PACK_SCHEMAS_FILE), good)
    expect(builtPackSchemas(parsed, bad)).toBeDefined()
  })
})

describe('a generated file is used only for exactly what it was generated from', () => {
  const spec = FILE_SPECS[0]!

  it('none in the folder: undefined (the caller compiles)', () => {
    expect(precompiled(spec, join(dir, 'missing'))).toBeUndefined()
  })

  it('stale: generated from another schema or with other options, it is not used', () => {
    const other = mkdtempSync(join(dir, 'stale-'))
    // A file named for this spec, generated from a schema that accepts anything.
    writeFileSync(join(other, `${spec.name}.cjs`), precompiledSource({ ...spec, schema: {} }))
    expect(precompiled({ ...spec, schema: {} }, other)).toBeTypeOf('function')
    expect(precompiled(spec, other)).toBeUndefined()
    writeFileSync(join(other, 'opts.cjs'), precompiledSource({ ...spec, name: 'opts', options: { allErrors: true, strict: true } }))
    expect(precompiled({ ...spec, name: 'opts' }, other)).toBeUndefined()
  })

  it('corrupt: truncated, edited, not JavaScript or without its first line, it is not used and nothing throws', () => {
    const good = readFileSync(join(dir, `${spec.name}.cjs`), 'utf8')
    const bad = mkdtempSync(join(dir, 'corrupt-'))
    const variants: Record<string, string> = {
      truncated: good.slice(0, Math.floor(good.length / 2)),
      // The same length, one answer turned: `return errors === 0` would accept what it rejects.
      edited: good.replace('errors === 0', 'errors <= 99'),
      garbage: `${good.split('\n')[0]}\n}{ not javascript`,
      headless: good.slice(good.indexOf('\n') + 1),
      empty: '',
    }
    expect(variants.edited).not.toBe(good)
    for (const [name, text] of Object.entries(variants)) {
      const s = { ...spec, name }
      writeFileSync(join(bad, `${name}.cjs`), text)
      expect(() => precompiled(s, bad), name).not.toThrow()
      expect(precompiled(s, bad), name).toBeUndefined()
    }
    // The intact file under the same conditions is used: the variants fail for what was done to them.
    writeFileSync(join(bad, 'intact.cjs'), good)
    expect(precompiled({ ...spec, name: 'intact' }, bad)).toBeTypeOf('function')
  })
})
