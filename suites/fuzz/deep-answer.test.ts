/**
 * The incident as users saw it: one answer nested 20,000 levels deep ended `check` with
 * DW_INTERNAL and lost every other contract's result. Now it is a finding on that contract (with
 * the limit stated), and the other contracts are judged as usual.
 */
import { describe, expect, it } from 'vitest'
import { MAX_JSON_DEPTH } from '../../src/util/json.ts'
import type { Report } from '../../src/model/report.ts'
import { checkAgainst, FUZZ_ENV, jsonReply } from './cli-outcome.ts'
import { deepJson, MALFORMED_KINDS } from './malformed-http.ts'
import { Rng } from './seed.ts'

const graphLike = MALFORMED_KINDS.find((k) => k.name === 'graph-like 200')!

/** `check` of the phone number and the template list; the phone number's answer nested `depth` deep. */
function checkWithPhoneNumberNested(depth: number): Promise<{ code: number; report: Report }> {
  return checkAgainst('phone-numbers.get,templates.list', (head, base) => (head.startsWith(`GET /v23.0/${FUZZ_ENV.WHATSAPP_PHONE_NUMBER_ID}`) ? jsonReply(deepJson(depth, 'object')) : graphLike.reply(new Rng(1), base)))
}

describe('an answer nested 20,000 levels deep', () => {
  it('is a breaking finding on its contract that states the limit; the other contract is still judged', async () => {
    const { code, report } = await checkWithPhoneNumberNested(20_000)
    expect(code).toBe(1)
    const deep = report.findings.filter((f) => f.contract === 'phone-numbers.get' && f.check === 'body-schema-conformance')
    expect(deep).toHaveLength(1)
    expect(deep[0]!.severity).toBe('breaking')
    expect(deep[0]!.title).toBe(`Body nested deeper than ${MAX_JSON_DEPTH} levels`)
    expect(deep[0]!.actual).toBe(`a body nested deeper than ${MAX_JSON_DEPTH} levels: not checked against the schema`)
    expect(report.results.map((r) => [r.contract, r.status === 'skipped'])).toEqual([['phone-numbers.get', false], ['templates.list', false]])
  })

  it('at a normal depth, no such finding', async () => {
    const { report } = await checkWithPhoneNumberNested(3)
    expect(report.findings.filter((f) => /nested deeper/.test(`${f.actual} ${f.message}`))).toEqual([])
    expect(report.results).toHaveLength(2)
  })
})
