/**
 * Credential fingerprints (src/transport/credential.ts): the same token gives the same print,
 * another token another, a bearer and an access_token both count, and a recorder's placeholder
 * (`Bearer [REDACTED]`, `access_token=<ACCESS_TOKEN>`) names no credential. The print never
 * contains the token.
 */
import { describe, expect, it } from 'vitest'
import { credentialOf, tokensOf } from '../../src/transport/credential.ts'

const A = 'EAAtenantA0000000000000000000'
const B = 'EAAtenantB0000000000000000000'

describe('credential fingerprints', () => {
  it('the same token, the same print; another token, another; from the header or the query', () => {
    const a1 = credentialOf([['Authorization', `Bearer ${A}`]], '/v23.0/1')
    const a2 = credentialOf([['authorization', `bearer ${A}`]], '/v23.0/2?fields=id')
    const b = credentialOf([['Authorization', `Bearer ${B}`]], '/v23.0/1')
    const q = credentialOf([], `/v23.0/1?access_token=${A}`)
    expect(a1).toMatch(/^[0-9a-f]{12}$/)
    expect(a2).toBe(a1)
    expect(b).not.toBe(a1)
    expect(q).toBe(a1)
    expect(a1).not.toContain(A.slice(0, 6).toLowerCase())
  })

  it('no token, or only a placeholder a recorder left, is no credential', () => {
    expect(credentialOf([['Accept', '*/*']], '/v23.0/1')).toBeUndefined()
    for (const p of ['[REDACTED]', '<ACCESS_TOKEN>', '{{token}}', 'FILTERED', '(hidden)', 'xREDACTEDx']) {
      expect(tokensOf([['Authorization', `Bearer ${p}`]], `/v23.0/1?access_token=${encodeURIComponent(p)}`)).toEqual([])
    }
  })
})
