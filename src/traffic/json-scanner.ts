/**
 * A streaming JSON scanner over bytes, for captures of any size and any shape: it accepts exactly
 * what JSON.parse accepts (a leading UTF-8 BOM aside), in one pass, in time linear in the input and
 * memory bounded by its depth limit, and never recurses. It builds nothing: it tells a handler what
 * it meets (containers opening and closing, keys, scalars, strings) and hands string content over
 * in pieces, so a 560 MB string (longer than V8's longest string) is read, hashed or skipped without
 * ever being one string.
 *
 * Why not a library: @streamparser/json and stream-json both build strings one character or one
 * short regex match at a time (7 to 12 MB/s on captures with multi-MB binary uploads, where escapes
 * are dense), and neither bounds nesting. Here a string's end is found with Buffer.indexOf, content
 * without escapes is handed over as the file's bytes, and content with escapes is decoded piece by
 * piece (a piece never splits an escape or a UTF-8 sequence): by JSON.parse into text, or straight
 * into UTF-8 bytes for a body that is only hashed (Node 20 decodes non-ASCII UTF-8 at ~60 MB/s). The
 * loops that look at every byte (decoding a long piece, checking one for base64, skimming an entry)
 * run in a small WebAssembly module (wasm-loops.ts), two to five times faster than here.
 */
import { classifyFast, forgetChunk, skimFast, unescapeFast, wasmLoops } from './wasm-loops.ts'

/** Where a string's content goes: nowhere (validated only). */
export const SKIP = 0
/** To the handler as text (raw() and decoded()): keys, fields. */
export const TEXT = 1
/** To the handler as UTF-8 bytes (raw() and decodedBytes()): bodies. */
export const BYTES = 2
/** How a string's content is wanted. */
export type StringMode = typeof SKIP | typeof TEXT | typeof BYTES

/** What the scanner tells its consumer, in document order. */
export interface ScanHandler {
  /** `{` (array false) or `[` (array true); `depth` counts the container itself (the root is 1). */
  open(array: boolean, depth: number): void
  close(array: boolean): void
  /** An object key (decoded; `long` when it was longer than the scanner's key limit and cut). */
  key(name: string, long: boolean): void
  /** A string value begins: how its content is wanted. */
  stringStart(): StringMode
  /**
   * Content without escapes, as the file's bytes (JSON-valid: no control characters);
   * `base64ish` when the scanner found every byte a base64 or base64url character (no space
   * either), which captures' largest strings are (false when it did not look). Returns false to skip the rest.
   */
  raw(buf: Buffer, start: number, end: number, base64ish: boolean): boolean
  /** TEXT: content that held escapes, decoded. Returns false to skip the rest. */
  decoded(text: string): boolean
  /**
   * BYTES: content that held escapes, decoded to the UTF-8 bytes Buffer.from(text) would give (a
   * lone surrogate as U+FFFD). The buffer is reused after the call. Returns false to skip the rest.
   */
  decodedBytes(bytes: Buffer): boolean
  /** The string value ended (called for skipped strings too). */
  stringEnd(): void
  /** A number, true, false or null. */
  scalar(value: number | boolean | null): void
  /**
   * Asked before a container opens: true to have it handed over whole (`whole`) rather than as
   * events, when it turns out no larger than ScanOptions.wholeBytes. Must not change the handler.
   */
  wantsWhole?(array: boolean, depth: number): boolean
  /**
   * The container asked for, as its bytes (`parts` joined, from `{` or `[` to its end), found by
   * bounds only: the handler parses it (JSON.parse). Returns false when it is not JSON: the scanner
   * then reads the same bytes again as events, and throws where they break.
   */
  whole?(parts: readonly Buffer[], bytes: number): boolean
}

/** Why the input is not JSON, or deeper than allowed, and where (a byte offset). */
export class ScanError extends Error {
  constructor(
    message: string,
    readonly byte: number,
    readonly kind: 'syntax' | 'depth' | 'end',
  ) {
    super(message)
  }
}

/** Options of a scanner. */
export interface ScanOptions {
  /** Containers nested deeper than this are a ScanError of kind `depth`. */
  maxDepth: number
  /** Keys longer than this (in characters) are cut and reported `long`. Default 256. */
  maxKey?: number
  /** The most bytes a container asked for whole (ScanHandler.wantsWhole) may take; larger ones are read as events. Default 1 MiB. */
  wholeBytes?: number
  /** Run every byte loop in JavaScript, none in WebAssembly (wasm-loops.ts): tests compare the two. */
  noWasm?: boolean
}

// Byte values of JSON's syntax.
const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const COMMA = 0x2c
const COLON = 0x3a
const MINUS = 0x2d
const PLUS = 0x2b
const DOT = 0x2e
const ZERO = 0x30
const NINE = 0x39
const SMALL_E = 0x65
const BIG_E = 0x45
const SMALL_U = 0x75

// What the scanner expects next.
const VALUE = 0
/** Just after `[`: a value or `]`. */
const VALUE_OR_CLOSE = 1
/** Just after `{`: a key or `}`. */
const KEY_OR_CLOSE = 2
/** After `,` in an object. */
const KEY = 3
const COLON_NEXT = 4
/** After a value: `,`, the container's end, or (at the top) the end of the input. */
const AFTER = 5
const STRING = 6
const NUMBER = 7
const LITERAL = 8
/** The document is complete: only whitespace may follow. */
const DONE = 9
/** Inside a container wanted whole: only its bounds are looked for. */
const SKIM = 10

// Where a number stands (JSON's grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?).
const N_SIGN = 0
const N_ZERO = 1
const N_INT = 2
const N_DOT = 3
const N_FRAC = 4
const N_E = 5
const N_E_SIGN = 6
const N_EXP = 7

/** Characters of a number kept verbatim; beyond, its value is worked out from the digits counted. */
const NUMBER_TEXT = 512

const LITERALS: Record<number, [string, boolean | null]> = { 0x74: ['true', true], 0x66: ['false', false], 0x6e: ['null', null] }

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09
const CONTROL = /[\x00-\x1f]/
/** Bytes of a skimmed string looked at one by one before indexOf searches the rest (see skim). */
const SHORT_STRING = 64
/** What a byte outside strings means to skim: 0 nothing, 1 a string opens, 2 a container opens, 3 one closes. */
const SKIM_CLASS = new Uint8Array(256)
SKIM_CLASS[QUOTE] = 1
SKIM_CLASS[OPEN_OBJECT] = SKIM_CLASS[OPEN_ARRAY] = 2
SKIM_CLASS[CLOSE_OBJECT] = SKIM_CLASS[CLOSE_ARRAY] = 3
/** Bytes from which a piece of string is checked with one regex pass rather than byte by byte. */
const LONG_PIECE = 256
/** Anything but base64 and base64url characters: tested first, as no control character can then be there either. */
const NOT_BASE64ISH = /[^A-Za-z0-9+/=_-]/

/** What each one-letter escape stands for (by the letter's byte; -1: not an escape). */
const ESCAPES = new Int16Array(256).fill(-1)
for (const [letter, code] of [['"', 0x22], ['\\', 0x5c], ['/', 0x2f], ['b', 0x08], ['f', 0x0c], ['n', 0x0a], ['r', 0x0d], ['t', 0x09]] as const) ESCAPES[letter.charCodeAt(0)] = code

/** The value of 4 hex digits at buf[i], or -1. */
function hex4(buf: Buffer, i: number): number {
  let v = 0
  for (let k = 0; k < 4; k++) {
    const c = buf[i + k]
    const d = c === undefined ? -1 : c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1
    if (d < 0) return -1
    v = (v << 4) | d
  }
  return v
}

/** Writes U+FFFD (what a lone surrogate becomes in UTF-8) at out[j]; returns the next index. */
function replacement(out: Buffer, j: number): number {
  out[j] = 0xef
  out[j + 1] = 0xbf
  out[j + 2] = 0xbd
  return j + 3
}

/** How many backslashes stand right before buf[at], counting no further back than `from`. */
function backslashesBefore(buf: Buffer, at: number, from: number): number {
  let k = at
  while (k > from && buf[k - 1] === BACKSLASH) k--
  return at - k
}

/** How many bytes at the end of buf[start, end) begin a UTF-8 sequence that the end cuts short. */
function utf8Tail(buf: Buffer, start: number, end: number): number {
  for (let k = 1; k <= 3 && end - k >= start; k++) {
    const b = buf[end - k]!
    if ((b & 0xc0) === 0x80) continue
    if (b < 0xc0) return 0
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2
    return need > k ? k : 0
  }
  return 0
}

/** Quotes a byte for a message: `"x"` for printable ASCII, else its hex. */
function shown(b: number): string {
  return b >= 0x20 && b < 0x7f ? `"${String.fromCharCode(b)}"` : `byte 0x${b.toString(16).padStart(2, '0')}`
}

/** The streaming scanner: write() chunks as they come, then end(). */
export class JsonScanner {
  private state = VALUE
  /** Container kinds, innermost last: 1 for an array, 0 for an object. */
  private readonly stack: Uint8Array
  private depth = 0
  /** Bytes before the current chunk. */
  private offset = 0
  /** Bytes held back from the end of the last chunk (an escape or a UTF-8 sequence cut in two). */
  private carry: Buffer | undefined
  private started = false

  // The string being read.
  private inKey = false
  private mode: StringMode = SKIP
  private keyText = ''
  private keyLong = false
  private readonly maxKey: number

  // The number being read.
  private num = N_SIGN
  private numText = ''
  /** Integer digits beyond NUMBER_TEXT (each a power of ten the kept text lacks). */
  private numIntDropped = 0
  private numCut = false
  private numExp = 0
  private numExpNegative = false
  private numExpText = false

  /** Whether the byte loops run in WebAssembly (not when asked not to, or where there is none: node --jitless). */
  private readonly wasm: boolean
  /** A high surrogate escape at the end of the last piece (BYTES and SKIP), waiting for its low half. */
  private highSurrogate = 0
  private scratch = Buffer.allocUnsafe(0)
  /** Where the next backslash is in `slashIn` (-1: none after the last search; -2: not searched). */
  private slash = -2
  private slashIn: Buffer | undefined

  // The container being skimmed (wanted whole).
  /** Its bytes read so far, in earlier chunks (copies). */
  private skimParts: Buffer[] = []
  private skimBytes = 0
  /** Where it began (a byte offset), and the state before it. */
  private skimAt = -1
  private skimFrom = VALUE
  /** Containers open inside it (itself counted). */
  private skimDepth = 0
  private skimInString = false
  /** A backslash ended the last chunk inside a string: the next byte is escaped. */
  private skimEscape = false
  /** A container that must be read as events (it was too large, or not JSON): its offset. */
  private noSkimAt = -1
  private readonly wholeBytes: number

  // The literal being read.
  private literal = ''
  private literalAt = 0
  private literalValue: boolean | null = null

  constructor(
    private readonly handler: ScanHandler,
    private readonly opts: ScanOptions,
  ) {
    this.stack = new Uint8Array(opts.maxDepth + 1)
    this.wasm = !opts.noWasm && wasmLoops()
    this.maxKey = opts.maxKey ?? 256
    this.wholeBytes = opts.wholeBytes ?? 1024 * 1024
  }

  /** Scans one more chunk of the input. */
  write(chunk: Buffer): void {
    let buf = chunk
    let base = this.offset
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk])
      base -= this.carry.length
      this.carry = undefined
    }
    let i = 0
    const len = buf.length
    if (!this.started && len > 0) {
      this.started = true
      // A BOM is not JSON, but editors and some exporters write one: it is not worth refusing a capture over.
      if (len >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3
    }
    this.scan(buf, i, base)
    this.offset += chunk.length
  }

  /** Scans buf from i (buf[0] is at byte `base` of the input). */
  private scan(buf: Buffer, i: number, base: number): void {
    const len = buf.length
    // A caller may write the same Buffer again with other bytes in it: nothing remembered of the last one holds.
    this.slashIn = undefined
    forgetChunk()
    while (i < len) {
      const s = this.state
      if (s === SKIM) {
        i = this.skim(buf, i, len, base)
        continue
      }
      if (s === STRING) {
        i = this.string(buf, i, len, base)
        continue
      }
      if (s === NUMBER) {
        i = this.number(buf, i, len, base)
        continue
      }
      if (s === LITERAL) {
        i = this.literalBytes(buf, i, len, base)
        continue
      }
      const b = buf[i]!
      if (isSpace(b)) {
        // Pretty-printed captures are mostly indentation: skipped in one tight loop.
        i++
        while (i < len && isSpace(buf[i]!)) i++
        continue
      }
      const at = base + i
      switch (s) {
        case VALUE:
        case VALUE_OR_CLOSE:
          if (s === VALUE_OR_CLOSE && b === CLOSE_ARRAY) {
            this.closeContainer(1)
            i++
            break
          }
          i = this.valueStart(buf, i, at)
          break
        case KEY_OR_CLOSE:
        case KEY:
          if (b === QUOTE) {
            this.inKey = true
            this.keyText = ''
            this.keyLong = false
            this.mode = TEXT
            this.state = STRING
            i++
          } else if (b === CLOSE_OBJECT && s === KEY_OR_CLOSE) {
            this.closeContainer(0)
            i++
          } else throw this.unexpected(b, at, s === KEY ? 'a key in double quotes' : 'a key in double quotes or "}"')
          break
        case COLON_NEXT:
          if (b !== COLON) throw this.unexpected(b, at, '":" after a key')
          this.state = VALUE
          i++
          break
        case AFTER: {
          const inner = this.stack[this.depth]!
          if (b === COMMA) this.state = inner === 1 ? VALUE : KEY
          else if (b === CLOSE_ARRAY && inner === 1) this.closeContainer(1)
          else if (b === CLOSE_OBJECT && inner === 0) this.closeContainer(0)
          else throw this.unexpected(b, at, inner === 1 ? '"," or "]"' : '"," or "}"')
          i++
          break
        }
        default:
          throw this.unexpected(b, at, 'the end of the document')
      }
    }
  }

  /**
   * Skims a container wanted whole from i: strings passed over with indexOf, brackets counted,
   * nothing else looked at (JSON.parse checks the rest). Returns where it ended (or the chunk did).
   * Past the size or depth bound, or refused by the handler, its bytes are read again as events.
   */
  private skim(buf: Buffer, i: number, len: number, base: number): number {
    const start = i
    let depth = this.skimDepth
    let inString = this.skimInString
    if (this.wasm) {
      const r = skimFast(buf, i, len, depth, inString, this.skimEscape, this.opts.maxDepth - this.depth)
      this.skimEscape = r.escape
      if (r.tooDeep) return this.unskim(buf, start, len, base)
      return this.skimmed(buf, start, r.i, len, base, r.depth, r.inString)
    }
    if (this.skimEscape) {
      this.skimEscape = false
      i++
    }
    // The next quote and backslash, searched again only once passed: escape-dense bodies would search to the end per escape.
    let quote = -2
    let slash = -2
    while (i < len) {
      if (inString) {
        // Most strings (keys, header values, ids) are short: a byte loop finds their end, where two
        // indexOf calls a string cost more than the bytes (each a call into C++). Past SHORT_STRING
        // bytes without an end, indexOf takes over (a body: memchr over megabytes).
        const stop = len < i + SHORT_STRING ? len : i + SHORT_STRING
        let b = 0
        while (i < stop && (b = buf[i]!) !== QUOTE && b !== BACKSLASH) i++
        if (i < stop) {
          if (b === QUOTE) {
            inString = false
            i++
            continue
          }
          // An escape: the byte after the backslash never ends the string.
          i += 2
          if (i > len) {
            this.skimEscape = true
            i = len
          }
          continue
        }
        if (i >= len) break
        if (quote !== -1 && quote < i) quote = buf.indexOf(QUOTE, i)
        if (slash !== -1 && slash < i) slash = buf.indexOf(BACKSLASH, i)
        if (slash !== -1 && (quote === -1 || slash < quote)) {
          // An escape: the byte after the backslash never ends the string.
          i = slash + 2
          if (i > len) {
            this.skimEscape = true
            i = len
          }
          continue
        }
        if (quote === -1) {
          i = len
          break
        }
        inString = false
        i = quote + 1
        continue
      }
      const k = SKIM_CLASS[buf[i]!]!
      if (k === 0) {
        // Indentation, colons, commas, numbers: passed in one tight loop.
        i++
        while (i < len && SKIM_CLASS[buf[i]!] === 0) i++
        continue
      }
      if (k === 1) inString = true
      else if (k === 2) {
        depth++
        if (this.depth + depth > this.opts.maxDepth) return this.unskim(buf, start, len, base)
      } else if (--depth === 0) {
        i++
        break
      }
      i++
    }
    return this.skimmed(buf, start, i, len, base, depth, inString)
  }

  /** Skimming buf[start, i) left `depth` containers open (0: the one wanted whole closed at i), inside a string or not. */
  private skimmed(buf: Buffer, start: number, i: number, len: number, base: number, depth: number, inString: boolean): number {
    this.skimBytes += i - start
    if (this.skimBytes > this.wholeBytes) return this.unskim(buf, start, len, base)
    if (depth > 0) {
      // The chunk ended inside: its part is kept (a copy: the caller may reuse the chunk).
      this.skimParts.push(Buffer.from(buf.subarray(start, i)))
      this.skimDepth = depth
      this.skimInString = inString
      return i
    }
    const parts = this.skimParts
    parts.push(buf.subarray(start, i))
    const at = this.skimAt
    const bytes = this.skimBytes
    this.endSkim()
    if (this.handler.whole!(parts, bytes)) {
      this.afterValue()
      return i
    }
    // Not JSON: read again as events, which throw where it breaks.
    this.noSkimAt = at
    this.state = this.skimFrom
    this.scan(parts.length === 1 ? parts[0]! : Buffer.concat(parts), 0, at)
    this.slashIn = undefined
    return i
  }

  /** Reads the container being skimmed again as events, from its start to the end of this chunk. */
  private unskim(buf: Buffer, start: number, len: number, base: number): number {
    const parts = this.skimParts
    parts.push(buf.subarray(start, len))
    const at = this.skimAt
    this.endSkim()
    this.noSkimAt = at
    this.state = this.skimFrom
    this.scan(Buffer.concat(parts), 0, at)
    this.slashIn = undefined
    return len
  }

  private endSkim(): void {
    this.skimParts = []
    this.skimBytes = 0
    this.skimDepth = 0
    this.skimInString = false
    this.skimEscape = false
    this.skimAt = -1
  }

  /** The input is over: throws unless it was one complete JSON document. */
  end(): void {
    while (this.state === SKIM) {
      // Cut short inside a container wanted whole: read as events, so the handler knows where it stopped (one inside may be skimmed in turn).
      const parts = this.skimParts
      const at = this.skimAt
      this.endSkim()
      this.noSkimAt = at
      this.state = this.skimFrom
      this.scan(Buffer.concat(parts), 0, at)
    }
    if (this.state === NUMBER && this.depth === 0 && (this.num === N_ZERO || this.num === N_INT || this.num === N_FRAC || this.num === N_EXP)) this.finishNumber()
    if (this.state === DONE) return
    const at = this.offset
    if (!this.started) throw new ScanError('the file is empty', at, 'end')
    throw new ScanError(`the file ends at byte ${at}, in the middle of the document (cut short?)`, at, 'end')
  }

  private unexpected(b: number, at: number, wanted: string): ScanError {
    return new ScanError(`unexpected ${shown(b)} at byte ${at}, where ${wanted} should be`, at, 'syntax')
  }

  private afterValue(): void {
    this.state = this.depth === 0 ? DONE : AFTER
  }

  private closeContainer(kind: number): void {
    this.depth--
    this.handler.close(kind === 1)
    this.afterValue()
  }

  private valueStart(buf: Buffer, i: number, at: number): number {
    const b = buf[i]!
    if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      if (this.depth >= this.opts.maxDepth) throw new ScanError(`nested deeper than ${this.opts.maxDepth} levels`, at, 'depth')
      const array = b === OPEN_ARRAY
      if (at !== this.noSkimAt && this.handler.wantsWhole?.(array, this.depth + 1)) {
        this.skimAt = at
        this.skimFrom = this.state
        this.state = SKIM
        return i
      }
      this.stack[++this.depth] = array ? 1 : 0
      this.state = array ? VALUE_OR_CLOSE : KEY_OR_CLOSE
      this.handler.open(array, this.depth)
      return i + 1
    }
    if (b === QUOTE) {
      this.inKey = false
      this.mode = this.handler.stringStart()
      this.state = STRING
      return i + 1
    }
    if (b === MINUS || (b >= ZERO && b <= NINE)) {
      this.num = N_SIGN
      this.numText = ''
      this.numIntDropped = 0
      this.numCut = false
      this.numExp = 0
      this.numExpNegative = false
      this.numExpText = false
      this.state = NUMBER
      return i
    }
    const lit = LITERALS[b]
    if (lit) {
      this.literal = lit[0]
      this.literalValue = lit[1]
      this.literalAt = 0
      this.state = LITERAL
      return i
    }
    throw this.unexpected(b, at, 'a value')
  }

  private literalBytes(buf: Buffer, i: number, len: number, base: number): number {
    while (i < len && this.literalAt < this.literal.length) {
      if (buf[i] !== this.literal.charCodeAt(this.literalAt)) throw this.unexpected(buf[i]!, base + i, `"${this.literal}"`)
      this.literalAt++
      i++
    }
    if (this.literalAt === this.literal.length) {
      this.handler.scalar(this.literalValue)
      this.afterValue()
    }
    return i
  }

  /** Reads number bytes from i; returns where the number (or the chunk) ends. */
  private number(buf: Buffer, i: number, len: number, base: number): number {
    for (; i < len; i++) {
      const b = buf[i]!
      const digit = b >= ZERO && b <= NINE
      switch (this.num) {
        case N_SIGN:
          if (b === MINUS && this.numText === '') {
            this.numText = '-'
            continue
          }
          if (!digit) throw this.unexpected(b, base + i, 'a digit')
          this.num = b === ZERO ? N_ZERO : N_INT
          this.keepDigit(b)
          continue
        case N_ZERO:
        case N_INT:
          if (digit && this.num === N_INT) {
            this.keepDigit(b)
            continue
          }
          if (b === DOT) {
            this.num = N_DOT
            this.keepChar(b)
            continue
          }
          if (b === SMALL_E || b === BIG_E) {
            this.num = N_E
            continue
          }
          if (digit) throw this.unexpected(b, base + i, 'no digit after a leading 0')
          break
        case N_DOT:
          if (!digit) throw this.unexpected(b, base + i, 'a digit after "."')
          this.num = N_FRAC
          this.keepChar(b)
          continue
        case N_FRAC:
          if (digit) {
            this.keepChar(b)
            continue
          }
          if (b === SMALL_E || b === BIG_E) {
            this.num = N_E
            continue
          }
          break
        case N_E:
          if (b === MINUS || b === PLUS) {
            this.numExpNegative = b === MINUS
            this.num = N_E_SIGN
            continue
          }
          if (!digit) throw this.unexpected(b, base + i, 'a digit in the exponent')
          this.num = N_EXP
          this.expDigit(b)
          continue
        case N_E_SIGN:
          if (!digit) throw this.unexpected(b, base + i, 'a digit in the exponent')
          this.num = N_EXP
          this.expDigit(b)
          continue
        case N_EXP:
          if (digit) {
            this.expDigit(b)
            continue
          }
          break
      }
      // The number ended before this byte, which the main loop reads next.
      if (this.num === N_DOT || this.num === N_E || this.num === N_E_SIGN) throw this.unexpected(b, base + i, 'a digit')
      this.finishNumber()
      return i
    }
    return i
  }

  private keepDigit(b: number): void {
    if (this.numText.length < NUMBER_TEXT) this.numText += String.fromCharCode(b)
    else this.numIntDropped = Math.min(this.numIntDropped + 1, 1e6)
  }

  private keepChar(b: number): void {
    // Digits after the point beyond the kept text change nothing a double can hold.
    if (this.numText.length < NUMBER_TEXT && this.numIntDropped === 0) this.numText += String.fromCharCode(b)
    else this.numCut = true
  }

  private expDigit(b: number): void {
    this.numExpText = true
    this.numExp = Math.min(this.numExp * 10 + (b - ZERO), 1e9)
  }

  private finishNumber(): void {
    const exp = (this.numExpNegative ? -this.numExp : this.numExp) + this.numIntDropped
    const text = this.numText.endsWith('.') ? this.numText.slice(0, -1) : this.numText
    const value = this.numExpText || this.numIntDropped > 0 ? Number(`${text}e${exp}`) : Number(text)
    this.handler.scalar(value)
    this.afterValue()
  }

  /**
   * Reads string content from i: pieces without escapes go as they are, pieces with escapes are
   * decoded. Returns where the string (or the chunk) ends. The end is the first quote after an even
   * run of backslashes, found by indexOf and a look back: escape-dense bodies (binary in a
   * multipart upload, an escape every few bytes) cost a search per quote, not one per escape.
   */
  private string(buf: Buffer, i: number, len: number, base: number): number {
    const start = i
    // The next backslash is remembered across strings of one chunk: most strings have none, and
    // searching anew for each would scan to the chunk's end once per string.
    if (this.slashIn !== buf) {
      this.slashIn = buf
      this.slash = -2
    }
    if (this.slash !== -1 && this.slash < start) this.slash = buf.indexOf(BACKSLASH, start)
    const slash = this.slash
    for (let from = start; ; ) {
      const quote = buf.indexOf(QUOTE, from)
      if (quote === -1) break
      // A piece starts where no escape is open (a cut one was carried whole), so the run before the quote counts from there.
      const escaped = slash !== -1 && slash < quote
      if (!escaped || backslashesBefore(buf, quote, start) % 2 === 0) {
        this.piece(buf, start, quote, escaped, base)
        this.stringDone()
        return quote + 1
      }
      from = quote + 1
    }
    // No end in this chunk: hand over what is whole; an escape cut off by the chunk's end, or a UTF-8 sequence cut in two, waits for the next.
    let end = len - utf8Tail(buf, start, len)
    if (slash !== -1) {
      const last = buf.lastIndexOf(BACKSLASH, len - 1)
      // The last backslash opens an escape when the run it ends is odd; \uXXXX holds no backslash, so no escape opened before it is still open.
      if (last >= start && backslashesBefore(buf, last, start) % 2 === 0 && last + (last + 1 < len && buf[last + 1] === SMALL_U ? 6 : 2) > len) end = last
    }
    this.piece(buf, start, end, slash !== -1 && slash < end, base)
    if (end < len) this.carry = Buffer.from(buf.subarray(end))
    return len
  }

  /** Validates and hands over string content buf[start, end). */
  private piece(buf: Buffer, start: number, end: number, escaped: boolean, base: number): void {
    if (end <= start) return
    if (!escaped) {
      // Short pieces (names, header values) are checked byte by byte; long ones (bodies) by one regex pass.
      let base64ish = false
      if (end - start < LONG_PIECE) {
        for (let k = start; k < end; k++) if (buf[k]! < 0x20) throw this.rawControl(base + k)
      } else if (this.wasm) {
        const kind = classifyFast(buf, start, end)
        if (kind === 'control') throw this.rawControl(base + start)
        base64ish = kind === 'base64ish'
      } else {
        const latin1 = buf.toString('latin1', start, end)
        base64ish = !NOT_BASE64ISH.test(latin1)
        if (!base64ish && CONTROL.test(latin1)) throw this.rawControl(base + start)
      }
      this.flushSurrogate()
      if (this.mode === SKIP) return
      if (this.inKey) this.keyPiece(buf.toString('utf8', start, end))
      else if (!this.handler.raw(buf, start, end, base64ish)) this.mode = SKIP
      return
    }
    if (this.inKey || this.mode === TEXT) {
      let text: string
      try {
        text = JSON.parse(`"${buf.toString('utf8', start, end)}"`) as string
      } catch {
        throw this.badString(base + start, base + end)
      }
      if (this.inKey) this.keyPiece(text)
      else if (!this.handler.decoded(text)) this.mode = SKIP
      return
    }
    const out = this.decodeBytes(buf, start, end)
    if (!out) throw this.badString(base + start, base + end)
    if (this.mode === BYTES && out.length > 0 && !this.handler.decodedBytes(out)) this.mode = SKIP
  }

  /**
   * buf[start, end) decoded to UTF-8 in this scanner's scratch buffer (a view, valid until its next
   * piece), or undefined when it is not JSON. Long pieces are decoded by WebAssembly (wasm-loops.ts)
   * as far as their first surrogate escape and copied out of its memory (a handler that scans
   * something else meanwhile would overwrite it there); this class's loop does the rest, and every
   * piece that opens on a surrogate left waiting.
   */
  private decodeBytes(buf: Buffer, start: number, end: number): Buffer | undefined {
    const fast = this.highSurrogate !== 0 || end - start < LONG_PIECE || !this.wasm ? undefined : unescapeFast(buf, start, end)
    if (!fast) {
      const n = this.unescape(buf, start, end, 0)
      return n < 0 ? undefined : this.scratch.subarray(0, n)
    }
    if (fast.kind === 'invalid') return undefined
    this.grow(end - start)
    fast.out.copy(this.scratch, 0)
    if (fast.kind === 'done') return this.scratch.subarray(0, fast.out.length)
    // Stopped at a surrogate escape: the loop goes on from there, after what came before it.
    const n = this.unescape(buf, start + fast.read, end, fast.out.length)
    return n < 0 ? undefined : this.scratch.subarray(0, n)
  }

  private grow(bytes: number): void {
    if (this.scratch.length < bytes + 8) this.scratch = Buffer.allocUnsafe(Math.max(bytes + 8, 2 * this.scratch.length))
  }

  private rawControl(at: number): ScanError {
    return new ScanError(`a string holds a raw control character (near byte ${at}); JSON escapes them`, at, 'syntax')
  }

  private badString(from: number, to: number): ScanError {
    return new ScanError(`a string holds an invalid escape or a raw control character (between bytes ${from} and ${to})`, from, 'syntax')
  }

  /**
   * Decodes buf[start, end) (string content, escapes whole) into this.scratch as UTF-8, after the
   * `from` bytes already there, as Buffer.from(JSON.parse(...)) would; returns the bytes there, or
   * -1 when the content is not JSON (a control character, a bad escape). A high surrogate at the
   * end waits for the next piece.
   */
  private unescape(buf: Buffer, start: number, end: number, from: number): number {
    this.grow(from + end - start)
    const out = this.scratch
    let j = from
    let high = this.highSurrogate
    this.highSurrogate = 0
    for (let i = start; i < end; ) {
      const b = buf[i]!
      if (b !== BACKSLASH) {
        if (high) {
          j = replacement(out, j)
          high = 0
        }
        // A run of plain bytes up to the next escape, copied in one tight loop (binary bodies have an escape every few bytes).
        for (; i < end; i++) {
          const c = buf[i]!
          if (c === BACKSLASH) break
          if (c < 0x20) return -1
          out[j++] = c
        }
        continue
      }
      const e = buf[i + 1]
      let code: number
      if (e === SMALL_U) {
        code = hex4(buf, i + 2)
        if (code < 0) return -1
        i += 6
      } else {
        code = e === undefined ? -1 : ESCAPES[e]!
        if (code < 0) return -1
        i += 2
      }
      if (high) {
        if (code >= 0xdc00 && code <= 0xdfff) {
          const cp = 0x10000 + ((high - 0xd800) << 10) + (code - 0xdc00)
          out[j++] = 0xf0 | (cp >> 18)
          out[j++] = 0x80 | ((cp >> 12) & 0x3f)
          out[j++] = 0x80 | ((cp >> 6) & 0x3f)
          out[j++] = 0x80 | (cp & 0x3f)
          high = 0
          continue
        }
        j = replacement(out, j)
        high = 0
      }
      if (code < 0x80) out[j++] = code
      else if (code < 0x800) {
        out[j++] = 0xc0 | (code >> 6)
        out[j++] = 0x80 | (code & 0x3f)
      } else if (code >= 0xd800 && code <= 0xdbff) high = code
      else if (code >= 0xdc00 && code <= 0xdfff) j = replacement(out, j)
      else {
        out[j++] = 0xe0 | (code >> 12)
        out[j++] = 0x80 | ((code >> 6) & 0x3f)
        out[j++] = 0x80 | (code & 0x3f)
      }
    }
    this.highSurrogate = high
    return j
  }

  /** A high surrogate left waiting when its string ends or raw bytes follow: U+FFFD, as Buffer.from writes a lone one. */
  private flushSurrogate(): void {
    if (!this.highSurrogate) return
    this.highSurrogate = 0
    if (this.mode === BYTES && !this.handler.decodedBytes(Buffer.from([0xef, 0xbf, 0xbd]))) this.mode = SKIP
  }

  private keyPiece(text: string): void {
    if (this.keyLong) return
    const room = this.maxKey - this.keyText.length
    if (text.length > room) {
      this.keyText += text.slice(0, room)
      this.keyLong = true
    } else this.keyText += text
  }

  private stringDone(): void {
    this.flushSurrogate()
    if (this.inKey) {
      this.handler.key(this.keyText, this.keyLong)
      this.keyText = ''
      this.state = COLON_NEXT
      return
    }
    this.handler.stringEnd()
    this.afterValue()
  }
}
