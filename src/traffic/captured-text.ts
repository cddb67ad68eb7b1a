/**
 * A body read from a capture (a HAR's `content.text`, `postData.text`) as it streams: hashed and
 * counted whole, kept only up to a cap, never assembled into one string. A 300 MB body costs the
 * cap, not 300 MB (let alone the gigabytes a string of it and its copies took).
 *
 * A HAR says whether a body is base64 in `content.encoding`, which exporters write after
 * `content.text`: while the text streams, both readings are taken (the text's UTF-8 bytes, and the
 * bytes its base64 decodes to), and the entry picks one when it is complete. The base64 reading
 * stops at the first character that is not base64, as the whole text then is not.
 */
import { createHash, hash, type Hash } from 'node:crypto'
import { isUtf8 } from 'node:buffer'

/** Bytes of a body kept in memory, as the transport keeps a text body (README "Wire truth"). */
export const KEPT_BODY_BYTES = 1024 * 1024

/**
 * Kept beyond the cap and cut only after redaction: a secret that straddles the cap is redacted
 * whole, then cut, rather than kept half and unrecognised.
 */
const REDACTION_MARGIN = 4096

const WINDOW = KEPT_BODY_BYTES + REDACTION_MARGIN

/** Not base64 (nor base64url): what Buffer.from would silently skip. */
export const NOT_BASE64 = /[^A-Za-z0-9+/=_\-\s]/

const SPACE = /\s+/g
const NON_ASCII = /[^\x00-\x7f]/
const HAS_SPACE = /\s/

/** One reading of a body: its size, sha256, and the first bytes kept. */
export interface BodyReading {
  size: number
  sha256: string
  /** The first bytes, up to the cap plus a margin for redaction (see truncated). */
  window: Buffer
  /** More than KEPT_BODY_BYTES: the kept text is the window, redacted, then cut to the cap. */
  truncated: boolean
}

/** The sha256 of no bytes: what an empty reading's hash digests to, without making one. */
const EMPTY_SHA256 = createHash('sha256').digest('hex')

/** Bytes hashed, counted and kept up to the window. */
class Reading {
  size = 0
  /** Made at the first bytes: most response bodies are JSON, whose base64 reading breaks at the first `{` with none. */
  private hash: Hash | undefined
  /**
   * The bytes of a body added whole (addOwn), not hashed yet: hashed in one call at done() (crypto.hash, half the
   * cost of a Hash object for a small body, and no object for the GC), or into the running hash if more bytes come.
   */
  private whole: Buffer | undefined
  private readonly kept: Buffer[] = []
  private keptBytes = 0

  add(bytes: Uint8Array): void {
    if (bytes.length === 0) return
    this.size += bytes.length
    this.hashing().update(bytes)
    if (this.keptBytes < WINDOW) {
      const take = Math.min(bytes.length, WINDOW - this.keptBytes)
      this.kept.push(Buffer.from(bytes.subarray(0, take)))
      this.keptBytes += take
    }
  }

  /** A whole body's bytes in one piece, its own to keep (no copy when it fits the window). */
  addOwn(bytes: Buffer): void {
    if (bytes.length > WINDOW) return this.add(bytes)
    if (bytes.length === 0) return
    if (this.size === 0) this.whole = bytes
    else this.hashing().update(bytes)
    this.size += bytes.length
    this.kept.push(bytes)
    this.keptBytes += bytes.length
  }

  /** The running hash, made at the first bytes that need it (with a whole body's bytes before them). */
  private hashing(): Hash {
    if (!this.hash) {
      this.hash = createHash('sha256')
      if (this.whole) this.hash.update(this.whole)
      this.whole = undefined
    }
    return this.hash
  }

  done(): BodyReading {
    const window = this.kept.length === 1 ? this.kept[0]! : Buffer.concat(this.kept)
    const sha256 = this.hash ? this.hash.digest('hex') : this.whole ? hash('sha256', this.whole, 'hex') : EMPTY_SHA256
    return { size: this.size, sha256, window, truncated: this.size > KEPT_BODY_BYTES }
  }
}

/** A body's text as it streams in pieces; `text()` and `base64()` read it when complete. */
export class CapturedText {
  private readonly utf8 = new Reading()
  private b64: Reading | undefined
  /** Base64 characters not yet decoded (fewer than 4), whitespace out. */
  private b64Pending = ''
  /** A `=` was met: Node's decoder stops at the first one, and so does this reading. */
  private b64Stopped = false
  /** A character that is not base64 was met. */
  private b64Broken = false
  private readings: { text: BodyReading; base64: BodyReading | undefined } | undefined

  constructor(base64: boolean) {
    if (base64) this.b64 = new Reading()
  }

  /** A body already whole as a string (an entry JSON.parse read): the readings its streamed pieces would give. */
  static of(text: string, base64: boolean): CapturedText {
    const c = new CapturedText(base64)
    c.utf8.addOwn(Buffer.from(text, 'utf8'))
    // Base64 is ASCII: ASCII text reads the same as its UTF-8 bytes read as Latin-1, and any other is not base64
    // (its bytes' lead byte is no base64 character, where the text may hold a Unicode space that \s would skip).
    if (c.b64) {
      if (NON_ASCII.test(text)) c.b64Broken = true
      else c.base64Piece(text, false)
    }
    return c
  }

  /** Content without escapes: the file's bytes, and whether all of them are base64 characters (see ScanHandler.raw). */
  raw(buf: Buffer, start: number, end: number, base64ish: boolean): void {
    const bytes = buf.subarray(start, end)
    // Bytes that are not UTF-8 read as the file's text reads them (U+FFFD for each bad sequence).
    this.utf8.add(base64ish || isUtf8(bytes) ? bytes : Buffer.from(bytes.toString('utf8'), 'utf8'))
    if (this.b64) this.base64Piece(buf.toString('latin1', start, end), base64ish)
  }

  /** Content that held escapes, decoded to UTF-8 (see ScanHandler.decodedBytes). */
  decodedBytes(bytes: Buffer): void {
    this.utf8.add(isUtf8(bytes) ? bytes : Buffer.from(bytes.toString('utf8'), 'utf8'))
    if (this.b64) this.base64Piece(bytes.toString('latin1'), false)
  }

  /** The text as UTF-8 bytes (a body without content.encoding). */
  text(): BodyReading {
    return this.finish().text
  }

  /** The bytes the text decodes to as base64, or undefined when it holds a character that is not base64. */
  base64(): BodyReading | undefined {
    return this.finish().base64
  }

  private finish(): { text: BodyReading; base64: BodyReading | undefined } {
    if (!this.readings) {
      let base64: BodyReading | undefined
      if (this.b64 && !this.b64Broken) {
        if (this.b64Pending) this.b64.add(Buffer.from(this.b64Pending, 'base64'))
        base64 = this.b64.done()
      }
      this.readings = { text: this.utf8.done(), base64 }
      this.b64 = undefined
    }
    return this.readings
  }

  /** Decodes base64 as Buffer.from(whole, 'base64') would: whitespace skipped, stopping at the first `=`, in groups of 4. */
  private base64Piece(s: string, plain: boolean): void {
    if (this.b64Broken) return
    if (!plain && NOT_BASE64.test(s)) {
      this.b64Broken = true
      this.b64Pending = ''
      return
    }
    if (this.b64Stopped) return
    let chars = !plain && HAS_SPACE.test(s) ? s.replace(SPACE, '') : s
    const eq = chars.indexOf('=')
    if (eq >= 0) {
      chars = chars.slice(0, eq)
      this.b64Stopped = true
    }
    const all = this.b64Pending + chars
    const whole = all.length - (all.length % 4)
    if (whole > 0) this.b64!.add(Buffer.from(all.slice(0, whole), 'base64'))
    this.b64Pending = all.slice(whole)
  }
}
