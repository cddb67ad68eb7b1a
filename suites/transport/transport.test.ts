/**
 * The transport over real sockets: what it records (status line, raw header order and case,
 * framing, wire bytes, body hash) and how it survives broken upstreams. Every response here is
 * exact bytes from a raw TCP server; a mock would hide the framing these tests are about.
 */
import { createHash } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HostPolicy } from '../../src/transport/host-policy.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { INVALID_TOKEN, Transport, type PreparedRequest, type TransportOptions } from '../../src/transport/transport.ts'
import { closedPort, rawServer, type RawReply, type RawServer } from '../helpers/raw-server.ts'
import { evidenceFrom } from '../../src/model/finding.ts'
import { markdownReporter } from '../../src/reporters/markdown.ts'
import { untrusting } from '../../src/render/index.ts'
import { sampleReport } from '../reporters/sample-report.ts'

const TOKEN = 'EAAtransportTestTokenDoNotLeak0123456789'
const JSON_BODY = '{"id":"4490709327384033"}'
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex')

const replies: Record<string, RawReply> = {
  '/cl': { bytes: `HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nVary: Origin\r\nVary: Accept-Encoding\r\nX-FB-Debug: AbC==\r\nfacebook-api-version: v23.0\r\nContent-Length: ${JSON_BODY.length}\r\n\r\n${JSON_BODY}` },
  '/chunked': { bytes: 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"id"\r\n6\r\n:"123"\r\n1\r\n}\r\n0\r\n\r\n' },
  '/http10': { bytes: 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello', end: true },
  '/truncated': { bytes: 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":', end: true },
  '/reset': { reset: true },
  '/garbage': { bytes: 'HTTQ/9 what is this\r\n\r\n', end: true },
  '/big': { bytes: `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n[${'1,'.repeat(2499)}1]`.slice(0, 5000 + 78) },
  '/never': { delayMs: 60_000 },
  '/stall': { bytes: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nabc', rest: 'defghij', restDelayMs: 60_000 },
  '/png': { bytes: Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 2048\r\n\r\n'), Buffer.alloc(2048, 7)]) },
  '/echo-token': { bytes: `HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nWWW-Authenticate: OAuth "Facebook Platform" "invalid_request" "bad token ${TOKEN}"\r\nContent-Length: ${`{"error":{"message":"token ${TOKEN} rejected"}}`.length}\r\n\r\n{"error":{"message":"token ${TOKEN} rejected"}}` },
}

let server: RawServer
let transport: Transport | undefined

beforeAll(async () => {
  server = await rawServer((path) => replies[path.split('?')[0]!] ?? { bytes: 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n' })
})
afterAll(() => server.close())
afterEach(async () => {
  await transport?.close()
  transport = undefined
})

function make(over: Partial<TransportOptions> = {}): Transport {
  transport = new Transport({
    token: TOKEN,
    hostPolicy: new HostPolicy({ allowHosts: [new URL(server.url).host] }),
    redactor: new Redactor({ secrets: [TOKEN] }),
    ...over,
  })
  return transport
}

function req(path: string, over: Partial<PreparedRequest> = {}): PreparedRequest {
  return { contract: 't', sample: 1, method: 'GET', url: `${server.url}${path}`, headers: [], auth: 'bearer', ...over }
}

describe('what crosses the wire is recorded', () => {
  it('records the status line, raw headers in wire order with case and repeats, framing and wire bytes', async () => {
    const o = await make().send(req('/cl'))
    const r = o.response!
    expect(r.statusLine).toBe('HTTP/1.1 200 OK')
    expect(r.httpVersion).toBe('1.1')
    expect(r.rawHeaders).toEqual([
      ['Content-Type', 'application/json; charset=UTF-8'],
      ['Vary', 'Origin'],
      ['Vary', 'Accept-Encoding'],
      ['X-FB-Debug', 'AbC=='],
      ['facebook-api-version', 'v23.0'],
      ['Content-Length', String(JSON_BODY.length)],
    ])
    expect(r.framing).toEqual({ kind: 'content-length', declaredLength: JSON_BODY.length, bytesRead: JSON_BODY.length, wireBytes: Buffer.byteLength(replies['/cl']!.bytes as string, 'latin1') })
    expect(r.body).toMatchObject({ size: JSON_BODY.length, sha256: sha(JSON_BODY), truncated: false, json: { id: '4490709327384033' } })
    expect(o.transportError).toBeUndefined()
  })

  it('records chunked framing, de-chunked bytes, and more bytes on the wire than in the body', async () => {
    const r = (await make().send(req('/chunked'))).response!
    expect(r.framing.kind).toBe('chunked')
    expect(r.framing.declaredLength).toBeUndefined()
    expect(r.framing.bytesRead).toBe(12)
    expect(r.framing.wireBytes).toBeGreaterThan(r.framing.bytesRead + 30)
    expect(r.body.json).toEqual({ id: '123' })
  })

  it('reads the HTTP version from the real status line (HTTP/1.0, close-delimited)', async () => {
    const r = (await make().send(req('/http10'))).response!
    expect(r.statusLine).toBe('HTTP/1.0 200 OK')
    expect(r.httpVersion).toBe('1.0')
    expect(r.framing.kind).toBe('close-delimited')
    expect(r.body.text).toBe('hello')
  })

  it('keeps one connection alive across requests and says so', async () => {
    const t = make()
    const first = await t.send(req('/cl'))
    const second = await t.send(req('/cl'))
    expect(first.timings.reusedConnection).toBe(false)
    expect(second.timings.reusedConnection).toBe(true)
    expect(second.response!.statusLine).toBe('HTTP/1.1 200 OK')
  })

  it('hashes a binary body in full but keeps none of it in memory', async () => {
    const r = (await make().send(req('/png'))).response!
    // Only its first bytes, in hex, so reports can describe it without holding or dumping it.
    expect(r.body).toEqual({ size: 2048, sha256: sha(Buffer.alloc(2048, 7)), keptBytes: 0, truncated: true, hexPreview: Array(32).fill('07').join(' ') })
  })

  it('marks bytes that are not UTF-8 under a JSON content type, and a report shows size, sha256 and hex, never the bytes', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x7b, 0x80, 0x81, 0x1b])
    const server = await rawServer(() => ({ bytes: Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${bytes.length}\r\n\r\n`, 'latin1'), bytes]) }))
    try {
      const o = await make().send({ ...req('/'), url: `${server.url}/x` })
      expect(o.response!.body.hexPreview).toBe('ff fe 00 01 7b 80 81 1b')
      const ev = evidenceFrom(o)
      expect(ev.bodyExcerpt).toBe(`<not UTF-8 text, 8 bytes, sha256 ${sha(bytes)}; first bytes: ff fe 00 01 7b 80 81 1b>`)
      const md = markdownReporter.render(untrusting({ ...sampleReport, findings: [{ ...sampleReport.findings[0]!, evidence: ev, message: `raw: ${o.response!.body.text}` }] }))
      expect(md).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFD]/)
      expect(md).toContain('\\x01')
    } finally {
      await server.close()
    }
  })

  it('leaves real text alone: no preview for a UTF-8 JSON body', async () => {
    const r = (await make().send(req('/cl'))).response!
    expect(r.body.json).toBeDefined()
    expect(r.body.hexPreview).toBeUndefined()
  })

  it('keeps at most keepBytes of a text body and does not parse a partial JSON', async () => {
    const r = (await make({ keepBytes: 100 }).send(req('/big'))).response!
    expect(r.body.size).toBe(5000)
    expect(r.body.keptBytes).toBe(100)
    expect(r.body.json).toBeUndefined()
    expect(r.body.jsonError).toContain('only the first 100 were kept')
  })
})

describe('broken upstreams become transport failures, never crashes', () => {
  it('a body cut short by a closed connection', async () => {
    const o = await make().send(req('/truncated'))
    expect(o.response!.framing).toMatchObject({ kind: 'content-length', declaredLength: 100, bytesRead: 6 })
    expect(o.transportError).toMatchObject({ code: 'UND_ERR_SOCKET', phase: 'body', unreachable: false })
  })

  it('a connection reset before any response', async () => {
    const o = await make().send(req('/reset'))
    expect(o.response).toBeUndefined()
    expect(o.transportError).toMatchObject({ phase: 'headers', unreachable: false })
  })

  it('a malformed status line', async () => {
    const o = await make().send(req('/garbage'))
    expect(o.response).toBeUndefined()
    expect(o.transportError!.code).toMatch(/^HPE_/)
    expect(o.transportError!.phase).toBe('headers')
  })

  it('a body over the size cap is abandoned', async () => {
    const o = await make({ maxBodyBytes: 1000 }).send(req('/big'))
    expect(o.transportError).toMatchObject({ code: 'DW_BODY_TOO_LARGE', phase: 'body' })
  })

  it('an upstream that never answers hits the deadline', async () => {
    const o = await make({ timeoutMs: 300 }).send(req('/never'))
    expect(o.response).toBeUndefined()
    expect(['UND_ERR_HEADERS_TIMEOUT', 'DW_DEADLINE']).toContain(o.transportError!.code)
    expect(o.transportError!.unreachable).toBe(false)
  })

  it('a body that stalls hits the idle timeout', async () => {
    const o = await make({ bodyIdleTimeoutMs: 300 }).send(req('/stall'))
    expect(o.response!.framing.bytesRead).toBe(3)
    expect(['UND_ERR_BODY_TIMEOUT', 'DW_DEADLINE']).toContain(o.transportError!.code)
    expect(o.transportError!.phase).toBe('body')
  })

  it('a refused connection is unreachable, not drift', async () => {
    const port = await closedPort()
    const o = await make({ hostPolicy: new HostPolicy({ allowHosts: [`127.0.0.1:${port}`] }) }).send(req('/', { url: `http://127.0.0.1:${port}/` }))
    expect(o.transportError).toMatchObject({ code: 'ECONNREFUSED', phase: 'connect', unreachable: true })
  })
})

describe('the token', () => {
  it('is sent to an allowlisted host but never recorded', async () => {
    server.requests.length = 0
    const o = await make().send(req('/cl'))
    expect(server.requests[0]!.toLowerCase()).toContain(`authorization: bearer ${TOKEN}`.toLowerCase())
    expect(o.request.tokenSent).toBe(true)
    expect(o.request.headers).toContainEqual(['Authorization', 'Bearer [REDACTED]'])
    expect(JSON.stringify(o)).not.toContain(TOKEN)
  })

  it('is withheld from a host outside the allowlist, and the observation says so', async () => {
    server.requests.length = 0
    const other = server.url.replace('127.0.0.1', 'localhost')
    const o = await make().send(req('/cl', { url: `${other}/cl` }))
    expect(server.requests[0]!.toLowerCase()).not.toContain('authorization')
    expect(o.request.tokenSent).toBe(false)
    expect(o.request.tokenWithheld).toEqual({ host: new URL(other).host, allowed: [new URL(server.url).host] })
  })

  it('auth: invalid sends the known unparsable token, not ours', async () => {
    server.requests.length = 0
    await make().send(req('/cl', { auth: 'invalid' }))
    expect(server.requests[0]).toContain(`Bearer ${INVALID_TOKEN}`)
    expect(server.requests[0]).not.toContain(TOKEN)
  })

  it('is redacted when an upstream echoes it in headers or body', async () => {
    const o = await make().send(req('/echo-token'))
    expect(JSON.stringify(o)).not.toContain(TOKEN)
    expect(o.response!.body.text).toContain('[REDACTED]')
    expect(o.response!.body.json).toEqual({ error: { message: 'token [REDACTED] rejected' } })
  })
})

describe('politeness', () => {
  it('spaces requests to one origin by at least minIntervalMs', async () => {
    const t = make({ minIntervalMs: 150 })
    const start = performance.now()
    await t.send(req('/cl'))
    await t.send(req('/cl'))
    await t.send(req('/cl'))
    expect(performance.now() - start).toBeGreaterThanOrEqual(290)
  })
})
