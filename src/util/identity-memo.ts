/**
 * What was computed for the last few objects, by identity: the memo of a pure function of an
 * object that is asked about the same object several times in a row (a body's Graph error while
 * the checks judge one exchange; a body's depth while attribution asks fifteen candidates).
 *
 * It stands where a WeakMap would, for objects that die young: every WeakMap key is an ephemeron
 * the garbage collector must trace on each scavenge: with a few keyed per exchange, a verify run's
 * scavenges took 570-648 ms of 32,349 entries, and 444-467 without (bench/run.ts's verify section;
 * issue 18). This holds `size` strong references at most, so it keeps at most that many objects
 * alive past their use; a miss only computes again.
 */
export class IdentityMemo<K extends object, V> {
  private readonly keys: (K | undefined)[]
  private readonly values: (V | undefined)[]
  private next = 0

  constructor(readonly size = 8) {
    if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`IdentityMemo size must be a whole number of at least 1, is ${size}`)
    this.keys = new Array<K | undefined>(size).fill(undefined)
    this.values = new Array<V | undefined>(size).fill(undefined)
  }

  /** The value kept for `key` (this very object), or what `compute` makes of it, kept in place of the first kept (in turn). */
  get(key: K, compute: (key: K) => V): V {
    const keys = this.keys
    for (let i = 0; i < keys.length; i++) if (keys[i] === key) return this.values[i] as V
    const value = compute(key)
    keys[this.next] = key
    this.values[this.next] = value
    this.next = (this.next + 1) % keys.length
    return value
  }
}
