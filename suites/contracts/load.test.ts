/**
 * Contract loading: the Meta pack (operations and probes) loads in a valid order, and bad files
 * fail with file, line, path inside the file and a message that says how to fix it, all problems
 * at once.
 */
import { mkdtempSync, mkdirSync, writeFileSync, cpSync, rmSync, statSync, utimesSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadContracts } from '../../src/contracts/load.ts'
import { ContractError, HarnessError } from '../../src/util/errors.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** An operation the minimal probes exercise. */
const OPERATION = `id: t.get
title: T
node: phone_number
source: a test fixture, not Meta's word
request:
  method: GET
  path: /{api_version}/{phone_number_id}
responses:
  200:
    framing: content-length
  error:
    codes: [100]
`

/** A contract dir with the given files (name -> content; operations/ paths allowed), operation t.get, and with `withSchemas` a copy of the Meta schemas (thirty to compile: only where a test names one). */
function pack(files: Record<string, string>, withSchemas = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'dw-contracts-'))
  dirs.push(dir)
  if (withSchemas) cpSync('contracts/meta/schemas', join(dir, 'schemas'), { recursive: true })
  mkdirSync(join(dir, 'operations'))
  writeFileSync(join(dir, 'operations', 't.get.yaml'), OPERATION)
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  return dir
}

function problems(dir: string) {
  try {
    loadContracts(dir)
  } catch (err) {
    expect(err).toBeInstanceOf(ContractError)
    return (err as ContractError).problems
  }
  throw new Error('expected the load to fail')
}

const MINIMAL = `id: a.b
title: A
operation: t.get
request:
  method: GET
  path: /{api_version}/{phone_number_id}
expect:
  status: 200
`

describe('the Meta pack', () => {
  const p = loadContracts('contracts/meta')

  it('loads every probe and operation with its file name as id, and every probe names an operation', () => {
    expect(p.probes.length).toBe(13)
    for (const c of p.probes) expect(c.file).toBe(`contracts/meta/${c.id}.yaml`)
    expect(p.operations.length).toBeGreaterThanOrEqual(7)
    for (const o of p.operations) expect(o.file).toBe(`contracts/meta/operations/${o.id}.yaml`)
    for (const c of p.probes) expect(p.operation(c.operation), c.id).toBeDefined()
  })

  it('orders dependencies first: upload, retrieve, download, then delete last of the media chain', () => {
    const ids = p.probes.map((c) => c.id)
    const at = (id: string) => ids.indexOf(id)
    expect(at('media.upload')).toBeLessThan(at('media.retrieve-url'))
    expect(at('media.retrieve-url')).toBeLessThan(at('media.download'))
    for (const reader of ['media.retrieve-url.with-phone-number-id', 'media.download', 'media.post-method']) expect(at(reader)).toBeLessThan(at('media.delete'))
    expect(at('templates.list')).toBeLessThan(at('templates.list.next-page'))
  })

  it('compiles the body schemas once and maps violations to JSON paths', () => {
    const v = p.validateBody('media-url.json', { messaging_product: 'whatsapp', url: 'https://x/y', mime_type: 'image/png', sha256: 'a'.repeat(64), file_size: '303833', id: '1' })
    expect(v).toEqual([{ path: '$.file_size', keyword: 'type', allowed: 'integer', actual: 'string', message: 'must be integer, is string "303833"', schemaPath: '#/properties/file_size/type' }])
    expect(p.validateBody('templates-page.json', { data: [{ name: 'x' }] }).map((x) => x.path)).toContain('$.data[0].components')
  })

  it('normalises shorthands: header names lowercased, captures as pointers, side-effecting calls not repeatable', () => {
    const upload = p.probes.find((c) => c.id === 'media.upload')!
    expect(upload.repeatable).toBe(false)
    expect(upload.request).toMatchObject({ method: 'POST', path: '/{api_version}/{phone_number_id}/media' }) // from its operation
    expect(upload.capture).toEqual([{ name: 'media_id', from: 'body', pointer: '/id', optional: false }])
    expect(upload.expect.headers!.required[0]).toEqual({ name: 'facebook-api-version', severity: 'breaking' })
    const op = p.operation('messages.send-text')!
    expect(op.responses[0]!.headers.required).toContainEqual({ name: 'x-business-use-case-usage', severity: 'warning' })
    expect(op.error).toMatchObject({ statuses: 'error', error: { severity: 'warning', includesCommon: true } })
    const templates = p.probes.find((c) => c.id === 'templates.list')!
    expect(templates.capture[0]).toMatchObject({ name: 'templates_next', optional: true })
  })
})

describe('probes in subfolders', () => {
  it('are loaded (a pack may group its probes in folders), and validated like any other', () => {
    const dir = pack({})
    mkdirSync(join(dir, 'media'))
    writeFileSync(join(dir, 'media', 'a.b.yaml'), MINIMAL)
    expect(loadContracts(dir).probes.map((p) => p.id)).toEqual(['a.b'])
    writeFileSync(join(dir, 'media', 'a.b.yaml'), MINIMAL.replace('title:', 'titel:'))
    const found = problems(dir)!
    expect(found.length).toBeGreaterThan(0)
    expect(new Set(found.map((p) => p.file))).toEqual(new Set([expect.stringMatching(/media\/a\.b\.yaml$/)]))
  })
  it('but not schemas/, fixtures/ or operations/ (other kinds of file), nor hidden folders', () => {
    const dir = pack({ 'a.b.yaml': MINIMAL }, true)
    mkdirSync(join(dir, 'fixtures'))
    writeFileSync(join(dir, 'fixtures', 'payload.json'), '{"not": "a probe"}')
    mkdirSync(join(dir, '.git'))
    writeFileSync(join(dir, '.git', 'x.yaml'), 'junk: [')
    expect(loadContracts(dir).probes.map((p) => p.id)).toEqual(['a.b'])
  })
})

describe('a pack loaded again', () => {
  it('is the same pack while no file under it changed, and is loaded again when one did, even at the same size and time', () => {
    const dir = pack({ 'a.b.yaml': MINIMAL })
    const first = loadContracts(dir)
    expect(loadContracts(dir)).toBe(first)
    const file = join(dir, 'a.b.yaml')
    const { atime, mtime } = statSync(file)
    writeFileSync(file, MINIMAL.replace('title: A', 'title: B'))
    utimesSync(file, atime, mtime)
    const second = loadContracts(dir)
    expect(second).not.toBe(first)
    expect(second.probes.map((p) => p.title)).toEqual(['B'])
    expect(first.probes.map((p) => p.title)).toEqual(['A'])
  })

  it('is loaded again when a schema changed, and names its files from the working directory it was asked from', () => {
    const dir = pack({ 'a.b.yaml': MINIMAL })
    mkdirSync(join(dir, 'schemas'))
    cpSync('contracts/meta/schemas/media-url.json', join(dir, 'schemas', 'media-url.json'))
    const body = { messaging_product: 'whatsapp', url: 'https://x/y', mime_type: 'image/png', sha256: 'a'.repeat(64), file_size: '303833', id: '1' }
    expect(loadContracts(dir).validateBody('media-url.json', body).map((v) => v.path)).toEqual(['$.file_size'])
    writeFileSync(join(dir, 'schemas', 'media-url.json'), JSON.stringify({ type: 'object' }))
    expect(loadContracts(dir).validateBody('media-url.json', body)).toEqual([])
    expect(loadContracts(dir, { cwd: dir }).probes[0]!.file).toBe('a.b.yaml')
    expect(loadContracts(dir, { cwd: join(dir, '..') }).probes[0]!.file).toMatch(/^dw-contracts-\w+\/a\.b\.yaml$/)
  })

  it('is shared, so it cannot be changed in place', () => {
    const p = loadContracts(pack({ 'a.b.yaml': MINIMAL }))
    expect(() => p.probes.push(p.probes[0]!)).toThrow(TypeError)
    expect(() => (p.operations as unknown[]).splice(0)).toThrow(TypeError)
    expect(p.probes).toHaveLength(1)
  })
})

describe('bad contracts fail with file, line, path and the fix', () => {
  it('names an unknown field and suggests the right one', () => {
    const dir = pack({ 'a.b.yaml': MINIMAL.replace('expect:', 'expct:\n  status: 200\nexpect:') })
    const ps = problems(dir)
    expect(ps).toContainEqual(expect.objectContaining({ path: '/expct', line: 7, message: 'unknown field "expct"; did you mean "expect"?' }))
  })

  it('names a bad enum value with the allowed ones and the line', () => {
    const dir = pack({ 'a.b.yaml': `${MINIMAL}  framing: chunky\n` })
    const [p] = problems(dir)
    expect(p).toMatchObject({ file: expect.stringContaining('a.b.yaml'), path: '/expect/framing', line: 9 })
    expect(p!.message).toContain('must be one of content-length, chunked, any (got "chunky")')
  })

  it('explains a wrong-shaped status', () => {
    const [p] = problems(pack({ 'a.b.yaml': MINIMAL.replace('status: 200', 'status: "200"') }))
    expect(p).toMatchObject({ path: '/expect/status', line: 8 })
    expect(p!.message).toContain('must be a status code or a list of them')
  })

  it('reports a missing required field', () => {
    const [p] = problems(pack({ 'a.b.yaml': MINIMAL.replace('title: A\n', '') }))
    expect(p).toMatchObject({ path: '', message: 'missing required field "title"' })
  })

  it('reports YAML syntax errors with their position', () => {
    const [p] = problems(pack({ 'a.b.yaml': 'id: a.b\ntitle: [unclosed\n' }))
    expect(p!.message).toMatch(/^not valid YAML\/JSON/)
    expect(p!.line).toBeGreaterThan(0)
  })

  it('requires the id to equal the file name', () => {
    const [p] = problems(pack({ 'other.yaml': MINIMAL }))
    expect(p).toMatchObject({ path: '/id', line: 1 })
    expect(p!.message).toContain('must equal the file name "other"')
  })

  it('rejects an unknown template variable with a suggestion', () => {
    const [p] = problems(pack({ 'a.b.yaml': MINIMAL.replace('{phone_number_id}', '{phone_numbr_id}') }))
    expect(p!.message).toContain('unknown variable {phone_numbr_id}')
    expect(p!.message).toContain('did you mean {phone_number_id}?')
  })

  it('rejects a missing schema file with a suggestion', () => {
    const [p] = problems(pack({ 'a.b.yaml': `${MINIMAL}  body: { schema: media-ur.json }\n` }, true))
    expect(p).toMatchObject({ path: '/expect/body/schema' })
    expect(p!.message).toContain('did you mean media-url.json?')
  })

  it('rejects a dependency cycle', () => {
    const a = MINIMAL.replace('id: a.b', 'id: c.one').replace('title: A', 'title: A\nafter: [c.two]')
    const b = MINIMAL.replace('id: a.b', 'id: c.two').replace('title: A', 'title: B\nafter: [c.one]')
    const ps = problems(pack({ 'c.one.yaml': a, 'c.two.yaml': b }))
    expect(ps[0]!.message).toContain('dependency cycle among c.one, c.two')
  })

  it('rejects one variable captured by two contracts', () => {
    const a = `${MINIMAL.replace('id: a.b', 'id: c.one')}capture:\n  media_id: /id\n`
    const b = `${MINIMAL.replace('id: a.b', 'id: c.two')}capture:\n  media_id: /id\n`
    expect(problems(pack({ 'c.one.yaml': a, 'c.two.yaml': b }))[0]!.message).toContain('already captured by c.one')
  })

  it('rejects a bad header regex and a GET with a body', () => {
    const yaml = `${MINIMAL.replace('  path:', '  body: { json: {} }\n  path:')}  headers:\n    patterns:\n      x-a: "([unclosed"\n`
    const msgs = problems(pack({ 'a.b.yaml': yaml })).map((p) => p.message)
    expect(msgs.some((m) => m.startsWith('not a valid regular expression'))).toBe(true)
    expect(msgs.some((m) => m.includes('GET requests carry no body'))).toBe(true)
  })

  it('lists every problem in every file at once', () => {
    const ps = problems(pack({ 'a.b.yaml': `${MINIMAL}  framing: chunky\n`, 'c.d.yaml': MINIMAL.replace('id: a.b', 'id: c.d').replace('method: GET', 'method: FETCH') }))
    expect(new Set(ps.map((p) => p.file)).size).toBe(2)
    const err = (() => {
      try {
        loadContracts(join(ps[0]!.file, '..'))
      } catch (e) {
        return e as ContractError
      }
    })()!
    expect(err.code).toBe('DW_CONTRACT_INVALID')
    expect(err.message).toMatch(/invalid contracts \(2 problems\):\n {2}.*a\.b\.yaml:9:\d+ at \/expect\/framing: must be one of/)
  })

  it('explains a capture name that cannot be a variable', () => {
    const [p] = problems(pack({ 'a.b.yaml': `${MINIMAL}capture:\n  MediaId: /id\n` }))
    expect(p).toMatchObject({ path: '/capture/MediaId', line: 10 })
    expect(p!.message).toContain('must be lowercase snake_case')
  })

  it('accepts JSON contract files too', () => {
    const dir = pack({ 'j.son.json': JSON.stringify({ id: 'j.son', title: 'J', operation: 't.get', request: { method: 'GET', path: '/{api_version}/{phone_number_id}' }, expect: { status: [200] } }) })
    expect(loadContracts(dir).probes.map((c) => c.id)).toEqual(['j.son'])
  })

  it('fails clearly on a missing or empty directory', () => {
    expect(() => loadContracts('no/such/dir')).toThrow(HarnessError)
    expect(() => loadContracts('no/such/dir')).toThrow(/contract directory not found: no\/such\/dir/)
    const empty = mkdtempSync(join(tmpdir(), 'dw-empty-'))
    dirs.push(empty)
    mkdirSync(join(empty, 'schemas'))
    expect(() => loadContracts(empty)).toThrow(/no contract files/)
  })

  it('rejects a probe whose operation does not exist, with a suggestion', () => {
    const [p] = problems(pack({ 'a.b.yaml': MINIMAL.replace('operation: t.get', 'operation: t.gets') }))
    expect(p).toMatchObject({ path: '/operation', line: 3 })
    expect(p!.message).toContain('unknown operation "t.gets"; did you mean "t.get"?')
  })

  it('rejects a probe path that is not a path of its operation', () => {
    const [p] = problems(pack({ 'a.b.yaml': MINIMAL.replace('/{api_version}/{phone_number_id}', '/{api_version}/{phone_number_id}/media') }))
    expect(p).toMatchObject({ path: '/request/path' })
    expect(p!.message).toContain('is not a path of t.get (/{api_version}/{phone_number_id})')
  })

  it('rejects a probe that takes another operation\'s id (recordings are keyed by id)', () => {
    const ps = problems(pack({ 'operations/u.get.yaml': OPERATION.replace('id: t.get', 'id: u.get'), 'u.get.yaml': MINIMAL.replace('id: a.b', 'id: u.get') }))
    expect(ps[0]!.message).toContain('"u.get" is also an operation\'s id, but this probe exercises t.get')
  })

  it('rejects operation files with a path parameter that names no node, a Graph error listed by status, and no success', () => {
    const bad = OPERATION.replace('id: t.get', 'id: t.bad').replace('{phone_number_id}', '{phone_numbr}').replace('  200:\n    framing: content-length\n', '  400:\n    framing: content-length\n')
    const msgs = problems(pack({ 'operations/t.bad.yaml': bad })).map((p) => `${p.path}: ${p.message}`)
    expect(msgs).toContainEqual(expect.stringContaining('/request/path: path parameter {phone_numbr} names no node: a parameter is {<node>_id}'))
    expect(msgs).toContainEqual(expect.stringContaining('/responses/400: Graph errors are described once under "error"'))
    expect(msgs).toContainEqual(expect.stringContaining('/responses: document at least one success (2xx) response'))
  })

  it('rejects an operation without a source, with an unknown field, or with a request body schema that does not compile', () => {
    const bad = OPERATION.replace('id: t.get', 'id: t.bad').replace('source: a test fixture, not Meta\'s word\n', 'sorce: x\n').replace('  method: GET\n', '  method: POST\n  body:\n    type: json\n    schema: { type: nope }\n')
    const msgs = problems(pack({ 'operations/t.bad.yaml': bad })).map((p) => `${p.path}: ${p.message}`)
    expect(msgs).toContainEqual('/sorce: unknown field "sorce"; did you mean "source"?')
    expect(msgs).toContainEqual(': missing required field "source"')
    const bodyOnly = OPERATION.replace('id: t.get', 'id: t.bad').replace('  method: GET\n', '  method: POST\n  body:\n    type: json\n    schema: { type: nope }\n')
    expect(problems(pack({ 'operations/t.bad.yaml': bodyOnly })).map((p) => `${p.path}: ${p.message}`)).toContainEqual(expect.stringMatching(/^\/request\/body\/schema: not a valid JSON Schema/))
  })

  it('reports a body schema that does not compile', () => {
    const dir = pack({ 'a.b.yaml': `${MINIMAL}  body: { schema: broken.json }\n` }, true)
    writeFileSync(join(dir, 'schemas', 'broken.json'), JSON.stringify({ type: 'object', properties: { a: { type: 'no-such-type' } } }))
    expect(problems(dir).some((p) => p.file.endsWith('broken.json'))).toBe(true)
  })
})
