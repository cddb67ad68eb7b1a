/**
 * VCR cassettes as traffic: a Ruby VCR cassette written by hand in the shape ruby_whatsapp_sdk's
 * cassettes have (header value lists, a folded header, `base64_string`, Psych's `!binary`, a
 * token in a query string) and a vcrpy one (sorted headers, `!!binary` request and gzip response
 * bodies, a response whose body was filtered out). Observations are asserted exactly, and the
 * fixtures' token and phone number must be gone from everything read. Malformed cassettes, and
 * hostile ones (10,000 levels of `[`, an alias bomb), fail with DW_CASSETTE_INVALID naming the file
 * and the place.
 */
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { describe, expect, it, vi } from 'vitest'
import { type HarnessError, isHarnessError } from '../../src/util/errors.ts'
import { PersonalDataRedactor } from '../../src/recordings/personal-data.ts'
import { readTraffic } from '../../src/traffic/read.ts'
import { MAX_CASSETTE_DEPTH, readCassette } from '../../src/traffic/vcr.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const FIXTURES = join(import.meta.dirname, 'fixtures')
const RUBY = join(FIXTURES, 'ruby-whatsapp.yml')
const VCRPY = join(FIXTURES, 'vcrpy-whatsapp.yaml')
const TOKEN = 'EAAGvcr0fixture0token0not0real0ZDZD'
/** Every spelling of the fixtures' phone number (+1 631-555-0142), and the wamid that embeds it in base64. */
const PHONE_SPELLINGS = ['631-555-0142', '6315550142', '16315550142', '+1 631', 'MTYzMTU1NTAxNDI']
const { dir } = tempDirs('dw-vcr-')

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')
// A Redactor told nothing: the token must still go, because it looks like a Meta token (EAA...).
const read = (file: string) => readCassette(file, new Redactor(), new PersonalDataRedactor(), ROOT)

function cassette(text: string, name = 'cassette.yml'): string {
  const file = join(dir(), name)
  writeFileSync(file, text)
  return file
}

/** The error a read throws; fails the test when there is none. */
function errorOf(fn: () => unknown): HarnessError {
  try {
    fn()
  } catch (err) {
    // By code, not class: a test that re-imports the reader gets its own copy of the class.
    expect(isHarnessError(err)).toBe(true)
    return err as HarnessError
  }
  throw new Error('expected the cassette to be refused')
}

describe('a Ruby VCR cassette', () => {
  const entries = read(RUBY)
  const [details, send, rejected, download, profile] = entries.map((e) => e.observation)

  it('reads every interaction, in order, named by file and 1-based index', () => {
    expect(entries.map((e) => e.source)).toEqual([1, 2, 3, 4, 5].map((n) => `suites/traffic/fixtures/ruby-whatsapp.yml interaction ${n}`))
    expect(entries.map((e) => e.observation.sample)).toEqual([1, 2, 3, 4, 5])
    expect(entries.map((e) => e.observation.startedAt)).toEqual(['2026-02-10T20:32:00.000Z', '2026-02-10T20:32:01.000Z', '2026-02-10T20:32:02.000Z', '2026-02-10T20:32:03.000Z', '2026-02-10T20:32:04.000Z'])
  })

  it('turns a JSON success into the observation check would have made: token out, headers in wire order, folded header joined, phone number replaced', () => {
    const text = '{"verified_name":"Driftwatch Fixture Co","display_phone_number":"+1 555-000-0001","quality_rating":"GREEN","id":"109000000000777"}'
    expect(details).toEqual({
      contract: '',
      sample: 1,
      startedAt: '2026-02-10T20:32:00.000Z',
      request: {
        method: 'GET',
        url: 'https://graph.facebook.com/v21.0/109000000000777?fields=display_phone_number,verified_name,quality_rating',
        headers: [
          ['Authorization', 'Bearer [REDACTED]'],
          ['User-Agent', 'Faraday v2.12.2'],
          ['Accept-Encoding', 'gzip;q=1.0,deflate;q=0.6,identity;q=0.3'],
          ['Accept', '*/*'],
        ],
        bodySize: 0,
        tokenSent: true,
        // The token's salted fingerprint, never the token (transport/credential.ts).
        credential: expect.stringMatching(/^[0-9a-f]{12}$/),
      },
      response: {
        status: 200,
        statusText: 'OK',
        rawHeaders: [
          ['Content-Type', 'application/json; charset=UTF-8'],
          ['Vary', 'Accept-Encoding'],
          ['Vary', 'Origin'],
          ['Facebook-Api-Version', 'v21.0'],
          ['X-Fb-Connection-Quality', 'EXCELLENT; q=0.9, rtt=21, rtx=0, c=10, mss=1380, tbw=3401, tp=-1, tpl=-1, uplat=212, ullat=0'],
          ['Connection', 'keep-alive'],
          ['Content-Length', '130'],
        ],
        framing: { kind: 'content-length', bytesRead: 130, declaredLength: 130 },
        // The phone number placeholder keeps the length; hash and size describe the body as stored.
        body: { size: 130, sha256: sha256(text), keptBytes: 130, truncated: false, text, json: JSON.parse(text) },
      },
      timings: { totalMs: 0 },
    })
    expect(entries[0]!.hasBody).toBe(true)
    // A GET recorded with `string: ''` sent no body.
    expect(entries[0]).not.toHaveProperty('requestBody')
  })

  it('keeps a JSON request body whole (redacted) for attribution, with an excerpt, and reads chunked framing', () => {
    const body = '{"messaging_product":"whatsapp","recipient_type":"individual","to":"+1 555-000-0001","type":"text","text":{"body":"Your table is ready"}}'
    expect(entries[1]!.requestBody).toBe(body)
    expect(send!.request).toEqual({
      method: 'POST',
      url: 'https://graph.facebook.com/v21.0/109000000000777/messages',
      headers: [
        // VCR's filter_sensitive_data placeholder: the token was sent, and the placeholder goes too.
        ['Authorization', 'Bearer [REDACTED]'],
        ['Content-Type', 'application/json'],
        ['Accept', '*/*'],
      ],
      bodySize: 137,
      bodyExcerpt: body,
      tokenSent: true,
    })
    expect(send!.response!.framing).toEqual({ kind: 'chunked', bytesRead: 177 })
    expect(send!.response!.body.json).toEqual({ messaging_product: 'whatsapp', contacts: [{ input: '+1 555-000-0001', wa_id: '15550000001' }], messages: [{ id: 'wamid.REDACTED1' }] })
  })

  it('reads a Graph error envelope, with the token taken out of the query string', () => {
    expect(rejected!.request.url).toBe('https://graph.facebook.com/v21.0/1390000000004242?phone_number_id=109000000000777&access_token=[REDACTED]')
    expect(rejected!.request.tokenSent).toBe(true)
    expect(rejected!.request.headers).toEqual([['Accept', '*/*']])
    expect(rejected!.response).toMatchObject({
      status: 400,
      statusText: 'Bad Request',
      rawHeaders: [
        ['Content-Type', 'application/json; charset=UTF-8'],
        ['Www-Authenticate', 'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token - Cannot parse access token"'],
        ['Content-Length', '144'],
      ],
      framing: { kind: 'content-length', bytesRead: 144, declaredLength: 144 },
      body: { size: 144, truncated: false, json: { error: { message: 'Invalid OAuth access token - Cannot parse access token', type: 'OAuthException', code: 190, fbtrace_id: 'AFixtureTrace01' } } },
    })
  })

  it('decodes a base64_string media body: hashed and measured, not kept as text', () => {
    expect(download!.response).toEqual({
      status: 200,
      statusText: 'OK',
      rawHeaders: [
        ['Content-Type', 'image/jpeg'],
        ['Content-Length', '118'],
      ],
      framing: { kind: 'content-length', bytesRead: 118, declaredLength: 118 },
      // Computed from the JPEG bytes the fixture was written from.
      body: { size: 118, sha256: 'b164a3f4d511205bf0c08320ec3af1697368b5d3823913ddfb513d1e3ac6a591', keptBytes: 118, truncated: false },
    })
    expect(entries[3]!.hasBody).toBe(true)
  })

  it("reads Psych's `!binary` body (UTF-8 JSON under ASCII-8BIT) as the JSON it is, close-delimited when no length was declared", () => {
    const text = '{"data":[{"about":"Café de la Plage ☕ open 8–18","vertical":"RESTAURANT","messaging_product":"whatsapp"}]}'
    expect(profile!.response!.framing).toEqual({ kind: 'close-delimited', bytesRead: 111 })
    expect(profile!.response!.body).toEqual({ size: 111, sha256: sha256(text), keptBytes: 111, truncated: false, text, json: JSON.parse(text) })
  })

  it('leaves neither the token nor any spelling of the phone number anywhere, requestBody included', () => {
    const all = JSON.stringify(entries)
    expect(all).not.toContain(TOKEN)
    expect(all).not.toContain('<ACCESS_TOKEN>')
    for (const p of PHONE_SPELLINGS) expect(all).not.toContain(p)
  })
})

describe('a vcrpy cassette', () => {
  const entries = read(VCRPY)
  const [templates, send, numbers, upload] = entries.map((e) => e.observation)

  it('has no recorded times: a fixed epoch plus the index, so the same cassette reads the same everywhere', () => {
    expect(entries.map((e) => [e.source, e.observation.startedAt])).toEqual([
      ['suites/traffic/fixtures/vcrpy-whatsapp.yaml interaction 1', '1970-01-01T00:00:00.000Z'],
      ['suites/traffic/fixtures/vcrpy-whatsapp.yaml interaction 2', '1970-01-01T00:00:01.000Z'],
      ['suites/traffic/fixtures/vcrpy-whatsapp.yaml interaction 3', '1970-01-01T00:00:02.000Z'],
      ['suites/traffic/fixtures/vcrpy-whatsapp.yaml interaction 4', '1970-01-01T00:00:03.000Z'],
    ])
  })

  it('reads a JSON success exactly', () => {
    const text = '{"data":[{"name":"table_ready","status":"APPROVED","category":"UTILITY","language":"en_US","id":"880000000000001"}],"paging":{"cursors":{"before":"QVFIUb","after":"QVFIUa"}}}'
    expect(templates).toEqual({
      contract: '',
      sample: 1,
      startedAt: '1970-01-01T00:00:00.000Z',
      request: {
        method: 'GET',
        url: 'https://graph.facebook.com/v21.0/102000000000555/message_templates?limit=1',
        headers: [
          ['Accept', '*/*'],
          ['Accept-Encoding', 'gzip, deflate'],
          ['Authorization', 'Bearer [REDACTED]'],
          ['Connection', 'keep-alive'],
          ['User-Agent', 'python-requests/2.32.3'],
        ],
        bodySize: 0,
        tokenSent: true,
        // The token's salted fingerprint, never the token (transport/credential.ts).
        credential: expect.stringMatching(/^[0-9a-f]{12}$/),
      },
      response: {
        status: 200,
        statusText: 'OK',
        rawHeaders: [
          ['Content-Length', '174'],
          ['Content-Type', 'application/json; charset=UTF-8'],
        ],
        framing: { kind: 'content-length', bytesRead: 174, declaredLength: 174 },
        body: { size: 174, sha256: sha256(text), keptBytes: 174, truncated: false, text, json: JSON.parse(text) },
      },
      timings: { totalMs: 0 },
    })
    expect(entries[0]!.hasBody).toBe(true)
    expect(entries[0]).not.toHaveProperty('requestBody')
  })

  it('replaces a bare phone number the request JSON names (`to`) even when the answer never repeats it', () => {
    const body = '{"messaging_product": "whatsapp", "to": "15550000001", "type": "template", "template": {"name": "table_ready", "language": {"code": "en_US"}}}'
    expect(entries[1]!.requestBody).toBe(body)
    expect(send!.request).toMatchObject({ method: 'POST', bodySize: 142, bodyExcerpt: body, tokenSent: true })
    expect(send!.response!.status).toBe(400)
    expect(send!.response!.body.json).toMatchObject({ error: { code: 131030, type: 'OAuthException' } })
  })

  it('decodes a gzip body vcrpy kept as received; framing counts the bytes on the wire', () => {
    const text = '{"data":[{"verified_name":"Driftwatch Fixture Co","display_phone_number":"+1 555-000-0001","id":"109000000000777","quality_rating":"GREEN"}],"paging":{"cursors":{"before":"QVFIUfixturebefore","after":"QVFIUfixtureafter"}}}'
    expect(numbers!.response).toEqual({
      status: 200,
      statusText: 'OK',
      rawHeaders: [
        ['Content-Encoding', 'gzip'],
        ['Content-Type', 'application/json; charset=UTF-8'],
        ['Transfer-Encoding', 'chunked'],
      ],
      framing: { kind: 'chunked', bytesRead: 188 },
      body: { size: 222, sha256: sha256(text), keptBytes: 222, truncated: false, text, json: JSON.parse(text) },
    })
  })

  it('reads a `!!binary` multipart request body and a response whose body the cassette did not keep', () => {
    expect(upload!.request).toEqual({
      method: 'POST',
      url: 'https://graph.facebook.com/v21.0/109000000000777/media',
      headers: [
        ['Authorization', 'Bearer [REDACTED]'],
        ['Content-Type', 'multipart/form-data; boundary=vcrfixtureboundary'],
      ],
      bodySize: 349,
      // Not text (a JPEG inside): no excerpt.
      tokenSent: true,
      // The token's salted fingerprint, never the token (transport/credential.ts).
      credential: expect.stringMatching(/^[0-9a-f]{12}$/),
    })
    expect(entries[3]!.requestBody).toMatch(/^--vcrfixtureboundary\r\nContent-Disposition: form-data; name="messaging_product"\r\n\r\nwhatsapp\r\n/)
    expect(entries[3]!.hasBody).toBe(false)
    expect(upload!.response!.framing).toEqual({ kind: 'content-length', bytesRead: 27, declaredLength: 27 })
    expect(upload!.response!.body).toEqual({ size: 27, sha256: '', keptBytes: 0, truncated: true })
  })

  it('leaves neither the token nor any spelling of the phone number anywhere, requestBody included', () => {
    const all = JSON.stringify(entries)
    expect(all).not.toContain(TOKEN)
    for (const p of PHONE_SPELLINGS) expect(all).not.toContain(p)
  })
})

describe('reading by content, not by extension', () => {
  it('takes a JSON-serialised Ruby VCR cassette named .json, and a YAML cassette named .har, as cassettes', async () => {
    const json = JSON.stringify({
      http_interactions: [
        {
          request: { method: 'delete', uri: 'https://graph.facebook.com/v21.0/1390000000004242', body: { encoding: 'US-ASCII', string: '' }, headers: { Authorization: [`Bearer ${TOKEN}`] } },
          response: { status: { code: 200, message: 'OK' }, headers: { 'Content-Type': ['application/json'], 'Content-Length': ['16'] }, body: { encoding: 'UTF-8', string: '{"success":true}' } },
          recorded_at: 'Mon, 14 Oct 2024 11:15:05 GMT',
        },
      ],
      recorded_with: 'VCR 6.3.1',
    })
    const d = dir()
    writeFileSync(join(d, 'delete.json'), json)
    writeFileSync(join(d, 'traffic.har'), (await import('node:fs')).readFileSync(VCRPY, 'utf8'))
    const asJson = await readTraffic(join(d, 'delete.json'), new Redactor(), new PersonalDataRedactor(), d)
    expect(asJson.kind).toBe('cassette')
    expect(asJson.entries.map((e) => [e.source, e.observation.request.method, e.observation.startedAt, e.observation.response!.body.json])).toEqual([['delete.json interaction 1', 'DELETE', '2024-10-14T11:15:05.000Z', { success: true }]])
    expect(JSON.stringify(asJson.entries)).not.toContain(TOKEN)
    const asHar = await readTraffic(join(d, 'traffic.har'), new Redactor(), new PersonalDataRedactor(), d)
    expect(asHar.kind).toBe('cassette')
    expect(asHar.entries).toHaveLength(4)
  })
})

describe('the edges of what cassettes hold', () => {
  const one = (request: string, response: string, extra = '') => `http_interactions:\n- request:\n${request}\n  response:\n${response}\n${extra}`

  it.each([
    {
      name: 'an empty body and no headers: none framing, a body kept (empty)',
      yaml: one('    method: delete\n    uri: https://graph.facebook.com/v21.0/1390000000004242', '    status:\n      code: 200\n      message: OK\n    headers: {}\n    body:\n      encoding: UTF-8\n      string: ""'),
      check: (e: ReturnType<typeof read>[number]) => {
        expect(e.hasBody).toBe(true)
        expect(e.observation.request.tokenSent).toBe(false)
        expect(e.observation.response!.framing).toEqual({ kind: 'none', bytesRead: 0 })
        expect(e.observation.response!.body).toEqual({ size: 0, sha256: sha256(''), keptBytes: 0, truncated: false, text: '' })
      },
    },
    {
      name: 'the token in a form body counts as sent, and the body keeps its shape without it',
      yaml: one(`    method: post\n    uri: https://graph.facebook.com/v21.0/1390000000004242\n    body:\n      encoding: UTF-8\n      string: method=get&access_token=${TOKEN}`, '    status:\n      code: 200\n      message: OK\n    body:\n      encoding: UTF-8\n      string: \'{"id":"1390000000004242"}\''),
      check: (e: ReturnType<typeof read>[number]) => {
        expect(e.observation.request.tokenSent).toBe(true)
        expect(e.requestBody).toBe('method=get&access_token=[REDACTED]')
        expect(e.observation.request.bodyExcerpt).toBe('method=get&access_token=[REDACTED]')
      },
    },
    {
      name: 'a gzip body that does not decode is judged as bytes, with the reason',
      yaml: one('    method: get\n    uri: https://graph.facebook.com/v21.0/me', "    status:\n      code: 200\n      message: OK\n    headers:\n      Content-Encoding: [gzip]\n      Content-Type: [application/json]\n    body:\n      string: '{\"id\":\"1\"}'"),
      check: (e: ReturnType<typeof read>[number]) => {
        expect(e.observation.response!.body).toEqual({ size: 10, sha256: '', keptBytes: 0, truncated: false, jsonError: 'recorded with Content-Encoding: gzip, which did not decode; not parsed' })
      },
    },
    {
      name: 'a JSON body nested 50,000 deep is left unparsed, with the reason',
      yaml: one('    method: get\n    uri: https://graph.facebook.com/v21.0/me', `    status:\n      code: 200\n      message: OK\n    headers:\n      Content-Type: [application/json]\n    body:\n      string: '${'['.repeat(50_000)}${']'.repeat(50_000)}'`),
      check: (e: ReturnType<typeof read>[number]) => {
        expect(e.observation.response!.body.json).toBeUndefined()
        expect(e.observation.response!.body.jsonError).toBe('nested deeper than 256 levels; not parsed (no API answer nests this deep)')
        expect(e.observation.response!.body.size).toBe(100_000)
      },
    },
    {
      name: 'an unquoted recorded_at (a YAML 1.1 timestamp) is UTC, not local time',
      yaml: one('    method: get\n    uri: https://graph.facebook.com/v21.0/me', '    status: {code: 204, message: No Content}', '  recorded_at: 2024-01-01 12:00:00\n'),
      check: (e: ReturnType<typeof read>[number]) => expect(e.observation.startedAt).toBe('2024-01-01T12:00:00.000Z'),
    },
    {
      name: 'a zoneless recorded_at is UTC, not local time',
      yaml: one('    method: get\n    uri: https://graph.facebook.com/v21.0/me', '    status: {code: 204, message: No Content}', '  recorded_at: "2024-01-01 12:00:00"\n'),
      check: (e: ReturnType<typeof read>[number]) => {
        expect(e.observation.startedAt).toBe('2024-01-01T12:00:00.000Z')
        expect(e.hasBody).toBe(false)
      },
    },
  ])('$name', ({ yaml, check }) => {
    const entries = read(cassette(yaml))
    expect(entries).toHaveLength(1)
    check(entries[0]!)
  })

  it('reads gzip it can decode whatever the cassette format', () => {
    const body = gzipSync(Buffer.from('{"success":true}')).toString('base64')
    const entries = read(cassette(one('    method: delete\n    uri: https://graph.facebook.com/v21.0/1', `    status: {code: 200, message: OK}\n    headers:\n      Content-Encoding: [gzip]\n      Content-Type: [application/json]\n    body:\n      encoding: ASCII-8BIT\n      base64_string: ${body}`)))
    expect(entries[0]!.observation.response!.body.json).toEqual({ success: true })
  })
})

describe('a malformed cassette', () => {
  const interaction = (i: number, response = '    status:\n      code: 200\n      message: OK', request = `    method: get\n    uri: https://graph.facebook.com/v21.0/10900000000077${i}`) => `- request:\n${request}\n  response:\n${response}\n    body:\n      string: '{}'\n`
  /** Four interactions of 9 lines each after line 1; the fourth starts on line 29. */
  const withFourth = (fourth: string) => `http_interactions:\n${interaction(0)}${interaction(1)}${interaction(2)}${fourth}`

  it.each([
    {
      what: 'a status without its code',
      yaml: withFourth(interaction(3, '    status:\n      message: OK')),
      // Located at the status map (line 34, column 7), the nearest place the code should be.
      message: 'cassette.yml:34:7: http_interactions[3].response.status.code must be the HTTP status as a number, e.g. "status: {code: 200, message: OK}" (interaction 4). Record the cassette again, or fix it by hand.',
      path: 'http_interactions[3].response.status.code',
    },
    {
      what: 'a request without its method',
      yaml: withFourth(interaction(3, undefined, '    uri: https://graph.facebook.com/v21.0/me')),
      message: 'cassette.yml:30:5: http_interactions[3].request.method must be the HTTP method, e.g. "method: get" (interaction 4). Record the cassette again, or fix it by hand.',
      path: 'http_interactions[3].request.method',
    },
    {
      what: 'a vcrpy request without its uri',
      yaml: `interactions:\n- request:\n    body: null\n    method: GET\n  response:\n    body: {string: ''}\n    status: {code: 200, message: OK}\nversion: 1\n`,
      message: 'cassette.yml:3:5: interactions[0].request.uri must be the full URL requested, e.g. "uri: https://graph.facebook.com/v21.0/me" (interaction 1). Record the cassette again, or fix it by hand.',
      path: 'interactions[0].request.uri',
    },
    {
      what: 'an interaction without a response',
      yaml: withFourth('- request:\n    method: get\n    uri: https://graph.facebook.com/v21.0/me\n'),
      message: 'cassette.yml:29:3: http_interactions[3].response is missing: each interaction has a "response" with "status: {code, message}" (interaction 4). Record the cassette again, or fix it by hand.',
      path: 'http_interactions[3].response',
    },
    {
      what: 'a header whose values are a map',
      yaml: withFourth(interaction(3, undefined, '    method: get\n    uri: https://graph.facebook.com/v21.0/me\n    headers:\n      Accept:\n        type: json')),
      message: 'cassette.yml:34:9: http_interactions[3].request.headers.Accept must be a list of header values (text), not a map or nested list',
      path: 'http_interactions[3].request.headers.Accept',
    },
    {
      what: 'a recorded_at that is not a time',
      yaml: `http_interactions:\n${interaction(0)}  recorded_at: yesterday\n`,
      message: 'cassette.yml:11:16: http_interactions[0].recorded_at is "yesterday", not a time: Ruby VCR writes RFC 1123, e.g. "recorded_at: Tue, 10 Feb 2026 20:32:00 GMT"',
      path: 'http_interactions[0].recorded_at',
    },
    {
      what: 'http_interactions that is not a list',
      yaml: 'http_interactions:\n  request: {}\n',
      message: 'cassette.yml:2:3: http_interactions must be a list of interactions (a Ruby VCR cassette (top-level "http_interactions" list) or a vcrpy cassette ("version: 1" and an "interactions" list))',
      path: 'http_interactions',
    },
  ])('$what: the file, line:column, the path and the fix', ({ yaml, message, path }) => {
    const file = cassette(yaml)
    const err = errorOf(() => readCassette(file, new Redactor(), new PersonalDataRedactor(), join(file, '..')))
    expect(err.code).toBe('DW_CASSETTE_INVALID')
    expect(err.message).toBe(message)
    expect(err.details).toEqual({ file: 'cassette.yml', path })
  })

  it.each([
    { what: 'YAML that does not parse', yaml: 'http_interactions:\n- request:\n    method: get\n    uri: https://graph.facebook.com/v21.0/me\n   headers: {}\n', message: 'cassette.yml:5:1: is not valid YAML: All mapping items must start at the same column' },
    { what: 'a YAML document of neither format', yaml: 'openapi: 3.1.0\npaths: {}\n', message: 'cassette.yml is not a VCR cassette: expected a Ruby VCR cassette (top-level "http_interactions" list) or a vcrpy cassette ("version: 1" and an "interactions" list); found top-level keys "openapi", "paths"' },
    { what: 'a list at the top level', yaml: '- request: {}\n', message: 'cassette.yml is not a VCR cassette: expected a Ruby VCR cassette (top-level "http_interactions" list) or a vcrpy cassette ("version: 1" and an "interactions" list); found a list at the top level' },
    { what: 'an empty file', yaml: '', message: 'cassette.yml is not a VCR cassette: expected a Ruby VCR cassette (top-level "http_interactions" list) or a vcrpy cassette ("version: 1" and an "interactions" list); the file is empty' },
    { what: 'a vcrpy version it does not know', yaml: 'interactions: []\nversion: 2\n', message: "cassette.yml: version is 2; vcrpy's cassette format is version 1. Record the cassette again with vcrpy >= 1.0." },
    { what: 'two YAML documents', yaml: 'http_interactions: []\n---\nhttp_interactions: []\n', message: 'cassette.yml:2:1: holds 2 YAML documents; a cassette is one document' },
    {
      what: 'an alias bomb',
      yaml: 'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\nhttp_interactions: [*d]\n',
      message: 'cassette.yml is not a usable cassette: Excessive alias count indicates a resource exhaustion attack',
    },
  ])('$what: DW_CASSETTE_INVALID, saying where and what', ({ yaml, message }) => {
    const file = cassette(yaml)
    const err = errorOf(() => readCassette(file, new Redactor(), new PersonalDataRedactor(), join(file, '..')))
    expect(err.code).toBe('DW_CASSETTE_INVALID')
    expect(err.message).toBe(message)
    expect(err.details).toMatchObject({ file: 'cassette.yml' })
  })

  it('a file that cannot be read', () => {
    const d = dir()
    const err = errorOf(() => readCassette(join(d, 'missing.yml'), new Redactor(), new PersonalDataRedactor(), d))
    expect(err.code).toBe('DW_CASSETTE_INVALID')
    expect(err.message).toBe('cannot read missing.yml (ENOENT)')
  })
})

describe('a hostile cassette', () => {
  const deep = [
    { what: '10,000 levels of [', yaml: '['.repeat(10_000), at: `1:${MAX_CASSETTE_DEPTH + 1}` },
    { what: '100,000 levels of [ closed again', yaml: `${'['.repeat(100_000)}${']'.repeat(100_000)}`, at: `1:${MAX_CASSETTE_DEPTH + 1}` },
    { what: '10,000 levels of {a:', yaml: '{a: '.repeat(10_000), at: `1:${4 * MAX_CASSETTE_DEPTH + 1}` },
    { what: 'block sequences nested 10,000 deep on one line', yaml: `http_interactions:\n${'- '.repeat(10_000)}x\n`, at: `2:${2 * MAX_CASSETTE_DEPTH - 1}` },
  ]

  // Twice each: once the YAML composer has overflowed the stack, a second deep document can abort the process
  // (a fatal V8 error no catch sees); the depth guard must stop both before the composer runs.
  it.each([...deep, ...deep])('$what: DW_CASSETTE_INVALID, not a crash', ({ yaml, at }) => {
    const file = cassette(yaml)
    const err = errorOf(() => readCassette(file, new Redactor(), new PersonalDataRedactor(), join(file, '..')))
    expect(err.code).toBe('DW_CASSETTE_INVALID')
    expect(err.message).toBe(`cassette.yml:${at}: is not a cassette: YAML nested more than ${MAX_CASSETTE_DEPTH} levels deep (a cassette nests about 7); not parsed`)
  })

  it('a stack overflow in the parser that the guard did not foresee is still DW_CASSETTE_INVALID', async () => {
    // Stands for a caller already deep in its stack when it reads a cassette.
    vi.resetModules()
    vi.doMock('yaml', async (importOriginal) => {
      const real = await importOriginal<typeof import('yaml')>()
      return {
        ...real,
        Composer: class {
          compose(): never {
            throw new RangeError('Maximum call stack size exceeded')
          }
        },
      }
    })
    try {
      const fresh = await import('../../src/traffic/vcr.ts')
      const file = cassette('http_interactions: []\n')
      const err = errorOf(() => fresh.readCassette(file, new Redactor(), new PersonalDataRedactor(), join(file, '..')))
      expect(err.code).toBe('DW_CASSETTE_INVALID')
      expect(err.message).toBe('cassette.yml is not a cassette: too deeply nested to parse (Maximum call stack size exceeded)')
    } finally {
      vi.doUnmock('yaml')
      vi.resetModules()
    }
  })
})
