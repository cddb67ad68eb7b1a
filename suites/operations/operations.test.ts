/**
 * The operation pack against examples taken from Meta's own material (the OpenAPI spec, the Postman
 * collection, FACTS.md), one file per operation in examples/. For every example: the operation's
 * schemas accept its answer, its documented error codes include its error, and attribution, from
 * the request (and, for a success, the response) alone, names exactly this operation. An example
 * that fits two operations, or none, fails here: that is how overlapping or wrong contracts are
 * caught before they misjudge real traffic.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadContracts } from '../../src/contracts/load.ts'
import type { NodeKind } from '../../src/contracts/types.ts'
import { graphError, isCommonGraphCode } from '../../src/graph/index.ts'
import type { Observation } from '../../src/model/observation.ts'
import { attribute, trafficState } from '../../src/traffic/attribute.ts'

interface Example {
  source: string
  request: { method: string; path: string; query?: Record<string, string>; body?: unknown; contentType?: string }
  response: { status: number; body?: unknown }
  /** Ids the traffic would have named before this request (when the request alone cannot say which node it is). */
  known?: Record<string, NodeKind>
}

const DIR = join(import.meta.dirname, 'examples')
const pack = loadContracts('contracts/meta')

function observationOf(ex: Example): { o: Observation; body?: string } {
  const url = new URL(`https://graph.facebook.com${ex.request.path}`)
  for (const [k, v] of Object.entries(ex.request.query ?? {})) url.searchParams.set(k, v)
  const body = ex.request.body === undefined ? undefined : typeof ex.request.body === 'string' ? ex.request.body : JSON.stringify(ex.request.body)
  const contentType = ex.request.contentType ?? (typeof ex.request.body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json')
  const text = ex.response.body === undefined ? '' : JSON.stringify(ex.response.body)
  const o: Observation = {
    contract: '',
    sample: 1,
    startedAt: '2026-11-24T00:00:00.000Z',
    request: { method: ex.request.method, url: url.toString(), headers: body !== undefined ? [['Content-Type', contentType]] : [], bodySize: body?.length ?? 0, tokenSent: true },
    response: {
      status: ex.response.status,
      statusText: '',
      rawHeaders: [['Content-Type', 'application/json; charset=UTF-8']],
      framing: { kind: 'content-length', declaredLength: text.length, bytesRead: text.length },
      body: { size: text.length, sha256: '', keptBytes: text.length, truncated: false, text, ...(ex.response.body !== undefined ? { json: ex.response.body } : {}) },
    },
    timings: { totalMs: 1 },
  }
  return { o, ...(body !== undefined ? { body } : {}) }
}

const files = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith('.json')) : []

describe('the operation pack', () => {
  it('has an examples file for every operation, each with a success', () => {
    const missing = pack.operations.filter((op) => !files.includes(`${op.id}.json`)).map((op) => op.id)
    expect(missing, 'operations without suites/operations/examples/<id>.json').toEqual([])
    for (const op of pack.operations) {
      const { examples } = JSON.parse(readFileSync(join(DIR, `${op.id}.json`), 'utf8')) as { examples: Example[] }
      expect(examples.some((e) => e.response.status < 300), `${op.id} has a success example`).toBe(true)
    }
  })
  it('has no examples file for an operation that does not exist', () => {
    expect(files.filter((f) => !pack.operation(f.replace(/\.json$/, '')))).toEqual([])
  })
  it('says in every operation file where its facts come from', () => {
    for (const op of pack.operations) expect(op.source.length, op.file).toBeGreaterThan(20)
  })
})

for (const file of files) {
  const id = file.replace(/\.json$/, '')
  const { examples } = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as { examples: Example[] }
  describe(id, () => {
    it.each(examples.map((e, i) => [`${i + 1}: ${e.request.method} ${e.request.path} -> ${e.response.status} (${e.source})`, e] as const))('%s', (_name, ex) => {
      const op = pack.operation(id)!
      expect(ex.source.length, 'every example names its source').toBeGreaterThan(5)
      const { o, body } = observationOf(ex)
      const state = trafficState()
      for (const [v, node] of Object.entries(ex.known ?? {})) state.ids.set(v, { node, from: 'the example' })
      const r = o.response!
      if (r.status < 300) {
        const success = op.responses.find((x) => (x.statuses as readonly number[]).includes(r.status))
        expect(success, `${id} documents ${r.status}`).toBeDefined()
        if (success!.bodySchema) {
          const fields = ex.request.query?.fields
          const schema = fields ? pack.projectedSchema(success!.bodySchema, fields) : success!.bodySchema
          expect(pack.validateBody(schema, r.body.json), `the answer fits ${schema}`).toEqual([])
        }
        const a = attribute(pack, o, body, state)
        expect({ operation: a.operation?.id, candidates: a.candidates.map((c) => c.id), reason: a.reason }).toMatchObject({ operation: id })
      } else {
        const e = graphError(r.body.json)
        expect(e?.code, 'an error example is a Graph error').toBeTypeOf('number')
        expect(op.error, `${id} documents Graph errors`).toBeDefined()
        expect(op.error!.error!.codes.includes(e!.code!) || isCommonGraphCode(e!.code!), `${e!.code} is documented for ${id}`).toBe(true)
      }
    })
  })
}

describe('README: the operations list', () => {
  it('is exactly the pack\'s operations (npm run operations-table regenerates it)', async () => {
    const { OPERATIONS_MARKERS, renderOperations } = await import('../../scripts/operations-table.ts')
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8')
    const [start, end] = OPERATIONS_MARKERS
    expect(readme.indexOf(start), 'README has the operations markers').toBeGreaterThan(0)
    const inReadme = readme.slice(readme.indexOf(start) + start.length, readme.indexOf(end)).trim()
    expect(inReadme, 'README operations list is stale: run npm run operations-table').toBe(renderOperations('contracts/meta', join(import.meta.dirname, '..', '..')))
  })
})
