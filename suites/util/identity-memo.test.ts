import { describe, expect, it } from 'vitest'
import { IdentityMemo } from '../../src/util/identity-memo.ts'
import { graphError } from '../../src/graph/errors.ts'

describe('IdentityMemo: the memo of the last few objects, by identity', () => {
  it('computes once for an object asked about again while it is among the last few', () => {
    const memo = new IdentityMemo<object, number>(2)
    let calls = 0
    const compute = () => ++calls
    const a = {}
    expect(memo.get(a, compute)).toBe(1)
    expect(memo.get(a, compute)).toBe(1)
    expect(calls).toBe(1)
  })

  it('tells equal objects apart: an equal copy is computed for itself', () => {
    const memo = new IdentityMemo<{ n: number }, { n: number }>(4)
    const a = { n: 1 }
    const b = { n: 1 }
    expect(memo.get(a, (k) => ({ ...k }))).not.toBe(memo.get(b, (k) => ({ ...k })))
  })

  it('forgets the first kept past its size and computes it again (a miss costs time, never a wrong answer)', () => {
    const memo = new IdentityMemo<object, string>(2)
    const seen: string[] = []
    const named = new Map<object, string>()
    const [a, b, c] = ['a', 'b', 'c'].map((n) => {
      const o = {}
      named.set(o, n)
      return o
    })
    const compute = (k: object) => {
      seen.push(named.get(k)!)
      return named.get(k)!
    }
    for (const k of [a, b, a, c, a, b]) memo.get(k!, compute)
    // c takes the place of a, the first kept (in turn, not least recently used: a lookup costs one pass), so a then b are computed again.
    expect(seen).toEqual(['a', 'b', 'c', 'a', 'b'])
  })

  it('refuses a size that is not a whole number of at least 1', () => {
    expect(() => new IdentityMemo(0)).toThrow(/at least 1, is 0/)
    expect(() => new IdentityMemo(1.5)).toThrow(RangeError)
  })
})

describe('what reads through it answers as before', () => {
  it('graphError reads each body for itself, also after more bodies than the memo holds', () => {
    const bodies = Array.from({ length: 20 }, (_, i) => ({ error: { message: `m${i}`, code: 100 + i, type: 'OAuthException' } }))
    for (let round = 0; round < 2; round++) bodies.forEach((b, i) => expect(graphError(b)).toEqual({ message: `m${i}`, code: 100 + i, type: 'OAuthException' }))
    expect(graphError({ data: [] })).toBeUndefined()
    expect(graphError(null)).toBeUndefined()
  })
})
