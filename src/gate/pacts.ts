/**
 * Reads Pact files (V4, and V3 where the shapes agree) into the interactions the gate judges. Only
 * HTTP interactions; message interactions are listed as skipped by the caller.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { HarnessError } from '../util/errors.ts'
import { shownPath } from '../util/paths.ts'

/** A request as the pact describes it (its example values). */
export interface PactRequest {
  method: string
  path: string
  query: Record<string, string[]>
  /** Lowercase names. */
  headers: Record<string, string>
  body?: { contentType?: string; text?: string; json?: unknown }
}

/** One HTTP interaction of a pact file. */
export interface PactInteraction {
  /** Pact file, relative to cwd. */
  file: string
  consumer: string
  provider: string
  description: string
  states: string[]
  request: PactRequest
  response: { status: number; json?: unknown }
}

/** The HTTP interactions of every pact file in a directory (or one file). */
export function loadPacts(path: string, cwd: string = process.cwd()): { files: string[]; interactions: PactInteraction[] } {
  if (!existsSync(path)) throw new HarnessError('DW_PACT_INVALID', `no pacts at ${shownPath(cwd, path)}: run the consumer tests first (they write pact files), or pass --pacts <dir>`)
  const files = statSync(path).isDirectory() ? readdirSync(path).filter((f) => f.endsWith('.json')).sort().map((f) => join(path, f)) : [path]
  if (files.length === 0) throw new HarnessError('DW_PACT_INVALID', `no pact files (*.json) in ${shownPath(cwd, path)}: run the consumer tests first, or pass --pacts <dir>`)
  const interactions: PactInteraction[] = []
  for (const abs of files) {
    const file = shownPath(cwd, abs)
    let doc: Record<string, unknown>
    try {
      doc = JSON.parse(readFileSync(abs, 'utf8')) as Record<string, unknown>
    } catch (err) {
      throw new HarnessError('DW_PACT_INVALID', `pact ${file} is not valid JSON: ${(err as Error).message}`, { file })
    }
    const name = (x: unknown) => (x && typeof x === 'object' && typeof (x as { name?: unknown }).name === 'string' ? (x as { name: string }).name : '?')
    const list = doc.interactions
    if (!Array.isArray(list)) throw new HarnessError('DW_PACT_INVALID', `pact ${file} has no "interactions" list; is it a pact file?`, { file })
    for (const [i, raw] of list.entries()) {
      const it = raw as Record<string, unknown>
      if (it.type !== undefined && it.type !== 'Synchronous/HTTP') continue
      const req = it.request as Record<string, unknown> | undefined
      const res = it.response as Record<string, unknown> | undefined
      if (!req || typeof req.method !== 'string' || typeof req.path !== 'string' || !res || typeof res.status !== 'number') {
        throw new HarnessError('DW_PACT_INVALID', `pact ${file}, interaction ${i} ("${String(it.description)}"): request.method, request.path and response.status are required`, { file })
      }
      interactions.push({
        file,
        consumer: name(doc.consumer),
        provider: name(doc.provider),
        description: String(it.description ?? `interaction ${i}`),
        states: ((it.providerStates ?? (it.providerState ? [{ name: it.providerState }] : [])) as { name: string }[]).map((s) => s.name),
        request: {
          method: req.method.toUpperCase(),
          path: req.path,
          query: normaliseQuery(req.query),
          headers: Object.fromEntries(Object.entries((req.headers ?? {}) as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : String(v)])),
          ...bodyOf(req),
        },
        response: { status: res.status, ...jsonOf(res) },
      })
    }
  }
  return { files: files.map((f) => shownPath(cwd, f)), interactions }
}

function normaliseQuery(q: unknown): Record<string, string[]> {
  if (!q) return {}
  if (typeof q === 'string') {
    const out: Record<string, string[]> = {}
    for (const [k, v] of new URLSearchParams(q)) (out[k] ??= []).push(v)
    return out
  }
  return Object.fromEntries(Object.entries(q as Record<string, unknown>).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : [String(v)]]))
}

/** V4 bodies are `{content, contentType, encoded}`; V3 bodies are the JSON itself. */
function bodyOf(part: Record<string, unknown>): { body?: PactRequest['body'] } {
  const b = part.body
  if (b === undefined || b === null) return {}
  if (typeof b === 'object' && 'content' in (b as object)) {
    const v4 = b as { content: unknown; contentType?: string; encoded?: unknown }
    const contentType = v4.contentType
    if (typeof v4.content === 'string') {
      const text = v4.encoded === 'base64' ? Buffer.from(v4.content, 'base64').toString('latin1') : v4.content
      return { body: { ...(contentType ? { contentType } : {}), text, ...(contentType?.includes('json') ? safeJson(text) : {}) } }
    }
    return { body: { ...(contentType ? { contentType } : {}), json: v4.content } }
  }
  return { body: { json: b } }
}

function jsonOf(part: Record<string, unknown>): { json?: unknown } {
  const b = bodyOf(part).body
  return b?.json !== undefined ? { json: b.json } : {}
}

function safeJson(text: string): { json?: unknown } {
  try {
    return { json: JSON.parse(text) }
  } catch {
    return {}
  }
}
