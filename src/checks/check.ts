/**
 * The shape of a check and the helpers checks share. Checks are pure and synchronous: they read
 * observations and a contract and return finding drafts. They never import undici or fs.
 */
import type { Contract, MediaExpectation, SchemaViolation } from '../contracts/types.ts'
import type { FindingDraft } from '../finding.ts'
import { headerValue, type Observation, type ObservedResponse } from '../observation.ts'
import type { SchemaDelta } from '../schema/drift.ts'

/** What a check may know besides observations and the contract. */
export interface CheckContext {
  /** The Graph API version the run asked for, e.g. `v23.0`. */
  apiVersion: string
  /** Media expectations with `{vars}` resolved from earlier captures. */
  media?: MediaExpectation
  /** For a variant contract: what differs from its base and how the base fared in this run. */
  variant?: { of: string; differences: readonly string[]; basePassed: boolean }
  /** Validates a body against one of the pack's schema files (compiled once at load). */
  validateBody(schema: string, body: unknown): SchemaViolation[]
  /** The golden recording of this contract chosen for the run, when there is one. */
  golden?: { name: string; recordedAt: string; observations: readonly Observation[] }
  /** Schema deltas computed before the checks (async); `observationIndex[i]` is the body view index of body sample i. */
  schemaDrift?: { deltas: readonly SchemaDelta[]; observationIndex: readonly number[] }
}

/**
 * Which observations a check judges. `any`: all, including failed exchanges and outages.
 * `headers`: those with a response from a live upstream (the body may have broken off).
 * `body`: those whose body arrived complete.
 */
export type CheckNeeds = 'any' | 'headers' | 'body'

/** A named, pure check. */
export interface Check {
  id: string
  /** The property checked, in words. */
  title: string
  needs: CheckNeeds
  run(observations: readonly Observation[], contract: Contract, ctx: CheckContext): FindingDraft[]
}

/** Builds a check from a per-observation function; drafts are tagged with the observation's index. */
export function perObservation(
  id: string,
  title: string,
  needs: CheckNeeds,
  fn: (o: Observation, contract: Contract, ctx: CheckContext) => Omit<FindingDraft, 'check' | 'observationIndex'>[],
): Check {
  return {
    id,
    title,
    needs,
    run(observations, contract, ctx) {
      // Runs for every check on every probe and usually finds nothing: allocate only for findings.
      let out: FindingDraft[] | undefined
      for (let i = 0; i < observations.length; i++) {
        const drafts = fn(observations[i]!, contract, ctx)
        for (const d of drafts) (out ??= []).push({ ...d, check: id, observationIndex: i })
      }
      return out ?? []
    },
  }
}

/** The response when its status is one the contract expects, else undefined: content checks only judge the response the contract describes. */
export function expectedResponse(o: Observation, contract: Contract): ObservedResponse | undefined {
  const r = o.response
  return r && contract.expect.status.includes(r.status) ? r : undefined
}

/** The Graph error inside a body, if the body is a Graph error envelope. */
export interface GraphErrorInfo {
  message?: string
  type?: string
  code?: number
  subcode?: number
  fbtraceId?: string
  isTransient?: boolean
}

const parsedErrors = new WeakMap<object, GraphErrorInfo | null>()

/** Reads `{"error": {...}}` leniently: fields with the wrong type are left out, not coerced. Memoised per body. */
export function graphError(body: unknown): GraphErrorInfo | undefined {
  if (!body || typeof body !== 'object') return undefined
  const cached = parsedErrors.get(body)
  if (cached !== undefined) return cached ?? undefined
  const info = readGraphError(body)
  parsedErrors.set(body, info ?? null)
  return info
}

function readGraphError(body: object): GraphErrorInfo | undefined {
  if (!('error' in body)) return undefined
  const e = (body as { error: unknown }).error
  if (!e || typeof e !== 'object') return undefined
  const r = e as Record<string, unknown>
  const info: GraphErrorInfo = {}
  if (typeof r.message === 'string') info.message = r.message
  if (typeof r.type === 'string') info.type = r.type
  if (typeof r.code === 'number') info.code = r.code
  if (typeof r.error_subcode === 'number') info.subcode = r.error_subcode
  if (typeof r.fbtrace_id === 'string') info.fbtraceId = r.fbtrace_id
  if (typeof r.is_transient === 'boolean') info.isTransient = r.is_transient
  return info
}

/** `400 Bad Request (OAuthException 190: Invalid OAuth access token ...)`: a status with the Graph error that explains it. */
export function describeStatus(r: ObservedResponse): string {
  const base = `${r.status}${r.statusText ? ` ${r.statusText}` : ''}`
  const e = graphError(r.body.json)
  if (!e) return base
  const code = e.code !== undefined ? ` ${e.code}${e.subcode !== undefined ? `/${e.subcode}` : ''}` : ''
  return `${base} (${e.type ?? 'error'}${code}${e.message ? `: ${e.message}` : ''})`
}

/** Media type without parameters, lowercased. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';')
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
}

/** Parameters of a Content-Type, names lowercased. */
export function mediaParams(contentType: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of contentType.split(';').slice(1)) {
    const i = part.indexOf('=')
    if (i > 0) out[part.slice(0, i).trim().toLowerCase()] = part.slice(i + 1).trim().replace(/^"|"$/g, '')
  }
  return out
}

/** First value of a response header. */
export function responseHeader(r: ObservedResponse, name: string): string | undefined {
  return headerValue(r.rawHeaders, name)
}

/**
 * Whether the upstream could be judged from this observation at all. `unreachable`: no connection.
 * `outage`: Meta says it is down (HTTP 503, Graph error 2 "API Service" during updates, 131016).
 * `throttled`: rate limited (HTTP 429, codes 4, 80007, 130429). `credentials`: our token was
 * rejected, see `credentialFailure`.
 */
export type Availability = 'ok' | 'unreachable' | 'outage' | 'throttled' | 'credentials'

const OUTAGE_CODES = new Set([2, 131016])
const THROTTLE_CODES = new Set([4, 80007, 130429])
// 190 subcodes that always mean the token itself is unusable (expired, password changed, ...).
const SESSION_SUBCODES = new Set([458, 459, 460, 463, 464, 467, 492])

/** Classifies an observation; `contract` lets a preflight contract treat any 190 as a credential failure. */
export function availabilityOf(o: Observation, contract?: Pick<Contract, 'preflight'>): Availability {
  if (o.transportError?.unreachable) return 'unreachable'
  const r = o.response
  if (!r) return 'ok'
  const e = graphError(r.body.json)
  if (credentialFailure(o, contract)) return 'credentials'
  if (r.status === 503 || (e?.code !== undefined && OUTAGE_CODES.has(e.code))) return 'outage'
  if (r.status === 429 || (e?.code !== undefined && THROTTLE_CODES.has(e.code))) return 'throttled'
  return 'ok'
}

/**
 * The Graph error when our own token was rejected: code 190 with a session subcode anywhere, or
 * any 190 on a preflight contract. A bare 190 elsewhere is judged as drift: on Jan 20 2026 one
 * optional parameter made Meta answer 190 "Cannot parse access token" for a valid token.
 */
export function credentialFailure(o: Observation, contract?: Pick<Contract, 'preflight'>): GraphErrorInfo | undefined {
  if (!o.request.tokenSent || !o.response) return undefined
  const e = graphError(o.response.body.json)
  if (e?.code !== 190) return undefined
  if (contract?.preflight || (e.subcode !== undefined && SESSION_SUBCODES.has(e.subcode))) return e
  return undefined
}
