/**
 * The seams of the production proxy (issue 18), one way:
 *
 *   application -> passthrough (request path: forwards bytes as they arrive, tees a capped copy)
 *               -> CapturedExchange -> Observer (off the request path: attribute, judge, journal, record)
 *               -> judged exchange -> IncidentSink (open/clear incidents in the SQLite state `watch` shares, alert)
 *                                  -> ProxyMetrics (Prometheus /metrics, /healthz)
 *
 * The request path never waits for anything to its right in production mode: `Observer.offer`
 * returns at once, false when the queue is full (the exchange is then counted as skipped, with its
 * reason, and the application is served all the same). Review mode keeps today's complete capture
 * with backpressure: the request path awaits `Observer.submit` before forwarding the next request.
 */
import type { Finding } from '../model/finding.ts'
import type { Observation } from '../model/observation.ts'

/** How the proxy trades completeness for the application's latency. */
export type ProxyMode = 'production' | 'review'

/**
 * One finished exchange as the request path saw it (answered, failed before an answer, or cut
 * mid-body). `observation` is built like a probe's: request headers and URL already redacted of
 * the token (Authorization, access_token). The request path does no per-byte work beyond copying
 * the kept prefix and hashing: `observation.response.body` carries only `size` and `sha256` (over
 * every byte that passed), `keptBytes` and `truncated`; the observer completes text / json /
 * base64 / hexPreview from `responseBody` (and inflates it when the upstream compressed it), off
 * the request path. Bodies are NOT yet redacted: the observer redacts everything it writes or
 * reports.
 */
export interface CapturedExchange {
  /** 1-based order in which requests arrived. */
  index: number
  observation: Observation
  /** The request body's first bytes, up to the capture cap (`observation.request.bodySize` is its full size). */
  requestBody: Uint8Array
  /** The response body's first bytes, up to the capture cap, as they came off the wire (after de-chunking, before any decompression). */
  responseBody?: Uint8Array
  /** sha256 (hex) of every request body byte that passed. */
  requestSha256?: string
  /** Tokens the application sent that the proxy had not seen before (Authorization bearer, access_token): the observer's redactor learns them. */
  newSecrets?: string[]
  /** performance.now() on the request path when the application's response ended (or was aborted). */
  answeredAt: number
  /** The exchange's kind (novelty.ts), worked out on the request path from what it has, so deciding whether to take it builds nothing. */
  kind: string
  /** The response status, when there was a response. */
  status: number | undefined
  /** Whether the exchange failed (a transport error, the application's abort included). */
  failed: boolean
}

/**
 * A plain copy of a capture, every field read (the pass-through builds `observation` on first
 * use): what a worker thread is sent, since a structured clone copies own data, not getters.
 */
export function plainCapture(x: CapturedExchange): CapturedExchange {
  return {
    index: x.index,
    observation: x.observation,
    requestBody: x.requestBody,
    ...(x.responseBody ? { responseBody: x.responseBody } : {}),
    ...(x.requestSha256 !== undefined ? { requestSha256: x.requestSha256 } : {}),
    ...(x.newSecrets ? { newSecrets: x.newSecrets } : {}),
    answeredAt: x.answeredAt,
    kind: x.kind,
    status: x.status,
    failed: x.failed,
  }
}

/** Why an exchange that was forwarded was not captured or not judged. */
export type SkipReason = 'queue-full' | 'observer-failed' | 'stopping'

/** What the observer has done: every forwarded exchange is in exactly one of captured or skipped. */
export interface ObserverCounts {
  /** Exchanges offered by the request path. */
  offered: number
  /** Taken into the queue. */
  captured: number
  /** Attributed and judged. */
  judged: number
  /** Not captured (or captured and then dropped), by reason. */
  skipped: Record<SkipReason, number>
  /** Exchanges waiting in the queue now. */
  queued: number
  /** Of those captured, taken past the queue bound because no exchange of their kind (method, path shape, status, framing) was taken lately (novelty.ts). */
  newKinds?: number
}

/**
 * Where judged exchanges go to become incidents. Implemented over the SQLite state `watch` keeps
 * (src/live/incidents.ts), so an incident seen by traffic and by probes is one incident.
 */
export interface IncidentSink {
  /**
   * One exchange of `contract` was judged at `at` (epoch ms); `findings` are that exchange's,
   * already redacted. Opens an incident (one alert) for a new drift, and clears one (one recovery
   * alert) when its contract has been judged clean long enough. Also records that live traffic
   * covered `contract` at `at` (watch spends its probes elsewhere).
   */
  judged(contract: string, findings: readonly Finding[], at: number): Promise<void>
  /** Drifts open now (for metrics and /healthz). */
  open(): readonly { contract: string; check: string; severity: string }[]
  close(): Promise<void>
}
