/**
 * What decides which operation a request body is, read from the operations' own request body
 * schemas, so a new operation file is told apart without code. Meta accepts more than it documents
 * (a number where the docs say string, extra or missing payload fields, any key order), so a body
 * is weighed only by the parts of a schema that tell one operation on a method and path from
 * another:
 *
 * - values it pins (`const`, `enum`): `"type": "text"`, `"status": "read"`;
 * - keys it rules out (`not: {required: [...]}`): a mark-as-read has no `typing_indicator`, a
 *   send by id no `image.link`;
 * - keys it requires that decide: a key whose value is pinned, a key another operation on the same
 *   method and path rules out (`typing_indicator`, `image.id`), and the keys that choose between
 *   its alternatives (`anyOf`/`oneOf` branches: `text` with no `type`, which media key).
 *
 * Everything else (JSON types, formats, lengths, closed objects, keys that only carry the payload
 * such as `to` or `message_id`) is what the app sent, compared with the docs afterwards, never
 * what decides. `if`/`then`/`else` decide nothing here.
 */
import type { SchemaViolation } from './types.ts'

/** How a request body stands against what decides one operation. */
export interface BodyEvidence {
  /** Deciding facts the body contradicts: a pinned value it does not have, a key the operation rules out. */
  contradicts: number
  /** Deciding keys the body lacks. */
  lacks: number
  /** Deciding facts the body carries: a pinned value, a deciding key. */
  matches: number
  /** JSON paths of what the body carries that decides (`$.type`, `$.image.id`). */
  decided: string[]
  /** The `anyOf`/`oneOf` branches the body was read against, as ajv writes schema paths (`#/anyOf/2`). */
  branches: string[]
  /** Keys the body has that the operation rules out, as JSON paths. */
  ruledOut: string[]
}

/** A `$ref` resolved to the schema it names, or undefined. */
export type ResolveRef = (ref: string) => unknown

/** Schema nesting followed at most (a `$ref` cycle ends here, not in a stack overflow). */
const MAX_SCHEMA_DEPTH = 64

type Schema = Record<string, unknown>

const isSchema = (s: unknown): s is Schema => typeof s === 'object' && s !== null && !Array.isArray(s)
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k)
const strings = (a: unknown): string[] => (Array.isArray(a) ? a.filter((x): x is string => typeof x === 'string') : [])

/** `$.a` + `b` -> `$.a.b` (`$.a["b c"]` for keys that are not identifiers), as schema violations write paths. */
export function childPath(at: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`
}

/** A property name in a schema path, escaped as ajv escapes it. */
function schemaSegment(key: string): string {
  return encodeURIComponent(key.replace(/~/g, '~0').replace(/\//g, '~1'))
}

/**
 * Whether a body value equals a schema's pinned value. Guided by the pinned value, so a huge or deep
 * body costs no more than the (small) value in the schema.
 */
function equal(v: unknown, pinned: unknown, depth = 0): boolean {
  if (depth > MAX_SCHEMA_DEPTH) return false
  if (pinned === null || typeof pinned !== 'object') return v === pinned
  if (Array.isArray(pinned)) return Array.isArray(v) && v.length === pinned.length && pinned.every((p, i) => equal(v[i], p, depth + 1))
  if (!isPlainObject(v)) return false
  const keys = Object.keys(pinned)
  return Object.keys(v).length === keys.length && keys.every((k) => hasOwn(v, k) && equal(v[k], (pinned as Record<string, unknown>)[k], depth + 1))
}

function deref(s: unknown, resolve: ResolveRef, depth: number): Schema | undefined {
  let cur = s
  for (let i = 0; isSchema(cur) && typeof cur.$ref === 'string' && i < 8 && depth + i < MAX_SCHEMA_DEPTH; i++) {
    const next = resolve(cur.$ref)
    if (!isSchema(next)) return undefined
    cur = next
  }
  return isSchema(cur) ? cur : undefined
}

/** Whether a schema pins its value (`const`, `enum`). */
function pins(s: unknown, resolve: ResolveRef): boolean {
  const r = deref(s, resolve, 0)
  return r !== undefined && ('const' in r || Array.isArray(r.enum))
}

/** The keys a `not` rules out: the required keys of it and its alternatives (not of nested properties). */
function ruledOutKeys(s: unknown, depth = 0): string[] {
  if (!isSchema(s) || depth > MAX_SCHEMA_DEPTH) return []
  return [...strings(s.required), ...(['anyOf', 'oneOf', 'allOf'] as const).flatMap((k) => (Array.isArray(s[k]) ? (s[k] as unknown[]).flatMap((b) => ruledOutKeys(b, depth + 1)) : []))]
}

/** JSON paths of the keys a schema rules out anywhere (`$.typing_indicator`, `$.image.link`). */
export function ruledOutPaths(schema: unknown, resolve: ResolveRef): string[] {
  const out: string[] = []
  const walk = (s: unknown, at: string, depth: number): void => {
    const r = depth < MAX_SCHEMA_DEPTH ? deref(s, resolve, depth) : undefined
    if (!r) return
    if (r.not !== undefined) for (const k of ruledOutKeys(r.not)) out.push(childPath(at, k))
    if (isSchema(r.properties)) for (const [k, p] of Object.entries(r.properties)) walk(p, childPath(at, k), depth + 1)
    for (const c of ['anyOf', 'oneOf', 'allOf'] as const) if (Array.isArray(r[c])) for (const b of r[c] as unknown[]) walk(b, at, depth + 1)
  }
  walk(schema, '$', 0)
  return [...new Set(out)]
}

const none = (): BodyEvidence => ({ contradicts: 0, lacks: 0, matches: 0, decided: [], branches: [], ruledOut: [] })

function add(a: BodyEvidence, b: BodyEvidence): BodyEvidence {
  a.contradicts += b.contradicts
  a.lacks += b.lacks
  a.matches += b.matches
  a.decided.push(...b.decided)
  a.branches.push(...b.branches)
  a.ruledOut.push(...b.ruledOut)
  return a
}

/** Whether every deciding fact holds. */
export function decides(e: BodyEvidence): boolean {
  return e.contradicts === 0 && e.lacks === 0
}

/** What the body carries of what decides, less what it contradicts or lacks. */
const weight = (e: BodyEvidence) => e.matches - e.contradicts - e.lacks

/**
 * Orders evidence best first: every deciding fact holding, then the most carried less contradicted
 * or lacking (an image with both `id` and `link` is nearer a media send than a mark-as-read it merely
 * does not contradict), then the fewest contradictions.
 */
export function compareEvidence(a: BodyEvidence, b: BodyEvidence): number {
  return Number(decides(b)) - Number(decides(a)) || weight(b) - weight(a) || a.contradicts - b.contradicts
}

interface Walk {
  /** Keys some operation on the same method and path rules out: requiring one decides. */
  ruledOut: ReadonlySet<string>
  resolve: ResolveRef
}

/**
 * Weighs a value against a schema's deciding parts. `at` is the value's JSON path, `sp` the schema
 * path ajv would name ('' inside a `$ref`, where branches are not tracked), `branch` whether the
 * schema is an alternative of an `anyOf`/`oneOf`, `strict` whether every required key counts (inside
 * a `not`, where a key that merely carries payload is still what is ruled out).
 */
function weighNode(s: unknown, v: unknown, at: string, sp: string, w: Walk, branch: boolean, strict: boolean, depth: number): BodyEvidence {
  const r = none()
  if (s === false) return { ...r, contradicts: 1 }
  if (!isSchema(s) || depth > MAX_SCHEMA_DEPTH) return r
  if (typeof s.$ref === 'string') {
    const target = deref(s, w.resolve, depth)
    if (target) add(r, weighNode(target, v, at, '', w, branch, strict, depth + 1))
  }
  if ('const' in s) {
    if (equal(v, s.const)) {
      r.matches++
      r.decided.push(at)
    } else r.contradicts++
  }
  if (Array.isArray(s.enum)) {
    if (s.enum.some((x) => equal(v, x))) {
      r.matches++
      r.decided.push(at)
    } else r.contradicts++
  }
  if (isPlainObject(v)) {
    const props = isSchema(s.properties) ? s.properties : {}
    for (const k of strings(s.required)) {
      const path = childPath(at, k)
      const pinned = pins(props[k], w.resolve)
      if (!(strict || branch || pinned || w.ruledOut.has(path))) continue
      if (!hasOwn(v, k)) r.lacks++
      else if (!pinned) {
        // A pinned key counts by its value (below): present with another value, it decided nothing.
        r.matches++
        r.decided.push(path)
      }
    }
    for (const [k, p] of Object.entries(props)) {
      if (hasOwn(v, k)) add(r, weighNode(p, v[k], childPath(at, k), sp && `${sp}/properties/${schemaSegment(k)}`, w, false, strict, depth + 1))
    }
  }
  if (s.not !== undefined) {
    const inner = weighNode(s.not, v, at, sp && `${sp}/not`, w, false, true, depth + 1)
    if (decides(inner)) {
      r.contradicts++
      r.ruledOut.push(...ruledOutKeys(s.not).filter((k) => isPlainObject(v) && hasOwn(v, k)).map((k) => childPath(at, k)))
    }
  }
  if (Array.isArray(s.allOf)) s.allOf.forEach((b, i) => add(r, weighNode(b, v, at, sp && `${sp}/allOf/${i}`, w, branch, strict, depth + 1)))
  for (const c of ['anyOf', 'oneOf'] as const) {
    const alternatives = s[c]
    if (!Array.isArray(alternatives) || alternatives.length === 0) continue
    let best: { e: BodyEvidence; path: string } | undefined
    alternatives.forEach((b, i) => {
      const path = sp && `${sp}/${c}/${i}`
      const e = weighNode(b, v, at, path, w, true, strict, depth + 1)
      if (!best || compareEvidence(e, best.e) < 0) best = { e, path }
    })
    add(r, best!.e)
    if (best!.path) r.branches.push(best!.path)
  }
  return r
}

/** Weighs a request body against what decides an operation, given the keys operations on its method and path rule out. */
export function weighBody(schema: unknown, body: unknown, ruledOut: ReadonlySet<string>, resolve: ResolveRef): BodyEvidence {
  return weighNode(schema, body, '$', '#', { ruledOut, resolve }, false, false, 0)
}

/**
 * The violations of a body against its operation's documented schema that are about the body, not
 * about alternatives it never meant: ajv lists every failing branch of an `anyOf`, and only the branch
 * the body was read against (the image branch of a media send) says what is wrong with it. A key the
 * operation rules out is said by `ruledOut` (ajv's `not` names no key).
 */
export function meantViolations(violations: readonly SchemaViolation[], evidence: BodyEvidence): SchemaViolation[] {
  const chosen = new Set(evidence.branches)
  const combinators = new Set(evidence.branches.map((b) => b.replace(/\/\d+$/, '')))
  const inMeantBranch = (schemaPath: string | undefined) => {
    if (!schemaPath) return true
    for (const m of schemaPath.matchAll(/\/(?:anyOf|oneOf)\/\d+/g)) {
      const branch = schemaPath.slice(0, m.index + m[0].length)
      if (combinators.has(branch.replace(/\/\d+$/, '')) && !chosen.has(branch)) return false
    }
    return true
  }
  const kept = violations.filter((v) => !['anyOf', 'oneOf', 'not'].includes(v.keyword) && inMeantBranch(v.schemaPath))
  const ruled = [...new Set(evidence.ruledOut)].map((path): SchemaViolation => ({ path, keyword: 'not', message: 'is present; the docs rule it out for this operation' }))
  return [...kept, ...ruled]
}
