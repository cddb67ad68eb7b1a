/**
 * The HAR reader finds each entry's bounds by bytes and has JSON.parse build entries up to 1 MiB
 * (ten times faster than building them from the scanner's events); larger entries stream as
 * events. Both roads must give the same entries, and the same DW_HAR_INVALID for a broken file:
 * held here to the events-only reading (wholeEntryBytes 0) on the fixtures, on real-shaped traffic
 * with multi-MB bodies, on entries of every wrong shape, and on files broken anywhere.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { HarnessError } from '../../src/util/errors.ts'
import { PersonalDataRedactor } from '../../src/recordings/personal-data.ts'
import { streamHar } from '../../src/traffic/har.ts'
import type { TrafficEntry } from '../../src/traffic/entry.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { fuzzCases, Rng } from '../fuzz/seed.ts'
import { writeLargeHar } from '../helpers/large-har.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const FIXTURES = join(import.meta.dirname, '..', 'verify', 'fixtures')
const TOKEN = 'EAAGtraffic0fixture0token0not0real0ZDZD'
const { dir } = tempDirs('dw-whole-')
// Random edits of the fixture, each read both ways: every one in test:e2e, the first 24 in npm test.
const EDITS = fuzzCases(60, 24)

/** Every entry of the file, or the error, read with entries up to `whole` bytes parsed whole. */
async function read(file: string, whole?: number): Promise<{ entries: TrafficEntry[]; error?: { code: string; message: string } }> {
  const entries: TrafficEntry[] = []
  try {
    for await (const e of streamHar(file, new Redactor({ secrets: [TOKEN], personal: ['16505551234'] }), new PersonalDataRedactor(), dir(), whole === undefined ? {} : { wholeEntryBytes: whole })) entries.push(e)
    return { entries }
  } catch (err) {
    if (!(err instanceof HarnessError)) throw err
    return { entries, error: { code: err.code, message: err.message } }
  }
}

async function same(file: string): Promise<Awaited<ReturnType<typeof read>>> {
  const fast = await read(file)
  expect(fast).toEqual(await read(file, 0))
  return fast
}

describe('entries parsed whole are the entries the events build', () => {
  it('on the fixtures: the same entries, secrets and personal data redacted the same way', async () => {
    for (const name of ['cloud-api-traffic.har', 'sdk-sends.har', 'meta-media.har']) {
      const got = await same(join(FIXTURES, name))
      expect(got.entries.length).toBeGreaterThan(2)
      expect(JSON.stringify(got.entries)).not.toContain(TOKEN)
    }
  })

  it('on real-shaped traffic with 1.5 MB uploads and downloads (those entries stream): the same entries', async () => {
    const file = join(dir(), 'media.har')
    await writeLargeHar(file, { entries: 72 * 2, media: { bytes: 1.5 * 1024 * 1024 } })
    const got = await same(file)
    expect(got.entries).toHaveLength(144)
    const download = got.entries.find((e) => e.observation.request.url.includes('lookaside'))!
    expect(download.observation.response!.body).toMatchObject({ size: 1.5 * 1024 * 1024, truncated: true })
  })

  it('on fields of every wrong type, wrong-kind containers and __proto__ keys: the same entries or the same DW_HAR_INVALID', async () => {
    const base = JSON.parse(readFileSync(join(FIXTURES, 'cloud-api-traffic.har'), 'utf8'))
    const rng = new Rng(20261207)
    const values = [null, 0, 'text', true, [], {}, [1, 'a'], { a: 1 }, { __proto__: 1 }]
    const paths = ['time', 'request', 'request.url', 'request.headers', 'request.headers.0', 'request.headers.0.value', 'request.postData', 'request.postData.text', 'response.status', 'response.headers', 'response.content', 'response.content.text', 'response.content.encoding', 'response.content.size', 'timings', 'timings.wait', '__proto__']
    let failed = 0
    for (let i = 0; i < EDITS; i++) {
      const har = structuredClone(base)
      const entry = har.log.entries[rng.int(0, 71)]
      const keys = rng.pick(paths).split('.')
      let at = entry
      for (const k of keys.slice(0, -1)) at = at?.[k]
      if (at && typeof at === 'object') Object.defineProperty(at, keys.at(-1)!, { value: structuredClone(rng.pick(values)), enumerable: true, writable: true, configurable: true })
      const file = join(dir(), `wrong-${i}.har`)
      writeFileSync(file, JSON.stringify(har, null, rng.chance(0.5) ? 2 : 0))
      if ((await same(file)).error) failed++
    }
    // Both kinds of outcome were compared.
    expect(failed).toBeGreaterThan(EDITS / 12)
    expect(failed).toBeLessThan(EDITS)
  })

  it('on a container wherever a scalar belongs: the same entries or the same DW_HAR_INVALID, never a crash', async () => {
    const base = JSON.parse(readFileSync(join(FIXTURES, 'cloud-api-traffic.har'), 'utf8'))
    const paths = ['startedDateTime', 'time', 'request.method', 'request.httpVersion', 'request.headers.0.name', 'request.headers.0.value', 'request.bodySize', 'response.statusText', 'response.httpVersion', 'response.headers.1.value', 'response.content.mimeType', 'response.content.encoding', 'timings.wait']
    let outcomes = 0
    for (const path of paths) {
      for (const value of [[], {}, [1, 'a'], { a: 1 }]) {
        const har = structuredClone(base)
        const keys = path.split('.')
        let at = har.log.entries[3]
        for (const k of keys.slice(0, -1)) at = at[k]
        at[keys.at(-1)!] = value
        const file = join(dir(), `container-${outcomes++}.har`)
        writeFileSync(file, JSON.stringify(har))
        const { error } = await same(file)
        // Read as a string (.replace), a version that is not one is named, not reported as JavaScript's TypeError.
        if (path === 'response.httpVersion') expect(error?.message).toContain('log.entries[3].response.httpVersion must be text')
      }
    }
    expect(outcomes).toBe(paths.length * 4)
  })

  it('on files broken at a random byte: the same entries before it, and the same error naming the same entry', async () => {
    const text = readFileSync(join(FIXTURES, 'cloud-api-traffic.har'))
    const rng = new Rng(20261208)
    for (let i = 0; i < EDITS; i++) {
      const at = rng.int(0, text.length - 1)
      const broken = rng.chance(0.5) ? text.subarray(0, at) : Buffer.concat([text.subarray(0, at), Buffer.from(rng.pick(['}', ']', '"', '\\', '\u0001', 'x', ','])), text.subarray(at + 1)])
      const file = join(dir(), `broken-${i}.har`)
      writeFileSync(file, broken)
      const got = await same(file)
      if (got.error) expect(got.error.code).toBe('DW_HAR_INVALID')
    }
  })

  it('on nesting past 256 levels inside an entry: refused at that depth, naming the entry and the path', async () => {
    const har = JSON.parse(readFileSync(join(FIXTURES, 'cloud-api-traffic.har'), 'utf8'))
    const file = join(dir(), 'deep.har')
    const text = JSON.stringify(har).replace('"cookies":[]', `"cookies":${'['.repeat(300)}${']'.repeat(300)}`)
    writeFileSync(file, text)
    const got = await same(file)
    expect(got.error?.message).toMatch(/log\.entries\[0\]\.request\.cookies.* is nested deeper than 256 levels \(entry 1\)/)
  })
})
