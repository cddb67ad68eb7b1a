/**
 * The pre-deploy gate, end to end: golden recordings made from the simulator with `record`, pact
 * files written by real Pact V4 consumer tests, Pact's own Verifier against the replay. Each wrong
 * consumer must be stopped with the interaction, the contract and what differs.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { MatchersV3, PactV4 } from '@pact-foundation/pact'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GraphApiError, MetaMediaClient, type ClientCall } from '../../src/client/meta-media-client.ts'
import { HarnessError } from '../../src/util/errors.ts'
import { main } from '../../src/cli/index.ts'
import { runGate, type GateReport } from '../../src/commands/gate.ts'
import { runRecord } from '../../src/commands/record.ts'

process.env.PACT_DO_NOT_TRACK = 'true'
const { regex, integer, string } = MatchersV3
const ROOT = join(import.meta.dirname, '..', '..')
const MEDIA = '1390000000007919'
const bearer = { Authorization: regex(/^Bearer \S+$/, 'Bearer test-token') }
const tmp: string[] = []
let recordings: string

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dw-gate-'))
  tmp.push(d)
  return d
}

beforeAll(async () => {
  recordings = dir()
  const r = await runRecord({ target: 'sim', contractsDir: join(ROOT, 'contracts/meta'), apiVersion: 'v23.0', recordingsDir: recordings, env: {}, cwd: ROOT })
  expect(r.files.length).toBeGreaterThanOrEqual(13)
})
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })))

/** Writes a one-interaction pact for a consumer that believes `expectation` about retrieve-media. */
async function retrievePact(consumer: string, build: (p: PactV4) => ReturnType<PactV4['addInteraction']> extends infer U ? unknown : never, run: (url: string) => Promise<unknown>, attempt = 1): Promise<string> {
  const pacts = dir()
  const pact = new PactV4({ consumer, provider: 'whatsapp-cloud-api', dir: pacts, logLevel: 'error' })
  // Pact reports "expected but not received" in place of the client's own error: keep that error, it is the cause.
  let clientError: unknown
  try {
    await (build(pact) as { executeTest: (fn: (m: { url: string }) => Promise<unknown>) => Promise<unknown> }).executeTest(async (m) => {
      const answered = await run(m.url).catch((e: unknown) => {
        clientError = e
        throw e
      })
      // Under load, Pact's mock server can answer a request and record the match only after the
      // verification has read its list (pact-foundation/pact-js#1835): give it a moment.
      await new Promise((r) => setTimeout(r, 50))
      return answered
    })
  } catch (err) {
    // That same race, if the moment was not enough: the client had its answer, so once more.
    if (!clientError && attempt === 1 && /expected but not received/.test(String((err as Error).message))) return retrievePact(consumer, build, run, 2)
    if (!clientError) throw err
    // A mock server that refused or dropped the connection it had just opened (seen rarely, under load) is Pact's, not the client's: once more.
    const code = (clientError as { code?: string; cause?: { code?: string } }).code ?? (clientError as { cause?: { code?: string } }).cause?.code
    if (attempt === 1 && code && /^(ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET|EPIPE)$/.test(code)) return retrievePact(consumer, build, run, 2)
    throw clientError
  }
  return pacts
}

const gate = (pacts: string, recs = recordings) => runGate({ pactsPath: pacts, recordingsDir: recs, contractsDir: join(ROOT, 'contracts/meta'), cwd: ROOT })

function only(r: GateReport) {
  expect(r.interactions).toHaveLength(1)
  return r.interactions[0]!
}

describe('driftwatch gate', () => {
  it('passes a client whose requests and expectations match the upstream', async () => {
    const pacts = await retrievePact(
      'good-client',
      (p) =>
        p
          .addInteraction()
          .uponReceiving('retrieve a media URL')
          .withRequest('GET', `/v23.0/${MEDIA}`, (b) => b.headers(bearer))
          .willRespondWith(200, (b) => b.jsonBody({ url: regex(/^https?:\/\/\S+$/, 'https://lookaside.fbsbx.com/x'), mime_type: string('image/png'), sha256: regex(/^[0-9a-f]{64}$/, 'a'.repeat(64)), file_size: integer(463), id: string(MEDIA) })),
      (url) => new MetaMediaClient({ baseUrl: url, apiVersion: 'v23.0', token: 't' }).retrieve(MEDIA),
    )
    const r = await gate(pacts)
    expect(r.outcome).toBe('pass')
    expect(only(r)).toMatchObject({ status: 'passed', contract: 'media.retrieve-url', problems: [] })
    expect(only(r).replayedFrom).toMatch(/^media\.retrieve-url\/sim-baseline \(recorded /)
  })

  it('stops a client that sends POST with method=get, even when its own consumer test was written to match (Feb 6 2026)', async () => {
    class LegacyOverrideClient extends MetaMediaClient {
      protected override send(call: ClientCall) {
        return call.method === 'GET' ? super.send({ ...call, method: 'POST', headers: { ...call.headers, 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from('method=get') }) : super.send(call)
      }
    }
    const pacts = await retrievePact(
      'legacy-override-client',
      (p) =>
        p
          .addInteraction()
          .uponReceiving('retrieve a media URL')
          // Pact cannot match a form body; the method is the bug, so that is what this pact pins.
          .withRequest('POST', `/v23.0/${MEDIA}`, (b) => b.headers(bearer))
          .willRespondWith(200, (b) => b.jsonBody({ url: string('https://lookaside.fbsbx.com/x'), mime_type: string('image/png'), sha256: string('a'.repeat(64)), file_size: integer(463), id: string(MEDIA) })),
      (url) => new LegacyOverrideClient({ baseUrl: url, apiVersion: 'v23.0', token: 't' }).retrieve(MEDIA),
    )
    if (process.env.UPDATE_EXAMPLES) cpSync(pacts, join(ROOT, 'examples', 'legacy-pacts'), { recursive: true })
    const i = only(await gate(pacts))
    expect(i.status).toBe('failed')
    expect(i.contract).toBe('media.retrieve-url')
    const asContracted = i.problems.filter((p) => p.source === 'contract').map((p) => p.message)
    // The pact cannot pin the form body, but the answer it expects is a media item's: the client reads media, with the wrong method.
    expect(asContracted).toEqual([expect.stringMatching(/^sends POST \/v23\.0\/\d+, but contracts\/meta\/operations\/media\.retrieve-url\.yaml says this endpoint takes GET, DELETE, not POST; as last recorded \(media\.post-method\), POST gets 405\. Send GET\.$/)])
    const asRecorded = i.problems.filter((p) => p.source === 'recording').map((p) => p.message)
    expect(asRecorded.some((m) => /media\.post-method\/sim-baseline.*(status|405)/i.test(m))).toBe(true)
    // The README runs the gate on a committed copy of this pact: it must say what this test's pact says.
    const file = 'legacy-override-client-whatsapp-cloud-api.json'
    const interactions = (p: string) => (JSON.parse(readFileSync(p, 'utf8')) as { interactions: { description: string; request: unknown; response: unknown }[] }).interactions.map(({ description, request, response }) => ({ description, request, response }))
    expect(interactions(join(ROOT, 'examples', 'legacy-pacts', file)), `regenerate examples/legacy-pacts/${file} from this test's pact`).toEqual(interactions(join(pacts, file)))
  })

  it('stops a client coded against Meta\'s spec (file_size as a string) that real traffic contradicts', async () => {
    const pacts = await retrievePact(
      'spec-following-client',
      (p) =>
        p
          .addInteraction()
          .uponReceiving('retrieve a media URL')
          .withRequest('GET', `/v23.0/${MEDIA}`, (b) => b.headers(bearer))
          .willRespondWith(200, (b) => b.jsonBody({ url: string('https://lookaside.fbsbx.com/x'), file_size: string('303833'), id: string(MEDIA) })),
      async (url) => (await fetch(`${url}/v23.0/${MEDIA}`, { headers: { authorization: 'Bearer t' } })).json(),
    )
    const i = only(await gate(pacts))
    expect(i).toMatchObject({ status: 'failed', contract: 'media.retrieve-url' })
    expect(i.problems).toEqual([{ source: 'recording', message: expect.stringMatching(/^as last recorded \(media\.retrieve-url\/sim-baseline, .*\), \$\.file_size: /) }])
  })

  it('stops a request no operation describes, naming the request', async () => {
    const pacts = await retrievePact(
      'business-client',
      (p) =>
        p
          .addInteraction()
          .uponReceiving('list my businesses')
          .withRequest('GET', '/v23.0/me/businesses', (b) => b.headers(bearer))
          .willRespondWith(200, (b) => b.jsonBody({ data: [] })),
      async (url) => fetch(`${url}/v23.0/me/businesses`, { headers: { authorization: 'Bearer t' } }),
    )
    const i = only(await gate(pacts))
    expect(i.status).toBe('failed')
    expect(i.problems[0]!.message).toBe('no operation describes GET /v23.0/me/businesses: the upstream, as contracted, does not offer it. Fix the request, or add an operation for it in ' + join(ROOT, 'contracts/meta') + '/operations.')
  })

  // The shipped consumer test's error interaction (suites/consumer): GET of an id no node has.
  const unknownObject = (id: string) =>
    retrievePact(
      'error-reading-client',
      (p) =>
        p
          .addInteraction()
          .uponReceiving('a request for an unknown object')
          .withRequest('GET', `/v23.0/${id}`, (b) => b.headers(bearer))
          .willRespondWith(400, (b) => b.jsonBody({ error: { message: string('Unsupported get request.'), type: 'GraphMethodException', code: 100, error_subcode: 33 } })),
      // The 400 is what the consumer expects; anything else (a refused connection) fails the test as itself.
      (url) =>
        new MetaMediaClient({ baseUrl: url, apiVersion: 'v23.0', token: 't' }).retrieve(id).catch((e: unknown) => {
          if (!(e instanceof GraphApiError)) throw e
        }),
    )

  it('passes the shipped error interaction: a probe that sends this very request tells which operation it is', async () => {
    // Four operations live at /{id}; graph.unknown-object probes exactly this path for media.retrieve-url.
    const i = only(await gate(await unknownObject('999999999999999')))
    expect(i).toMatchObject({ status: 'passed', contract: 'media.retrieve-url', problems: [] })
    expect(i.replayedFrom).toMatch(/^graph\.unknown-object\/sim-baseline \(recorded /)
  })

  it('still asks which operation a bare /{id} is when no probe sends that very request', async () => {
    const i = only(await gate(await unknownObject('888888888888888')))
    expect(i.status).toBe('failed')
    expect(i.problems[0]!.message).toMatch(/^GET \/v23\.0\/888888888888888 could be media\.retrieve-url or phone-numbers\.get or templates\.get or waba\.get .*name the fields the client reads/)
  })

  it('refuses to judge an operation no probe records, until its traffic is recorded (record --from)', async () => {
    const pacts = await retrievePact(
      'profile-client',
      (p) =>
        p
          .addInteraction()
          .uponReceiving('read the business profile')
          .withRequest('GET', '/v23.0/106540352242922/whatsapp_business_profile', (b) => b.headers(bearer))
          .willRespondWith(200, (b) => b.jsonBody({ data: [] })),
      async (url) => fetch(`${url}/v23.0/106540352242922/whatsapp_business_profile`, { headers: { authorization: 'Bearer t' } }),
    )
    const err = await gate(pacts).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'DW_RECORDINGS_MISSING' })
    expect((err as Error).message).toMatch(/^no golden recording for business-profile\.get in .*: record business-profile\.get from captured traffic with driftwatch record --from <traffic\.har\|cassette\.yml>/)
  })

  it('stops a send whose body lacks what the contract sends, and one without a token', async () => {
    const pacts = await retrievePact(
      'careless-sender',
      (p) =>
        p
          .addInteraction()
          .uponReceiving('send a text')
          .withRequest('POST', '/v23.0/106540352242922/messages', (b) => b.jsonBody({ to: '16315550199', type: 'text', text: { body: 'hi' } }))
          .willRespondWith(200, (b) => b.jsonBody({ messages: [{ id: string('wamid.X') }] })),
      async (url) => fetch(`${url}/v23.0/106540352242922/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: '16315550199', type: 'text', text: { body: 'hi' } }) }),
    )
    const i = only(await gate(pacts))
    expect(i.contract).toBe('messages.send-text')
    expect(i.problems.filter((p) => p.source === 'contract').map((p) => p.message)).toEqual([
      'sends no bearer token; contracts/meta/operations/messages.send-text.yaml is called with Authorization: Bearer <token>',
      'request body lacks messaging_product, which contracts/meta/operations/messages.send-text.yaml requires',
    ])
  })

  it('refuses to judge without the recordings it needs (exit 2 territory), naming them and the fix', async () => {
    const pacts = await retrievePact(
      'good-client',
      (p) => p.addInteraction().uponReceiving('delete media').withRequest('DELETE', `/v23.0/${MEDIA}`, (b) => b.headers(bearer)).willRespondWith(200, (b) => b.jsonBody({ success: true })),
      (url) => new MetaMediaClient({ baseUrl: url, apiVersion: 'v23.0', token: 't' }).delete(MEDIA),
    )
    const err = await gate(pacts, dir()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HarnessError)
    expect(err).toMatchObject({ code: 'DW_RECORDINGS_MISSING' })
    expect((err as Error).message).toContain("driftwatch record --only 'media.delete'")
  })

  it('reports a pact file that is not JSON with its name', async () => {
    const pacts = dir()
    writeFileSync(join(pacts, 'broken.json'), '{ "interactions": [')
    await expect(gate(pacts)).rejects.toThrow(/pact .*broken\.json is not valid JSON/)
  })
})

describe('driftwatch gate (CLI)', () => {
  function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin/driftwatch.js'), ...args], { cwd: ROOT, env: { ...process.env, PACT_DO_NOT_TRACK: 'true' } })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d: Buffer) => (stdout += d))
      child.stderr.on('data', (d: Buffer) => (stderr += d))
      child.on('close', (code) => resolve({ code, stdout, stderr }))
    })
  }

  it('exits 1 on a failing interaction, says which and why, and writes gate.json', async () => {
    const pacts = await retrievePact(
      'spec-following-client',
      (p) => p.addInteraction().uponReceiving('retrieve a media URL').withRequest('GET', `/v23.0/${MEDIA}`, (b) => b.headers(bearer)).willRespondWith(200, (b) => b.jsonBody({ file_size: string('303833') })),
      async (url) => fetch(`${url}/v23.0/${MEDIA}`, { headers: { authorization: 'Bearer t' } }),
    )
    const out = dir()
    const r = await cli(['gate', '--pacts', pacts, '--recordings', recordings, '--out', out])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('✗ retrieve a media URL: GET /v23.0/1390000000007919 → media.retrieve-url')
    expect(r.stderr).toMatch(/as recorded: as last recorded \(media\.retrieve-url\/sim-baseline, .*\), \$\.file_size:/)
    expect(r.stdout).toMatch(/^GATE FAILED: 1 of 1 interaction would fail against the upstream/)
    expect(JSON.parse(readFileSync(join(out, 'gate.json'), 'utf8'))).toMatchObject({ outcome: 'fail', summary: { interactions: 1, failed: 1 } })
  })

  it('exits 2 when there are no pacts, telling how to make them', async () => {
    // In process: the code main returns is what the bin exits with (a real child above; the bin's exit codes: suites/cli/cli.test.ts).
    const stderr: string[] = []
    const code = await main(['gate', '--pacts', join(dir(), 'none'), '--recordings', recordings], { stdout: () => {}, stderr: (l) => stderr.push(l), env: { PACT_DO_NOT_TRACK: 'true' }, cwd: ROOT })
    expect(code).toBe(2)
    expect(stderr.join('\n')).toContain('run the consumer tests first')
  })
})
