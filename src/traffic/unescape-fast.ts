/**
 * JSON string content with escapes, decoded to UTF-8 by a small WebAssembly module (unescape.wat):
 * ~700 MB/s where the scanner's JavaScript loop does ~300 on a multi-MB upload kept as text in a HAR
 * (binary bytes as characters, an escape every few bytes), the reader's largest single cost there.
 *
 * It decodes everything but \u escapes of surrogates: at one it stops and says where, and the
 * scanner's JavaScript goes on from there (pairs, lone ones and a pair cut between pieces are its
 * rules, kept in one place). One instance per thread; the scanner is synchronous, so it is never
 * used by two pieces at once.
 */
import { UNESCAPE_WASM } from './unescape-wasm.ts'

/** Where content starts in the module's memory: below it, the hex-digit and escape-letter tables. */
const CONTENT = 512
const PAGE = 65536

/** The parts of the WebAssembly API used here (@types/node declares the namespace without them). */
interface Memory {
  readonly buffer: ArrayBuffer
  grow(pages: number): number
}
interface Exports {
  memory: Memory
  stopIn: { value: number }
  stopOut: { value: number }
  unescape(end: number): number
}
const Wasm = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object) => { exports: unknown } } }).WebAssembly

let wasm: Exports | undefined
let bytes = new Uint8Array(0)

function instance(): Exports {
  if (wasm) return wasm
  const module = new Wasm.Module(Buffer.from(UNESCAPE_WASM, 'base64'))
  wasm = new Wasm.Instance(module).exports as unknown as Exports
  bytes = new Uint8Array(wasm.memory.buffer)
  bytes.fill(255, 0, CONTENT)
  for (let k = 0; k < 10; k++) bytes[0x30 + k] = k
  for (let k = 0; k < 6; k++) bytes[0x41 + k] = bytes[0x61 + k] = 10 + k
  for (const [letter, code] of [['"', 0x22], ['\\', 0x5c], ['/', 0x2f], ['b', 0x08], ['f', 0x0c], ['n', 0x0a], ['r', 0x0d], ['t', 0x09]] as const) bytes[256 + letter.charCodeAt(0)] = code
  return wasm
}

/** What decoding a piece gave: its UTF-8 (a view, valid until the next call), or where it stopped, or that it is not JSON. */
export type Unescaped =
  | { kind: 'done'; out: Buffer }
  | { kind: 'invalid' }
  /** At a \u escape of a surrogate, `read` bytes into the piece: `out` holds what came before it, decoded. */
  | { kind: 'surrogate'; read: number; out: Buffer }

/** Decodes buf[start, end) (string content whose escapes are whole) as far as a surrogate escape. */
export function unescapeFast(buf: Uint8Array, start: number, end: number): Unescaped {
  const w = instance()
  const need = CONTENT + (end - start)
  if (w.memory.buffer.byteLength < need) {
    w.memory.grow(Math.ceil((need - w.memory.buffer.byteLength) / PAGE))
    bytes = new Uint8Array(w.memory.buffer)
  }
  bytes.set(buf.subarray(start, end), CONTENT)
  const r = w.unescape(need)
  if (r === -1) return { kind: 'invalid' }
  if (r === -2) {
    const stopOut = w.stopOut.value
    return { kind: 'surrogate', read: w.stopIn.value - CONTENT, out: Buffer.from(w.memory.buffer, CONTENT, stopOut - CONTENT) }
  }
  return { kind: 'done', out: Buffer.from(w.memory.buffer, CONTENT, r - CONTENT) }
}
