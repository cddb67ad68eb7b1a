/**
 * The production observer's share of the main thread (src/proxy/share.ts): it adapts to what the
 * request path leaves, half the thread when forwarding is idle, a twentieth when forwarding keeps the
 * thread busy. First with the loop's utilization given (the arithmetic), then with the real event
 * loop: a thread kept busy by "forwarding" work between the observer's slices makes the observer
 * a light one, and the same observer on an idle thread takes its full share. No timing is asserted:
 * only which side of the bounds the share ends on, with wide margins.
 */
import type { EventLoopUtilization } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { ObserverShare, SHARE_LEAST, SHARE_MOST, type Utilization } from '../../src/proxy/share.ts'

/** A utilization source that reports `u` for every rest. */
function steady(u: () => number): Utilization {
  const elu = (utilization: number): EventLoopUtilization => ({ idle: 1 - utilization, active: utilization, utilization })
  return (since) => (since ? elu(u()) : elu(0))
}

function rests(s: ObserverShare, n: number): void {
  for (let i = 0; i < n; i++) {
    s.restFor(1)
    s.resting()
    s.rested()
  }
}

describe('the production observer share', () => {
  it('takes half the thread while forwarding leaves it idle, and rests a slice back to back for it', () => {
    const s = new ObserverShare(undefined, SHARE_LEAST, SHARE_MOST, steady(() => 0))
    rests(s, 20)
    expect(s.share).toBe(SHARE_MOST)
    // At a half share, a 2 ms slice is followed by a 2 ms rest.
    expect(s.restFor(2)).toBeCloseTo(2, 6)
  })

  it('drops to a twentieth while forwarding keeps the thread busy, and recovers once forwarding calms', () => {
    let u = 0.9
    const s = new ObserverShare(undefined, SHARE_LEAST, SHARE_MOST, steady(() => u))
    rests(s, 20)
    expect(s.forwardingUtilization).toBeGreaterThan(0.8)
    expect(s.share).toBe(SHARE_LEAST)
    // At a twentieth, a 1 ms slice is followed by a 19 ms rest: forwarding keeps nineteen twentieths.
    expect(SHARE_LEAST).toBe(0.05)
    expect(s.restFor(1)).toBeCloseTo(19, 6)
    u = 0.2
    rests(s, 20)
    expect(s.share).toBeGreaterThan(0.25)
    expect(s.share).toBeLessThanOrEqual(SHARE_MOST)
  })

  it('learns nothing from a rest that was not taken (rested without resting)', () => {
    const s = new ObserverShare(undefined, SHARE_LEAST, SHARE_MOST, steady(() => 1))
    for (let i = 0; i < 10; i++) s.rested()
    expect(s.share).toBe(SHARE_MOST)
  })

  it('is smoothed: one busy rest after many idle ones does not take the observer to its least share', () => {
    let u = 0
    const s = new ObserverShare(undefined, SHARE_LEAST, SHARE_MOST, steady(() => u))
    rests(s, 20)
    u = 1
    rests(s, 1)
    expect(s.share).toBeGreaterThan(SHARE_LEAST)
    expect(s.share).toBeLessThan(SHARE_MOST)
  })

  it('a fixed share (review mode, or one the operator set) never adapts, and a share of 1 never rests', () => {
    const review = new ObserverShare(1, SHARE_LEAST, SHARE_MOST, steady(() => 1))
    rests(review, 5)
    expect(review.share).toBe(1)
    expect(review.restFor(5)).toBe(0)
    const quarter = new ObserverShare(0.25, SHARE_LEAST, SHARE_MOST, steady(() => 1))
    rests(quarter, 5)
    expect(quarter.share).toBe(0.25)
    expect(quarter.restFor(1)).toBeCloseTo(3, 6)
  })

  it('on the real event loop: busy forwarding between slices makes the share the least, an idle loop the most', async () => {
    const busyFor = (ms: number) => {
      const end = performance.now() + ms
      while (performance.now() < end) {}
    }
    async function observeWhile(forwarding: boolean): Promise<ObserverShare> {
      const s = new ObserverShare()
      // Forwarding: a timer that keeps the thread busy ~90% of the time while the observer rests.
      let on = forwarding
      const tick = async () => {
        while (on) {
          busyFor(4.5)
          await sleep(0)
        }
      }
      const ticking = tick()
      for (let i = 0; i < 30; i++) {
        busyFor(1) // one slice of observing
        const rest = s.restFor(1)
        s.resting()
        await sleep(rest)
        s.rested()
      }
      on = false
      await ticking
      return s
    }
    const busy = await observeWhile(true)
    expect(busy.forwardingUtilization).toBeGreaterThan(0.6)
    expect(busy.share).toBe(SHARE_LEAST)
    // Idle: the share stays above the least. A garbage collection during a rest counts as the loop's work (one at the
    // very end lifts the smoothed figure by 0.3 at most), so the bound leaves room for one.
    const idle = await observeWhile(false)
    expect(idle.forwardingUtilization).toBeLessThan(0.4)
    expect(idle.share).toBeGreaterThan(SHARE_LEAST)
  })
})
