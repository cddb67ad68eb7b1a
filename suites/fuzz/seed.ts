/**
 * The fuzz suites' randomness: one seed per run, printed with every failure so the failing case can
 * be replayed exactly. CI uses a fixed seed (a red build is reproducible, never flaky);
 * `DRIFTWATCH_FUZZ_SEED=<n>` replays a run, `DRIFTWATCH_FUZZ_SEED=random` explores new cases.
 * `npm test` runs the first cases of the costly loops, `npm run test:e2e` all of them (fuzzCases).
 */

/** The seed of this run: DRIFTWATCH_FUZZ_SEED (a number, or `random`), else a fixed default. */
export function fuzzSeed(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env.DRIFTWATCH_FUZZ_SEED
  if (raw === undefined || raw === '') return 20260120
  if (raw === 'random') return (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0) throw new Error(`DRIFTWATCH_FUZZ_SEED must be a whole number or "random" (got ${JSON.stringify(raw)})`)
  return n >>> 0
}

/**
 * How many cases a fuzz loop runs: `full` under DRIFTWATCH_FUZZ_FULL=1 (`npm run test:e2e`, which .ci/run runs and
 * counts), else `quick` (`npm test`): the first `quick` of the same seeded cases, since each case has its own fork.
 */
export function fuzzCases(full: number, quick: number, env: Readonly<Record<string, string | undefined>> = process.env): number {
  return env.DRIFTWATCH_FUZZ_FULL === '1' ? full : quick
}

/** A small deterministic PRNG (mulberry32) with the helpers the generators use. */
export class Rng {
  private state: number

  constructor(readonly seed: number) {
    this.state = seed >>> 0
  }

  /** A generator for one sub-case, independent of how many numbers other sub-cases drew. */
  fork(label: string | number): Rng {
    let h = this.seed ^ 0x9e3779b9
    for (const c of String(label)) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193)
    return new Rng(h >>> 0)
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!
  }

  /** `n` random bytes. */
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256)
    return b
  }
}
