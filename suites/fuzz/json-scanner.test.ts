/**
 * The streaming JSON scanner that reads HARs is hostile-input code written by hand (see its header
 * for why), so it is held to JSON.parse: on random documents, valid and broken, cut into random
 * chunks (1 byte to 64 KB, so every escape, UTF-8 sequence, number and literal is split somewhere),
 * it must accept exactly what JSON.parse accepts and rebuild exactly the value JSON.parse builds;
 * bodies read as bytes must be exactly Buffer.from(JSON.parse(...)). Nesting past its limit is a
 * depth error, never a stack overflow. A body's base64 reading must equal Buffer.from(text, 'base64').
 * Seeded: a failure prints the seed, and DRIFTWATCH_FUZZ_SEED replays it.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { jsonDepth } from '../../src/util/json.ts'
import { CapturedText, KEPT_BODY_BYTES } from '../../src/traffic/captured-text.ts'
import { BYTES, JsonScanner, ScanError, SKIP, TEXT, type ScanHandler, type StringMode } from '../../src/traffic/json-scanner.ts'
import { fuzzCases, fuzzSeed, Rng } from './seed.ts'

const SEED = fuzzSeed()
// The costly loops: all their cases in test:e2e, the first third in npm test.
const VALID = fuzzCases(1500, 500)
const BROKEN = fuzzCases(3000, 1000)
const DEEP = fuzzCases(40, 15)
/** 1500 as "1,500", for the tests' names. */
const count = (n: number) => n.toLocaleString('en-US')

/** Rebuilds the value from the scanner's events; strings as text, or (bytes) as UTF-8 bytes checked separately. */
class Builder implements ScanHandler {
  readonly stack: { value: Record<string, unknown> | unknown[]; key?: string }[] = []
  root: unknown
  done = false
  private text = ''
  private bytes: Buffer[] = []
  /** Every string read as bytes, in document order. */
  readonly byteStrings: Buffer[] = []
  constructor(private readonly mode: StringMode) {}

  private put(v: unknown): void {
    const top = this.stack.at(-1)
    if (!top) {
      this.root = v
      this.done = true
    } else if (Array.isArray(top.value)) top.value.push(v)
    else Object.defineProperty(top.value, top.key!, { value: v, enumerable: true, writable: true, configurable: true })
  }

  open(array: boolean): void {
    const value = array ? [] : {}
    this.put(value)
    this.done = false
    this.stack.push({ value })
  }
  close(): void {
    this.stack.pop()
    if (this.stack.length === 0) this.done = true
  }
  key(name: string): void {
    this.stack.at(-1)!.key = name
  }
  stringStart(): StringMode {
    this.text = ''
    this.bytes = []
    return this.mode
  }
  raw(buf: Buffer, start: number, end: number): boolean {
    if (this.mode === BYTES) {
      const b = buf.subarray(start, end)
      // As the file's text reads invalid UTF-8: U+FFFD.
      this.bytes.push(Buffer.from(b.toString('utf8')))
    } else this.text += buf.toString('utf8', start, end)
    return true
  }
  decoded(text: string): boolean {
    this.text += text
    return true
  }
  decodedBytes(bytes: Buffer): boolean {
    this.bytes.push(Buffer.from(bytes.toString('utf8')))
    return true
  }
  stringEnd(): void {
    if (this.mode === BYTES) {
      const all = Buffer.concat(this.bytes)
      this.byteStrings.push(all)
      this.put({ utf8: all.toString('hex') })
    } else this.put(this.text)
  }
  scalar(value: number | boolean | null): void {
    this.put(value)
  }
}

/** A Builder that has containers at chosen depths handed over whole, and parses them with JSON.parse (as the HAR reader does entries). */
class WholeBuilder extends Builder {
  /** Containers handed over whole. */
  wholes = 0
  constructor(private readonly at: (depth: number) => boolean) {
    super(TEXT)
  }
  wantsWhole(_array: boolean, depth: number): boolean {
    return this.at(depth)
  }
  whole(parts: readonly Buffer[]): boolean {
    try {
      const value = JSON.parse(Buffer.concat(parts).toString('utf8'))
      this.wholes++
      // As the events build it: then closed at once.
      this.open(Array.isArray(value))
      const top = this.stack.at(-1)!
      top.value = value
      const parent = this.stack.at(-2)
      if (parent) {
        if (Array.isArray(parent.value)) parent.value[parent.value.length - 1] = value
        else Object.defineProperty(parent.value, parent.key!, { value, enumerable: true, writable: true, configurable: true })
      } else this.root = value
      this.close()
      return true
    } catch {
      return false
    }
  }
}

/** Scans `bytes` in chunks of the given sizes; the value, or the error. */
function scan(bytes: Buffer, sizes: (i: number) => number, mode: StringMode = TEXT, maxDepth = 10_000, whole?: { at: (depth: number) => boolean; bytes: number }): { value?: unknown; error?: ScanError; builder: Builder } {
  const builder = whole ? new WholeBuilder(whole.at) : new Builder(mode)
  const scanner = new JsonScanner(builder, { maxDepth, maxKey: 1e9, ...(whole ? { wholeBytes: whole.bytes } : {}) })
  try {
    let at = 0
    for (let i = 0; at < bytes.length; i++) {
      const n = Math.max(1, sizes(i))
      scanner.write(bytes.subarray(at, at + n))
      at += n
    }
    scanner.end()
    return { value: builder.root, builder }
  } catch (err) {
    if (err instanceof ScanError) return { error: err, builder }
    throw err
  }
}

/** What JSON.parse makes of the same bytes (read as a file is: UTF-8, a BOM skipped). */
function reference(bytes: Buffer): { value?: unknown; error?: string } {
  let text = bytes.toString('utf8')
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  try {
    return { value: JSON.parse(text) }
  } catch (err) {
    return { error: (err as Error).message }
  }
}

/** The value with every string as `{ utf8: hex }`, as a BYTES Builder rebuilds it. */
function stringsAsBytes(v: unknown): unknown {
  if (typeof v === 'string') return { utf8: Buffer.from(v).toString('hex') }
  if (Array.isArray(v)) return v.map(stringsAsBytes)
  if (v && typeof v === 'object') {
    const out = {}
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: stringsAsBytes(x), enumerable: true, writable: true, configurable: true })
    return out
  }
  return v
}

const STRING_PARTS = ['a', 'Z', ' ', 'é', '€', '😀', '\u0000', '\u001f', '"', '\\', '/', '\n', '\t', '\u2028', '\ud800', '\udc00', '\ud83d', '\ude00', 'ĀĀ', '\u007f', 'QUJD', '==']

function randomString(rng: Rng): string {
  let s = ''
  const n = rng.chance(0.1) ? rng.int(0, 3000) : rng.int(0, 12)
  for (let i = 0; i < n; i++) s += rng.pick(STRING_PARTS)
  return s
}

function randomNumber(rng: Rng): string {
  switch (rng.int(0, 5)) {
    case 0:
      return String(rng.int(-1000, 1000))
    case 1:
      return String((rng.next() - 0.5) * 10 ** rng.int(-300, 300))
    case 2:
      return `${rng.pick(['', '-'])}${rng.int(0, 9)}.${'7'.repeat(rng.int(1, 40))}e${rng.pick(['', '+', '-'])}${rng.int(0, 400)}`
    case 3:
      // Longer than the scanner keeps verbatim: its value is worked out from the digits counted.
      return `${rng.pick(['', '-'])}${rng.int(1, 9)}${'3'.repeat(rng.int(400, 1200))}${rng.chance(0.5) ? `.${'9'.repeat(rng.int(1, 900))}` : ''}${rng.chance(0.5) ? `e-${rng.int(0, 1500)}` : ''}`
    case 4:
      return `0.${'0'.repeat(rng.int(0, 1000))}1${rng.chance(0.5) ? `E${'0'.repeat(rng.int(0, 600))}${rng.int(0, 9)}` : ''}`
    default:
      return rng.pick(['0', '-0', '0e0', '1E+2', '-0.0', '1e999', '-1e-999'])
  }
}

/** A JSON text of a random value, with random whitespace and random escaping. */
function randomJson(rng: Rng, depth = 0): string {
  const ws = () => (rng.chance(0.2) ? rng.pick([' ', '\n', '\t', '\r\n  ']) : '')
  const str = (s: string) => {
    // Escapes JSON.stringify does not write, now and then: \/ and \uXXXX (either case) for ordinary characters.
    const escapeMore = rng.chance(0.3)
    let out = '"'
    for (const c of s) {
      if (escapeMore && /[a-z/]/.test(c) && rng.chance(0.3)) out += c === '/' ? '\\/' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
      else out += JSON.stringify(c).slice(1, -1).replace(/\\u00([0-9a-f]{2})/g, (m, h: string) => (escapeMore ? `\\u00${h.toUpperCase()}` : m))
    }
    return `${out}"`
  }
  const kind = depth > 6 ? rng.int(0, 3) : rng.int(0, 5)
  switch (kind) {
    case 0:
      return str(randomString(rng))
    case 1:
      return randomNumber(rng)
    case 2:
      return rng.pick(['true', 'false', 'null'])
    case 3:
      return `"${'x'.repeat(rng.int(0, 5))}"`
    case 4: {
      const items = Array.from({ length: rng.int(0, 5) }, () => `${ws()}${randomJson(rng, depth + 1)}${ws()}`)
      return `[${items.join(',')}${items.length ? '' : ws()}]`
    }
    default: {
      const keys = Array.from({ length: rng.int(0, 5) }, () => `${ws()}${str(rng.chance(0.1) ? '__proto__' : randomString(rng))}${ws()}:${ws()}${randomJson(rng, depth + 1)}${ws()}`)
      return `{${keys.join(',')}${keys.length ? '' : ws()}}`
    }
  }
}

/** One broken byte: removed, doubled, replaced by a syntax character or by a random byte; or the text cut short. */
function mutate(rng: Rng, bytes: Buffer): Buffer {
  if (bytes.length === 0) return Buffer.from(rng.pick(['', ' ', '{', '"']))
  const at = rng.int(0, bytes.length - 1)
  switch (rng.int(0, 4)) {
    case 0:
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)])
    case 1:
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at, at + 1), bytes.subarray(at)])
    case 2:
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(rng.pick(['"', '\\', ',', ':', '[', ']', '{', '}', '-', '.', 'e', '0', 'u', '\u0001', ' ', 'x'])), bytes.subarray(at + 1)])
    case 3:
      return Buffer.concat([bytes.subarray(0, at), Buffer.from([rng.int(0, 255)]), bytes.subarray(at + 1)])
    default:
      return bytes.subarray(0, at)
  }
}

const chunking = (rng: Rng) => {
  const kind = rng.int(0, 3)
  return (_i: number) => (kind === 0 ? 1 : kind === 1 ? rng.int(1, 7) : kind === 2 ? rng.int(1, 300) : 64 * 1024)
}

describe(`the JSON scanner agrees with JSON.parse (seed ${SEED})`, () => {
  it(`on ${count(VALID)} valid documents, in random chunks: the same value, and bodies as the same bytes`, () => {
    const rng = new Rng(SEED).fork('valid')
    for (let i = 0; i < VALID; i++) {
      const r = rng.fork(i)
      const text = randomJson(r)
      const bytes = Buffer.from(text)
      const want = reference(bytes)
      const got = scan(bytes, chunking(r))
      expect.soft(got.error?.message, `case ${i} (replay with DRIFTWATCH_FUZZ_SEED=${SEED}): ${text.slice(0, 300)}`).toBeUndefined()
      expect.soft(got.value, `case ${i}: ${text.slice(0, 300)}`).toEqual(want.value)
      // As bytes: each string is what Buffer.from writes for JSON.parse's string (a lone surrogate as U+FFFD).
      const asBytes = scan(bytes, chunking(r), BYTES)
      expect.soft(asBytes.value, `case ${i} as bytes: ${text.slice(0, 300)}`).toEqual(stringsAsBytes(want.value))
    }
  })

  it(`on ${count(BROKEN)} broken documents: refused exactly when JSON.parse refuses, with a ScanError and a byte offset`, () => {
    const rng = new Rng(SEED).fork('broken')
    let refused = 0
    for (let i = 0; i < BROKEN; i++) {
      const r = rng.fork(i)
      let bytes: Buffer = Buffer.from(randomJson(r))
      for (let k = r.int(1, 3); k > 0; k--) bytes = mutate(r, bytes)
      const want = reference(bytes)
      const got = scan(bytes, chunking(r), r.pick([TEXT, BYTES, SKIP]))
      const what = `case ${i} (replay with DRIFTWATCH_FUZZ_SEED=${SEED}): ${JSON.stringify(bytes.toString('latin1').slice(0, 300))}`
      expect.soft(got.error === undefined, `${what}: JSON.parse says ${want.error ?? 'valid'}, the scanner ${got.error?.message ?? 'valid'}`).toBe(want.error === undefined)
      if (got.error) {
        refused++
        expect.soft(got.error.byte).toBeGreaterThanOrEqual(0)
        expect.soft(got.error.byte).toBeLessThanOrEqual(bytes.length)
      } else if (got.value !== undefined && want.value !== undefined && r.chance(0.5)) expect.soft(scan(bytes, chunking(r)).value, what).toEqual(want.value)
    }
    // The mutations do break documents (the comparison is not vacuous).
    expect(refused).toBeGreaterThan(BROKEN / 3)
  })

  it('refuses nesting past its limit at that depth, at any depth up to 400,000, without recursion', () => {
    const rng = new Rng(SEED).fork('deep')
    const seen = { refused: 0, read: 0 }
    for (let i = 0; i < DEEP; i++) {
      const depth = rng.int(1, rng.chance(0.5) ? 600 : 400_000)
      const limit = rng.int(1, 300)
      const open = Array.from({ length: depth }, () => rng.pick(['[', '{"k":'])).join('')
      const close = [...open.matchAll(/\[|\{"k":/g)].map((m) => (m[0] === '[' ? ']' : '}')).reverse().join('')
      const text = `${open}1${close}`
      const got = scan(Buffer.from(text), () => rng.int(1, 70_000), SKIP, limit)
      if (depth > limit) {
        expect(got.error?.kind, `depth ${depth}, limit ${limit}`).toBe('depth')
        // Refused where the limit is crossed, not after reading the rest.
        expect(got.error!.byte).toBeLessThanOrEqual(open.length)
        seen.refused++
      } else {
        expect(got.error, `depth ${depth}, limit ${limit}`).toBeUndefined()
        expect(jsonDepth(text)).toBe(depth)
        seen.read++
      }
    }
    // Both sides of the limit were tried.
    expect(seen.refused).toBeGreaterThan(0)
    expect(seen.read).toBeGreaterThan(0)
  })

  it('reads a string of 64 MB in bounded pieces, never as one string, with its length and hash right', () => {
    const piece = Buffer.from('0123456789abcdef\\n\\u00e9\\"'.repeat(4096))
    const n = Math.ceil((64 * 1024 * 1024) / piece.length)
    let longest = 0
    let bytes = 0
    const hash = createHash('sha256')
    const h: ScanHandler = {
      open() {},
      close() {},
      key() {},
      scalar() {},
      stringEnd() {},
      stringStart: () => BYTES,
      decoded: () => true,
      raw: () => true,
      decodedBytes(b) {
        longest = Math.max(longest, b.length)
        bytes += b.length
        hash.update(b)
        return true
      },
    }
    const scanner = new JsonScanner(h, { maxDepth: 4 })
    const want = createHash('sha256')
    const decodedPiece = Buffer.from('0123456789abcdef\né"'.repeat(4096))
    scanner.write(Buffer.from('["'))
    for (let i = 0; i < n; i++) {
      scanner.write(piece)
      want.update(decodedPiece)
    }
    scanner.write(Buffer.from('"]'))
    scanner.end()
    expect(bytes).toBe(decodedPiece.length * n)
    expect(hash.digest('hex')).toBe(want.digest('hex'))
    expect(longest).toBeLessThanOrEqual(piece.length + 8)
  })
})

describe(`containers wanted whole (bounds found by bytes, JSON.parse builds them) read as events would (seed ${SEED})`, () => {
  const wanting = (r: Rng) => {
    const depths = new Set(Array.from({ length: r.int(1, 3) }, () => r.int(1, 4)))
    return { at: (d: number) => depths.has(d), bytes: r.pick([1, 16, 200, 4096, 1024 * 1024]) }
  }

  it(`on ${count(VALID)} valid documents, in random chunks, some containers over the size bound: the value JSON.parse builds`, () => {
    const rng = new Rng(SEED).fork('whole-valid')
    let wholes = 0
    for (let i = 0; i < VALID; i++) {
      const r = rng.fork(i)
      const text = randomJson(r)
      const got = scan(Buffer.from(text), chunking(r), TEXT, 10_000, wanting(r))
      wholes += (got.builder as WholeBuilder).wholes
      expect.soft(got.error?.message, `case ${i} (replay with DRIFTWATCH_FUZZ_SEED=${SEED}): ${text.slice(0, 300)}`).toBeUndefined()
      expect.soft(got.value, `case ${i}: ${text.slice(0, 300)}`).toEqual(reference(Buffer.from(text)).value)
    }
    // Containers were handed over whole (the comparison is not only of events).
    expect(wholes).toBeGreaterThan(VALID / 7.5)
  })

  it(`on ${count(BROKEN)} broken documents and at depth limits: the same error, at the same byte, as events give`, () => {
    const rng = new Rng(SEED).fork('whole-broken')
    let refused = 0
    for (let i = 0; i < BROKEN; i++) {
      const r = rng.fork(i)
      let bytes: Buffer = Buffer.from(randomJson(r))
      for (let k = r.int(1, 3); k > 0; k--) bytes = mutate(r, bytes)
      const limit = r.pick([3, 5, 10_000])
      const sizes = r.int(1, 300)
      const events = scan(bytes, () => sizes, TEXT, limit)
      const wholes = scan(bytes, () => sizes, TEXT, limit, wanting(r))
      const what = `case ${i} (replay with DRIFTWATCH_FUZZ_SEED=${SEED}): ${JSON.stringify(bytes.toString('latin1').slice(0, 300))}`
      if (events.error) refused++
      // A bad escape is named by the piece of string it is in, and pieces end where chunks do: the two pieces overlap.
      const piece = (e: ScanError | undefined) => (e ? /between bytes (\d+) and (\d+)/.exec(e.message)?.slice(1).map(Number) : undefined)
      const [a, b] = [piece(wholes.error), piece(events.error)]
      const same = (e: ScanError | undefined) => e && { message: a && b ? 'a bad escape' : e.message, byte: a && b ? 0 : e.byte, kind: e.kind }
      expect.soft(same(wholes.error), what).toEqual(same(events.error))
      if (a && b) expect.soft(a[0]! <= b[1]! && b[0]! <= a[1]!, `${what}: ${wholes.error!.message} vs ${events.error!.message}`).toBe(true)
      if (!events.error) expect.soft(wholes.value, what).toEqual(events.value)
    }
    expect(refused).toBeGreaterThan(BROKEN / 3)
  })
})

describe(`a body's base64 reading agrees with Buffer.from(text, 'base64') (seed ${SEED})`, () => {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_'
  it('on 2,000 texts of base64, padding anywhere, whitespace and base64url, streamed in random pieces', () => {
    const rng = new Rng(SEED).fork('base64')
    for (let i = 0; i < 2000; i++) {
      const r = rng.fork(i)
      let text = ''
      for (let n = r.int(0, r.chance(0.1) ? 5000 : 40); n > 0; n--) text += r.chance(0.05) ? r.pick([' ', '\n', '\r\n', '\t', '=', '==']) : ALPHABET[r.int(0, ALPHABET.length - 1)]
      const c = new CapturedText(true)
      for (let at = 0; at < text.length; ) {
        const n = r.int(1, 50)
        const buf = Buffer.from(text.slice(at, at + n))
        c.raw(buf, 0, buf.length, !/[^A-Za-z0-9+/=_-]/.test(buf.toString('latin1')))
        at += n
      }
      const want = Buffer.from(text, 'base64')
      const got = c.base64()!
      expect.soft({ size: got.size, sha256: got.sha256 }, `case ${i} (replay with DRIFTWATCH_FUZZ_SEED=${SEED}): ${JSON.stringify(text.slice(0, 200))}`).toEqual({ size: want.length, sha256: createHash('sha256').update(want).digest('hex') })
      expect.soft(got.window.equals(want.subarray(0, got.window.length))).toBe(true)
    }
  })

  it('reads a body already whole (CapturedText.of, an entry JSON.parse read) as its streamed pieces', () => {
    const rng = new Rng(SEED).fork('base64-whole')
    for (let i = 0; i < 500; i++) {
      const r = rng.fork(i)
      let text = ''
      for (let n = r.int(0, r.chance(0.1) ? 5000 : 40); n > 0; n--) text += r.chance(0.05) ? r.pick([' ', '\n', '=', 'é', '{', '\ud800']) : ALPHABET[r.int(0, ALPHABET.length - 1)]
      const streamed = new CapturedText(true)
      const bytes = Buffer.from(text)
      streamed.decodedBytes(bytes)
      const whole = CapturedText.of(text, true)
      expect.soft(whole.base64(), `case ${i}: ${JSON.stringify(text.slice(0, 200))}`).toEqual(streamed.base64())
      expect.soft(whole.text(), `case ${i}`).toEqual(streamed.text())
    }
  })

  it('has none for a text with a character that is not base64, and keeps the cap of the rest', () => {
    const c = new CapturedText(true)
    const buf = Buffer.from('QUJD!QUJD')
    c.raw(buf, 0, buf.length, false)
    expect(c.base64()).toBeUndefined()
    expect(c.text().size).toBe(9)
    const big = new CapturedText(false)
    const part = Buffer.alloc(1024 * 1024, 'a')
    for (let i = 0; i < 3; i++) big.raw(part, 0, part.length, true)
    const t = big.text()
    expect(t).toMatchObject({ size: 3 * 1024 * 1024, truncated: true })
    expect(t.window.length).toBeGreaterThan(KEPT_BODY_BYTES)
    expect(t.window.length).toBeLessThan(KEPT_BODY_BYTES + 64 * 1024)
  })
})
