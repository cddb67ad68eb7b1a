/**
 * Bodies dense with escapes (binary in a multipart upload, as browsers write it: an escape every few
 * bytes) are read by the scanner's native path: the end of the string found per quote, escapes that
 * stand for ASCII decoded by JSON.parse. Its bytes must be the byte loop's, whatever the chunking,
 * a `u` after an escaped backslash, or a \u escape past ASCII among them.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { BYTES, JsonScanner, ScanError, type ScanHandler } from '../../src/traffic/json-scanner.ts'

/** Reads every string of a document as bytes, as the HAR reader reads a body. */
function bodiesOf(doc: Buffer, chunk: () => number): Buffer[] {
  const out: Buffer[] = []
  let parts: Buffer[] = []
  const handler: ScanHandler = {
    open: () => {},
    close: () => {},
    key: () => {},
    stringStart: () => {
      parts = []
      return BYTES
    },
    raw: (buf, start, end) => (parts.push(Buffer.from(buf.subarray(start, end))), true),
    decoded: () => true,
    decodedBytes: (bytes) => (parts.push(Buffer.from(bytes)), true),
    stringEnd: () => void out.push(Buffer.concat(parts)),
    scalar: () => {},
  }
  const scanner = new JsonScanner(handler, { maxDepth: 64 })
  for (let i = 0; i < doc.length; ) {
    const n = Math.max(1, chunk())
    scanner.write(doc.subarray(i, i + n))
    i += n
  }
  scanner.end()
  return out
}

/** Binary read as latin1, with more backslashes, quotes and `u`s than chance gives: `\\u` after an escaped backslash is the trap. */
function binary(size: number, seed: number): string {
  const b = randomBytes(size)
  for (let i = seed % 7; i < size; i += 5 + (i % 11)) b[i] = [0x5c, 0x75, 0x22, 0x5c, 0x30][i % 5]!
  return b.toString('latin1')
}

describe('escape-dense bodies', () => {
  const cases: [string, string][] = []
  for (let k = 0; k < 12; k++) cases.push([`binary ${k}`, binary(20000 + k * 3001, k)])
  // Escapes past ASCII among them: the byte loop decodes those pieces (surrogate pairs too, cut anywhere).
  cases.push(['with \\u00e9 and a surrogate pair', `${binary(9000, 3)}é${binary(5000, 4)}😀${binary(3000, 5)}`])

  it('gives the bytes Buffer.from(JSON.parse(...)) gives, in chunks of 1 byte to 64 KiB', () => {
    for (const [name, text] of cases) {
      // JSON.stringify escapes controls, quotes and backslashes; é and 😀 escaped by hand, as some exporters do.
      const json = JSON.stringify({ body: text }).replace(/[^\x00-\x7f]/gu, (c) => (c === 'é' || c === '😀' ? c.split('').map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join('') : c))
      const doc = Buffer.from(json, 'utf8')
      const want = Buffer.from(JSON.parse(json).body as string, 'utf8')
      for (const size of [1, 7, 300, 4093, 65536]) {
        let s = 0
        const got = bodiesOf(doc, () => size + (s++ % 3))
        expect(got[0]!.equals(want), `${name} in chunks of ${size}`).toBe(true)
      }
    }
  })

  it('refuses a raw control character among the escapes, with a ScanError', () => {
    const json = JSON.stringify({ body: binary(30000, 1) })
    const at = json.length - 200
    const broken = Buffer.from(`${json.slice(0, at)}\u0001${json.slice(at)}`, 'utf8')
    expect(() => bodiesOf(broken, () => 65536)).toThrow(ScanError)
    // The same document without it is read.
    expect(bodiesOf(Buffer.from(json, 'utf8'), () => 65536)).toHaveLength(1)
  })
})
