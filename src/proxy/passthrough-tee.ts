/**
 * The capture side of one body the pass-through forwards: every byte counted and hashed, the first
 * `cap` bytes copied. The copy is the only per-chunk allocation; the hash is created only when a
 * second chunk arrives, so a one-chunk body (most API answers) is hashed in one call.
 */
import { createHash, hash as hashOnce, type Hash } from 'node:crypto'

const EMPTY = Buffer.alloc(0)
const EMPTY_SHA256 = hashOnce('sha256', EMPTY, 'hex')

/** A tee on one body stream. */
export class BodyTee {
  /** Bytes that passed. */
  size = 0
  private first: Buffer | undefined
  private hash: Hash | undefined
  private readonly kept: Buffer[] = []
  private keptLen = 0

  constructor(private readonly cap: number) {}

  /** Counts, hashes and (under the cap) copies one chunk; the chunk itself is not retained beyond the first. */
  add(chunk: Buffer): void {
    this.size += chunk.length
    if (this.hash) this.hash.update(chunk)
    else if (this.first) this.hash = createHash('sha256').update(this.first).update(chunk)
    else this.first = chunk
    if (this.keptLen < this.cap) {
      const part = Buffer.from(chunk.subarray(0, this.cap - this.keptLen))
      this.kept.push(part)
      this.keptLen += part.length
    }
  }

  /** The kept prefix (at most `cap` bytes). */
  keptBytes(): Buffer {
    return this.kept.length === 0 ? EMPTY : this.kept.length === 1 ? this.kept[0]! : Buffer.concat(this.kept, this.keptLen)
  }

  /** Hex sha256 of every byte that passed; call once, at the end. */
  sha256(): string {
    return this.hash ? this.hash.digest('hex') : this.first ? hashOnce('sha256', this.first, 'hex') : EMPTY_SHA256
  }
}
