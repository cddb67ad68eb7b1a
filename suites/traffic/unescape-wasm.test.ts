/**
 * Long escaped body pieces are decoded by a WebAssembly module (src/traffic/unescape.wat, assembled
 * into unescape-wasm.ts) instead of the scanner's JavaScript loop. It is held to that loop: on random
 * long strings dense with escapes, surrogates (pairs, lone halves, a pair cut by a chunk), raw
 * control characters and bad escapes, read in random chunks, the bytes handed over and every error
 * (message and byte) are the same with it and without it, and both are Buffer.from(JSON.parse(...)).
 * And the committed module is what the .wat says.
 */
import { describe, expect, it } from 'vitest'
import { BYTES, JsonScanner, ScanError, type ScanHandler } from '../../src/traffic/json-scanner.ts'
import { unescapeFast } from '../../src/traffic/unescape-fast.ts'
import { UNESCAPE_WASM } from '../../src/traffic/unescape-wasm.ts'
import { assemble, generated } from '../../scripts/build-wasm.mjs'
import { fuzzCases, fuzzSeed, Rng } from '../fuzz/seed.ts'

const SEED = fuzzSeed()
const CASES = fuzzCases(3000, 600)

/** Every body string's bytes, as handed over. */
class Bodies implements ScanHandler {
  readonly strings: Buffer[] = []
  private parts: Buffer[] = []
  open(): void {}
  close(): void {}
  key(): void {}
  stringStart(): typeof BYTES {
    this.parts = []
    return BYTES
  }
  raw(buf: Buffer, start: number, end: number): boolean {
    this.parts.push(Buffer.from(buf.subarray(start, end)))
    return true
  }
  decoded(): boolean {
    throw new Error('BYTES mode hands bytes over')
  }
  decodedBytes(bytes: Buffer): boolean {
    // A view the scanner reuses: copied, as CapturedText hashes and copies it.
    this.parts.push(Buffer.from(bytes))
    return true
  }
  stringEnd(): void {
    this.strings.push(Buffer.concat(this.parts))
  }
  scalar(): void {}
}

function scan(doc: Buffer, chunk: (i: number) => number, jsUnescape: boolean): { strings: Buffer[]; error?: string } {
  const h = new Bodies()
  const scanner = new JsonScanner(h, { maxDepth: 10, jsUnescape })
  try {
    for (let at = 0, i = 0; at < doc.length; i++) {
      const n = Math.max(1, chunk(i))
      scanner.write(doc.subarray(at, at + n))
      at += n
    }
    scanner.end()
    return { strings: h.strings }
  } catch (err) {
    if (err instanceof ScanError) return { strings: h.strings, error: `${err.kind} at ${err.byte}: ${err.message}` }
    throw err
  }
}

/** String content as a HAR writes a binary body (bytes as characters, escapes every few), plus what breaks it. */
const PARTS = ['a', 'é', '€', '😀', '\\u00e9', '\\u20AC', '\\u0000', '\\n', '\\"', '\\\\', '\\/', '\\b\\f\\r\\t', '\\ud83d\\ude00', '\\uD83D', '\\uDE00', '\\ud800', 'Ā', '\u00ff', 'ÿ\\u0007']
const BROKEN = ['\u0001', '\\x', '\\u12G4', '\\u', '\\uZZZZ', '\t']

function content(rng: Rng, broken: boolean): string {
  let s = ''
  const n = rng.int(60, rng.chance(0.2) ? 4000 : 400)
  for (let i = 0; i < n; i++) s += rng.pick(PARTS)
  if (broken) {
    const at = rng.int(0, s.length)
    // Not inside an escape: before a backslash or at the end.
    const cut = s.lastIndexOf('\\', at) === -1 ? at : s.lastIndexOf('\\', at)
    s = s.slice(0, cut) + rng.pick(BROKEN) + s.slice(cut)
  }
  return s
}

describe(`long escaped pieces decoded by WebAssembly (seed ${SEED})`, () => {
  it('is the module unescape.wat assembles to (scripts/build-wasm.mjs was run after the last edit)', async () => {
    const bytes = await assemble()
    expect(generated(bytes)).toContain(`'${bytes.toString('base64')}'`)
    expect(UNESCAPE_WASM).toBe(bytes.toString('base64'))
  })

  it(`hands over the same bytes and throws the same errors as the JavaScript loop, on ${CASES} random long strings in random chunks`, () => {
    const rng = new Rng(SEED).fork('unescape-wasm')
    let errors = 0
    for (let c = 0; c < CASES; c++) {
      const broken = rng.chance(0.25)
      const strings = Array.from({ length: rng.int(1, 3) }, () => content(rng, broken && rng.chance(0.7)))
      const doc = Buffer.from(`[${strings.map((s) => `"${s}"`).join(',')}]`, 'utf8')
      const kind = rng.int(0, 2)
      const sizes = Array.from({ length: 64 }, () => (kind === 0 ? rng.int(1, 40) : kind === 1 ? rng.int(200, 3000) : 64 * 1024))
      const chunk = (i: number) => sizes[i % sizes.length]!
      const fast = scan(doc, chunk, false)
      const js = scan(doc, chunk, true)
      expect(fast, `case ${c} (seed ${SEED})`).toEqual(js)
      let reference: Buffer[] | undefined
      try {
        reference = (JSON.parse(doc.toString('utf8')) as string[]).map((s) => Buffer.from(s, 'utf8'))
      } catch {
        reference = undefined
      }
      if (reference) expect(fast.strings).toEqual(reference)
      else {
        expect(fast.error).toBeDefined()
        errors++
      }
    }
    // Both kinds were tried.
    expect(errors).toBeGreaterThan(0)
    expect(errors).toBeLessThan(CASES)
  })

  it('stops at a surrogate escape with what came before it, refuses a raw control character, and decodes the rest', () => {
    // Content between two bytes of something else, as a piece sits in a chunk.
    const fast = (s: string) => unescapeFast(Buffer.from(`xx${s}yy`, 'latin1'), 2, 2 + Buffer.byteLength(s, 'latin1'))
    const done = fast('\\u00e9\\n\\"A')
    expect(done.kind === 'done' && done.out.toString('utf8')).toBe('é\n"A')
    const stop = fast('ab\\ud83d\\ude00')
    expect(stop.kind).toBe('surrogate')
    expect(stop.kind === 'surrogate' && [stop.read, stop.out.toString('utf8')]).toEqual([2, 'ab'])
    expect(fast('ab\u0001c').kind).toBe('invalid')
    expect(fast('ab\\q').kind).toBe('invalid')
    expect(fast('ab\\u00g0').kind).toBe('invalid')
    expect(fast('ab\\u00').kind).toBe('invalid')
  })

  it('grows its memory for a piece larger than it has held', () => {
    const big = Buffer.from('\\u00e9'.repeat(200_000), 'latin1')
    const r = unescapeFast(big, 0, big.length)
    expect(r.kind === 'done' && r.out.equals(Buffer.from('é'.repeat(200_000), 'utf8'))).toBe(true)
  })
})
