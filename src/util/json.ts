/**
 * Parsing JSON bodies from the wire or from captured traffic, and the one depth limit every walk
 * over a body keeps. Bodies are hostile input: one nested 50,000 levels deep parses, then
 * overflows the stack of every recursive walk that follows (redaction, placeholders, schema
 * inference, ajv, JSON.stringify). Nesting is measured before parsing, without recursion, and a
 * body deeper than any real API answer is left unparsed with the reason, so it becomes a finding
 * ("Body is not JSON: nested deeper than 256 levels") instead of ending the run.
 *
 * Values can also arrive already parsed (a recording read from disk, a HAR read whole), so the
 * walkers do not rely on the parse guard alone: each stops at MAX_WALK_DEPTH (redaction and
 * placeholders replace what lies below with TOO_DEEP, so nothing unredacted gets through), and ajv
 * is only handed values measured by valueDepth first.
 */

/** Deeper than any Graph API answer (they nest a handful of levels) and far below any stack limit. */
export const MAX_JSON_DEPTH = 256

/**
 * Where every recursive walk over JSON-like values stops: a body at MAX_JSON_DEPTH plus the
 * levels of the observation, finding or report around it. Well below the stack limit of every
 * walker (and of V8's JSON.stringify, which overflows near 5,000 levels).
 */
export const MAX_WALK_DEPTH = MAX_JSON_DEPTH + 32

/** What a walker that copies a value puts where the value was nested too deep to walk. */
export const TOO_DEEP = `[nested deeper than ${MAX_JSON_DEPTH} levels: not shown]`

/** The deepest array/object nesting of a parsed value, measured without recursion; stops counting past `limit`. */
export function valueDepth(value: unknown, limit = Infinity): number {
  let max = 0
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [v, d] = stack.pop()!
    if (v === null || typeof v !== 'object') continue
    if (d + 1 > max && (max = d + 1) > limit) return max
    for (const x of Array.isArray(v) ? v : Object.values(v)) if (x !== null && typeof x === 'object') stack.push([x, d + 1])
  }
  return max
}

/** The deepest `[`/`{` nesting in a JSON text, strings skipped; stops counting past `limit`. */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max && (max = depth) > limit) return max
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--
  }
  return max
}

/** The `jsonError` of a body nested deeper than MAX_JSON_DEPTH (checks word that case themselves). */
export const TOO_DEEP_TO_PARSE = `nested deeper than ${MAX_JSON_DEPTH} levels; not parsed (no API answer nests this deep)`

/** Parses a JSON text; `jsonError` says why not (syntax, or nesting beyond MAX_JSON_DEPTH). */
export function parseJsonBody(text: string): { json?: unknown; jsonError?: string } {
  // Nesting deeper than MAX_JSON_DEPTH takes more brackets than that: a shorter text (most bodies) need not be measured.
  if (text.length > MAX_JSON_DEPTH && jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return { jsonError: TOO_DEEP_TO_PARSE }
  try {
    return { json: JSON.parse(text) }
  } catch (err) {
    return { jsonError: (err as Error).message }
  }
}
