/** Builders for table-driven check tests: a contract and observations in a few lines each. */
import { createHash } from 'node:crypto'
import type { CheckContext } from '../../src/checks/check.ts'
import type { Contract, Expectations } from '../../src/contracts/types.ts'
import type { Framing, Observation, RawHeader, TransportFailure } from '../../src/observation.ts'

/** A contract with sensible defaults; `expect` fields merge over the defaults. */
export function contract(over: Partial<Omit<Contract, 'expect'>> & { expect?: Partial<Expectations> } = {}): Contract {
  const { expect, ...rest } = over
  return {
    id: 'test.contract',
    title: 'Test contract',
    description: '',
    source: '',
    notes: [],
    tags: [],
    after: [],
    preflight: false,
    samples: 1,
    repeatable: true,
    request: { method: 'GET', path: '/{api_version}/1', query: {}, headers: {}, auth: 'bearer' },
    capture: [],
    uses: [],
    inputs: [],
    draft: false,
    file: 'contracts/test/test.contract.yaml',
    ...rest,
    expect: { status: [200], headers: { required: [], forbidden: [], patterns: [] }, framing: 'any', ...expect },
  }
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
      url: 'http://127.0.0.1:1/v23.0/1',
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

/** A check context; body validation defaults to "always valid". */
export function ctx(over: Partial<CheckContext> = {}): CheckContext {
  return { apiVersion: 'v23.0', validateBody: () => [], ...over }
}

/** A Graph error body. */
export function graphErrorBody(code: number, extra: Record<string, unknown> = {}): unknown {
  return { error: { message: 'Something', type: 'OAuthException', code, fbtrace_id: 'AbCdEf123', ...extra } }
}
