/**
 * Consumer contract tests (Pact V4) for the media client: each interaction pins the exact request
 * the client sends and the response it relies on, and writes pacts/ for `driftwatch gate`. A
 * client that sends POST with `method=get` (Feb 6 2026) fails here, before it ships.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MatchersV3, PactV4 } from '@pact-foundation/pact'
import { beforeAll, describe, expect, it } from 'vitest'
import { GraphApiError, MetaMediaClient, type ClientCall } from '../../src/client/meta-media-client.ts'

process.env.PACT_DO_NOT_TRACK = 'true'
const { regex, integer, string } = MatchersV3

export const CONSUMER = 'driftwatch-media-client'
export const PROVIDER = 'whatsapp-cloud-api'
const PACT_DIR = 'pacts'
const PNG_PATH = 'contracts/meta/fixtures/driftwatch-probe.png'
const PNG = readFileSync(PNG_PATH)

const PHONE = '106540352242922'
const MEDIA = '1390000000007919'
const TOKEN = 'consumer-test-token-not-a-secret'
const bearer = { Authorization: regex(/^Bearer \S+$/, `Bearer ${TOKEN}`) }
const json = { 'Content-Type': regex(/^application\/json(;.*)?$/, 'application/json; charset=UTF-8') }
const downloadQuery = {
  mid: regex(/^\d+$/, MEDIA),
  source: 'getMedia',
  ext: regex(/^\d+$/, '1763807919'),
  hash: regex(/^[A-Za-z0-9_-]+$/, 'MTM5MDAwMDAwMDAwNzkxOTo0NmY5MzQ4'),
}

/**
 * A test body followed by a moment for the mock server: under load it can answer a request and
 * record the match only after the verification has read its list (pact-foundation/pact-js#1835),
 * and Pact then says a request the client sent "was expected but not received" (seen in CI).
 */
function settled<T>(fn: (mock: { url: string }) => Promise<T>): (mock: { url: string }) => Promise<T> {
  return async (mock) => {
    const answered = await fn(mock)
    await new Promise((r) => setTimeout(r, 50))
    return answered
  }
}

function client(baseUrl: string): MetaMediaClient {
  return new MetaMediaClient({ baseUrl, apiVersion: 'v23.0', token: TOKEN })
}

const metadataBody = {
  messaging_product: 'whatsapp',
  url: regex(/^https?:\/\/\S+\/whatsapp_business\/attachments\/\?mid=\d+\S*$/, `https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=${MEDIA}&source=getMedia&ext=1763807919&hash=MTM5`),
  mime_type: string('image/png'),
  sha256: regex(/^[0-9a-f]{64}$/, 'c6f1b3d5e8a4f2c7b9d1e3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5'),
  file_size: integer(463),
  id: regex(/^\d+$/, MEDIA),
}

describe('media client consumer contract (Pact V4)', () => {
  const pact = new PactV4({ consumer: CONSUMER, provider: PROVIDER, dir: PACT_DIR, logLevel: 'error' })

  beforeAll(() => {
    // Start from nothing: a changed client must not merge with interactions it no longer makes.
    rmSync(join(PACT_DIR, `${CONSUMER}-${PROVIDER}.json`), { force: true })
  })

  it('uploads media as multipart with a bearer token', async () => {
    await pact
      .addInteraction()
      .given('the business phone number exists')
      .uponReceiving('an upload of a PNG')
      .withRequest('POST', `/v23.0/${PHONE}/media`, (b) => b.headers(bearer).multipartBody('image/png', PNG_PATH, 'file', 'driftwatch-pact-boundary'))
      .willRespondWith(200, (b) => b.headers(json).jsonBody({ id: regex(/^\d+$/, MEDIA) }))
      .executeTest(settled(async (mock) => {
        const { id } = await client(mock.url).upload(PHONE, { bytes: PNG, filename: 'driftwatch-probe.png', mimeType: 'image/png' })
        expect(id).toBe(MEDIA)
      }))
  })

  it('retrieves a media URL with GET (not POST)', async () => {
    await pact
      .addInteraction()
      .given('a media object exists')
      .uponReceiving('a request to retrieve a media URL')
      .withRequest('GET', `/v23.0/${MEDIA}`, (b) => b.headers(bearer))
      .willRespondWith(200, (b) => b.headers(json).jsonBody(metadataBody))
      .executeTest(settled(async (mock) => {
        const m = await client(mock.url).retrieve(MEDIA)
        expect(m).toMatchObject({ id: MEDIA, mimeType: 'image/png', fileSize: 463 })
      }))
  })

  it('retrieves a media URL with the optional phone_number_id', async () => {
    await pact
      .addInteraction()
      .given('a media object exists')
      .uponReceiving('a request to retrieve a media URL for a phone number')
      .withRequest('GET', `/v23.0/${MEDIA}`, (b) => b.headers(bearer).query({ phone_number_id: regex(/^\d+$/, PHONE) }))
      .willRespondWith(200, (b) => b.headers(json).jsonBody(metadataBody))
      .executeTest(settled(async (mock) => {
        expect((await client(mock.url).retrieve(MEDIA, { phoneNumberId: PHONE })).id).toBe(MEDIA)
      }))
  })

  it('downloads the media bytes from the URL with the token', async () => {
    await pact
      .addInteraction()
      .given('a media object exists')
      .uponReceiving('a download of the media bytes')
      .withRequest('GET', '/whatsapp_business/attachments/', (b) => b.headers(bearer).query(downloadQuery))
      .willRespondWith(200, (b) => b.headers({ 'Content-Type': 'image/png' }).binaryFile('image/png', PNG_PATH))
      .executeTest(settled(async (mock) => {
        // The Pact mock server stands for the download host here; allow it like lookaside.fbsbx.com.
        const d = await client(mock.url).download(`${mock.url}/whatsapp_business/attachments/?mid=${MEDIA}&source=getMedia&ext=1763807919&hash=MTM5MDAwMDAwMDAwNzkxOTo0NmY5MzQ4`)
        expect(d.bytes.equals(PNG)).toBe(true)
        expect(d.contentType).toBe('image/png')
      }))
  })

  it('deletes media with DELETE', async () => {
    await pact
      .addInteraction()
      .given('a media object exists')
      .uponReceiving('a request to delete media')
      .withRequest('DELETE', `/v23.0/${MEDIA}`, (b) => b.headers(bearer))
      .willRespondWith(200, (b) => b.headers(json).jsonBody({ success: true }))
      .executeTest(settled(async (mock) => {
        await expect(client(mock.url).delete(MEDIA)).resolves.toBeUndefined()
      }))
  })

  it('reads a Graph error envelope into a typed error', async () => {
    await pact
      .addInteraction()
      .given('no object has this id')
      .uponReceiving('a request for an unknown object')
      .withRequest('GET', '/v23.0/999999999999999', (b) => b.headers(bearer))
      .willRespondWith(400, (b) =>
        b.headers(json).jsonBody({ error: { message: string('Unsupported get request.'), type: 'GraphMethodException', code: 100, error_subcode: 33, fbtrace_id: string('AbCdEf123') } }),
      )
      .executeTest(settled(async (mock) => {
        const err = await client(mock.url).retrieve('999999999999999').catch((e: unknown) => e)
        expect(err).toBeInstanceOf(GraphApiError)
        expect(err).toMatchObject({ status: 400, code: 100, subcode: 33, type: 'GraphMethodException' })
      }))
  })
})

/** The Feb 6 2026 bug, modelled: a method passed the wrong way falls back to POST with method=get in the body. */
class LegacyOverrideClient extends MetaMediaClient {
  protected override send(call: ClientCall) {
    if (call.method !== 'GET') return super.send(call)
    return super.send({ ...call, method: 'POST', headers: { ...call.headers, 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from('method=get') })
  }
}

describe('a client that sends POST with method=get', () => {
  it('fails its consumer test, so it never reaches production', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dw-pact-bad-'))
    try {
      const pact = new PactV4({ consumer: 'broken-client', provider: PROVIDER, dir, logLevel: 'error' })
      const run = pact
        .addInteraction()
        .uponReceiving('a request to retrieve a media URL')
        .withRequest('GET', `/v23.0/${MEDIA}`, (b) => b.headers(bearer))
        .willRespondWith(200, (b) => b.headers(json).jsonBody(metadataBody))
        .executeTest(settled(async (mock) => {
          // The client's own error (the mock answers 500) is not the point: Pact's verdict is.
          await new LegacyOverrideClient({ baseUrl: mock.url, apiVersion: 'v23.0', token: TOKEN }).retrieve(MEDIA).catch(() => undefined)
        }))
      const err = (await run.then(() => undefined, (e: unknown) => e)) as Error | undefined
      expect(err, 'the broken client passed its consumer test').toBeInstanceOf(Error)
      expect(err!.message).toMatch(/Mock server failed/)
      expect(err!.message).toMatch(/POST/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
