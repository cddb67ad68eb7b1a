/**
 * Top-level keys a JSON Schema pins to a few plain values (`type: { const: text }`), read from the
 * schema once: a body that holds such a key with another value cannot fit the schema, so whether it
 * fits is answered without running the validator. Attribution asks that of every send against
 * fifteen candidate operations, and all but one or two pin `type` to something else.
 *
 * Only what certainly rules a body out is read, so the answer is always the validator's:
 * - `properties.k.const` or `properties.k.enum` of strings, numbers, booleans or null, on the schema
 *   itself or on an `allOf` member;
 * - under `anyOf` or `oneOf` (at least one branch must hold), a key every branch either pins so or
 *   forbids (`not: { required: [k] }` and nothing else in the `not`), allowed the values of all.
 * A schema object with `$ref` beside its keywords gives nothing (draft-07 reads it alone), and
 * anything else (nested keys, patterns, `if`) is left to the validator.
 */

/** A key and the values a body may hold under it; a body without the key is not ruled out by it. */
export type Pin = readonly [key: string, allowed: readonly Plain[]]
type Plain = string | number | boolean | null

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function isPlain(v: unknown): v is Plain {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))
}

/** The values a property schema allows, when it says so by const or enum of plain values; else undefined. */
function allowedBy(property: unknown): Plain[] | undefined {
  if (!isObject(property) || '$ref' in property) return undefined
  if ('const' in property) return isPlain(property.const) ? [property.const] : undefined
  if (Array.isArray(property.enum) && property.enum.every(isPlain)) return property.enum as Plain[]
  return undefined
}

/** What a branch of anyOf or oneOf says of key `k`: the values it allows, 'forbidden' when it needs the key absent, undefined when it says nothing certain. */
function branchOn(branch: unknown, k: string): Plain[] | 'forbidden' | undefined {
  if (!isObject(branch) || '$ref' in branch) return undefined
  const not = branch.not
  if (isObject(not) && Object.keys(not).length === 1 && Array.isArray(not.required) && not.required.includes(k)) return 'forbidden'
  return isObject(branch.properties) && Object.hasOwn(branch.properties, k) ? allowedBy(branch.properties[k]) : undefined
}

/** The pins of a schema (see above), at most a handful. */
export function pinsOf(schema: unknown, depth = 0): Pin[] {
  if (!isObject(schema) || '$ref' in schema || depth > 4) return []
  const pins: Pin[] = []
  if (isObject(schema.properties)) {
    for (const [k, p] of Object.entries(schema.properties)) {
      const allowed = allowedBy(p)
      if (allowed) pins.push([k, allowed])
    }
  }
  if (Array.isArray(schema.allOf)) for (const member of schema.allOf) pins.push(...pinsOf(member, depth + 1))
  for (const branches of [schema.anyOf, schema.oneOf]) {
    if (!Array.isArray(branches) || branches.length === 0) continue
    const keys = new Set(branches.flatMap((b) => (isObject(b) && isObject(b.properties) ? Object.keys(b.properties) : [])))
    for (const k of keys) {
      const allowed: Plain[] = []
      let certain = true
      for (const b of branches) {
        const says = branchOn(b, k)
        if (says === undefined) certain = false
        else if (says !== 'forbidden') allowed.push(...says)
        if (!certain) break
      }
      if (certain) pins.push([k, allowed])
    }
  }
  return pins
}

/** Whether a body holds a pinned key with a value the pin does not allow: then it fits no schema with these pins. */
export function ruledOutByPins(pins: readonly Pin[], body: unknown): boolean {
  if (pins.length === 0 || !isObject(body)) return false
  for (const [k, allowed] of pins) {
    if (!Object.hasOwn(body, k)) continue
    const v = body[k]
    if (!allowed.includes(v as Plain)) return true
  }
  return false
}
