/**
 * Which contract describes a concrete request. Graph object paths all look alike (`/v23.0/{id}`),
 * so the path template narrows the field and the rest ranks it: the method, the query keys, auth,
 * and, when known, the expected response (its status and whether its body fits the contract's
 * schema). Used by `gate` for pact interactions and by its replay server.
 */
import type { Contract, ContractPack } from './types.ts'

/** The parts of a request matching looks at. */
export interface RequestShape {
  method: string
  path: string
  query: Record<string, readonly string[]>
  /** Lowercase header names. */
  headers: Record<string, string>
}

/** What the consumer expects back, when known. */
export interface ExpectedResponse {
  status: number
  json?: unknown
}

/** A ranked candidate, with the reasons for its score (shown when a match is doubtful). */
export interface Candidate {
  contract: Contract
  score: number
  reasons: string[]
}

/** Path template of a contract: its `path`, or for URL contracts the path of a recorded URL. */
export type PathOf = (c: Contract) => string | undefined

function segments(path: string): string[] {
  return path.replace(/\/+$/, '').split('/').slice(1)
}

/** True when a concrete path fits a template; returns how many segments matched literally (specificity). */
export function pathFit(template: string, path: string): number | undefined {
  const t = segments(template.split('?')[0]!)
  const p = segments(path.split('?')[0]!)
  if (t.length !== p.length) return undefined
  let literal = 0
  for (let i = 0; i < t.length; i++) {
    const seg = t[i]!
    const got = decodeURIComponent(p[i]!)
    if (seg === '{api_version}') {
      if (!/^v\d+\.\d+$/.test(got)) return undefined
    } else if (/^\{[a-z][a-z0-9_]*\}$/.test(seg)) {
      if (got === '') return undefined
    } else if (seg !== got) return undefined
    else literal++
  }
  return literal
}

/** Ranks the contracts that could describe `req`, best first; empty when no path template fits. */
export function candidates(pack: ContractPack, req: RequestShape, pathOf: PathOf, expected?: ExpectedResponse): Candidate[] {
  const out: Candidate[] = []
  for (const c of pack.contracts) {
    const template = pathOf(c)
    if (template === undefined) continue
    const literal = pathFit(template, req.path)
    if (literal === undefined) continue
    const reasons: string[] = []
    let score = literal
    const m = c.expect.methods
    if (c.request.method === req.method) {
      score += 4
      reasons.push(`sends ${req.method}`)
    } else if (m && (m.accepts.includes(req.method as never) || m.rejects.includes(req.method as never))) {
      score += 2
      reasons.push(`knows ${req.method} on this endpoint`)
    } else continue
    for (const k of Object.keys(c.request.query)) {
      if (k in req.query) score += 2
      else score -= 5
    }
    for (const k of Object.keys(req.query)) if (!(k in c.request.query)) score -= 1
    const bearer = /^bearer\s/i.test(req.headers.authorization ?? '')
    if (c.request.auth === 'invalid' && bearer) score -= 2
    if (expected) {
      if (c.expect.status.includes(expected.status)) {
        score += 3
        reasons.push(`expects ${expected.status}`)
      }
      if (c.expect.bodySchema && expected.json !== undefined) {
        if (pack.validateBody(c.expect.bodySchema, expected.json).length === 0) {
          score += 3
          reasons.push(`the expected body fits ${c.expect.bodySchema}`)
        }
        // Partial evidence counts too: a consumer rarely pins every field, but the fields it names say what it is reading.
        const known = pack.schemaProperties(c.expect.bodySchema)
        if (known && expected.json && typeof expected.json === 'object' && !Array.isArray(expected.json)) {
          const keys = Object.keys(expected.json)
          const overlap = keys.filter((k) => known.includes(k)).length
          score += overlap - (keys.length - overlap)
          if (overlap) reasons.push(`${overlap} of ${keys.length} expected fields are in ${c.expect.bodySchema}`)
        }
      }
    }
    out.push({ contract: c, score, reasons })
  }
  return out.sort((a, b) => b.score - a.score)
}
