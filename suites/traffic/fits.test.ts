/**
 * Attribution asks yes or no of many candidate schemas (src/contracts/schemas.ts `fits`): the
 * answer must be validate()'s, without building its words. Checked on every request body and
 * every success body of the application-traffic fixture against every schema of the Meta pack.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadContracts } from '../../src/contracts/load.ts'

const pack = loadContracts('contracts/meta')
const har = JSON.parse(readFileSync('suites/verify/fixtures/cloud-api-traffic.har', 'utf8')) as { log: { entries: { request: { postData?: { text?: string } }; response: { content: { text?: string } } }[] } }
const bodies = har.log.entries
  .flatMap((e) => [e.request.postData?.text, e.response.content.text])
  .flatMap((t) => {
    try {
      return t === undefined ? [] : [JSON.parse(t) as unknown]
    } catch {
      return []
    }
  })

describe('a yes-or-no fit', () => {
  it("answers as validate() does for every body of the fixture against every operation's schemas", () => {
    let yes = 0
    let no = 0
    for (const op of pack.operations) {
      const schemas = [op.request.body?.schema, ...op.responses.map((r) => r.bodySchema)].filter((s): s is string => s !== undefined)
      for (const schema of schemas) {
        for (const body of bodies) {
          const fits = pack.bodyFits(schema, body)
          expect(fits, `${schema} on ${JSON.stringify(body).slice(0, 80)}`).toBe(pack.validateBody(schema, body).length === 0)
          if (fits) yes++
          else no++
        }
      }
      for (const body of bodies) expect(pack.requestFits(op, body)).toBe(pack.requestViolations(op, body).length === 0)
    }
    // Both answers were given many times: the comparison can fail either way.
    expect(yes).toBeGreaterThan(50)
    expect(no).toBeGreaterThan(50)
  })

  it('says no to a body nested past the depth bound, as validate() does', () => {
    const op = pack.operations.find((o) => o.request.body?.schema)!
    let deep: unknown = {}
    for (let i = 0; i < 5000; i++) deep = { a: deep }
    expect(pack.requestFits(op, deep)).toBe(false)
    expect(pack.requestViolations(op, deep)[0]!.keyword).toBe('depth')
  })
})
