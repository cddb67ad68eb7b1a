/**
 * Every check, table-driven: cases where it fires (with severity and title) and cases where it
 * stays quiet. Observations are built as the transport records them.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { checks, type CheckId } from '../../src/checks/index.ts'
import type { CheckContext } from '../../src/checks/check.ts'
import type { Expectation } from '../../src/contracts/expectation.ts'
import type { Severity } from '../../src/model/finding.ts'
import type { Observation } from '../../src/model/observation.ts'
import { loadContracts } from '../../src/contracts/load.ts'
import { schemaDeltas } from '../../src/schema/drift.ts'
import { expectation as contract, ctx, GRAPH_HEADERS, graphErrorBody, observation, trafficExpectation } from '../helpers/fixtures.ts'

/** The observation as a capture keeps a body larger than its cap: the first bytes, the whole size, not parsed. */
function keptOnly(o: Observation, size: number): Observation {
  const b = o.response!.body
  return { ...o, response: { ...o.response!, body: { ...b, size, truncated: true, json: undefined, jsonError: `body is ${size} bytes; only the first ${b.keptBytes} were kept, so it was not parsed` } } }
}


interface Case {
  name: string
  contract?: Expectation
  observations: Observation[]
  ctx?: CheckContext
  /** Expected findings: severity and a substring of the title. Empty means the check stays quiet. */
  fires: [Severity, string][]
}

const PNG = Buffer.from('not really a png, but bytes')
const PNG_SHA256 = createHash('sha256').update(PNG).digest('hex')

// schema-drift words deltas computed before the checks (async, json-schema-diff); compute them here with the real pack's validators.
const pack = loadContracts('contracts/meta')
const validateMedia = (b: unknown) => pack.validateBody('media-url.json', b)
const MEDIA = { messaging_product: 'whatsapp', url: 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1', mime_type: 'image/png', sha256: 'a'.repeat(64), file_size: 463, id: '1390000000007919' }
const SENT = { messaging_product: 'whatsapp', contacts: [{ input: '15550001111', wa_id: '15550001111' }], messages: [{ id: 'wamid.X', message_status: 'accepted' }] }
const { message_status: _dropped, ...SENT_MESSAGE_NO_STATUS } = SENT.messages[0]!
const SENT_NO_STATUS = { ...SENT, messages: [SENT_MESSAGE_NO_STATUS] }
const drift = async (bodies: unknown[], golden: unknown[] | undefined, validate: (b: unknown) => ReturnType<typeof validateMedia>) => ({
  schemaDrift: { deltas: await schemaDeltas({ bodies, ...(golden ? { golden: { bodies: golden, recordedAt: '2026-11-01T00:00:00.000Z' } } : {}), validate }), observationIndex: bodies.map((_, i) => i) },
})
const validateSent = (b: unknown) => pack.validateBody('message-sent.json', b)
const goldenOf = (observations: Observation[]) => ({ golden: { name: 'sim-baseline', recordedAt: '2026-11-01T00:00:00.000Z', observations } })
const HSTS: [string, string] = ['Strict-Transport-Security', 'max-age=15552000; preload']

const table: Record<CheckId, Case[]> = {
  'schema-drift': [
    { name: 'quiet when the bodies match the contract and the recording', observations: [observation({ body: MEDIA })], ctx: ctx(await drift([MEDIA], [MEDIA], validateMedia)), fires: [] },
    {
      name: 'breaking when a field takes a type the contract never allowed (file_size string)',
      observations: [observation({ body: { ...MEDIA, file_size: '463' } })],
      ctx: ctx(await drift([{ ...MEDIA, file_size: '463' }], undefined, validateMedia)),
      fires: [['breaking', '`$.file_size` was integer, is now string']],
    },
    {
      name: 'warns when a field the recording had is no longer sent, though the contract allows that',
      observations: [observation({ body: SENT_NO_STATUS })],
      ctx: ctx(await drift([SENT_NO_STATUS], [SENT], validateSent)),
      fires: [['warning', '`$.messages[*].message_status` (string) was in every sample in the recording of 2026-11-01, and is no longer sent (narrowed since the recording)']],
    },
    {
      name: 'warns when a field changes type within what the contract allows (changed since the recording)',
      observations: [observation({ body: { ...MEDIA, file_size: '463' } })],
      ctx: ctx(await drift([{ ...MEDIA, file_size: '463' }], [MEDIA], () => [])),
      fires: [['warning', '`$.file_size` was integer in the recording of 2026-11-01, is now string (changed since the recording)']],
    },
    {
      name: 'info when a field that was always sent is now missing in some samples, which the contract allows',
      observations: [observation({ body: SENT }), observation({ body: SENT_NO_STATUS })],
      ctx: ctx(await drift([SENT, SENT_NO_STATUS], [SENT, SENT], validateSent)),
      fires: [['info', '`$.messages[*].message_status` was in every sample in the recording of 2026-11-01, is now missing in 1 of 2 (widened since the recording)']],
    },
    {
      name: 'breaking when a field the contract does not list appears and the contract is closed',
      observations: [observation({ body: { ...MEDIA, cdn: 'x' } })],
      ctx: ctx(await drift([{ ...MEDIA, cdn: 'x' }], undefined, () => [{ path: '$.cdn', keyword: 'additionalProperties', message: 'is not allowed by the schema' }])),
      fires: [['breaking', '`$.cdn` (string) is new, and the contract allows no fields it does not list']],
    },
    {
      name: 'breaking when values break a constraint other than type (pattern), in some samples',
      observations: [observation({ body: MEDIA }), observation({ body: { ...MEDIA, sha256: 'not-a-hash' } })],
      ctx: ctx(await drift([MEDIA, { ...MEDIA, sha256: 'not-a-hash' }], undefined, validateMedia)),
      fires: [['breaking', '`$.sha256` now has values the contract never allowed: must match pattern "^[0-9a-f]{64}$", is "not-a-hash" (in 1 of 2 samples)']],
    },
    {
      name: 'info when a new field appears that the contract allows',
      observations: [observation({ body: SENT })],
      ctx: ctx(await drift([SENT], [SENT_NO_STATUS], validateSent)),
      fires: [['info', '`$.messages[*].message_status` (string) is new since the recording of 2026-11-01']],
    },
  ],
  'golden-diff': [
    { name: 'quiet when only volatile values differ', observations: [observation({ headers: [...GRAPH_HEADERS.map(([n, v]): [string, string] => [n, n.startsWith('x-fb') ? `${v}X` : v]), ['Date', 'Tue, 24 Nov 2026 06:00:00 GMT']] })], ctx: ctx(goldenOf([observation({ headers: [...GRAPH_HEADERS, ['Date', 'Sun, 01 Nov 2026 00:00:00 GMT']] })])), fires: [] },
    {
      name: 'warns when framing changes where the contract allows any',
      observations: [observation({ body: MEDIA, framing: { kind: 'chunked' } })],
      ctx: ctx(goldenOf([observation({ body: MEDIA })])),
      fires: [['warning', 'framing was content-length, is now chunked']],
    },
    {
      name: 'quiet on framing when the contract pins it (framing-conformance reports it)',
      contract: contract({ expect: { framing: 'content-length' } }),
      observations: [observation({ body: MEDIA, framing: { kind: 'chunked' } })],
      ctx: ctx(goldenOf([observation({ body: MEDIA })])),
      fires: [],
    },
    {
      name: 'warns when a recorded header is gone, tells of a new one',
      observations: [observation({ headers: [...GRAPH_HEADERS, ['X-New', '1']] })],
      ctx: ctx(goldenOf([observation({ headers: [...GRAPH_HEADERS, HSTS] })])),
      fires: [['warning', 'Header strict-transport-security is no longer sent'], ['info', 'New header x-new']],
    },
    {
      name: 'warns when a stable header value changes',
      observations: [observation({ headers: [['Content-Type', 'text/javascript; charset=UTF-8']] })],
      ctx: ctx(goldenOf([observation({ headers: [['Content-Type', 'application/json; charset=UTF-8']] })])),
      fires: [['warning', 'Header content-type was "application/json; charset=UTF-8", is now "text/javascript; charset=UTF-8"']],
    },
    {
      name: 'compares headers like with like: an error carries other headers than the recorded success',
      contract: contract({ expect: { status: [200, 400] } }),
      observations: [observation({ status: 400, headers: [['Content-Type', 'application/json'], ['WWW-Authenticate', 'OAuth "Facebook Platform" "invalid_request"']] })],
      ctx: ctx(goldenOf([observation({ headers: [...GRAPH_HEADERS, HSTS] })])),
      fires: [['warning', 'status was 200, is now 400']],
    },
    {
      name: 'tells of a different HTTP version',
      observations: [{ ...observation(), response: { ...observation().response!, httpVersion: '1.0' } }],
      ctx: ctx(goldenOf([observation()])),
      fires: [['info', 'HTTP version was 1.1, is now 1.0']],
    },
    {
      name: 'says nothing of an HTTP version one side did not capture (a VCR cassette keeps none)',
      observations: [(({ httpVersion: _v, ...r }) => ({ ...observation(), response: r }))(observation().response!)],
      ctx: ctx(goldenOf([observation()])),
      fires: [],
    },
    { name: 'quiet without a recording', observations: [observation()], fires: [] },
  ],
  transport: [
    { name: 'quiet on a complete response', observations: [observation()], fires: [] },
    {
      name: 'fires on a body cut short',
      observations: [observation({ framing: { declaredLength: 100, bytesRead: 3 }, body: 'abc', transportError: { code: 'UND_ERR_SOCKET', message: 'other side closed', phase: 'body', unreachable: false } })],
      fires: [['breaking', 'Response truncated: 3 of 100 declared bytes']],
    },
    {
      name: 'fires on a malformed response',
      observations: [observation({ noResponse: true, transportError: { code: 'HPE_INVALID_CONSTANT', message: 'Expected HTTP/', phase: 'headers', unreachable: false } })],
      fires: [['breaking', 'Malformed HTTP response']],
    },
    {
      name: 'fires on an oversized body',
      observations: [observation({ transportError: { code: 'DW_BODY_TOO_LARGE', message: 'exceeded', phase: 'body', unreachable: false } })],
      fires: [['breaking', 'larger than the size cap']],
    },
    {
      name: 'fires on a headers timeout',
      observations: [observation({ noResponse: true, transportError: { code: 'UND_ERR_HEADERS_TIMEOUT', message: 'Headers Timeout Error', phase: 'headers', unreachable: false } })],
      fires: [['breaking', 'No response headers before the timeout']],
    },
    {
      name: 'reports an unreachable upstream as info, not drift',
      observations: [observation({ noResponse: true, transportError: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED', phase: 'connect', unreachable: true } })],
      fires: [['info', 'Upstream unreachable (ECONNREFUSED)']],
    },
  ],
  availability: [
    { name: 'quiet on a normal error', observations: [observation({ status: 400, body: graphErrorBody(100) })], fires: [] },
    { name: 'fires on Graph error 2', observations: [observation({ status: 503, body: graphErrorBody(2, { is_transient: true }) })], fires: [['info', 'Upstream in downtime (503)']] },
    { name: 'fires on throttling', observations: [observation({ status: 429, body: graphErrorBody(130429) })], fires: [['info', 'Upstream throttling requests (429)']] },
  ],
  credentials: [
    {
      name: 'fires on an expired session (190/463), on any contract',
      observations: [observation({ status: 401, body: graphErrorBody(190, { error_subcode: 463, message: 'Error validating access token: Session has expired' }) })],
      fires: [['info', 'Access token rejected: Graph error 190/463 (the token expired)']],
    },
    {
      name: 'fires on any 190 from the preflight contract',
      contract: contract({ preflight: true }),
      observations: [observation({ status: 401, body: graphErrorBody(190) })],
      fires: [['info', 'Access token rejected: Graph error 190']],
    },
    {
      name: 'quiet on a bare 190 elsewhere: that is drift (Jan 20 2026), judged by status-conformance',
      observations: [observation({ status: 400, body: graphErrorBody(190, { message: 'Invalid OAuth access token - Cannot parse access token' }) })],
      fires: [],
    },
    { name: 'quiet when our token was not sent (auth: invalid probes)', observations: [{ ...observation({ status: 401, body: graphErrorBody(190, { error_subcode: 463 }) }), request: { ...observation().request, tokenSent: false } }], fires: [] },
  ],
  'sample-consistency': [
    { name: 'quiet when every sample agrees', observations: [observation({ status: 405 }), observation({ status: 405 }), observation({ status: 405 })], fires: [] },
    { name: 'quiet on a single sample', observations: [observation({ status: 405 })], fires: [] },
    {
      name: 'fires on a split fleet with the observed split (Feb 6 2026)',
      observations: [200, 405, 200, 200, 405, 200, 405, 200].map((status) => observation({ status })),
      fires: [['breaking', 'Inconsistent status across samples: 5× 200, 3× 405']],
    },
    {
      name: 'fires on mixed framing',
      observations: [observation({ body: '{}' }), observation({ body: '{}', framing: { kind: 'chunked', bytesRead: 2 } })],
      fires: [['breaking', 'Inconsistent framing across samples: 1× content-length, 1× chunked']],
    },
    {
      name: 'quiet when different requests to one operation get different answers (traffic: other ids, errors the app asked for)',
      observations: [observation({ url: 'https://graph.facebook.com/v23.0/111', status: 200 }), observation({ url: 'https://graph.facebook.com/v23.0/222', status: 400 }), observation({ url: 'https://graph.facebook.com/v23.0/111', status: 200 })],
      fires: [],
    },
    {
      name: 'quiet when the same request carried different credentials (a multi-tenant app through the proxy: one tenant\'s 401 is not an intermittent 200)',
      observations: [
        ...[200, 200].map((status) => ({ ...observation({ status }), request: { ...observation().request, credential: 'a1b2c3d4e5f6' } })),
        ...[401, 401].map((status) => ({ ...observation({ status }), request: { ...observation().request, credential: '0f9e8d7c6b5a' } })),
      ],
      fires: [],
    },
    {
      name: 'fires when one credential got both answers',
      observations: [200, 401, 200].map((status) => ({ ...observation({ status }), request: { ...observation().request, credential: 'a1b2c3d4e5f6' } })),
      fires: [['breaking', 'Inconsistent status across samples: 2× 200, 1× 401']],
    },
    {
      name: 'fires only among identical requests, counting that request\'s samples',
      observations: [observation({ url: 'https://graph.facebook.com/v23.0/111', status: 200 }), observation({ url: 'https://graph.facebook.com/v23.0/222', status: 400 }), observation({ url: 'https://graph.facebook.com/v23.0/111', status: 405 })],
      fires: [['breaking', 'Inconsistent status across samples: 1× 200, 1× 405']],
    },
  ],
  'host-allowlist': [
    { name: 'quiet when the token went out', observations: [observation()], fires: [] },
    {
      name: 'fires when the URL host is not allowlisted',
      observations: [observation({ tokenWithheld: { host: 'evil.example.com', allowed: ['graph.facebook.com', 'lookaside.fbsbx.com'] } })],
      fires: [['breaking', 'host outside the allowlist: evil.example.com']],
    },
  ],
  'status-conformance': [
    { name: 'quiet on an expected status', observations: [observation({ status: 200 })], fires: [] },
    {
      name: 'fires on an error instead of success, naming the Graph error',
      observations: [observation({ status: 401, statusText: 'Unauthorized', body: graphErrorBody(190, { message: 'Invalid OAuth access token - Cannot parse access token' }) })],
      fires: [['breaking', 'Status 401 instead of 200']],
    },
    {
      name: 'names the trigger when the same request without it passed (Jan 20 2026)',
      observations: [observation({ status: 400, body: graphErrorBody(190, { message: 'Invalid OAuth access token - Cannot parse access token' }) })],
      ctx: ctx({ variant: { of: 'media.retrieve-url', differences: ['query parameter phone_number_id'], basePassed: true } }),
      fires: [['breaking', 'Status 400 instead of 200 with query parameter phone_number_id']],
    },
    { name: 'quiet in traffic on an error the application got (judged by its envelope and code)', contract: trafficExpectation(), observations: [observation({ status: 400, body: graphErrorBody(100) })], fires: [] },
    { name: 'fires in traffic on a success status the operation does not document', contract: trafficExpectation(), observations: [observation({ status: 201 })], fires: [['breaking', 'Status 201 instead of 200']] },
    {
      name: 'leaves a 405 on a contracted method to method-conformance',
      contract: contract({ expect: { methods: { accepts: ['GET'], rejects: ['POST'] } } }),
      observations: [observation({ status: 405 })],
      fires: [],
    },
  ],
  'method-conformance': [
    {
      name: 'quiet when POST is rejected as contracted',
      contract: contract({ request: { method: 'POST', path: '/x', query: {}, headers: {}, auth: 'bearer' }, expect: { status: [405, 400], methods: { accepts: ['GET', 'DELETE'], rejects: ['POST'] } } }),
      observations: [observation({ method: 'POST', status: 405 })],
      fires: [],
    },
    {
      name: 'fires when POST with method=get is honoured',
      contract: contract({ request: { method: 'POST', path: '/x', query: {}, headers: {}, auth: 'bearer' }, expect: { status: [405, 400], methods: { accepts: ['GET', 'DELETE'], rejects: ['POST'] } } }),
      observations: [observation({ method: 'POST', status: 200, requestBody: 'method=get', body: { id: '1' } })],
      fires: [['breaking', 'POST was accepted (contract: rejected)']],
    },
    {
      name: 'fires when GET starts getting 405',
      contract: contract({ expect: { methods: { accepts: ['GET'], rejects: ['POST'] } } }),
      observations: [observation({ status: 405, headers: [...GRAPH_HEADERS, ['Allow', 'POST']] })],
      fires: [['breaking', 'GET now rejected with 405']],
    },
    { name: 'quiet without method expectations', observations: [observation({ status: 405 })], fires: [] },
  ],
  'framing-conformance': [
    { name: 'quiet on Content-Length as contracted', contract: contract({ expect: { framing: 'content-length' } }), observations: [observation({ body: '{}' })], fires: [] },
    {
      name: 'fires on chunked where Content-Length is contracted (Jan 20 2026)',
      contract: contract({ expect: { framing: 'content-length' } }),
      observations: [observation({ body: '{}', framing: { kind: 'chunked', bytesRead: 2 } })],
      fires: [['breaking', 'Framing changed to chunked (contract: content-length)']],
    },
    {
      name: 'fires on a close-delimited body',
      contract: contract({ expect: { framing: 'content-length' } }),
      observations: [observation({ body: '{}', framing: { kind: 'close-delimited', bytesRead: 2 }, contentLength: false })],
      fires: [['breaking', 'Framing changed to close-delimited']],
    },
    { name: 'quiet when framing is any', observations: [observation({ body: '{}', framing: { kind: 'chunked', bytesRead: 2 } })], fires: [] },
  ],
  'header-conformance': [
    {
      name: 'quiet when required headers are there',
      contract: contract({ expect: { headers: { required: [{ name: 'facebook-api-version', severity: 'breaking' }], forbidden: [{ name: 'set-cookie', severity: 'warning' }], patterns: [{ name: 'x-fb-rev', pattern: '^\\d+$', severity: 'breaking' }] } } }),
      observations: [observation()],
      fires: [],
    },
    {
      name: 'fires on a missing required header with its own severity',
      contract: contract({ expect: { headers: { required: [{ name: 'x-business-use-case-usage', severity: 'warning' }], forbidden: [], patterns: [] } } }),
      observations: [observation()],
      fires: [['warning', 'Header x-business-use-case-usage missing']],
    },
    {
      name: 'fires on a forbidden header',
      contract: contract({ expect: { headers: { required: [], forbidden: [{ name: 'set-cookie', severity: 'breaking' }], patterns: [] } } }),
      observations: [observation({ headers: [...GRAPH_HEADERS, ['Set-Cookie', 'a=b']] })],
      fires: [['breaking', 'Header set-cookie present']],
    },
    {
      name: 'fires on a pattern mismatch',
      contract: contract({ expect: { headers: { required: [], forbidden: [], patterns: [{ name: 'www-authenticate', pattern: '^OAuth "Facebook Platform"', severity: 'breaking' }] } } }),
      observations: [observation({ headers: [...GRAPH_HEADERS, ['WWW-Authenticate', 'Bearer realm="x"']] })],
      fires: [['breaking', 'Header www-authenticate does not match']],
    },
    {
      name: 'quiet on a response with an unexpected status (status-conformance owns it)',
      contract: contract({ expect: { headers: { required: [{ name: 'x-missing', severity: 'breaking' }], forbidden: [], patterns: [] } } }),
      observations: [observation({ status: 500 })],
      fires: [],
    },
  ],
  'content-type-conformance': [
    { name: 'quiet on the contracted type and charset', contract: contract({ expect: { contentType: 'application/json; charset=UTF-8' } }), observations: [observation()], fires: [] },
    {
      name: 'fires breaking on a changed media type',
      contract: contract({ expect: { contentType: 'application/json; charset=UTF-8' } }),
      observations: [observation({ headers: [['Content-Type', 'text/javascript; charset=UTF-8']] })],
      fires: [['breaking', 'Content-Type changed to text/javascript']],
    },
    {
      name: 'fires warning on a changed charset only',
      contract: contract({ expect: { contentType: 'application/json; charset=UTF-8' } }),
      observations: [observation({ headers: [['Content-Type', 'application/json']] })],
      fires: [['warning', 'Content-Type parameter charset changed']],
    },
    { name: 'fires on a missing Content-Type', contract: contract({ expect: { contentType: 'application/json' } }), observations: [observation({ headers: [] })], fires: [['breaking', 'Content-Type missing']] },
  ],
  'body-schema-conformance': [
    { name: 'quiet when the body validates', contract: contract({ expect: { bodySchema: 'x.json' } }), observations: [observation({ body: { id: '1' } })], fires: [] },
    {
      name: 'fires per violation with the JSON path',
      contract: contract({ expect: { bodySchema: 'x.json' } }),
      observations: [observation({ body: { file_size: '303833' } })],
      ctx: ctx({ validateBody: () => [{ path: '$.file_size', keyword: 'type', message: 'must be integer, is string "303833"' }, { path: '$.sha256', keyword: 'required', message: 'is missing (required)' }] }),
      fires: [
        ['breaking', 'Body $.file_size must be integer, is string "303833"'],
        ['breaking', 'Body $.sha256 is missing (required)'],
      ],
    },
    { name: 'fires when the body is not JSON', contract: contract({ expect: { bodySchema: 'x.json' } }), observations: [observation({ body: '<html>oops</html>' })], fires: [['breaking', 'Body is not JSON']] },
    {
      name: 'says, as info, that a body larger than what is kept was not checked (it may well be JSON)',
      contract: contract({ expect: { bodySchema: 'x.json' } }),
      observations: [keptOnly(observation({ body: '{"data":[{"id":"1"},{"id":"2"' }), 2_000_000)],
      fires: [['info', 'Body larger than the 29 bytes kept: not checked']],
    },
    { name: 'quiet without a schema', observations: [observation({ body: 'anything' })], fires: [] },
  ],
  'error-envelope': [
    { name: 'quiet on a well-formed envelope', observations: [observation({ status: 400, body: graphErrorBody(100, { error_subcode: 33 }) })], fires: [] },
    { name: 'quiet on success', observations: [observation({ status: 200, body: { id: '1' } })], fires: [] },
    { name: 'fires on a missing code', observations: [observation({ status: 400, body: { error: { message: 'x', type: 'OAuthException' } } })], fires: [['breaking', 'Error envelope missing error.code']] },
    { name: 'fires on a string code', observations: [observation({ status: 400, body: { error: { message: 'x', type: 'T', code: '190' } } })], fires: [['breaking', 'error.code is string (contract: integer)']] },
    { name: 'fires on a wrong optional type', observations: [observation({ status: 400, body: graphErrorBody(100, { is_transient: 'no' }) })], fires: [['breaking', 'error.is_transient is string']] },
    { name: 'fires on no error object', observations: [observation({ status: 500, body: { message: 'boom' } })], fires: [['breaking', 'no "error" object']] },
    {
      name: 'fires on a non-JSON error where an error is contracted',
      contract: contract({ expect: { status: [400], error: { codes: [100] } } }),
      observations: [observation({ status: 400, headers: [['Content-Type', 'text/html']], body: '<html>Bad</html>' })],
      fires: [['breaking', 'Error response is not JSON']],
    },
    { name: 'quiet on a plain 404 from the media host', observations: [observation({ status: 404, headers: [['Content-Type', 'text/html']], body: '<html>Not Found</html>' })], fires: [] },
    {
      name: 'notes fbtrace_id differing from x-fb-request-id',
      observations: [observation({ status: 400, body: graphErrorBody(100, { fbtrace_id: 'different' }) })],
      fires: [['info', 'fbtrace_id no longer equals x-fb-request-id']],
    },
  ],
  'error-code-conformance': [
    {
      name: 'warns in traffic on a code the operation does not document, naming the operation',
      contract: trafficExpectation(),
      observations: [observation({ status: 400, body: graphErrorBody(131099) })],
      fires: [['warning', 'Error code 131099 is not documented for media.retrieve-url']],
    },
    { name: 'quiet in traffic on a code every Graph call may return (190, 4, 131000)', contract: trafficExpectation(), observations: [190, 4, 131000].map((code) => observation({ status: 400, body: graphErrorBody(code) })), fires: [] },
    {
      name: 'quiet while the code is in the contracted set (Meta reorders validation)',
      contract: contract({ expect: { status: [400], error: { codes: [100, 131009] } } }),
      observations: [observation({ status: 400, body: graphErrorBody(131009) }), observation({ status: 400, body: graphErrorBody(100) })],
      fires: [],
    },
    {
      name: 'fires on a code outside the set',
      contract: contract({ expect: { status: [400], error: { codes: [100, 131009] } } }),
      observations: [observation({ status: 400, body: graphErrorBody(131000) })],
      fires: [['breaking', 'Error code 131000 outside the contracted set {100, 131009}']],
    },
    {
      name: 'warns on a subcode and type outside their sets',
      contract: contract({ expect: { status: [400], error: { codes: [100], subcodes: [33], types: ['GraphMethodException'] } } }),
      observations: [observation({ status: 400, body: graphErrorBody(100, { error_subcode: 2018001 }) })],
      fires: [
        ['warning', 'Error subcode 2018001 outside the contracted set {33}'],
        ['warning', 'Error type OAuthException'],
      ],
    },
  ],
  'media-integrity': [
    {
      name: 'quiet when hash, size and type match',
      contract: contract({ expect: { media: { sha256: '{s}', size: '{n}', mimeType: '{m}' } } }),
      observations: [observation({ headers: [['Content-Type', 'image/png']], body: PNG })],
      ctx: ctx({ media: () => ({ sha256: PNG_SHA256, size: String(PNG.length), mimeType: 'image/png; charset=binary' }) }),
      fires: [],
    },
    {
      name: 'fires on a sha256 mismatch',
      contract: contract({ expect: { media: { sha256: '{s}' } } }),
      observations: [observation({ headers: [['Content-Type', 'image/png']], body: PNG })],
      ctx: ctx({ media: () => ({ sha256: '0'.repeat(64) }) }),
      fires: [['breaking', 'does not match its sha256']],
    },
    {
      name: 'fires on size and type disagreeing with the metadata',
      contract: contract({ expect: { media: { size: '{n}', mimeType: '{m}' } } }),
      observations: [observation({ headers: [['Content-Type', 'image/jpeg']], body: PNG })],
      ctx: ctx({ media: () => ({ size: '303833', mimeType: 'image/png' }) }),
      fires: [
        ['breaking', `Downloaded ${PNG.length} bytes, metadata says 303833`],
        ['breaking', 'Downloaded Content-Type image/jpeg, metadata says image/png'],
      ],
    },
  ],
  'parameter-rejection': [
    {
      name: 'fires when a token error only comes with an optional parameter the same request worked without (Jan 20 2026)',
      contract: trafficExpectation({ request: { method: 'GET', path: '/{api_version}/{media_id}', query: { phone_number_id: { required: false, includes: [] } } } }),
      observations: [
        observation({ url: 'https://graph.facebook.com/v21.0/1390000000004242', body: { id: '1390000000004242' } }),
        observation({ url: 'https://graph.facebook.com/v21.0/1390000000004242?phone_number_id=106540352242922', status: 400, body: graphErrorBody(190, { message: 'Invalid OAuth access token - Cannot parse access token' }) }),
      ],
      fires: [['breaking', 'Status 400 instead of 200 with query parameter phone_number_id']],
    },
    {
      name: 'quiet on a documented parameter error (the application passed a wrong phone_number_id: 100)',
      contract: trafficExpectation(),
      observations: [
        observation({ url: 'https://graph.facebook.com/v21.0/1390000000004242', body: { id: '1390000000004242' } }),
        observation({ url: 'https://graph.facebook.com/v21.0/1390000000004242?phone_number_id=1', status: 400, body: graphErrorBody(100, { message: 'Param phone_number_id is not a valid whatsapp business phone number id ID' }) }),
      ],
      fires: [],
    },
    {
      name: 'quiet on a token error with no working twin in the traffic (it may be the application\'s own token)',
      contract: trafficExpectation(),
      observations: [observation({ url: 'https://graph.facebook.com/v21.0/1390000000004242?phone_number_id=1', status: 400, body: graphErrorBody(190) })],
      fires: [],
    },
    {
      name: 'quiet for a probe (its variant says the same, from its base)',
      observations: [observation({ url: 'https://graph.facebook.com/v21.0/1' }), observation({ url: 'https://graph.facebook.com/v21.0/1?phone_number_id=2', status: 400, body: graphErrorBody(190) })],
      fires: [],
    },
  ],
  'graph-error': [
    { name: 'quiet for a probe: its own status and code checks judge errors', contract: contract({ expect: { status: [400], error: { codes: [100] } } }), observations: [observation({ status: 400, body: graphErrorBody(100) })], fires: [] },
    {
      name: 'info in traffic when the application got a documented error (an unknown id, 100/33)',
      contract: trafficExpectation(),
      observations: [observation({ status: 400, body: graphErrorBody(100, { error_subcode: 33, type: 'GraphMethodException', message: "Unsupported get request. Object with ID '123123' does not exist" }) })],
      fires: [['info', 'The application got Graph error 100/33 (GraphMethodException)']],
    },
    { name: 'quiet in traffic on an undocumented code (error-code-conformance says that)', contract: trafficExpectation(), observations: [observation({ status: 400, body: graphErrorBody(131099) })], fires: [] },
    { name: 'quiet in traffic on a broken envelope (error-envelope says that)', contract: trafficExpectation(), observations: [observation({ status: 400, body: { error: { code: 100 } } })], fires: [] },
    {
      name: 'quiet in traffic when the same request without a parameter worked (parameter-rejection says it is drift)',
      contract: trafficExpectation(),
      observations: [observation({ url: 'https://graph.facebook.com/v21.0/7' }), observation({ url: 'https://graph.facebook.com/v21.0/7?phone_number_id=2', status: 400, body: graphErrorBody(190) })],
      fires: [],
    },
  ],
  'api-version': [
    { name: 'quiet when served as requested', observations: [observation()], fires: [] },
    { name: 'quiet on a path without a version (served by the app\'s default version)', observations: [observation({ url: 'https://graph.facebook.com/1390000000004242', headers: [['facebook-api-version', 'v24.0']] })], fires: [] },
    {
      name: 'warns on auto-upgrade',
      observations: [observation({ headers: [['facebook-api-version', 'v24.0'], ['x-ad-api-version-warning', 'The call has been auto-upgraded to v24.0 as v23.0 will be deprecated.']] })],
      fires: [['warning', 'Requested v23.0, served v24.0 (auto-upgraded)']],
    },
    { name: 'quiet when the header is absent (media host)', observations: [observation({ headers: [['Content-Type', 'image/png']] })], fires: [] },
  ],
}

describe('check registry', () => {
  it('registers every check under its own id', () => {
    for (const [id, check] of Object.entries(checks)) expect(check.id).toBe(id)
  })
  it('has a firing and a quiet case for every check', () => {
    for (const [id, cases] of Object.entries(table)) {
      expect(cases.some((c) => c.fires.length > 0), `${id} fires somewhere`).toBe(true)
      expect(cases.some((c) => c.fires.length === 0), `${id} stays quiet somewhere`).toBe(true)
    }
  })
})

for (const [id, cases] of Object.entries(table) as [CheckId, Case[]][]) {
  describe(id, () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
      const drafts = checks[id].run(c.observations, c.contract ?? contract(), c.ctx ?? ctx())
      expect(drafts.map((d) => d.check)).toEqual(drafts.map(() => id))
      if (c.fires.length > 0 && id === 'sample-consistency') expect(drafts[0]!.samples).toBe(Number(c.fires[0]![1].match(/, (\d+)× /)![1]))
      expect(drafts.map((d) => d.severity)).toEqual(c.fires.map(([s]) => s))
      drafts.forEach((d, i) => {
        expect(d.title).toContain(c.fires[i]![1])
        expect(d.message.length).toBeGreaterThan(d.title.length / 2)
        expect(d.expected).not.toBe('')
        expect(d.actual).not.toBe('')
      })
    })
  })
}
