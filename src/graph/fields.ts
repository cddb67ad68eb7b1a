/**
 * Graph's field expansion (`fields=`): which fields a response carries when the request names
 * them. `fields=id,display_phone_number` asks for two fields; `phone_numbers.limit(5){id}` asks for
 * an edge with a modifier and a nested selection; `analytics.start(1700000000).end(1700086400)
 * .granularity(DAY)` passes arguments. Without `fields=`, Graph returns the node's default set.
 * What was not asked for is absent, and that is not drift.
 */

/** One requested field: its nested selection (empty when none) and its modifiers, e.g. `limit(5)`. */
export interface FieldSelection {
  name: string
  modifiers: string[]
  fields: FieldSelection[]
}

/** Deeper nesting than this is not a field list a client writes; it is refused, not recursed into. */
const MAX_DEPTH = 32

/** Parses a `fields=` value; undefined when it is not valid field-expansion syntax. */
export function parseFields(text: string): FieldSelection[] | undefined {
  let i = 0
  const peek = () => text[i]
  const name = (): string | undefined => {
    const m = /^[A-Za-z0-9_]+/.exec(text.slice(i))
    if (!m) return undefined
    i += m[0].length
    return m[0]
  }
  // Arguments may hold commas, brackets and quoted JSON: skip to the matching parenthesis.
  const args = (): string | undefined => {
    const start = i
    let depth = 0
    let quote: string | undefined
    for (; i < text.length; i++) {
      const c = text[i]!
      if (quote) {
        if (c === '\\') i++
        else if (c === quote) quote = undefined
      } else if (c === '"' || c === "'") quote = c
      else if (c === '(' || c === '[' || c === '{') depth++
      else if (c === ')' || c === ']' || c === '}') {
        if (--depth === 0 && c === ')') return text.slice(start, ++i)
        if (depth < 0) return undefined
      }
    }
    return undefined
  }
  const list = (depth: number): FieldSelection[] | undefined => {
    if (depth > MAX_DEPTH) return undefined
    const out: FieldSelection[] = []
    for (;;) {
      while (peek() === ' ') i++
      const n = name()
      if (n === undefined) return undefined
      const f: FieldSelection = { name: n, modifiers: [], fields: [] }
      // Modifiers and one nested selection, in either order: `edge.limit(5){id}` or `edge{id}.limit(5)`.
      for (;;) {
        if (peek() === '.') {
          i++
          const m = name()
          if (m === undefined || peek() !== '(') return undefined
          const a = args()
          if (a === undefined) return undefined
          f.modifiers.push(`${m}${a}`)
        } else if (peek() === '{') {
          if (f.fields.length) return undefined
          i++
          const inner = list(depth + 1)
          if (inner === undefined || peek() !== '}') return undefined
          i++
          f.fields = inner
        } else break
      }
      out.push(f)
      while (peek() === ' ') i++
      if (peek() !== ',') return out
      i++
    }
  }
  const fields = list(0)
  return fields !== undefined && i === text.length && fields.length > 0 ? fields : undefined
}

/** `id,display_phone_number`: a selection written back, without modifiers (what a report shows). */
export function describeFields(fields: readonly FieldSelection[]): string {
  return fields.map((f) => `${f.name}${f.fields.length ? `{${describeFields(f.fields)}}` : ''}`).join(',')
}

type Schema = Record<string, unknown>

const isObject = (v: unknown): v is Schema => !!v && typeof v === 'object' && !Array.isArray(v)

/**
 * The response schema for a field selection: only the fields asked for (plus `id`, which Graph
 * always adds to a node), each required only if the full schema requires it, nested selections
 * projected into the field's own schema (an object's properties, an array's or an edge's
 * `data[*]` items). Fields the schema does not know are allowed with any shape: the contract
 * cannot say what they are, and guessing would be a false alarm.
 */
export function projectSchema(schema: unknown, fields: readonly FieldSelection[]): unknown {
  if (!isObject(schema)) return schema
  if (schema.type === 'array' || (schema.items !== undefined && schema.properties === undefined)) {
    return { ...schema, items: projectSchema(schema.items, fields) }
  }
  const props = isObject(schema.properties) ? schema.properties : undefined
  if (!props) return schema
  // An edge (`{data: [...], paging}`) projects its items, not itself.
  if (isObject(props.data) && !fields.some((f) => f.name === 'data')) {
    return { ...schema, properties: { ...props, data: projectSchema(props.data, fields) } }
  }
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : []
  const out: Schema = {}
  const keep: string[] = []
  for (const f of fields) {
    const sub = props[f.name]
    out[f.name] = sub === undefined ? {} : f.fields.length ? projectSchema(sub, f.fields) : sub
    if (required.includes(f.name)) keep.push(f.name)
  }
  if (props.id !== undefined && out.id === undefined) out.id = props.id
  const { required: _r, properties: _p, ...rest } = schema
  return { ...rest, properties: out, ...(keep.length ? { required: keep } : {}) }
}

/** Top-level names a schema knows: its properties, or an edge's item properties. */
export function knownFields(schema: unknown): string[] {
  if (!isObject(schema) || !isObject(schema.properties)) return []
  const props = schema.properties
  if (isObject(props.data) && isObject(props.data.items)) return knownFields(props.data.items)
  return Object.keys(props)
}
