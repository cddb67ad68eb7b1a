/**
 * The shipped pack parsed at build time (src/contracts/parse.ts): a file whose text is exactly one the
 * table was built from gets the same data a parse gives, and a problem in it is located on the same
 * line; a changed file, a table from another parser, or a damaged table is never believed.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadPrebuiltParses, locate, parseFile, PREBUILT_FILE, prebuiltParses, type PrebuiltParses } from '../../src/contracts/parse.ts'
import type { ContractProblem } from '../../src/util/errors.ts'

const dir = mkdtempSync(join(tmpdir(), 'dw-prebuilt-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : /\.(ya?ml|json)$/.test(e.name) ? [join(d, e.name)] : []))
const PACK = walk('contracts/meta')
const NONE: PrebuiltParses = new Map()

writeFileSync(join(dir, PREBUILT_FILE), prebuiltParses(PACK.map((f) => readFileSync(f, 'utf8'))))
const table = loadPrebuiltParses(dir)

/** `parseFile` with a table, or with none (parsed here, as from src/). */
function parsed(file: string, t: PrebuiltParses) {
  const problems: ContractProblem[] = []
  const p = parseFile(file, file, problems, undefined, t)
  return { p, problems }
}

describe('a file the table holds', () => {
  it('every file of the shipped pack is in it, and gets the data a parse gives', () => {
    expect(table.size).toBe(PACK.length)
    for (const f of PACK) {
      const hit = parsed(f, table)
      const parse = parsed(f, NONE)
      expect(hit.problems).toEqual([])
      expect(hit.p!.data, f).toEqual(parse.p!.data)
    }
  })

  it('each use gets its own copy (loaders normalise the data in place)', () => {
    const f = PACK.find((x) => x.includes('operations/'))!
    const a = parsed(f, table).p!.data as Record<string, unknown>
    a.id = 'changed'
    expect((parsed(f, table).p!.data as Record<string, unknown>).id).not.toBe('changed')
  })

  it('a problem in it is located where a parse locates it', () => {
    const f = PACK.find((x) => x.endsWith('messages.send-text.yaml') && x.includes('operations/'))!
    const hit = parsed(f, table).p!
    const parse = parsed(f, NONE).p!
    for (const [pointer, key] of [['/request/path', undefined], ['/responses/200', 'framing'], ['/request/body/schema/anyOf/1', undefined], ['/nowhere/at/all', undefined]] as const) {
      expect(locate(hit, pointer, key)).toEqual(locate(parse, pointer, key))
    }
    expect(locate(hit, '/request/path').line).toBeGreaterThan(1)
  })
})

describe('what the table is not believed for', () => {
  it('stale: a file changed since the build is parsed, and its new text is what counts', () => {
    const f = join(dir, 'op.yaml')
    const original = readFileSync(PACK.find((x) => x.includes('operations/'))!, 'utf8')
    writeFileSync(f, original)
    expect(parsed(f, table).p!.data).toMatchObject({ title: expect.any(String) })
    writeFileSync(f, original.replace(/^title: .*$/m, 'title: Edited after the build'))
    expect((parsed(f, table).p!.data as { title: string }).title).toBe('Edited after the build')
    // And an edit that breaks it is reported as a parse reports it.
    writeFileSync(f, `${original}\nid: twice\n`)
    const broken = parsed(f, table)
    expect(broken.p).toBeUndefined()
    expect(broken.problems).toEqual(parsed(f, NONE).problems)
    expect(broken.problems[0]!.message).toMatch(/not valid YAML\/JSON/)
  })

  it('a value JSON cannot carry exactly (-0, .inf) is left to be parsed at run time', () => {
    const texts = ['a: -0\n', 'a: .inf\n', 'a: 1\n']
    const t = loadPrebuiltParses(mkTable('exact', prebuiltParses(texts)))
    expect(t.size).toBe(1)
    const f = join(dir, 'inf.yaml')
    writeFileSync(f, 'a: .inf\n')
    expect(parsed(f, t).p!.data).toEqual({ a: Infinity })
  })

  it('a table made by another parser or with other options (its key differs) is empty', () => {
    const good = readFileSync(join(dir, PREBUILT_FILE), 'utf8')
    const [, key] = good.split(' ')
    const other = good.replace(key!, key!.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')))
    expect(other).not.toBe(good)
    expect(loadPrebuiltParses(mkTable('other-key', other)).size).toBe(0)
  })

  it('corrupt: truncated, edited, not JSON, headless or empty, it is empty and nothing throws', () => {
    const good = readFileSync(join(dir, PREBUILT_FILE), 'utf8')
    const nl = good.indexOf('\n')
    const variants: Record<string, string> = {
      truncated: good.slice(0, Math.floor(good.length / 2)),
      // An entry's data edited in place: a parse would say otherwise.
      edited: good.replace('"title\\":\\"', '"title\\":\\"X'),
      'not-json': `${good.slice(0, nl + 1)}{ not json`,
      headless: good.slice(nl + 1),
      empty: '',
    }
    expect(variants.edited).not.toBe(good)
    for (const [name, text] of Object.entries(variants)) {
      const d = mkTable(name, text)
      expect(() => loadPrebuiltParses(d), name).not.toThrow()
      expect(loadPrebuiltParses(d).size, name).toBe(0)
    }
    // The intact table, under the same conditions, is believed.
    expect(loadPrebuiltParses(mkTable('intact', good)).size).toBe(PACK.length)
  })
})

/** A folder holding `text` as the table. */
function mkTable(name: string, text: string): string {
  const d = mkdtempSync(join(dir, `${name}-`))
  writeFileSync(join(d, PREBUILT_FILE), text)
  return d
}
