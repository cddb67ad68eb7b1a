/**
 * What changes on every call even when nothing drifted: request and trace ids, dates, usage
 * counters, object ids, signed media URLs, paging cursors, the simulator's port, timings.
 * Recordings list them as volatile; comparisons (re-recording, golden-diff) never compare them
 * byte for byte.
 */
import { MAX_WALK_DEPTH, TOO_DEEP } from '../util/json.ts'
import type { Observation, RawHeader } from '../model/observation.ts'

/** Response headers whose values change per call. Their presence still counts; their values do not. */
const VOLATILE_HEADERS = new Set([
  'date',
  'x-fb-request-id',
  'x-fb-trace-id',
  'x-fb-debug',
  'x-fb-rev',
  'x-app-usage',
  'x-business-use-case-usage',
  'x-ad-account-usage',
  'x-fb-connection-quality',
  'content-length',
  'etag',
  'last-modified',
  'age',
  'set-cookie',
  'keep-alive',
])

/** Body keys whose values are ids, signed URLs, cursors or times. */
const VOLATILE_KEYS = /^(id|.*_id|wamid|url|next|previous|before|after|h|timestamp|.*_at|created_time|expires|expiration_time)$/

/** Query parameters of signed media URLs: signature, expiry, media id. */
const VOLATILE_QUERY = new Set(['hash', 'oh', 'oe', 'ext', 'mid', 'sig', 'expires'])

/** Whether a header's value is volatile (compare presence, not value). */
export function isVolatileHeader(name: string): boolean {
  return VOLATILE_HEADERS.has(name.toLowerCase())
}

/** Whether a JSON key's value is volatile. */
export function isVolatileKey(key: string): boolean {
  return VOLATILE_KEYS.test(key)
}

/** JSON pointers (array indices as `*`) of the volatile values in a body, sorted and unique; none below MAX_WALK_DEPTH. */
export function volatileBodyPaths(json: unknown): string[] {
  const out = new Set<string>()
  const walk = (v: unknown, path: string, depth: number): void => {
    if (depth >= MAX_WALK_DEPTH) return
    if (Array.isArray(v)) for (const x of v) walk(x, `${path}/*`, depth + 1)
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const p = `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`
        if (isVolatileKey(k) && (typeof x === 'string' || typeof x === 'number')) out.add(p)
        else walk(x, p, depth + 1)
      }
    }
  }
  walk(json, '', 0)
  return [...out].sort()
}

/**
 * Object ids inside free text: Graph ids are 15-17 digits, and error messages quote them ("Object
 * with ID '1390000000007919' does not exist"). A fresh upload mints a new one on every run, so a
 * re-recorded error would otherwise differ from its golden by an id alone.
 */
const ID_IN_TEXT = /\d{10,}/g

/** Ids in free text as `<id>`. */
export function maskIds(s: string): string {
  return s.replace(ID_IN_TEXT, '<id>')
}

/** A JSON value with volatile values replaced by `"<volatile>"`, and ids inside other strings by `<id>`; below MAX_WALK_DEPTH, TOO_DEEP. */
export function maskVolatile(json: unknown, depth = 0): unknown {
  if (typeof json === 'string') return maskIds(json)
  if (json && typeof json === 'object' && depth >= MAX_WALK_DEPTH) return TOO_DEEP
  if (Array.isArray(json)) return json.map((x) => maskVolatile(x, depth + 1))
  if (json && typeof json === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(json)) out[k] = isVolatileKey(k) && (typeof x === 'string' || typeof x === 'number') ? '<volatile>' : maskVolatile(x, depth + 1)
    return out
  }
  return json
}

function maskHeaders(headers: readonly RawHeader[]): RawHeader[] {
  // Multipart boundaries are random per request; www-authenticate quotes the error message, ids and all.
  return headers.map(([n, v]) => [n, isVolatileHeader(n) || n.toLowerCase() === 'host' ? '<volatile>' : maskIds(v.replace(/boundary=[^;\s]+/i, 'boundary=<volatile>'))])
}

/**
 * What must be equal for two observations to be "the same upstream behaviour": everything but
 * times, timings, the origin, and volatile values. Re-recording compares these to leave an
 * unchanged recording's file untouched.
 */
export function stableView(o: Observation): unknown {
  const r = o.response
  const body = r?.body
  return {
    contract: o.contract,
    sample: o.sample,
    request: {
      method: o.request.method,
      path: pathAndQuery(o.request.url),
      headers: maskHeaders(o.request.headers),
      bodySize: o.request.bodySize,
      bodyExcerpt: o.request.bodyExcerpt !== undefined ? maskIds(o.request.bodyExcerpt) : undefined,
      tokenSent: o.request.tokenSent,
    },
    transportError: o.transportError ? { code: o.transportError.code, phase: o.transportError.phase } : undefined,
    response: r && {
      statusLine: r.statusLine,
      status: r.status,
      headers: maskHeaders(r.rawHeaders),
      framing: r.framing.kind,
      // A JSON body is compared masked (its length moves with ids and URLs); anything else by hash.
      body: body?.json !== undefined ? maskVolatile(body.json) : { sha256: body?.sha256, size: body?.size },
    },
  }
}

/** Path and query of a URL, volatile query values (signatures, expiries) masked; origins differ between runs. */
function pathAndQuery(url: string): string {
  try {
    const u = new URL(url)
    for (const k of [...u.searchParams.keys()]) if (isVolatileKey(k) || VOLATILE_QUERY.has(k)) u.searchParams.set(k, '<volatile>')
    // Object ids in the path (`/v23.0/1390000000007919`) and the query are minted per run.
    return maskIds(`${u.pathname.replace(/\/\d{6,}(?=\/|$)/g, '/<id>')}${u.search}`)
  } catch {
    return url
  }
}
