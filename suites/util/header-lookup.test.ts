import { describe, expect, it } from 'vitest'
import { headerValue, headerValues, type RawHeader } from '../../src/model/observation.ts'

describe('header lookups: by name, whatever its case, in wire order', () => {
  it('header lookups stay case-insensitive and in wire order, for many lists in turn', () => {
    const lists: RawHeader[][] = Array.from({ length: 20 }, (_, i) => [
      ['Content-Type', `application/json; n=${i}`],
      ['X-Repeat', 'one'],
      ['x-repeat', `two ${i}`],
    ])
    for (let round = 0; round < 2; round++) {
      lists.forEach((h, i) => {
        expect(headerValue(h, 'content-type')).toBe(`application/json; n=${i}`)
        expect(headerValues(h, 'X-REPEAT')).toEqual(['one', `two ${i}`])
        expect(headerValue(h, 'absent')).toBeUndefined()
      })
    }
  })


  it('tells names of the same length apart, and finds a name the list spells in capitals', () => {
    const h: RawHeader[] = [
      ['X-FB-DEBUG', 'abc'],
      ['x-fb-trace', 'def'],
      ['Content-Length', '12'],
    ]
    expect(headerValue(h, 'x-fb-debug')).toBe('abc')
    expect(headerValue(h, 'X-Fb-Trace')).toBe('def')
    expect(headerValue(h, 'x-fb-trac')).toBeUndefined()
    expect(headerValues(h, 'content-length')).toEqual(['12'])
    expect(headerValues(h, 'content-type')).toEqual([])
    expect(headerValue([], 'content-type')).toBeUndefined()
  })
})
