/**
 * Kinds of malformed (and a few well-formed) HTTP answers, each a small generator: the garbage a
 * broken proxy, a half-dead load balancer or a drifting upstream can put on the wire. The fuzz
 * test picks one at random for every request.
 */
import type { Reply, Step } from './hostile-server.ts'
import type { Rng } from './seed.ts'

const CRLF = '\r\n'

/** A nested JSON text: objects, arrays or both, `depth` levels deep. */
export function deepJson(depth: number, style: 'object' | 'array' | 'mixed' = 'mixed'): string {
  let open = ''
  let close = ''
  for (let i = 0; i < depth; i++) {
    const obj = style === 'object' || (style === 'mixed' && i % 2 === 0)
    open += obj ? '{"a":' : '['
    close = (obj ? '}' : ']') + close
  }
  return `${open}1${close}`
}

/** A Graph-like success body carrying what probes capture (ids, a media URL on this server, paging). */
function graphish(base: string): string {
  return JSON.stringify({
    messaging_product: 'whatsapp',
    id: '1390000000007919',
    url: `${base}/whatsapp_business/attachments/?mid=1390000000007919&ext=1&hash=x`,
    mime_type: 'image/png',
    sha256: '5d66749be48f367ea68ad4679c96a264bd0b95828385a536e0e5c45e4c7613e9',
    file_size: 68,
    success: true,
    display_phone_number: '+1 555-000-0001',
    verified_name: 'Fuzz Co',
    data: [{ id: '880000000000001', name: 't', status: 'APPROVED' }],
    paging: { cursors: { before: 'QVFa', after: 'QVFb' }, next: `${base}/v23.0/2/message_templates?after=QVFb` },
  })
}

/** A Graph-like body whose captured values (ids, media URL, next page) are hostile: the next probes are built from them. */
function hostileCaptures(rng: Rng, base: string): string {
  const bad = () => rng.pick(['http://[::1', '%', `${base}/%E0%A4%A`, 'javascript:alert(1)', '', '1\r\nX-Injected: 1', '../../../etc/passwd', 'x'.repeat(10_000), `${base}/a b`, 'ftp://graph.facebook.com/x', `https://evil.example/${'?'.repeat(3)}`])
  return JSON.stringify({ id: rng.pick([bad(), 1390000000007919, null, ['1'], { id: 1 }]), url: bad(), mime_type: 'image/png', sha256: bad(), file_size: rng.pick([-1, 1e308, '68', null]), data: [{ id: bad() }], paging: { cursors: { after: bad() }, next: bad() } })
}

const graphError = (code: number) => JSON.stringify({ error: { message: 'Invalid parameter', type: 'OAuthException', code, fbtrace_id: 'AbCdEf' } })

function response(status: string, headers: string[], body: string | Buffer): Buffer {
  const head = `HTTP/1.1 ${status}${CRLF}${headers.map((h) => h + CRLF).join('')}${CRLF}`
  return Buffer.concat([Buffer.from(head, 'latin1'), typeof body === 'string' ? Buffer.from(body, 'utf8') : body])
}

const json = (status: string, body: string | Buffer, extra: string[] = []): Buffer =>
  response(status, ['Content-Type: application/json; charset=UTF-8', `Content-Length: ${Buffer.byteLength(body)}`, ...extra], body)

const once = (label: string, ...steps: Step[]): Reply => ({ label, steps })

/** One malformed-answer generator: name, and the reply for a request. */
export interface MalformedKind {
  name: string
  reply(rng: Rng, base: string): Reply
}

/** Every kind; the fuzz test draws from these. */
export const MALFORMED_KINDS: readonly MalformedKind[] = [
  { name: 'graph-like 200', reply: (_r, base) => once('graph-like 200', { write: json('200 OK', graphish(base), ['facebook-api-version: v23.0']) }) },
  { name: 'hostile captured values', reply: (r, base) => once('hostile captured values', { write: json('200 OK', hostileCaptures(r, base), ['facebook-api-version: v23.0']) }) },
  { name: 'graph error 400', reply: (r) => once('graph error 400', { write: json('400 Bad Request', graphError(r.pick([100, 190, 2, 131009]))) }) },
  {
    name: 'bad status line',
    reply: (r) => once('bad status line', { write: r.pick(['HTTP/1.1 OK\r\n\r\n', 'HTTX/9.9 200 OK\r\nContent-Length: 2\r\n\r\n{}', 'garbage\r\n\r\n', 'HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n', 'HTTP/1.1\r\n\r\n', '\r\n\r\n']) }, { end: true }),
  },
  { name: 'status out of range', reply: (r) => once('status out of range', { write: json(r.pick(['999 Weird', '000 Zero', '600 Six']), '{}') }, { end: true }) },
  // Reason phrases clients read past and node:http will not write as they are (issue 18 review: the application got a reset for an answer it would have read direct).
  { name: 'reason phrase with a control character', reply: (r) => once('reason phrase with a control character', { write: json(`400 Bad${r.pick(['\u0001', '\u007f', '\u001b[31m'])}Request`, graphError(100)) }) },
  { name: 'reason phrase in Latin-1', reply: (r) => once('reason phrase in Latin-1', { write: json(r.pick(['200 Tr\u00e8s bien', '400 Requ\u00eate invalide', '200 \u00ff']), '{}') }) },
  { name: 'status below 100', reply: () => once('status below 100', { write: json('099 Low', '{}') }, { end: true }) },
  { name: 'duplicate content-length', reply: () => once('duplicate content-length', { write: response('200 OK', ['Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 2'], '{}') }) },
  { name: 'conflicting content-length', reply: () => once('conflicting content-length', { write: response('200 OK', ['Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 9'], '{}') }, { end: true }) },
  { name: 'non-numeric content-length', reply: (r) => once('non-numeric content-length', { write: response('200 OK', ['Content-Type: application/json', `Content-Length: ${r.pick(['abc', '-5', '1e3', '2, 2', '99999999999999999999'])}`], '{}') }, { end: true }) },
  { name: 'content-length and chunked', reply: () => once('content-length and chunked', { write: response('200 OK', ['Content-Type: application/json', 'Content-Length: 2', 'Transfer-Encoding: chunked'], '2\r\n{}\r\n0\r\n\r\n') }, { end: true }) },
  {
    name: 'chunked with bad sizes',
    reply: (r) =>
      once('chunked with bad sizes', {
        write: response('200 OK', ['Content-Type: application/json', 'Transfer-Encoding: chunked'], r.pick(['zz\r\n{}\r\n0\r\n\r\n', '10\r\n{}\r\n0\r\n\r\n', '-2\r\n{}\r\n0\r\n\r\n', 'ffffffffffffffff\r\n{}\r\n', '2\r\n{}', '2;ext="unterminated\r\n{}\r\n0\r\n\r\n', '2\r\n{}\r\n0\r\nBad Trailer\r\n\r\n']))
      }, { end: true }),
  },
  { name: 'truncated body', reply: (r) => once('truncated body', { write: response('200 OK', ['Content-Type: application/json', `Content-Length: ${r.int(50, 5000)}`], '{"id":"13') }, { end: true }) },
  { name: 'header without colon', reply: () => once('header without colon', { write: response('200 OK', ['Content-Type: application/json', 'this header has no colon', 'Content-Length: 2'], '{}') }, { end: true }) },
  { name: 'obs-fold and NUL in headers', reply: () => once('obs-fold and NUL in headers', { write: response('200 OK', ['Content-Type: application/json', 'X-Folded: a', ' continued', 'X-Nul: a\u0000b', 'Content-Length: 2'], '{}') }, { end: true }) },
  { name: 'huge header', reply: (r) => once('huge header', { write: response('200 OK', ['Content-Type: application/json', `X-Huge: ${'x'.repeat(r.pick([20_000, 70_000]))}`, 'Content-Length: 2'], '{}') }, { end: true }) },
  { name: 'many headers', reply: () => once('many headers', { write: response('200 OK', ['Content-Type: application/json', ...Array.from({ length: 3000 }, (_, i) => `X-H${i}: ${i}`), 'Content-Length: 2'], '{}') }) },
  { name: 'non-UTF-8 JSON body', reply: (r) => once('non-UTF-8 JSON body', { write: json('200 OK', Buffer.concat([Buffer.from('{"id":"'), r.bytes(r.int(1, 64)), Buffer.from([0xff, 0xfe, 0xc0]), Buffer.from('"}')])) }) },
  { name: 'binary body typed as text', reply: (r) => once('binary body typed as text', { write: response('200 OK', [`Content-Type: ${r.pick(['text/plain', 'text/html; charset=utf-8', 'application/json'])}`, 'Content-Length: 256'], r.bytes(256)) }) },
  { name: 'deep JSON', reply: (r) => once('deep JSON', { write: json('200 OK', deepJson(r.pick([300, 20_000, 50_000]), r.pick(['object', 'array', 'mixed'] as const))) }) },
  { name: 'JSON just inside the depth limit', reply: (r) => once('JSON just inside the depth limit', { write: json(r.pick(['200 OK', '400 Bad Request']), deepJson(r.int(200, 256), r.pick(['object', 'array', 'mixed'] as const))) }) },
  { name: 'deep JSON error envelope', reply: () => once('deep JSON error envelope', { write: json('400 Bad Request', `{"error":{"message":"x","type":"OAuthException","code":100,"error_data":${deepJson(5000)}}}`) }) },
  {
    name: 'invalid JSON typed as JSON',
    reply: (r) => once('invalid JSON typed as JSON', { write: json('200 OK', r.pick(['{"id":', '{id:1}', "{'a':1}", '[1,2,]', 'NaN', '{"a":1}{"b":2}', '\ufeff{"id":"1"}', '{"a":"\\ud800"}', '{"__proto__":{"x":1},"constructor":{"prototype":{}}}', '1e999999'])) }),
  },
  { name: 'wide JSON', reply: () => once('wide JSON', { write: json('200 OK', JSON.stringify(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])))) }) },
  { name: 'reset mid-headers', reply: () => once('reset mid-headers', { write: 'HTTP/1.1 200 OK\r\nContent-Type: appl' }, { wait: 5 }, { reset: true }) },
  { name: 'reset before answering', reply: () => once('reset before answering', { reset: true }) },
  { name: 'close without answering', reply: () => once('close without answering', { end: true }) },
  { name: 'never answers', reply: () => once('never answers', { hang: true }) },
  { name: 'stalls mid-body', reply: () => once('stalls mid-body', { write: response('200 OK', ['Content-Type: application/json', 'Content-Length: 100'], '{"id":') }, { hang: true }) },
  { name: '100 Continue then 200', reply: (_r, base) => once('100 Continue then 200', { write: `HTTP/1.1 100 Continue${CRLF}${CRLF}` }, { write: json('200 OK', graphish(base)) }) },
  { name: '103 Early Hints then 200', reply: (_r, base) => once('103 Early Hints then 200', { write: `HTTP/1.1 103 Early Hints${CRLF}Link: </a.css>; rel=preload${CRLF}${CRLF}` }, { write: json('200 OK', graphish(base)) }) },
  { name: 'only a 1xx', reply: (r) => once('only a 1xx', { write: `HTTP/1.1 ${r.pick(['100 Continue', '102 Processing'])}${CRLF}${CRLF}` }, { end: true }) },
  { name: '101 without an upgrade', reply: () => once('101 without an upgrade', { write: `HTTP/1.1 101 Switching Protocols${CRLF}Upgrade: websocket${CRLF}Connection: Upgrade${CRLF}${CRLF}garbage` }, { end: true }) },
  { name: 'HTTP/1.0 close-delimited', reply: (_r, base) => once('HTTP/1.0 close-delimited', { write: `HTTP/1.0 200 OK${CRLF}Content-Type: application/json${CRLF}${CRLF}${graphish(base)}` }, { end: true }) },
  { name: 'garbage after the body', reply: () => once('garbage after the body', { write: json('200 OK', '{}') }, { write: 'HTTP/1.1 200 OK\r\nXXXX\r\n\r\ntrailing garbage' }) },
  { name: 'gzip that is not gzip', reply: (r) => once('gzip that is not gzip', { write: response('200 OK', ['Content-Type: application/json', `Content-Encoding: ${r.pick(['gzip', 'br', 'deflate', 'zstd', 'gzip, gzip'])}`, 'Content-Length: 9'], 'not gzip!') }) },
  { name: 'chunked, split slowly', reply: (_r, base) => once('chunked, split slowly', { write: response('200 OK', ['Content-Type: application/json', 'Transfer-Encoding: chunked'], '5\r\n{"id"\r\n') }, { wait: 20 }, { write: ':"1"}'.length.toString(16) + '\r\n:"1"}\r\n0\r\n\r\n' }) },
  { name: 'empty 204 with a body', reply: () => once('empty 204 with a body', { write: `HTTP/1.1 204 No Content${CRLF}Content-Length: 5${CRLF}${CRLF}hello` }, { end: true }) },
  { name: 'redirect loop', reply: (_r, base) => once('redirect loop', { write: response('302 Found', [`Location: ${base}/loop`, 'Content-Length: 0'], '') }) },
  { name: 'redirect to a bad URL', reply: () => once('redirect to a bad URL', { write: response('301 Moved', ['Location: http://[::1', 'Content-Length: 0'], '') }) },
  { name: 'throttled', reply: (r) => once('throttled', { write: json(r.pick(['429 Too Many Requests', '503 Service Unavailable']), graphError(r.pick([2, 4, 80007])), [`Retry-After: ${r.pick(['1', '-1', 'soon', '99999999'])}`]) }) },
]
