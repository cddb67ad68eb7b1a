/** isoNow caches the second-resolution prefix; it must still equal Date#toISOString exactly. */
import { describe, expect, it } from 'vitest'
import { isoNow } from '../src/util/clock.ts'

describe('isoNow', () => {
  it.each([0, 7, 42, 999, 1000, 1763776800123, 1763776800999, 1763776801000, 4102444799999])('matches toISOString at %i ms', (ms) => {
    expect(isoNow(ms)).toBe(new Date(ms).toISOString())
  })
  it('stays right across seconds in either direction', () => {
    for (const ms of [1763776800500, 1763776801001, 1763776800999, 1763776799000]) expect(isoNow(ms)).toBe(new Date(ms).toISOString())
  })
})
