/**
 * Hostile inputs of every kind driftwatch reads, built by generators rather than written by hand,
 * so every field gets every payload: a report.json whose every string field holds script, Markdown,
 * escape sequences and the token in each encoding (as a crafted shard would); a HAR and a VCR
 * cassette whose methods, URLs, headers, MIME types and bodies do; and a raw-socket upstream whose
 * headers and bodies do (as far as HTTP lets: header values take C1 bytes, not ESC).
 */
import net from 'node:net'
import type { Report } from '../../src/model/report.ts'
import { ESCAPES, MARKDOWN, payload, SCRIPT, secretEncodings, TOKEN } from '../helpers/hostile.ts'

const T0 = '2026-02-06T15:42:00.000Z'

/**
 * A valid report.json (it passes the schema: enums, numbers and dates are what they must be) whose
 * every free-text field is hostile, each marked with its path. Every optional part is present:
 * targets with an error, cleared findings, golden evidence, recurring findings, a capture span.
 */
export function hostileReport(tag = 'r'): Report {
  const p = (field: string) => payload(`${tag}.${field}`)
  const finding = (i: number, severity: 'breaking' | 'warning' | 'info') => ({
    contract: p(`findings[${i}].contract`),
    target: p(`findings[${i}].target`),
    check: p(`findings[${i}].check`),
    severity,
    title: p(`findings[${i}].title`),
    message: `${p(`findings[${i}].message`)}\nsecond line ${ESCAPES}`,
    expected: p(`findings[${i}].expected`),
    actual: p(`findings[${i}].actual`),
    evidence: {
      request: p(`findings[${i}].evidence.request`),
      status: 400,
      headers: [[p(`findings[${i}].evidence.headers[0][0]`), p(`findings[${i}].evidence.headers[0][1]`)], ['Transfer-Encoding', p('te')], ['Content-Length', p('cl')]] as [string, string][],
      bodyExcerpt: `{"error":${JSON.stringify(p(`findings[${i}].evidence.bodyExcerpt`))}}`,
      curl: p(`findings[${i}].evidence.curl`),
      ...(i === 0 ? { golden: { recording: p('golden.recording'), recordedAt: p('golden.recordedAt'), status: 200, bodyExcerpt: `{"error":${JSON.stringify(p('golden.bodyExcerpt'))},"id":"1"}` } } : {}),
    },
    samples: 1,
    of: 2,
    since: T0,
    new: i !== 1,
    ...(i === 1 ? { recurring: { cleared: 2, lastClearedAt: T0 } } : {}),
  })
  const findings = [finding(0, 'breaking'), finding(1, 'warning'), finding(2, 'info')]
  const results = findings.map((f, i) => ({
    contract: f.contract,
    target: f.target,
    title: p(`results[${i}].title`),
    file: p(`results[${i}].file`),
    request: p(`results[${i}].request`),
    status: (['failed', 'inconclusive', 'skipped'] as const)[i]!,
    reason: p(`results[${i}].reason`),
    probes: 2,
    durationMs: 12,
  }))
  const summary = { contracts: 3, probes: 6, passed: 0, failed: 1, skipped: 1, inconclusive: 1, breaking: 1, warning: 1, info: 1, entries: 3, attributed: 2, unattributed: 1 }
  return {
    version: 1,
    target: p('target'),
    origin: p('origin'),
    scenario: p('scenario'),
    apiVersion: payload('apiVersion'),
    startedAt: T0,
    finishedAt: '2026-02-06T15:42:03.000Z',
    captured: { from: T0, to: T0 },
    outcome: 'drift',
    failOn: 'breaking',
    summary,
    findings,
    results,
    error: { code: p('error.code'), message: p('error.message') },
    targets: [...new Set(findings.map((f) => f.target))].map((name, i) => ({ name, target: p(`targets[${i}].target`), scenario: p(`targets[${i}].scenario`), outcome: 'drift' as const, summary, ...(i === 0 ? { error: { code: p('targets.error.code'), message: p('targets.error.message') } } : {}) })),
    cleared: [{ contract: p('cleared.contract'), target: p('cleared.target'), check: p('cleared.check'), severity: 'warning', title: p('cleared.title'), since: T0 }],
  }
}

/** A shard's report.json as `check --targets --shard` writes it (no `targets` of its own: one target), crafted. */
export function hostileShard(tag: string): Report {
  const r = hostileReport(tag)
  const { targets: _t, error: _e, captured: _c, origin: _o, ...rest } = r
  return { ...rest, findings: r.findings.map(({ target: _x, ...f }) => f), results: r.results.map(({ target: _x, ...x }) => x), cleared: r.cleared!.map(({ target: _x, ...c }) => c) }
}

const PHONE = '106540352242922'

/** One HAR entry: the request and response an application's capture would hold, every string hostile. */
function harEntry(i: number, request: { method: string; url: string; body?: string }, response: { status: number; mime: string; text: string; base64?: boolean }): unknown {
  const h = (f: string) => payload(`har[${i}].${f}`)
  return {
    startedDateTime: new Date(Date.parse(T0) + i * 1000).toISOString(),
    time: 12,
    request: {
      method: request.method,
      url: request.url,
      httpVersion: 'HTTP/1.1',
      headers: [{ name: 'Authorization', value: `Bearer ${TOKEN}` }, { name: 'X-Hostile', value: h('request.header') }, ...(request.body ? [{ name: 'Content-Type', value: 'application/json' }] : [])],
      queryString: [],
      ...(request.body ? { postData: { mimeType: 'application/json', text: request.body } } : {}),
      headersSize: -1,
      bodySize: request.body?.length ?? 0,
    },
    response: {
      status: response.status,
      statusText: h('response.statusText'),
      httpVersion: 'HTTP/1.1',
      headers: [{ name: 'Content-Type', value: response.mime }, { name: 'X-Hostile', value: h('response.header') }, { name: h('response.header-name'), value: 'v' }, { name: 'facebook-api-version', value: 'v23.0' }],
      content: { size: response.text.length, mimeType: response.mime, text: response.text, ...(response.base64 ? { encoding: 'base64' } : {}) },
      redirectURL: '',
      headersSize: -1,
      bodySize: -1,
    },
    cache: {},
    timings: { send: 0, wait: 10, receive: 2 },
  }
}

/** Bytes that start with a control byte, then the token in its encodings: a binary body (hex previews and base64 are where it hid). */
export function binaryWithSecret(secret = TOKEN): Buffer {
  return Buffer.concat([Buffer.from([0x01, 0x89, 0x50, 0x4e]), Buffer.from(secret), Buffer.from([0, 0xff, 0xfe]), Buffer.from(Object.values(secretEncodings(secret)).join(' '))])
}

/** A HAR of Cloud API traffic where every string an exporter writes is hostile: methods with ESC, URLs, header names and values, MIME types, status texts, bodies. */
export function hostileHar(): string {
  const h = (i: number, f: string) => payload(`har[${i}].${f}`)
  const q = (i: number) => encodeURIComponent(h(i, 'query'))
  const entries = [
    harEntry(0, { method: 'GET', url: `https://graph.facebook.com/v23.0/${PHONE}?fields=verified_name,display_phone_number&x=${q(0)}` }, { status: 200, mime: 'application/json', text: JSON.stringify({ verified_name: h(0, 'verified_name'), display_phone_number: h(0, 'display_phone_number'), quality_rating: h(0, 'quality_rating'), id: PHONE }) }),
    harEntry(1, { method: `GET${ESCAPES}`, url: `https://graph.facebook.com/v23.0/${PHONE}/${encodeURIComponent(SCRIPT)}` }, { status: 400, mime: `application/json${ESCAPES}`, text: JSON.stringify({ error: { message: h(1, 'error.message'), type: h(1, 'error.type'), code: 100, fbtrace_id: h(1, 'fbtrace_id') } }) }),
    harEntry(2, { method: 'POST', url: `https://graph.facebook.com/v23.0/${PHONE}/messages`, body: JSON.stringify({ messaging_product: 'whatsapp', to: '15550000001', type: 'text', text: { body: h(2, 'text.body'), preview_url: h(2, 'preview_url') } }) }, { status: 200, mime: 'application/json', text: JSON.stringify({ messaging_product: 'whatsapp', contacts: [{ input: h(2, 'input'), wa_id: h(2, 'wa_id') }], messages: [{ id: h(2, 'message.id') }] }) }),
    harEntry(3, { method: 'GET', url: `https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1390000000007919&${q(3)}` }, { status: 200, mime: `image/png${ESCAPES}`, text: binaryWithSecret().toString('base64'), base64: true }),
    harEntry(4, { method: 'GET', url: `https://graph.facebook.com/v23.0/${PHONE}/message_templates?limit=2` }, { status: 500, mime: 'text/plain', text: h(4, 'text-body') }),
    harEntry(5, { method: h(5, 'method'), url: `https://dw-exfil.invalid/${encodeURIComponent(MARKDOWN)}` }, { status: 200, mime: 'text/html', text: h(5, 'foreign') }),
  ]
  return JSON.stringify({ log: { version: '1.2', creator: { name: payload('har.creator'), version: '1' }, entries } }, null, 2)
}

/** The same traffic as a Ruby VCR cassette (its JSON serialiser, which YAML reads too). */
export function hostileCassette(): string {
  const har = JSON.parse(hostileHar()) as { log: { entries: any[] } }
  const interactions = har.log.entries.map((e) => ({
    request: { method: e.request.method.toLowerCase(), uri: e.request.url, body: { encoding: 'UTF-8', string: e.request.postData?.text ?? '' }, headers: Object.fromEntries(e.request.headers.map((x: { name: string; value: string }) => [x.name, [x.value]])) },
    response: {
      status: { code: e.response.status, message: e.response.statusText },
      headers: Object.fromEntries(e.response.headers.map((x: { name: string; value: string }) => [x.name, [x.value]])),
      body: e.response.content.encoding === 'base64' ? { encoding: 'ASCII-8BIT', base64_string: e.response.content.text } : { encoding: 'UTF-8', string: e.response.content.text },
    },
    recorded_at: new Date(e.startedDateTime).toUTCString(),
  }))
  return JSON.stringify({ http_interactions: interactions, recorded_with: payload('cassette.recorded_with') })
}

/**
 * A Graph API upstream on a raw socket that answers every request with hostile bytes, in turn: a
 * Graph error envelope whose every string is hostile, a text/plain error holding ESC sequences and
 * the token's JSON-escaped form literally, and a binary body that starts with a control byte and
 * holds the token. Header values carry C1 bytes (0x9b is a CSI on 8-bit terminals) and the token
 * in its encodings; HTTP itself refuses ESC in headers, so that is where ESC stops.
 */
export async function hostileUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  let n = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => undefined)
    let buf = Buffer.alloc(0)
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      for (;;) {
        const head = buf.indexOf('\r\n\r\n')
        if (head < 0) return
        const text = buf.subarray(0, head).toString('latin1')
        const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1] ?? 0)
        if (buf.length < head + 4 + len) return
        buf = buf.subarray(head + 4 + len)
        s.write(answer(n++, text.split(' ')[1] ?? '/'))
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`
  return {
    url,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}

/** Header value bytes: printable ASCII, C1 controls and the token's encodings (no CR, LF or ESC: HTTP refuses them). */
function hostileHeader(marker: string): Buffer {
  const safe = payload(marker).replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/[^\u0000-\u00ff]/g, '?')
  return Buffer.concat([Buffer.from(safe, 'latin1'), Buffer.from([0x9b, 0x33, 0x31, 0x6d, 0x90, 0x9d])])
}

function answer(n: number, path: string): Buffer {
  const kind = n % 3
  const hdr = (name: string, value: Buffer | string) => Buffer.concat([Buffer.from(`${name}: `, 'latin1'), typeof value === 'string' ? Buffer.from(value, 'latin1') : value, Buffer.from('\r\n')])
  let status = '400 Bad Request'
  let type = 'application/json; charset=UTF-8'
  let body: Buffer
  if (kind === 0) {
    const p = (f: string) => payload(`upstream[${n}] ${path} ${f}`)
    body = Buffer.from(JSON.stringify({ error: { message: p('message'), type: p('type'), code: 100, error_subcode: 33, error_user_title: p('error_user_title'), error_user_msg: p('error_user_msg'), fbtrace_id: p('fbtrace_id') } }))
  } else if (kind === 1) {
    status = '500 Internal Server Error'
    type = 'text/plain'
    body = Buffer.from(payload(`upstream[${n}] text`))
  } else {
    status = '200 OK'
    type = 'image/png'
    body = binaryWithSecret()
  }
  return Buffer.concat([
    Buffer.from(`HTTP/1.1 ${status}\r\n`, 'latin1'),
    hdr('Content-Type', type),
    hdr('X-Hostile', hostileHeader(`upstream[${n}] header`)),
    hdr('WWW-Authenticate', hostileHeader(`upstream[${n}] www-authenticate`)),
    hdr('facebook-api-version', 'v23.0'),
    hdr('x-fb-request-id', `Ahostile${n}`),
    hdr('Content-Length', String(body.length)),
    Buffer.from('\r\n'),
    body,
  ])
}
