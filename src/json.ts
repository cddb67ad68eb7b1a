/**
 * Parsing JSON bodies from the wire or from captured traffic. Bodies are hostile input: one nested
 * 50,000 levels deep parses, then overflows the stack of every recursive walk that follows
 * (redaction, schema inference, validation). Nesting is measured before parsing, without
 * recursion, and a body deeper than any real API answer is left unparsed with the reason, so it
 * becomes a finding ("Body is not JSON: nested deeper than 256 levels") instead of ending the run.
 */

/** Deeper than any Graph API answer (they nest a handful of levels) and far below any stack limit. */
export const MAX_JSON_DEPTH = 256

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

/** Parses a JSON text; `jsonError` says why not (syntax, or nesting beyond MAX_JSON_DEPTH). */
export function parseJsonBody(text: string): { json?: unknown; jsonError?: string } {
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return { jsonError: `nested deeper than ${MAX_JSON_DEPTH} levels; not parsed (no API answer nests this deep)` }
  try {
    return { json: JSON.parse(text) }
  } catch (err) {
    return { jsonError: (err as Error).message }
  }
}
