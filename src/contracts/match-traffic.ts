/**
 * Which contract describes an exchange seen in traffic (verify's HAR entries, the proxy's live
 * requests). Built on `candidates` (method, path template, query, auth), with what only traffic
 * offers: ids seen earlier and the actual response.
 */
import type { Observation } from '../observation.ts'
import { latestRecording, type Recording } from '../recordings/store.ts'
import { candidates, type PathOf, type RequestShape } from './match.ts'
import { deepFill } from './template.ts'
import type { Contract, ContractPack, MediaExpectation } from './types.ts'

/** Numeric ids in a recorded URL's path become a template variable, so other ids fit it too. */
function templateOfRecordedPath(url: string): string {
  return new URL(url).pathname.replace(/\/v\d+\.\d+(?=\/|$)/, '/{api_version}').replace(/\/\d{6,}(?=\/|$)/g, '/{id}')
}

/** Path templates: a contract's `path`, or for URL contracts (media download, next page) the path of its latest recording. */
export function pathFromRecordings(recorded: Map<string, Recording[]>): PathOf {
  return (c) => {
    if (c.request.path) return c.request.path
    const u = latestRecording(recorded, c.id)?.observations[0]?.request.url
    return u ? templateOfRecordedPath(u) : undefined
  }
}

/**
 * The contract an observed exchange exercises, or undefined. Method and path template first
 * (candidates), then ids the traffic or the configuration already named, then, for successes,
 * whether the body fits the contract's schema. A contract that sends the exchange's own method
 * wins over one that merely knows it.
 */
export function matchObservation(pack: ContractPack, o: Observation, vars: Readonly<Record<string, string | undefined>>, pathOf: PathOf): Contract | undefined {
  let url: URL
  try {
    url = new URL(o.request.url)
  } catch {
    return undefined
  }
  const query: Record<string, string[]> = {}
  for (const [k, v] of url.searchParams) (query[k] ??= []).push(v)
  const shape: RequestShape = {
    method: o.request.method,
    path: url.pathname,
    query,
    headers: Object.fromEntries(o.request.headers.map(([n, v]) => [n.toLowerCase(), v])),
  }
  const ranked = candidates(pack, shape, pathOf).map((cand) => {
    let score = cand.score
    const template = pathOf(cand.contract)!
    // Ids the traffic (or the configuration) already named: the phone number id, a media id uploaded earlier.
    const tsegs = template.split('?')[0]!.split('/')
    const psegs = url.pathname.split('/')
    tsegs.forEach((t, i) => {
      const m = /^\{([a-z][a-z0-9_]*)\}$/.exec(t)
      if (m && m[1] !== 'api_version' && vars[m[1]!] !== undefined) score += vars[m[1]!] === psegs[i] ? 3 : -1
    })
    // A success whose body fits the contract's schema says which endpoint it was; an error says nothing.
    const r = o.response
    if (r && r.status < 300 && cand.contract.expect.bodySchema && r.body.json !== undefined && cand.contract.expect.status.includes(r.status)) {
      const schema = cand.contract.expect.bodySchema
      if (pack.validateBody(schema, r.body.json).length === 0) score += 3
      // Drifted bodies fit no schema exactly; the fields they share with one still say which endpoint it was.
      const known = pack.schemaProperties(schema)
      if (known && r.body.json && typeof r.body.json === 'object' && !Array.isArray(r.body.json)) {
        const keys = Object.keys(r.body.json)
        const overlap = keys.filter((k) => known.includes(k)).length
        score += (overlap - (keys.length - overlap)) / Math.max(1, keys.length)
      }
    }
    return { contract: cand.contract, score }
  })
  ranked.sort((a, b) => b.score - a.score)
  // A contract that sends this very method describes the entry best (a POST to a media id is the
  // method probe's business, not the retrieve's); otherwise one that knows the method on this path.
  return (ranked.find((x) => x.contract.request.method === o.request.method) ?? ranked[0])?.contract
}


/** The Graph API version a URL names (`/v23.0/...`), or undefined. */
export function apiVersionIn(url: string): string | undefined {
  return /\/(v\d+\.\d+)(?=\/|$|\?)/.exec(url)?.[1]
}

/**
 * Media expectations filled from what the traffic said so far (the retrieve before a download);
 * undefined while it has not named them yet.
 */
export function mediaFromTraffic(template: MediaExpectation, vars: Readonly<Record<string, string | undefined>>): MediaExpectation | undefined {
  try {
    return deepFill(template, vars) as MediaExpectation
  } catch {
    return undefined
  }
}
