/**
 * The HAR reader's byte loops, run by a small WebAssembly module (wasm-loops.wat): the scanner's
 * JavaScript does ~300 MB/s where a loop looks at every byte, and on a HAR those loops were the
 * largest single costs: decoding a multi-MB upload kept as text (binary bytes as characters, an
 * escape every few bytes), checking a long base64 body, finding where each small entry ends
 * (skim) before JSON.parse builds it, counting the characters of a body's kept megabyte, and
 * reading an upload's kept megabyte as text. The module runs them at two to five times that.
 *
 * Each does what the scanner's own JavaScript does, which stays for short pieces, as the
 * reference (ScanOptions.noWasm; suites/traffic/wasm-loops.test.ts holds the two together), and
 * where there is no WebAssembly (node --jitless). The
 * decoder leaves \u escapes of surrogates to the scanner's loop (pairs, lone halves and a pair cut
 * between pieces keep one set of rules). One instance per thread; the scanner is synchronous, so
 * one call never overlaps another.
 */
import { WASM_LOOPS } from './wasm-loops-module.ts'

/** Where content starts in the module's memory: below it, the tables (see wasm-loops.wat). */
const CONTENT = 1024
const PAGE = 65536

/** The parts of the WebAssembly API used here (@types/node declares the namespace without them). */
interface Memory {
  readonly buffer: ArrayBuffer
  grow(pages: number): number
}
interface Global {
  value: number
}
interface Exports {
  memory: Memory
  stopIn: Global
  stopOut: Global
  depthOut: Global
  inStringOut: Global
  escapeOut: Global
  tooDeep: Global
  unescape(end: number): number
  classify(from: number, end: number): number
  skim(i: number, len: number, depth: number, inString: number, escape: number, room: number): number
  utf16Units(from: number, end: number): number
  latin1(from: number, end: number): number
}
const Wasm = (globalThis as unknown as { WebAssembly?: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object) => { exports: unknown } } }).WebAssembly

let wasm: Exports | undefined
/** The module could not be made (no WebAssembly: node --jitless): the scanner's JavaScript does everything. */
let unavailable = false
let bytes = new Uint8Array(0)
/** The chunk whose bytes are at CONTENT now (skim reads one chunk many times: copied once). */
let chunkHeld: Uint8Array | undefined

/** Whether the loops can run here (asked once per scanner; the module is made on the first ask). */
export function wasmLoops(): boolean {
  if (wasm) return true
  if (unavailable) return false
  try {
    instance()
    return true
  } catch {
    unavailable = true
    return false
  }
}

function instance(): Exports {
  if (wasm) return wasm
  if (!Wasm) throw new Error('no WebAssembly here')
  wasm = new Wasm.Instance(new Wasm.Module(Buffer.from(WASM_LOOPS, 'base64'))).exports as Exports
  bytes = new Uint8Array(wasm.memory.buffer)
  bytes.fill(255, 0, 512)
  for (let k = 0; k < 10; k++) bytes[0x30 + k] = k
  for (let k = 0; k < 6; k++) bytes[0x41 + k] = bytes[0x61 + k] = 10 + k
  for (const [letter, code] of [['"', 0x22], ['\\', 0x5c], ['/', 0x2f], ['b', 0x08], ['f', 0x0c], ['n', 0x0a], ['r', 0x0d], ['t', 0x09]] as const) bytes[256 + letter.charCodeAt(0)] = code
  for (let b = 0; b < 256; b++) {
    const base64ish = /[A-Za-z0-9+/=_-]/.test(String.fromCharCode(b))
    bytes[512 + b] = (base64ish ? 0 : 1) | (b < 0x20 ? 2 : 0)
  }
  bytes.fill(0, 768, 1024)
  bytes[768 + 0x22] = 1
  bytes[768 + 0x7b] = bytes[768 + 0x5b] = 2
  bytes[768 + 0x7d] = bytes[768 + 0x5d] = 3
  return wasm
}

/** Copies buf[start, end) to CONTENT (growing the memory as needed). */
function put(w: Exports, buf: Uint8Array, start: number, end: number): void {
  const need = CONTENT + (end - start)
  if (w.memory.buffer.byteLength < need) {
    w.memory.grow(Math.ceil((need - w.memory.buffer.byteLength) / PAGE))
    bytes = new Uint8Array(w.memory.buffer)
  }
  bytes.set(start === 0 && end === buf.length ? buf : buf.subarray(start, end), CONTENT)
}

/** What decoding a piece gave: its UTF-8 (a view, valid until the next call), or where it stopped, or that it is not JSON. */
export type Unescaped =
  | { kind: 'done'; out: Buffer }
  | { kind: 'invalid' }
  /** At a \u escape of a surrogate, `read` bytes into the piece: `out` holds what came before it, decoded. */
  | { kind: 'surrogate'; read: number; out: Buffer }

/** Decodes buf[start, end) (string content whose escapes are whole) to UTF-8 as far as a surrogate escape. */
export function unescapeFast(buf: Uint8Array, start: number, end: number): Unescaped {
  const w = instance()
  chunkHeld = undefined
  put(w, buf, start, end)
  const r = w.unescape(CONTENT + (end - start))
  if (r === -1) return { kind: 'invalid' }
  if (r === -2) return { kind: 'surrogate', read: w.stopIn.value - CONTENT, out: Buffer.from(w.memory.buffer, CONTENT, w.stopOut.value - CONTENT) }
  return { kind: 'done', out: Buffer.from(w.memory.buffer, CONTENT, r - CONTENT) }
}

/** A string piece without escapes: 'base64ish' (every byte base64 or base64url), 'control' (a raw control character), or 'text'. */
export function classifyFast(buf: Uint8Array, start: number, end: number): 'base64ish' | 'control' | 'text' {
  const w = instance()
  chunkHeld = undefined
  put(w, buf, start, end)
  const r = w.classify(CONTENT, CONTENT + (end - start))
  return r === 0 ? 'base64ish' : r === 2 ? 'control' : 'text'
}

/** How many UTF-16 code units bytes[0, n) (whole UTF-8 characters) decode to: one a character, two for one past U+FFFF. */
export function utf16UnitsFast(buf: Uint8Array, n: number): number {
  const w = instance()
  chunkHeld = undefined
  put(w, buf, 0, n)
  return w.utf16Units(CONTENT, CONTENT + n)
}

/** From this many bytes a text is tried as Latin-1 first (see utf8Text): below, decoding it costs less than the try. */
const LATIN1_FROM = 4096

/**
 * bytes.toString('utf8'), faster for the text of a binary upload kept in a HAR: when the bytes are
 * only ASCII and characters up to U+00FF (binary bytes as Latin-1 characters), they are rewritten
 * as Latin-1 and read as such (~1 ms a megabyte, where Node 20 decodes such UTF-8 at ~100 MB/s),
 * which is the same text; anything else is decoded as UTF-8.
 */
export function utf8Text(buf: Buffer): string {
  if (buf.length >= LATIN1_FROM && wasmLoops()) {
    const w = instance()
    chunkHeld = undefined
    // A kept window is cut at a byte count: a character's first byte may be its last, which decodes as U+FFFD.
    const last = buf[buf.length - 1]
    const cut = last === 0xc2 || last === 0xc3 ? 1 : 0
    put(w, buf, 0, buf.length - cut)
    const end = w.latin1(CONTENT, CONTENT + buf.length - cut)
    if (end >= 0) return Buffer.from(w.memory.buffer, CONTENT, end - CONTENT).toString('latin1') + (cut ? '\ufffd' : '')
  }
  return buf.toString('utf8')
}

/** Where skimming stopped, and its state there (see wasm-loops.wat's skim). */
export interface Skimmed {
  i: number
  depth: number
  inString: boolean
  escape: boolean
  tooDeep: boolean
}

const skimmed: Skimmed = { i: 0, depth: 0, inString: false, escape: false, tooDeep: false }

/**
 * Skims chunk[i, len) of a container wanted whole. The chunk is copied to the module once, until
 * forgetChunk() or another loop uses the memory; the result is one object, reused by the next call.
 */
export function skimFast(chunk: Uint8Array, i: number, len: number, depth: number, inString: boolean, escape: boolean, room: number): Skimmed {
  const w = instance()
  if (chunkHeld !== chunk) {
    put(w, chunk, 0, chunk.length)
    chunkHeld = chunk
  }
  skimmed.i = w.skim(CONTENT + i, CONTENT + len, depth, inString ? 1 : 0, escape ? 1 : 0, room) - CONTENT
  skimmed.depth = w.depthOut.value
  skimmed.inString = w.inStringOut.value === 1
  skimmed.escape = w.escapeOut.value === 1
  skimmed.tooDeep = w.tooDeep.value === 1
  return skimmed
}

/** The chunk skimFast holds may change or be dropped: the next call copies again. */
export function forgetChunk(): void {
  chunkHeld = undefined
}
