/**
 * The HAR scanner's byte loops run in a WebAssembly module (src/traffic/wasm-loops.wat, assembled
 * into wasm-loops-module.ts): decoding long escaped pieces, checking long raw ones for base64 and
 * control characters, skimming containers wanted whole. Each is held to the scanner's JavaScript
 * (ScanOptions.noWasm): on random documents of long strings dense with escapes, surrogates (pairs,
 * lone halves, a pair cut by a chunk), base64, raw control characters and bad escapes, nested and
 * read in random chunks, what the handler is told and every error (message and byte) are the same
 * with it and without it, and bodies are Buffer.from(JSON.parse(...)). And the committed module is
 * what the .wat says.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { BYTES, JsonScanner, ScanError, type ScanHandler } from '../../src/traffic/json-scanner.ts'
import { unescapeFast, utf8Text } from '../../src/traffic/wasm-loops.ts'
import { WASM_LOOPS } from '../../src/traffic/wasm-loops-module.ts'
import { assemble, generated } from '../../scripts/build-wasm.mjs'
import { fuzzCases, fuzzSeed, Rng } from '../fuzz/seed.ts'
import { writeLargeHar } from '../helpers/large-har.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const SEED = fuzzSeed()
const { dir } = tempDirs('dw-wasm-loops-')
/** Real-shaped traffic with multipart uploads and base64 downloads: every loop runs on it. */
let HAR_WITH_UPLOADS = ''
beforeAll(async () => {
  HAR_WITH_UPLOADS = join(dir(), 'uploads.har')
  await writeLargeHar(HAR_WITH_UPLOADS, { bytes: 3 * 1024 * 1024, media: { bytes: 512 * 1024 }, varied: true })
})
const CASES = fuzzCases(3000, 600)

/** Every body string's bytes, as handed over, and what else the scanner said (containers wanted whole at depth 2, as HAR entries are). */
class Bodies implements ScanHandler {
  readonly strings: Buffer[] = []
  readonly said: string[] = []
  private parts: Buffer[] = []
  constructor(private readonly wantWhole: boolean) {}
  open(array: boolean, depth: number): void {
    this.said.push(`open ${array} ${depth}`)
  }
  close(array: boolean): void {
    this.said.push(`close ${array}`)
  }
  key(name: string): void {
    this.said.push(`key ${name}`)
  }
  wantsWhole(_array: boolean, depth: number): boolean {
    return this.wantWhole && depth === 2
  }
  whole(parts: readonly Buffer[]): boolean {
    const text = Buffer.concat(parts).toString('utf8')
    this.said.push(`whole ${text}`)
    try {
      JSON.parse(text)
      return true
    } catch {
      return false
    }
  }
  stringStart(): typeof BYTES {
    this.parts = []
    return BYTES
  }
  raw(buf: Buffer, start: number, end: number, base64ish: boolean): boolean {
    if (base64ish) this.said.push(`base64ish ${end - start}`)
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

function scan(doc: Buffer, chunk: (i: number) => number, noWasm: boolean, opts: { whole?: boolean; maxDepth?: number } = {}): { strings: Buffer[]; said: string[]; error?: string } {
  const h = new Bodies(opts.whole ?? false)
  const scanner = new JsonScanner(h, { maxDepth: opts.maxDepth ?? 10, noWasm, wholeBytes: 4096 })
  try {
    for (let at = 0, i = 0; at < doc.length; i++) {
      const n = Math.max(1, chunk(i))
      scanner.write(doc.subarray(at, at + n))
      at += n
    }
    scanner.end()
    return { strings: h.strings, said: h.said }
  } catch (err) {
    if (err instanceof ScanError) return { strings: h.strings, said: h.said, error: `${err.kind} at ${err.byte}: ${err.message}` }
    throw err
  }
}

/** String content as a HAR writes a binary body (bytes as characters, escapes every few), plus what breaks it. */
const PARTS = ['a', 'é', '€', '😀', '\\u00e9', '\\u20AC', '\\u0000', '\\n', '\\"', '\\\\', '\\/', '\\b\\f\\r\\t', '\\ud83d\\ude00', '\\uD83D', '\\uDE00', '\\ud800', 'Ā', '\u00ff', 'ÿ\\u0007']
const BROKEN = ['\u0001', '\\x', '\\u12G4', '\\u', '\\uZZZZ', '\t']
/** A base64 body, now and then with a character that is not base64 or a control character in it. */
function base64(rng: Rng): string {
  const s = Buffer.from(Array.from({ length: rng.int(200, 3000) }, () => rng.int(0, 255))).toString(rng.chance(0.5) ? 'base64' : 'base64url')
  const at = rng.int(0, s.length)
  return rng.chance(0.3) ? s.slice(0, at) + rng.pick([' ', '.', 'é', '\u0001', '\t', '\\n']) + s.slice(at) : s
}

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

/** Strings only, as JSON.parse gives them back: every body, in document order. */
function stringsOf(v: unknown, out: Buffer[] = []): Buffer[] {
  if (typeof v === 'string') out.push(Buffer.from(v, 'utf8'))
  else if (Array.isArray(v)) for (const x of v) stringsOf(x, out)
  else if (v && typeof v === 'object') for (const x of Object.values(v)) stringsOf(x, out)
  return out
}

/** A document of entries (depth 2: what a HAR's log.entries holds), each nesting bodies a few levels down. */
function document(rng: Rng, broken: boolean): string {
  const value = (depth: number): string => {
    const k = depth > 4 ? 0 : rng.int(0, 3)
    if (k === 0) return `"${rng.chance(0.3) ? base64(rng) : content(rng, broken && rng.chance(0.3))}"`
    if (k === 1) return rng.pick(['1', 'true', 'null', '"x"', '"\\"{[\\\\"'])
    if (k === 2) return `[${Array.from({ length: rng.int(0, 3) }, () => value(depth + 1)).join(',')}]`
    return `{${Array.from({ length: rng.int(0, 3) }, (_, i) => `"k${i}\\n":${value(depth + 1)}`).join(',')}}`
  }
  return `{"log":[${Array.from({ length: rng.int(1, 4) }, () => value(2)).join(',')}]}`
}

describe(`the scanner's byte loops in WebAssembly (seed ${SEED})`, () => {
  it('are the module wasm-loops.wat assembles to (scripts/build-wasm.mjs was run after the last edit)', async () => {
    const bytes = await assemble()
    // The committed file, byte for byte, is what the script would write now.
    expect(readFileSync(join(ROOT, 'src', 'traffic', 'wasm-loops-module.ts'), 'utf8')).toBe(generated(bytes))
    expect(WASM_LOOPS).toBe(bytes.toString('base64'))
  })

  it(`tell the handler the same and throw the same errors as the JavaScript loops, on ${CASES} random documents in random chunks`, () => {
    const rng = new Rng(SEED).fork('wasm-loops')
    let errors = 0
    let wholes = 0
    let base64ish = 0
    for (let c = 0; c < CASES; c++) {
      const doc = Buffer.from(document(rng, rng.chance(0.25)), 'utf8')
      const kind = rng.int(0, 2)
      const sizes = Array.from({ length: 64 }, () => (kind === 0 ? rng.int(1, 40) : kind === 1 ? rng.int(200, 3000) : 64 * 1024))
      const chunk = (i: number) => sizes[i % sizes.length]!
      const opts = { whole: rng.chance(0.6), maxDepth: rng.chance(0.2) ? rng.int(2, 5) : 64 }
      const fast = scan(doc, chunk, false, opts)
      const js = scan(doc, chunk, true, opts)
      expect(fast, `case ${c} (seed ${SEED})`).toEqual(js)
      wholes += fast.said.filter((x) => x.startsWith('whole')).length
      base64ish += fast.said.filter((x) => x.startsWith('base64ish')).length
      let reference: Buffer[] | undefined
      try {
        reference = stringsOf(JSON.parse(doc.toString('utf8')))
      } catch {
        reference = undefined
      }
      // Refused exactly when JSON.parse refuses, or when nested past the limit (documents nest at most 7 deep).
      if (reference === undefined) expect(fast.error).toBeDefined()
      else if (opts.maxDepth >= 8) expect(fast.error).toBeUndefined()
      if (fast.error) errors++
      // Strings inside a container read whole are not handed over as bodies; the rest are JSON.parse's.
      else if (!opts.whole) expect(fast.strings).toEqual(reference)
    }
    // Every path was taken: errors and clean reads, containers read whole, base64 bodies.
    expect(errors).toBeGreaterThan(0)
    expect(errors).toBeLessThan(CASES)
    expect(wholes).toBeGreaterThan(0)
    expect(base64ish).toBeGreaterThan(0)
  })

  it('decode every \\u escape but the surrogates (either case), every one-letter escape and every raw byte as the JavaScript loop and JSON.parse do', () => {
    // Long pieces (past LONG_PIECE, so the module decodes them), chunks as a file stream gives them.
    const chunk = () => 64 * 1024
    const pad = 'x'.repeat(300)
    const check = (content: string, label: string) => {
      const doc = Buffer.from(`["${pad}${content}"]`, 'latin1')
      const fast = scan(doc, chunk, false)
      expect(fast, label).toEqual(scan(doc, chunk, true))
      let reference: Buffer | undefined
      try {
        reference = Buffer.from((JSON.parse(doc.toString('utf8')) as string[])[0]!, 'utf8')
      } catch {
        reference = undefined
      }
      // Raw bytes past 0x7f are not UTF-8 alone: only the two loops are compared there.
      if (!/[\x80-\xff]/.test(content)) expect(reference === undefined ? fast.error !== undefined : fast.strings[0]!.equals(reference), label).toBe(true)
    }
    for (const upper of [false, true]) {
      for (let from = 0; from < 0x10000; from += 1024) {
        let content = ''
        for (let code = from; code < from + 1024; code++) {
          if (code >= 0xd800 && code <= 0xdfff) continue
          const hex = code.toString(16).padStart(4, '0')
          content += `\\u${upper ? hex.toUpperCase() : hex}`
        }
        check(content, `\\u${from.toString(16)}.. (${upper ? 'upper' : 'lower'} case)`)
      }
    }
    for (let b = 0; b < 256; b++) {
      check(`\\u00e9${String.fromCharCode(b)}\\n`, `raw byte ${b}`)
      check(`\\u00e9\\${String.fromCharCode(b)}z`, `escape \\ then byte ${b}`)
    }
    for (const cut of ['\\u', '\\u1', '\\u12', '\\u123', '\\u12g4', '\\uFFF', '\\']) check(`\\u00e9${cut}`, `cut ${cut}`)
  })

  it('read a HAR the same where there is no WebAssembly (node --jitless): the JavaScript loops do it all', () => {
    const script = `
      import { readHar } from ${JSON.stringify(join(ROOT, 'src/traffic/har.ts'))}
      import { Redactor } from ${JSON.stringify(join(ROOT, 'src/transport/redact.ts'))}
      import { PersonalDataRedactor } from ${JSON.stringify(join(ROOT, 'src/recordings/personal-data.ts'))}
      const entries = await readHar(process.argv[1], new Redactor({}), new PersonalDataRedactor())
      // The credential fingerprint is salted per process: everything else is compared.
      process.stdout.write(typeof WebAssembly + ' ' + JSON.stringify(entries, (k, v) => (k === 'credential' ? undefined : v)))`
    const run = (flags: string[]) => {
      const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', script, HAR_WITH_UPLOADS], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
      expect(r.status, r.stderr).toBe(0)
      return r.stdout
    }
    const jitless = run(['--jitless'])
    expect(jitless.startsWith('undefined ')).toBe(true)
    expect(jitless.slice('undefined '.length)).toBe(run([]).slice('object '.length))
  }, 120_000)

  it('hand over decoded bytes that a handler scanning something else meanwhile does not overwrite', () => {
    // Another scanner inside the callback uses the same module: a view into its memory would be overwritten
    // (a small nested document) or detached (a large one that grows the memory).
    for (const nested of ['[{"x":1}]', `["${'\\u00e9'.repeat(100_000)}"]`]) {
      let seen = ''
      const outer = new (class extends Bodies {
        override decodedBytes(bytes: Buffer): boolean {
          const before = bytes.toString('hex')
          const inner = new JsonScanner(new Bodies(true), { maxDepth: 10, wholeBytes: 4096 })
          inner.write(Buffer.from(nested, 'latin1'))
          inner.end()
          seen = bytes.toString('hex') === before ? 'intact' : 'changed'
          return super.decodedBytes(bytes)
        }
      })(false)
      const scanner = new JsonScanner(outer, { maxDepth: 10 })
      scanner.write(Buffer.from(`["${'\\n'.repeat(300)}"]`, 'latin1'))
      scanner.end()
      expect(seen).toBe('intact')
      expect(outer.strings[0]).toEqual(Buffer.from('\n'.repeat(300)))
    }
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

describe('a kept window read as text (utf8Text)', () => {
  const ascii = Buffer.from('x'.repeat(5000))
  const around = (middle: Buffer) => Buffer.concat([ascii, middle, ascii])

  it("is bytes.toString('utf8') for every one- and two-byte sequence, cut ones and longer characters", () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        const bytes = around(Buffer.from([a, b]))
        expect(utf8Text(bytes) === bytes.toString('utf8'), `${a} ${b}`).toBe(true)
      }
      // A lead byte cut off by the window's end.
      const cut = Buffer.concat([ascii, Buffer.from([a])])
      expect(utf8Text(cut) === cut.toString('utf8'), `${a} at the end`).toBe(true)
    }
    for (const s of ['€', '😀', 'é€', 'ÿ😀', '\u0800', '\uffff']) {
      const bytes = around(Buffer.from(s))
      expect(utf8Text(bytes)).toBe(bytes.toString('utf8'))
    }
  })

  it('reads a binary upload kept as Latin-1 characters, and random windows, as decoding them does', () => {
    const rng = new Rng(SEED).fork('utf8Text')
    const latin1 = Buffer.from(Array.from({ length: 200_000 }, () => String.fromCharCode(rng.int(0, 255))).join(''), 'utf8')
    expect(utf8Text(latin1)).toBe(latin1.toString('utf8'))
    for (let c = 0; c < 300; c++) {
      const parts = Array.from({ length: rng.int(1, 40) }, () => (rng.chance(0.7) ? Buffer.from(String.fromCharCode(rng.int(0, 255)).repeat(rng.int(1, 400))) : Buffer.from(Array.from({ length: rng.int(1, 6) }, () => rng.int(0, 255)))))
      const bytes = Buffer.concat([ascii, ...parts])
      expect(utf8Text(bytes) === bytes.toString('utf8'), `case ${c}`).toBe(true)
    }
  })
})
