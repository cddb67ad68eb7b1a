/**
 * A body past the cap keeps its redacted text cut to KEPT_BODY_BYTES on a character boundary. The
 * cut is read off the bytes write() encoded rather than decoded again (a multi-MB upload's 1 MiB
 * decoded twice showed in profiles): it must be exactly what decoding them gives, at every kind of
 * character the cap can fall in, and for a text with a lone surrogate (which write() turns into
 * U+FFFD) too.
 */
import { describe, expect, it } from 'vitest'
import { KEPT_BODY_BYTES } from '../../src/traffic/captured-text.ts'
import { keptText } from '../../src/traffic/har.ts'

/** What the cut was before: the bytes write() fits under the cap, decoded. */
function decoded(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= KEPT_BODY_BYTES) return text
  const bytes = Buffer.allocUnsafe(KEPT_BODY_BYTES)
  return bytes.toString('utf8', 0, bytes.write(text, 0, KEPT_BODY_BYTES, 'utf8'))
}

describe('a truncated body text cut to the cap', () => {
  // Fill so the character under test starts `before` bytes short of the cap.
  const around = (ch: string, before: number, fill = 'a') => fill.repeat(KEPT_BODY_BYTES - before) + ch.repeat(8)
  const cases: [string, string][] = []
  for (const [name, ch] of [['ASCII', 'z'], ['two bytes', 'é'], ['three bytes', '€'], ['four bytes (a surrogate pair)', '😀'], ['U+FFFD', '\ufffd']] as const) {
    for (let before = 0; before <= 4; before++) cases.push([`${name}, ${before} bytes before the cap`, around(ch, before)])
  }
  cases.push(['binary as Latin-1 characters (an upload kept as text)', Array.from({ length: KEPT_BODY_BYTES }, (_, i) => String.fromCharCode((i * 7919) % 256 || 0x41)).join('')])
  cases.push(['a lone high surrogate before the cap', `ab\ud83d${'é'.repeat(KEPT_BODY_BYTES)}`])
  cases.push(['a lone low surrogate at the cap', around('\ude00', 1)])
  cases.push(['astral characters throughout', '😀x'.repeat(KEPT_BODY_BYTES / 4)])

  for (const [name, text] of cases) {
    it(`${name}: what decoding the bytes gives`, () => {
      const kept = keptText(text, true)
      expect(kept).toBe(decoded(text))
      expect(Buffer.byteLength(kept, 'utf8')).toBeLessThanOrEqual(KEPT_BODY_BYTES)
    })
  }

  it('a text within the cap, or not truncated, is kept whole', () => {
    const text = 'é'.repeat(KEPT_BODY_BYTES)
    expect(keptText(text, false)).toBe(text)
    expect(keptText('short', true)).toBe('short')
  })
})
