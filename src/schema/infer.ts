/**
 * A JSON Schema of what was observed: the types each field had and which fields were always
 * present. Deliberately tight (no field that was not seen, no type that
 * was not seen) so that a diff against another inferred schema shows exactly what changed.
 *
 * Our own ~80 lines rather than a library: generic inferrers (genson-js, to-json-schema) guess
 * formats and merge differently between versions, and a guess that changes would itself show up
 * as drift. This one only records facts, deterministically (keys and types sorted).
 */

/** JSON types as JSON Schema names them; `integer` for whole numbers. */
export type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object'

/** The inferred schema: a JSON Schema (draft-07 subset json-schema-diff understands). */
export interface InferredSchema {
  type: JsonType | JsonType[]
  properties?: Record<string, InferredSchema>
  required?: string[]
  additionalProperties?: false
  items?: InferredSchema
}

import { MAX_WALK_DEPTH } from '../util/json.ts'

const TYPE_ORDER: JsonType[] = ['null', 'boolean', 'integer', 'number', 'string', 'array', 'object']

/** The JSON type of a value. */
export function jsonTypeOf(v: unknown): JsonType {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  if (typeof v === 'boolean') return 'boolean'
  if (typeof v === 'string') return 'string'
  return 'object'
}

/**
 * Infers one schema that every value satisfies, and no type or field that was not observed.
 * Below MAX_WALK_DEPTH only types are recorded (no items or properties): deeper is not a shape
 * anyone compares, and the walk would overflow the stack.
 */
export function inferSchema(values: readonly unknown[], depth = 0): InferredSchema {
  if (values.length === 1) return inferOne(values[0], depth)
  const types = new Set(values.map(jsonTypeOf))
  if (types.has('number')) types.delete('integer') // number covers the whole numbers seen alongside
  const sorted = TYPE_ORDER.filter((t) => types.has(t))
  const out: InferredSchema = { type: sorted.length === 1 ? sorted[0]! : sorted }
  if (depth >= MAX_WALK_DEPTH) return out

  // Values, lengths and ranges are not recorded: a media's size or a page's length changes on
  // every call. Types, presence and structure are what a consumer's code depends on.
  const elements = values.filter(Array.isArray).flat()
  if (elements.length > 0) out.items = inferSchema(elements, depth + 1)
  const objects = values.filter((v): v is Record<string, unknown> => jsonTypeOf(v) === 'object')
  if (objects.length > 0) {
    const keys = [...new Set(objects.flatMap((o) => Object.keys(o)))].sort()
    out.properties = {}
    for (const k of keys) out.properties[k] = inferSchema(objects.filter((o) => k in o).map((o) => o[k]), depth + 1)
    out.required = keys.filter((k) => objects.every((o) => k in o))
    out.additionalProperties = false
  }
  return out
}

/**
 * inferSchema of one value, the same schema key for key (traffic infers each body alone, and the
 * general walk's sets and filters were most of a verify run's judging): its type, and for an
 * object every key present and required, sorted.
 */
function inferOne(v: unknown, depth: number): InferredSchema {
  const out: InferredSchema = { type: jsonTypeOf(v) }
  if (depth >= MAX_WALK_DEPTH) return out
  if (Array.isArray(v)) {
    if (v.length > 0) out.items = inferSchema(v, depth + 1)
    return out
  }
  if (out.type !== 'object') return out
  const o = v as Record<string, unknown>
  const keys = Object.keys(o).sort()
  out.properties = {}
  for (const k of keys) out.properties[k] = inferOne(o[k], depth + 1)
  out.required = keys
  out.additionalProperties = false
  return out
}

/** The types of a schema node as a list. */
export function typesOf(s: InferredSchema): JsonType[] {
  return Array.isArray(s.type) ? s.type : [s.type]
}

/** `integer`, `string or null`: a node's types in words. */
export function describeTypes(s: InferredSchema): string {
  return typesOf(s).join(' or ')
}

/** `$.contacts[*].wa_id` for a path of keys (`*` for array items). */
export function jsonPathOf(keys: readonly string[]): string {
  return `$${keys.map((k) => (k === '*' ? '[*]' : /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)).join('')}`
}
