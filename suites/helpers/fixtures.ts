/** Builders for table-driven check tests: an expectation and observations in a few lines each. */
import { createHash } from 'node:crypto'
import type { CheckContext } from '../../src/checks/check.ts'
import { operationExpectation, probeExpectation, type Expectation } from '../../src/contracts/expectation.ts'
import type { Operation, Probe, ProbeExpectations } from '../../src/contracts/types.ts'
import type { Framing, Observation, RawHeader, TransportFailure } from '../../src/model/observation.ts'

/** An operation with no expectations of its own: probes built on it say everything themselves. */
export function operation(over: Partial<Operation> = {}): Operation {
  return {
    id: 'test.operation',
    title: 'Test operation',
    node: 'media',
    description: '',
    source: 'test',
    notes: [],
    tags: [],
    request: { method: 'GET', path: '/{api_version}/{media_id}', query: {} },
    responses: [{ statuses: [200], framing: 'any', headers: { required: [], forbidden: [], patterns: [] } }],
    yields: [],
    file: 'contracts/test/operations/test.operation.yaml',
    ...over,
  }
}

/** A probe's expectation with sensible defaults, as check would judge it; `expect` fields narrow the operation's. */
export function expectation(over: Partial<Omit<Probe, 'expect'>> & { expect?: Partial<ProbeExpectations> } = {}): Expectation {
  const { expect, ...rest } = over
  const probe: Probe = {
    id: 'test.contract',
    title: 'Test contract',
    operation: 'test.operation',
    description: '',
    source: '',
    notes: [],
    tags: [],
    after: [],
    preflight: false,
    samples: 1,
    repeatable: true,
    cleanup: false,
    request: { method: 'GET', path: '/{api_version}/1', query: {}, headers: {}, auth: 'bearer' },
    capture: [],
    uses: [],
    inputs: [],
    file: 'contracts/test/test.contract.yaml',
    ...rest,
    expect: { status: [200], ...expect },
  }
  return probeExpectation(probe, operation())
}

/** An operation's expectation for traffic: a 200 and the Graph error envelope with documented codes {100} (subcode 33). */
export function trafficExpectation(over: Partial<Operation> = {}): Expectation {
  return operationExpectation(
    operation({
      id: 'media.retrieve-url',
      error: { statuses: 'error', framing: 'content-length', headers: { required: [], forbidden: [], patterns: [] }, error: { codes: [100], severity: 'warning', includesCommon: true } },
      ...over,
    }),
  )
}

/** Graph-like JSON response headers. */
export const GRAPH_HEADERS: RawHeader[] = [
  ['Content-Type', 'application/json; charset=UTF-8'],
  ['facebook-api-version', 'v23.0'],
  ['x-fb-request-id', 'AbCdEf123'],
  ['x-fb-trace-id', 'Tr4ce'],
  ['x-fb-rev', '1029384756'],
]

export interface ObservationSpec {
  method?: string
  /** Request URL (default http://127.0.0.1:1/v23.0/1). */
  url?: string
  status?: number
  statusText?: string
  headers?: RawHeader[]
  /** A string is the raw body; anything else is JSON-encoded. Buffer for binary. */
  body?: unknown
  framing?: Partial<Framing>
  transportError?: TransportFailure
  noResponse?: boolean
  requestBody?: string
  tokenWithheld?: { host: string; allowed: string[] }
  contentLength?: boolean
}

/** An observation as the transport would record it. */
export function observation(spec: ObservationSpec = {}): Observation {
  const raw = spec.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(spec.body) ? spec.body : Buffer.from(typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body))
  const binary = Buffer.isBuffer(spec.body)
  const text = binary ? undefined : raw.toString('utf8')
  let json: unknown
  let jsonError: string | undefined
  if (text !== undefined && text.length > 0) {
    try {
      json = JSON.parse(text)
    } catch (e) {
      if (/^\s*[[{]/.test(text)) jsonError = (e as Error).message
    }
  }
  const headers = [...(spec.headers ?? GRAPH_HEADERS)]
  const framing: Framing = { kind: 'content-length', declaredLength: raw.length, bytesRead: raw.length, ...spec.framing }
  if (framing.kind === 'content-length' && spec.contentLength !== false && !headers.some(([n]) => n.toLowerCase() === 'content-length')) headers.push(['Content-Length', String(framing.declaredLength ?? raw.length)])
  if (framing.kind === 'chunked') headers.push(['Transfer-Encoding', 'chunked'])
  const o: Observation = {
    contract: 'test.contract',
    sample: 1,
    startedAt: '2026-11-22T00:00:00.000Z',
    request: {
      method: spec.method ?? 'GET',
      url: spec.url ?? 'http://127.0.0.1:1/v23.0/1',
      headers: [['Authorization', 'Bearer [REDACTED]']],
      bodySize: spec.requestBody?.length ?? 0,
      ...(spec.requestBody ? { bodyExcerpt: spec.requestBody } : {}),
      tokenSent: !spec.tokenWithheld,
      ...(spec.tokenWithheld ? { tokenWithheld: spec.tokenWithheld } : {}),
    },
    timings: { totalMs: 1 },
  }
  if (!spec.noResponse) {
    o.response = {
      httpVersion: '1.1',
      statusLine: `HTTP/1.1 ${spec.status ?? 200} ${spec.statusText ?? 'OK'}`,
      status: spec.status ?? 200,
      statusText: spec.statusText ?? 'OK',
      rawHeaders: headers,
      framing,
      body: {
        size: raw.length,
        sha256: createHash('sha256').update(raw).digest('hex'),
        keptBytes: raw.length,
        truncated: false,
        ...(text !== undefined ? { text } : {}),
        ...(json !== undefined ? { json } : {}),
        ...(jsonError ? { jsonError } : {}),
      },
    }
  }
  if (spec.transportError) o.transportError = spec.transportError
  return o
}

/** A check context; body validation defaults to "always valid", and bodies are judged by their response's schema. */
export function ctx(over: Partial<CheckContext> = {}): CheckContext {
  return { validateBody: () => [], bodySchema: (_o, spec) => spec.bodySchema, ...over }
}

/** A Graph error body. */
export function graphErrorBody(code: number, extra: Record<string, unknown> = {}): unknown {
  return { error: { message: 'Something', type: 'OAuthException', code, fbtrace_id: 'AbCdEf123', ...extra } }
}
