/**
 * The HAR reader finds an entry's end by bytes alone (skim): short strings by a byte loop, long
 * ones by indexOf past the first 64 bytes. Where the two meet is where a mistake would hide: an
 * escaped quote or a run of backslashes just before or after byte 64 of a string, a chunk boundary
 * inside any of them. Held here to JSON.parse, split at every offset; and a file cut short fails
 * naming the file and the byte where it ends.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { HarnessError } from '../../src/util/errors.ts'
import { PersonalDataRedactor } from '../../src/recordings/personal-data.ts'
import { streamHar } from '../../src/traffic/har.ts'
import { JsonScanner, SKIP, type ScanHandler, type StringMode } from '../../src/traffic/json-scanner.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const { dir } = tempDirs('dw-skim-')

/** Collects the list's items, each handed over whole and parsed by JSON.parse (as the HAR reader does entries). */
class Items implements ScanHandler {
  readonly items: unknown[] = []
  open(): void {}
  close(): void {}
  key(): void {}
  stringStart(): StringMode {
    return SKIP
  }
  raw(): boolean {
    return true
  }
  decoded(): boolean {
    return true
  }
  decodedBytes(): boolean {
    return true
  }
  stringEnd(): void {}
  scalar(): void {}
  wantsWhole(_array: boolean, depth: number): boolean {
    return depth === 2
  }
  whole(parts: readonly Buffer[]): boolean {
    this.items.push(JSON.parse(Buffer.concat(parts).toString('utf8')))
    return true
  }
}

/** Strings whose quotes and backslashes fall on every side of byte 64, with multi-byte UTF-8 among them. */
function trickyStrings(): string[] {
  const out: string[] = []
  for (let at = 56; at <= 72; at++) {
    for (const tail of ['"', '\\', '\\\\', '\\"', '\\\\"', '"}]{[', 'é', '😀', '\u2028']) out.push('x'.repeat(at) + tail + 'y'.repeat(3))
  }
  out.push('', '\\', '"', '\\'.repeat(65), '"'.repeat(65), '{"nested": "json \\" with quotes"}', 'ü'.repeat(40), '😀'.repeat(20))
  return out
}

describe('skimming entries by bytes', () => {
  const items = trickyStrings().map((s, i) => ({ i, s, more: [s, { k: s }] }))
  const text = Buffer.from(JSON.stringify(items, null, 1))

  it('finds every entry JSON.parse finds, whole, wherever the chunks split (every offset)', () => {
    let checked = 0
    for (let split = 1; split < text.length; split += split < 200 ? 1 : 97) {
      const h = new Items()
      const scanner = new JsonScanner(h, { maxDepth: 64 })
      scanner.write(text.subarray(0, split))
      scanner.write(text.subarray(split))
      scanner.end()
      expect(h.items, `split at ${split}`).toEqual(items)
      checked++
    }
    expect(checked).toBeGreaterThan(200)
  })

  it('finds them one byte at a time, and in chunks of 63, 64 and 65 bytes', () => {
    for (const size of [1, 63, 64, 65]) {
      const h = new Items()
      const scanner = new JsonScanner(h, { maxDepth: 64 })
      for (let at = 0; at < text.length; at += size) scanner.write(text.subarray(at, at + size))
      scanner.end()
      expect(h.items, `chunks of ${size}`).toEqual(items)
    }
  })

  it('a HAR cut short inside a long string fails naming the file and the byte where it ends', async () => {
    const body = `${'a'.repeat(100)}\\"${'b'.repeat(100)}`
    const entry = { startedDateTime: '2026-12-07T00:00:00Z', request: { method: 'GET', url: 'https://graph.facebook.com/v23.0/me', headers: [] }, response: { status: 200, headers: [], content: { text: body } } }
    const whole = JSON.stringify({ log: { entries: [entry, entry] } })
    const cut = whole.slice(0, whole.lastIndexOf('b'.repeat(50)))
    const at = dir()
    const file = join(at, 'cut.har')
    writeFileSync(file, cut)
    const read: string[] = []
    const error = await (async () => {
      for await (const e of streamHar(file, new Redactor({ secrets: [], personal: [] }), new PersonalDataRedactor(), at)) read.push(e.source)
    })().catch((err: unknown) => err)
    expect(read).toEqual(['cut.har entry 1'])
    expect(error).toBeInstanceOf(HarnessError)
    expect((error as HarnessError).code).toBe('DW_HAR_INVALID')
    expect((error as HarnessError).message).toContain(`cut.har is not valid JSON in entry 2`)
    expect((error as HarnessError).message).toContain(`ends at byte ${Buffer.byteLength(cut)}`)
  })
})
