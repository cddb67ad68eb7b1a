/**
 * The capture side of one body the pass-through forwards: every byte counted, the first `cap`
 * bytes kept, every byte hashed. Nothing is copied or hashed while the body stays within the cap:
 * the tee holds the chunks themselves (views of the buffers the socket read, which nothing reuses)
 * until the exchange ends, and copies and hashes them only if the observer takes the exchange
 * (under overload most are skipped, and a skipped one then cost no copy and no hash). Past the
 * cap, bytes must be hashed as they pass: hashing starts there, over the chunks held and every
 * chunk after.
 */
import { createHash, hash as hashOnce, type Hash } from 'node:crypto'

const EMPTY = Buffer.alloc(0)

/** A tee on one body stream. */
export class BodyTee {
  /** Bytes that passed. */
  size = 0
  /** The first chunks, by reference, until they reach the cap (the last may run past it; only `cap` bytes are kept). */
  private chunks: Buffer[] = []
  private held = 0
  private hash: Hash | undefined
  private copy: Buffer | undefined

  constructor(private readonly cap: number) {}

  /** Counts one chunk, holds it while under the cap, and hashes it once the body has run past the cap. */
  add(chunk: Buffer): void {
    this.size += chunk.length
    if (this.hash) {
      this.hash.update(chunk)
      return
    }
    const kept = this.held < this.cap
    if (kept) {
      this.chunks.push(chunk)
      this.held += chunk.length
    }
    if (this.size > this.cap) {
      const h = (this.hash = createHash('sha256'))
      for (const c of this.chunks) h.update(c)
      if (!kept) h.update(chunk)
    }
  }

  /** The kept prefix (at most `cap` bytes), copied once; the chunks held go. */
  keptBytes(): Buffer {
    if (!this.copy) {
      const n = Math.min(this.held, this.cap)
      this.copy = n === 0 ? EMPTY : this.chunks.length === 1 ? Buffer.from(this.chunks[0]!.subarray(0, n)) : Buffer.concat(this.chunks, n)
      this.chunks = []
    }
    return this.copy
  }

  /** Hex sha256 of every byte that passed; call once, at the end. */
  sha256(): string {
    return this.hash ? this.hash.digest('hex') : hashOnce('sha256', this.keptBytes(), 'hex')
  }
}
