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

  it('keeps the order a plain least-recently-used list keeps, over 20,000 random reads, writes, pins and deletes', () => {
    // The reference: a list where every use moves the key to the end.
    const order: string[] = []
    const pinned = new Set<string>()
    let forgotten = 0
    const use = (k: string) => {
      const i = order.indexOf(k)
      if (i >= 0) order.splice(i, 1)
      order.push(k)
    }
    const m = new RecentMap<string, number>(5)
    let x = 7
    const next = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648
    for (let step = 0; step < 20_000; step++) {
      // Few keys, and the last one used half the time: reads and writes of the newest are most of the steps.
      const k = next() < 0.5 && order.length > 0 ? order[order.length - 1]! : `k${Math.floor(next() * 9)}`
      const op = next()
      if (op < 0.45) {
        const had = order.includes(k) || pinned.has(k)
        expect(m.get(k)).toBe(had ? m.peek(k) : undefined)
        if (had && !pinned.has(k)) use(k)
      } else if (op < 0.9) {
        m.set(k, step)
        if (!pinned.has(k)) {
          use(k)
          if (order.length > 5) {
            order.shift()
            forgotten++
          }
        }
      } else if (op < 0.97) {
        m.delete(k)
        pinned.delete(k)
        const i = order.indexOf(k)
        if (i >= 0) order.splice(i, 1)
      } else if (!order.includes(k)) {
        m.pin(k, step)
        pinned.add(k)
      }
      expect([...m.keys()].filter((key) => !pinned.has(key))).toEqual(order)
    }
    expect(m.forgotten).toBe(forgotten)
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
