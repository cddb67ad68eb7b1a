/**
 * Work the HAR reader and verify no longer do twice or for nothing (issue 18: verify's CPU an
 * entry), held to the values the plain way gives: a token's fingerprint is made once per read and
 * is the fingerprint credentialOf gives; personal-data redaction copies only the parts it changes
 * and gives what copying every part gave, placeholders numbered in the same order.
 */
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { isDeepStrictEqual } from 'node:util'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Observation, ObservedBody } from '../../src/model/observation.ts'
import { PersonalDataRedactor } from '../../src/recordings/personal-data.ts'
import { redactPersonal } from '../../src/recordings/store.ts'
import { streamHar } from '../../src/traffic/har.ts'
import { credentialOf } from '../../src/transport/credential.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { writeLargeHar } from '../helpers/large-har.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const FIXTURES = join(import.meta.dirname, '..', 'verify', 'fixtures')
const { dir } = tempDirs('dw-per-entry-')

/** A HAR entry asking with `auth` (an Authorization value) and `query` appended to the URL. */
function entry(n: number, auth: string | undefined, query = ''): unknown {
  return {
    startedDateTime: `2026-02-09T08:00:${String(n % 60).padStart(2, '0')}.000Z`,
    request: { method: 'GET', url: `https://graph.facebook.com/v21.0/106540352242922${query}`, headers: auth === undefined ? [] : [{ name: 'Authorization', value: auth }] },
    response: { status: 200, headers: [{ name: 'Content-Type', value: 'application/json' }], content: { mimeType: 'application/json', text: '{"id":"106540352242922"}' } },
  }
}

/** Every entry of a HAR read with no secret patterns known but the defaults, and with a personal-data redactor that changes nothing (the observations as personal redaction gets them). */
async function unredacted(file: string): Promise<Observation[]> {
  const none = { json: (v: unknown) => v, text: (s: string) => s } as unknown as PersonalDataRedactor
  const out: Observation[] = []
  for await (const e of streamHar(file, new Redactor(), none, dir())) out.push(e.observation)
  return out
}

/** redactPersonal as it was before it copied only what it changed (every part copied, every header a new pair). */
function copyingEverything(o: Observation, personal: PersonalDataRedactor): Observation {
  const json = o.response?.body.json !== undefined ? personal.json(o.response.body.json) : undefined
  const request = {
    ...o.request,
    url: personal.text(o.request.url),
    headers: o.request.headers.map(([n, v]): [string, string] => [n, personal.text(v)]),
    ...(o.request.bodyExcerpt !== undefined ? { bodyExcerpt: personal.text(o.request.bodyExcerpt) } : {}),
  }
  if (!o.response) return { ...o, request }
  const r = o.response
  return { ...o, request, response: { ...r, rawHeaders: r.rawHeaders.map(([n, v]): [string, string] => [n, personal.text(v)]), body: bodyAsBefore(r.body, json, personal) } }
}

/** store.ts's redactBody as it was (copied so the reference stands alone). Today's differs only where the text and JSON passes replace different values, which these captures never have; personal-data.test.ts covers that. */
function bodyAsBefore(b: ObservedBody, json: unknown, personal: PersonalDataRedactor): ObservedBody {
  if (b.text === undefined) return b
  let text = personal.text(b.text)
  if (text === b.text && (json === undefined || json === b.json)) return b
  if (json !== undefined && !b.truncated) {
    let same = false
    try {
      same = isDeepStrictEqual(JSON.parse(text), json)
    } catch {}
    if (!same) text = JSON.stringify(json)
  }
  if (text === b.text) return b
  const bytes = Buffer.from(text, 'utf8')
  return { ...b, text, ...(json !== undefined ? { json } : {}), size: bytes.length, keptBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
}

/** Observations with a different number in each part redaction reads (bodies as JSON and as text only): placeholders are numbered in the order the parts are read. */
function numbersEverywhere(): Observation[] {
  const out: Observation[] = []
  for (let i = 0; i < 4; i++) {
    const n = (k: number) => `+1 650-555-${String(1000 + i * 10 + k)}`
    const text = JSON.stringify({ error: { message: `Recipient ${n(5)} not in allowed list`, to: n(6).replace(/\D/g, '') } })
    out.push({
      contract: '',
      sample: i + 1,
      startedAt: '2026-02-09T08:00:00.000Z',
      request: { method: 'POST', url: `https://graph.facebook.com/v21.0/106540352242922/messages?note=${encodeURIComponent(n(1))}&raw=${n(1)}`, headers: [['X-Caller', n(2)]], bodySize: 10, tokenSent: false, bodyExcerpt: `{"to":"${n(3)}"}` },
      response: { status: 400, statusText: 'Bad Request', rawHeaders: [['X-Echo', n(4)], ['Content-Type', 'application/json']], framing: { kind: 'content-length', bytesRead: text.length }, body: { size: text.length, sha256: '', keptBytes: text.length, truncated: false, text, ...(i % 2 === 0 ? { json: JSON.parse(text) } : {}) } },
      timings: { totalMs: 1 },
    })
  }
  return out
}

describe('credential fingerprints, made once per token and read', () => {
  it('gives each entry the fingerprint credentialOf gives, for one token, several, a query token, a placeholder and none', async () => {
    const auths: (string | undefined)[] = []
    for (let i = 0; i < 150; i++) auths.push(`Bearer EAAGtenant${i % 70}token0not0real0ZDZD`) // 70 tokens: past the 64 a read remembers
    auths.push(undefined, 'Bearer [REDACTED]', 'Basic dXNlcjpwYXNz', 'Bearer EAAGtenant3token0not0real0ZDZD')
    const entries = auths.map((a, i) => entry(i, a))
    entries.push(entry(1, undefined, '?access_token=EAAGquerytoken0not0real0ZDZD'), entry(2, 'Bearer EAAGtenant5token0not0real0ZDZD', '?access_token=EAAGquerytoken0not0real0ZDZD'))
    const file = join(dir(), 'tenants.har')
    writeFileSync(file, JSON.stringify({ log: { version: '1.2', entries } }))
    const read: (string | undefined)[] = []
    for await (const e of streamHar(file, new Redactor(), new PersonalDataRedactor(), dir())) read.push(e.observation.request.credential)
    const want = (entries as ReturnType<typeof JSON.parse>[]).map((e) => credentialOf(e.request.headers.map((h: { name: string; value: string }) => [h.name, h.value]), e.request.url))
    expect(read).toEqual(want)
    // What the comparison rests on: distinct tokens are told apart, the same token is one credential, placeholders are none.
    expect(new Set(read.slice(0, 150)).size).toBe(70)
    expect(read[3]).toBe(read[153])
    expect(read.slice(150, 153)).toEqual([undefined, undefined, undefined])
    expect(read.at(-1)).not.toBe(read[5])
  })
})

describe('personal-data redaction copies only what it changes', () => {
  it('gives what copying every part gave, on the fixture capture and on varied real-shaped traffic', async () => {
    const varied = join(dir(), 'varied.har')
    await writeLargeHar(varied, { bytes: 2 * 1024 * 1024, varied: true })
    for (const file of [join(FIXTURES, 'cloud-api-traffic.har'), join(FIXTURES, 'sdk-sends.har'), varied, 'numbers everywhere']) {
      const observations = file === 'numbers everywhere' ? numbersEverywhere() : await unredacted(file)
      const before = new PersonalDataRedactor()
      const after = new PersonalDataRedactor()
      let changed = 0
      for (const o of observations) {
        const want = copyingEverything(o, before)
        const got = redactPersonal(o, after)
        expect(got).toEqual(want)
        // Key order too: a recording is written as JSON.
        expect(JSON.stringify(got)).toBe(JSON.stringify(want))
        if (!isDeepStrictEqual(want, o)) changed++
      }
      expect(after.count).toBe(before.count)
      // The corpus has personal data to replace (or the comparison above says little).
      expect(changed).toBeGreaterThan(0)
      expect(after.count).toBeGreaterThan(0)
    }
  })

  it('keeps the very parts that have nothing personal in them, and copies a part that has', () => {
    const o: Observation = {
      contract: '',
      sample: 1,
      startedAt: '2026-02-09T08:00:00.000Z',
      request: { method: 'GET', url: 'https://graph.facebook.com/v21.0/106540352242922', headers: [['Accept', 'application/json']], bodySize: 0, tokenSent: false },
      response: { status: 200, statusText: 'OK', rawHeaders: [['Content-Type', 'application/json']], framing: { kind: 'content-length', bytesRead: 2 }, body: { size: 2, sha256: '', keptBytes: 2, truncated: false, text: '{}', json: {} } },
      timings: { totalMs: 1 },
    }
    const clean = redactPersonal(o, new PersonalDataRedactor())
    expect(clean).not.toBe(o)
    expect(clean.request).toBe(o.request)
    expect(clean.response).toBe(o.response)
    const text = '{"error":{"message":"(#131030) Recipient +1 650-555-1234 not in allowed list"}}'
    const personal: Observation = { ...o, request: { ...o.request, headers: [['Accept', 'application/json'], ['X-Caller', '+1 650-555-1234']] }, response: { ...o.response!, body: { ...o.response!.body, text, json: JSON.parse(text) } } }
    const redacted = redactPersonal(personal, new PersonalDataRedactor())
    expect(redacted.request.headers).toEqual([['Accept', 'application/json'], ['X-Caller', '+1 555-000-0001']])
    expect(redacted.request.headers).not.toBe(personal.request.headers)
    expect(personal.request.headers[1]).toEqual(['X-Caller', '+1 650-555-1234'])
    expect(redacted.response!.rawHeaders).toBe(personal.response!.rawHeaders)
    expect(redacted.response!.body.text).toBe('{"error":{"message":"(#131030) Recipient +1 555-000-0001 not in allowed list"}}')
  })

  it('still replaces the escaped spelling of a value that has one, and needs none for a value that is its own', () => {
    const personal = new PersonalDataRedactor()
    personal.json({ contacts: [{ profile: { name: 'José "Pepe" Núñez' }, wa_id: '16505551234' }, { profile: { name: 'Ana' } }] })
    const raw = 'from Jos\\u00e9 \\"Pepe\\" N\\u00fa\\u00f1ez, José "Pepe" Núñez, Ana and 16505551234'
    expect(personal.text(raw)).toBe('from Person 1, Person 1, Person 2 and 15550000001')
  })
})

describe('an entry as an observation, built without spreads', () => {
  it('has every key, optional ones included, in the order the spreads gave (recordings are written as JSON)', async () => {
    const full = {
      startedDateTime: '2026-02-09T08:00:01.000Z',
      time: 117,
      request: { method: 'get', url: 'https://graph.facebook.com/v21.0/106540352242922', httpVersion: 'h2', headers: [{ name: 'Authorization', value: 'Bearer EAAGtenant1token0not0real0ZDZD' }, { name: ':authority', value: 'graph.facebook.com' }], bodySize: 0 },
      response: { status: 200, statusText: 'OK', httpVersion: 'h2', headers: [{ name: 'Content-Length', value: '24' }, { name: 'Content-Type', value: 'application/json' }], content: { size: 24, mimeType: 'application/json', text: '{"id":"106540352242922"}' } },
      timings: { wait: 83 },
    }
    const bare = {
      startedDateTime: '2026-02-09T08:00:02.000Z',
      request: { method: 'GET', url: 'https://graph.facebook.com/v21.0/106540352242922', headers: [] },
      response: { status: 204, headers: [], content: {} },
    }
    const broken = { ...full, response: { ...full.response, content: { mimeType: 'application/json', text: '{"id":' } } }
    const file = join(dir(), 'keys.har')
    writeFileSync(file, JSON.stringify({ log: { version: '1.2', entries: [full, bare, broken] } }))
    const got: Observation[] = []
    for await (const e of streamHar(file, new Redactor(), new PersonalDataRedactor(), dir())) got.push(e.observation)
    const keys = (o: Observation) => ({
      observation: Object.keys(o),
      request: Object.keys(o.request),
      response: Object.keys(o.response!),
      framing: Object.keys(o.response!.framing),
      body: Object.keys(o.response!.body),
      timings: Object.keys(o.timings),
    })
    expect(keys(got[0]!)).toEqual({
      observation: ['contract', 'sample', 'startedAt', 'request', 'response', 'timings'],
      request: ['method', 'url', 'headers', 'bodySize', 'tokenSent', 'credential'],
      response: ['httpVersion', 'status', 'statusText', 'rawHeaders', 'framing', 'body'],
      framing: ['kind', 'bytesRead', 'declaredLength'],
      body: ['size', 'sha256', 'keptBytes', 'truncated', 'text', 'json'],
      timings: ['totalMs', 'ttfbMs'],
    })
    expect(got[0]!.response).toMatchObject({ httpVersion: '2', framing: { kind: 'content-length', bytesRead: 24, declaredLength: 24 }, body: { json: { id: '106540352242922' } } })
    expect(got[0]!.request).toMatchObject({ method: 'GET', headers: [['Authorization', 'Bearer [REDACTED]']], tokenSent: true })
    expect(keys(got[1]!)).toEqual({
      observation: ['contract', 'sample', 'startedAt', 'request', 'response', 'timings'],
      request: ['method', 'url', 'headers', 'bodySize', 'tokenSent'],
      response: ['status', 'statusText', 'rawHeaders', 'framing', 'body'],
      framing: ['kind', 'bytesRead'],
      body: ['size', 'sha256', 'keptBytes', 'truncated'],
      timings: ['totalMs'],
    })
    expect(keys(got[2]!).body).toEqual(['size', 'sha256', 'keptBytes', 'truncated', 'text', 'jsonError'])
  })
})
