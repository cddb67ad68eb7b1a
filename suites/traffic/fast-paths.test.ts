/**
 * Shortcuts the traffic pipeline takes for speed must answer what the long way answers: a body's
 * schema inferred alone (each body of traffic is) is the schema the general walk infers, parsed
 * URLs are shared but never a long one kept, and attribution by a path's length finds the
 * operations trying every template finds.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadContracts } from '../../src/contracts/load.ts'
import { pathSegments } from '../../src/graph/index.ts'
import { inferSchema } from '../../src/schema/infer.ts'
import { attributeRequest, bindPath, trafficState } from '../../src/traffic/attribute.ts'
import { parsedUrl } from '../../src/traffic/parsed-url.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const FIXTURE = join(ROOT, 'suites', 'verify', 'fixtures', 'cloud-api-traffic.har')

/** Every JSON body of the fixture capture, and values of every awkward shape. */
function bodies(): unknown[] {
  const har = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { log: { entries: { request: { postData?: { text?: string } }; response: { content: { text?: string } } }[] } }
  const out: unknown[] = [null, 0, 1.5, -0, 'text', true, [], {}, [1, 'a', null, { b: 1 }, { c: [1.5] }], { a: [{ x: 1 }, { y: 2.5, x: 'x' }] }, JSON.parse('{"__proto__": {"x": 1}, "a": [[1], [2.5]]}')]
  for (const e of har.log.entries) {
    for (const text of [e.response.content.text, e.request.postData?.text]) {
      try {
        if (text) out.push(JSON.parse(text))
      } catch {
        // not JSON: nothing to infer
      }
    }
  }
  let deep: unknown = 1
  for (let i = 0; i < 300; i++) deep = { a: [deep] }
  out.push(deep)
  return out
}

describe('a body inferred alone', () => {
  it('is the schema the walk over several values gives for the same value twice', () => {
    const all = bodies()
    expect(all.length).toBeGreaterThan(40)
    for (const v of all) expect(JSON.stringify(inferSchema([v])), JSON.stringify(v).slice(0, 200)).toBe(JSON.stringify(inferSchema([v, v])))
  })
})

describe('parsed URLs', () => {
  it('are parsed once and shared, a URL that does not parse is undefined, a long one is never kept', () => {
    const url = 'https://graph.facebook.com/v23.0/106540352242922/messages?fields=id'
    expect(parsedUrl(url)).toBe(parsedUrl(url))
    expect(parsedUrl(url)?.searchParams.get('fields')).toBe('id')
    expect(parsedUrl('not a url')).toBeUndefined()
    const long = `https://example.com/?q=${'x'.repeat(5000)}`
    expect(parsedUrl(long)?.host).toBe('example.com')
    expect(parsedUrl(long)).not.toBe(parsedUrl(long))
  })
})

describe('attribution by path length', () => {
  const pack = loadContracts(join(ROOT, 'contracts', 'meta'), { cwd: ROOT })

  it('finds on every path the operations that binding every template finds, with and without a version', () => {
    let bound = 0
    for (const op of pack.operations) {
      const concrete = op.request.path.replace(/\{api_version\}/, 'v23.0').replace(/\{[a-z_]+\}/g, '1234567890')
      for (const path of [concrete, concrete.replace(/^\/v23\.0/, '')]) {
        const segments = pathSegments(path)
        const want = pack.operations.filter((o) => bindPath(o.request.path, segments)).map((o) => o.id)
        const got = attributeRequest(pack, { method: op.request.method, url: new URL(`https://graph.facebook.com${path}`) }, trafficState()).onPath.map((b) => b.op.id)
        // onPath is every operation bound (before the method narrows): the ids the long way binds, in pack order.
        if (got.length > 0) expect(got, path).toEqual(want)
        else expect(want, path).toEqual([])
        bound += got.length
      }
    }
    expect(bound).toBeGreaterThan(pack.operations.length)
  })
})
