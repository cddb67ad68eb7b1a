/**
 * The request-schema finding: where a request body departs from its operation's docs, in words an
 * on-call engineer reads (the path, what it is, what the docs say, what Meta answered), info and
 * never drift, folded across exchanges, bounded per request, and quoting no value from the body.
 * And the unattributed finding's advice: ids settle a path of several nodes, not a body that
 * leaves two operations on one node open.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadContracts } from '../../src/contracts/load.ts'
import type { Operation, SchemaViolation } from '../../src/contracts/types.ts'
import { MAX_DEPARTURE_KINDS, MAX_DEPARTURES, requestOffSchema, unattributed } from '../../src/judge/index.ts'
import type { Observation } from '../../src/model/observation.ts'
import { trafficState } from '../../src/traffic/attribute.ts'
import { TrafficJudge } from '../../src/traffic/judge-traffic.ts'
import { operationYaml } from '../helpers/operation-yaml.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const pack = loadContracts('contracts/meta')
const text = pack.operation('messages.send-text')!
const URL = 'https://graph.facebook.com/v21.0/109000000000888/messages'

function observation(status: number | undefined, answer: unknown = {}, body = '{}'): Observation {
  const a = JSON.stringify(answer)
  return {
    contract: '',
    sample: 1,
    startedAt: '2026-03-02T09:00:00.000Z',
    request: { method: 'POST', url: URL, headers: [['Content-Type', 'application/json']], bodySize: body.length, bodyExcerpt: body, tokenSent: true },
    ...(status === undefined
      ? { transportError: { code: 'UND_ERR_SOCKET', message: 'other side closed', phase: 'response', unreachable: false } }
      : { response: { status, statusText: '', rawHeaders: [], framing: { kind: 'content-length', bytesRead: a.length }, body: { size: a.length, sha256: '', keptBytes: a.length, truncated: false, text: a, json: answer } } }),
    timings: { totalMs: 1 },
  } as Observation
}

const said = (v: SchemaViolation, o = observation(200), op: Operation = text) => requestOffSchema(op, [v], { source: 'traffic.har entry 7', observation: o })

describe('the request-schema finding', () => {
  it('names the path, what it is and what the docs say, for each kind of departure', () => {
    const titles = [
      { path: '$.text.preview_url', keyword: 'type', message: 'must be boolean, is string "true"', allowed: 'boolean', actual: 'string' },
      { path: '$.contacts[3].phones[0].wa_id', keyword: 'type', message: 'must be string, is integer 1', allowed: 'string', actual: 'integer' },
      { path: '$.context', keyword: 'type', message: 'must be object, is null null', allowed: 'object', actual: 'null' },
      { path: '$.to', keyword: 'required', message: 'is missing (required)' },
      { path: '$.typing_indicator', keyword: 'not', message: 'is present; the docs rule it out for this operation' },
      { path: '$.messaging_product', keyword: 'const', message: 'must be "whatsapp", is "WhatsApp"' },
      { path: '$.code_method', keyword: 'enum', message: 'must be one of "SMS", "VOICE", is "sms"' },
      { path: '$.text.extra', keyword: 'additionalProperties', message: 'is not allowed by the schema' },
      { path: '$.pin', keyword: 'pattern', message: 'must match pattern "^[0-9]{6}$", is "12"' },
      { path: '$', keyword: 'depth', message: 'is nested deeper than 256 levels: not checked against the schema' },
    ].map((v) => said(v)[0]!.title)
    expect(titles).toEqual([
      '`$.text.preview_url` is a string, documented as a boolean; Meta answered 200',
      '`$.contacts[*].phones[*].wa_id` is an integer, documented as a string; Meta answered 200',
      '`$.context` is null, documented as an object; Meta answered 200',
      '`$.to` is missing; the docs require it; Meta answered 200',
      '`$.typing_indicator` is present; the docs rule it out for this operation; Meta answered 200',
      '`$.messaging_product` is not the documented value; Meta answered 200',
      '`$.code_method` is not one of the documented values; Meta answered 200',
      '`$.text` has fields the docs do not list; Meta answered 200',
      '`$.pin` breaks the documented pattern rule; Meta answered 200',
      '`$` is nested too deep to compare with the docs; Meta answered 200',
    ])
  })

  it('never quotes a value from the body (it may be a phone number), only what the docs say', () => {
    const f = said({ path: '$.messaging_product', keyword: 'const', message: 'must be "whatsapp", is "16315550199"' })[0]!
    expect(JSON.stringify(f)).not.toContain('16315550199')
    expect(f.expected).toBe('"whatsapp"')
    expect(f.message).toContain('send "whatsapp" at `$.messaging_product`')
    const t = said({ path: '$.to', keyword: 'type', message: 'must be string, is integer 16315550199', allowed: 'string', actual: 'integer' })[0]!
    expect([t.title, t.message, t.expected, t.actual].join(' ')).not.toContain('16315550199')
  })

  it('says what Meta answered: took it, refused it with its code, or gave no answer', () => {
    const v: SchemaViolation = { path: '$.to', keyword: 'type', message: 'must be string, is integer 1', allowed: 'string', actual: 'integer' }
    const took = said(v)[0]!
    expect(took).toMatchObject({ severity: 'info', check: 'request-schema', contract: 'messages.send-text', expected: 'string', actual: 'integer' })
    expect(took.message).toContain('Meta took it: nothing broke and this is not drift')
    expect(took.message).toContain('correct the request schema in contracts/meta/operations/messages.send-text.yaml')
    const refused = said(v, observation(400, { error: { message: '(#100) Invalid parameter', type: 'OAuthException', code: 100, error_subcode: 33 } }))[0]!
    expect(refused.title).toBe('`$.to` is an integer, documented as a string; Meta answered 400 (code 100/33)')
    expect(refused.message).toContain('Meta refused it: this departure from the docs may be why')
    expect(said(v, observation(404, 'Not Found'))[0]!.title).toBe('`$.to` is an integer, documented as a string; Meta answered 404')
    const silent = said(v, observation(undefined))[0]!
    expect(silent.title).toBe('`$.to` is an integer, documented as a string; no answer came (UND_ERR_SOCKET)')
    expect(silent.message).toContain('whether Meta takes it is not known')
  })

  it(`says at most ${MAX_DEPARTURES} departures of one request one by one, the rest as one more`, () => {
    const many = (n: number) => Array.from({ length: n }, (_, i): SchemaViolation => ({ path: `$.f${i}`, keyword: 'required', message: 'is missing (required)' }))
    const o = { source: 'traffic.har entry 1', observation: observation(200) }
    expect(requestOffSchema(text, many(MAX_DEPARTURES), o).map((f) => f.title)).toEqual(many(MAX_DEPARTURES).map((v) => `\`${v.path}\` is missing; the docs require it; Meta answered 200`))
    const capped = requestOffSchema(text, many(MAX_DEPARTURES + 5), o)
    expect(capped).toHaveLength(MAX_DEPARTURES)
    expect(capped.at(-1)!.title).toBe('The request body differs from the docs in more places; Meta answered 200')
    expect(capped.at(-1)!.message).toContain(`6 more departures from contracts/meta/operations/messages.send-text.yaml than the ${MAX_DEPARTURES - 1} listed, first: \`$.f${MAX_DEPARTURES - 1}\` is missing`)
  })
})

describe('request-schema findings in traffic', () => {
  const entry = (n: number, body: unknown) => {
    const b = JSON.stringify(body)
    return { source: `traffic.har entry ${n}`, observation: observation(200, { messaging_product: 'whatsapp', contacts: [{ input: '1', wa_id: '1' }], messages: [{ id: 'wamid.X' }] }, b), hasBody: true, requestBody: b }
  }

  it('are folded per operation and reason across exchanges, said on the live line, and absent for a body the docs describe', async () => {
    const judge = new TrafficJudge({ pack, state: trafficState({ phoneNumberId: '109000000000888' }), since: '2026-03-02T00:00:00.000Z', contractsDir: 'contracts/meta', label: 'traffic.har' })
    const off = { messaging_product: 'whatsapp', to: 16315550199, type: 'text', text: { body: 'hi' } }
    const first = entry(1, off)
    const placed = judge.place(first)
    expect(placed.kind === 'attributed' && placed.findings?.map((f) => f.title)).toEqual(['`$.to` is an integer, documented as a string; Meta answered 200'])
    // The proxy's live line says it with the judged answer.
    expect((await judge.judgeOne(first, placed)).map((f) => f.check)).toContain('request-schema')
    judge.place(entry(2, { ...off, to: 16315550100 }))
    const fits = entry(3, { ...off, to: '16315550199' })
    const quiet = judge.place(fits)
    expect(quiet.kind === 'attributed' && quiet.findings).toBeUndefined()
    expect((await judge.judgeOne(fits, quiet)).map((f) => f.check)).not.toContain('request-schema')
    const { findings } = await judge.judgeAll()
    expect(findings.filter((f) => f.check === 'request-schema').map((f) => [f.contract, f.title, f.samples])).toEqual([['messages.send-text', '`$.to` is an integer, documented as a string; Meta answered 200', 2]])
  })
})

describe('request-schema findings across a long capture', () => {
  const { dir } = tempDirs('dw-request-schema-')
  /** An operation whose schema types the values of any key: a hostile body's keys name its departures' paths. */
  function labelsPack() {
    const d = dir()
    mkdirSync(join(d, 'operations'))
    writeFileSync(join(d, 'operations', 'labels.set.yaml'), operationYaml('labels.set', 'label', 'POST', '/{api_version}/{phone_number_id}/labels', '  body:\n    type: json\n    schema: { type: object, additionalProperties: { type: string } }\n'))
    return loadContracts(d)
  }
  const run = async (exchanges: number) => {
    const labels = labelsPack()
    const judge = new TrafficJudge({ pack: labels, state: trafficState(), since: '2026-03-02T00:00:00.000Z', contractsDir: 'labels', label: 'traffic.har' })
    for (let i = 0; i < exchanges; i++) {
      const body = JSON.stringify({ [`k${i}`]: i })
      const o = { ...observation(200, { success: true }, body), request: { ...observation(200).request, url: 'https://graph.facebook.com/v21.0/109000000000888/labels' } }
      judge.place({ source: `traffic.har entry ${i + 1}`, observation: o, hasBody: true, requestBody: body })
    }
    return (await judge.judgeAll()).findings.filter((f) => f.check === 'request-schema')
  }

  it(`lists ${MAX_DEPARTURE_KINDS} kinds of departure per operation, and counts the rest in one finding`, async () => {
    const findings = await run(MAX_DEPARTURE_KINDS + 5)
    expect(findings).toHaveLength(MAX_DEPARTURE_KINDS + 1)
    const more = findings.find((f) => f.title === `More kinds of departure from the docs than the ${MAX_DEPARTURE_KINDS} listed`)!
    expect(more.samples).toBe(5)
    expect(more.message).toContain(`first: \`$.k${MAX_DEPARTURE_KINDS}\` is an integer, documented as a string; Meta answered 200`)
  })

  it('lists every kind while there are no more than that', async () => {
    const findings = await run(MAX_DEPARTURE_KINDS)
    expect(findings).toHaveLength(MAX_DEPARTURE_KINDS)
    expect(findings.some((f) => f.title.startsWith('More kinds'))).toBe(false)
  })
})

describe('the unattributed finding', () => {
  const ops = (...ids: string[]) => ids.map((id) => pack.operation(id)!)
  const exchanges = [{ source: 'traffic.har entry 1', observation: observation(400), reason: 'the request alone does not tell them apart', basis: [] }]
  it('sends the reader after ids when the candidates act on different nodes', () => {
    expect(unattributed('GET', ops('templates.get', 'waba.get'), exchanges).message).toContain('set WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_WABA_ID')
  })
  it('does not when they act on one node: the request itself must say which', () => {
    const f = unattributed('POST', ops('messages.send-media-by-id', 'messages.send-media-by-link'), exchanges)
    expect(f.message).toContain('The request itself does not say which it is')
    expect(f.message).not.toContain('WHATSAPP_WABA_ID')
  })
})
