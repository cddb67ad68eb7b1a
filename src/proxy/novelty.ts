/**
 * Which exchanges production keeps when the observer is behind (issue 18). Sampling skips
 * exchanges, but a drift is a new kind of exchange: the seed incident's first sign was the media
 * endpoint answering 400 with chunked framing where it had answered 200 with a Content-Length. So
 * past the queue bound an exchange whose kind (method, path with its ids blanked, status or
 * failure, framing, media type) was not taken in the last `windowMs` is still taken, into a reserve of
 * NOVEL_RESERVE places above the bound; and whether the queue is full or not, it goes to the front of the queue:
 * under overload the observer skips exchanges like the ones it just judged, never the first of a new kind, and judges
 * that first before the queue. The byte bound stays hard (a reserve of kinds, not of memory).
 *
 * Runs on the request path: one short string per exchange, no parsing.
 */
import type { Observation, ObservedResponse } from '../model/observation.ts'
import { RecentMap } from '../traffic/recent-map.ts'

/** How long a kind stays known after it was taken. */
export const NOVEL_WINDOW_MS = 10_000
/** Exchanges of a new kind taken past the queue bound, at most. */
export const NOVEL_RESERVE = 64
/** Kinds remembered at most (the least recent forgotten: a forgotten kind is new again). */
const KINDS = 4096

/** A path segment that names something (has a digit, or is long) or was redacted (`[REDACTED]`), blanked; a Graph version stays. */
const ID_SEGMENT = /\/(?!v\d+\.\d+(?:\/|$))[^/]*(?:\d[^/]*|\[[^/]*|[^/]{24,})(?=\/|$)/g

/** The media type of a Content-Type (`application/json`, `text/javascript`), without its parameters. */
function mediaType(headers: readonly (readonly [string, string])[]): string {
  for (const [n, v] of headers) if (n.length === 12 && n.toLowerCase() === 'content-type') return mediaTypeOf(v)
  return ''
}

function mediaTypeOf(contentType: string): string {
  const semi = contentType.indexOf(';')
  return (semi >= 0 ? contentType.slice(0, semi) : contentType).trim().toLowerCase()
}

/** The kind of an exchange: method, path shape, status, framing and media type, and the failure when the upstream broke. */
export function kindOf(o: Observation): string {
  return kindOfParts(o.request.method, o.request.url, o.response, o.transportError?.code)
}

/**
 * kindOf from its parts, for the request path, which has them before any observation is built and
 * redacted. The same kind either way: the query is not read, and a token in the path is blanked
 * as an id before redaction (it is long or has digits) and as `[REDACTED]` after.
 */
export function kindOfParts(method: string, url: string, r: Pick<ObservedResponse, 'status' | 'framing' | 'rawHeaders'> | undefined, failure: string | undefined, contentType?: string): string {
  const q = url.indexOf('?')
  let path = q >= 0 ? url.slice(0, q) : url
  // An absolute URL (a proxy request line may carry one): its path only.
  const scheme = path.indexOf('://')
  if (scheme >= 0) {
    const slash = path.indexOf('/', scheme + 3)
    path = slash >= 0 ? path.slice(slash) : '/'
  }
  const shape = path.replace(ID_SEGMENT, '/{}')
  const cut = failure !== undefined ? ` cut ${failure}` : ''
  const outcome = r ? `${r.status} ${r.framing.kind} ${contentType !== undefined ? mediaTypeOf(contentType) : mediaType(r.rawHeaders)}${cut}` : `failed${cut}`
  return `${method} ${shape} ${outcome}`
}

/** Remembers the kinds taken lately; see the file comment. Takes kinds (kindOf), so the request path computes one once. */
export class NoveltyGate {
  private readonly taken = new RecentMap<string, number>(KINDS)

  constructor(private readonly windowMs = NOVEL_WINDOW_MS) {}

  /** True when no exchange of this kind was taken within the window before `now`. */
  isNew(kind: string, now: number): boolean {
    // A peek: asking does not make a kind recent, taking one does (most exchanges asked about under overload are skipped).
    const last = this.taken.peek(kind)
    return last === undefined || now - last >= this.windowMs
  }

  /** An exchange of this kind was taken: the kind is known from `now` (never from earlier than it already was). */
  took(kind: string, now: number): void {
    const last = this.taken.get(kind)
    if (last === undefined || now > last) this.taken.set(kind, now)
  }
}
