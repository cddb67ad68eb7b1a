/**
 * A Map that keeps the most recently used entries up to a limit: what a long-running observer
 * (the proxy, the webhook receiver) may learn from traffic without growing with it. Reading an
 * entry (get) makes it recent; setting one past the limit forgets the least recently used, except
 * pinned keys (the ids the configuration names), and counts what it forgot so a report can say so.
 */
export class RecentMap<K, V> extends Map<K, V> {
  /** Entries forgotten to stay within the limit. */
  forgotten = 0
  private readonly pinned = new Set<K>()

  constructor(readonly limit: number) {
    super()
    if (!(limit >= 1)) throw new RangeError(`RecentMap limit must be at least 1, is ${limit}`)
  }

  /** Sets a key that is never forgotten (and does not count against the limit). */
  pin(key: K, value: V): this {
    this.pinned.add(key)
    return super.set(key, value)
  }

  /** The value without making the entry recent (a lookup that decides nothing about keeping it). */
  peek(key: K): V | undefined {
    return super.get(key)
  }

  override get(key: K): V | undefined {
    const v = super.get(key)
    if (v === undefined || this.pinned.has(key)) return v
    // Most recent last: Map keeps insertion order, so a read moves the entry to the end.
    super.delete(key)
    super.set(key, v)
    return v
  }

  override set(key: K, value: V): this {
    if (this.pinned.has(key)) return super.set(key, value)
    super.delete(key)
    super.set(key, value)
    if (this.size - this.pinned.size > this.limit) {
      for (const old of this.keys()) {
        if (this.pinned.has(old)) continue
        super.delete(old)
        this.forgotten++
        break
      }
    }
    return this
  }

  override delete(key: K): boolean {
    this.pinned.delete(key)
    return super.delete(key)
  }

  override clear(): void {
    this.pinned.clear()
    super.clear()
  }
}
