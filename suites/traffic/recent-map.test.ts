/**
 * RecentMap: the bound on what a long-running observer learns from traffic (ids, media metadata,
 * writes per path). Least recently used first out, reads count as use, pinned keys never go.
 */
import { describe, expect, it } from 'vitest'
import { LIMITS } from '../../src/traffic/incremental-judge.ts'
import { CHANGES_LIMIT } from '../../src/traffic/judge-traffic.ts'
import { RecentMap } from '../../src/traffic/recent-map.ts'

describe('RecentMap', () => {
  it('forgets the least recently used entry past its limit, and counts it', () => {
    const m = new RecentMap<string, number>(3)
    for (const k of ['a', 'b', 'c']) m.set(k, 1)
    expect(m.forgotten).toBe(0)
    m.get('a') // a is now the most recent: b goes first
    m.set('d', 1)
    expect([...m.keys()]).toEqual(['c', 'a', 'd'])
    expect(m.forgotten).toBe(1)
    m.set('c', 2) // setting an existing key does not forget anything
    expect(m.size).toBe(3)
    expect(m.forgotten).toBe(1)
  })

  it('never forgets a pinned key, and pinned keys do not count against the limit', () => {
    const m = new RecentMap<string, number>(2)
    m.pin('configured', 0)
    for (let i = 0; i < 100; i++) m.set(`k${i}`, i)
    expect(m.get('configured')).toBe(0)
    expect(m.size).toBe(3)
    expect(m.forgotten).toBe(98)
    expect([...m.keys()]).toEqual(['configured', 'k98', 'k99'])
  })

  it('refuses a limit below one', () => {
    expect(() => new RecentMap(0)).toThrow(/at least 1/)
  })

  it("writes are remembered far longer than identities: a read's identity is forgotten long before its path's writes are", () => {
    // judge-traffic.ts relies on this: a forgotten path reads as unchanged again, harmless only while
    // the identity budget (which holds the earlier reads) is much smaller than the writes remembered.
    expect(CHANGES_LIMIT).toBeGreaterThanOrEqual(10 * LIMITS.identities)
  })
})
