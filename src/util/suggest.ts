import { closest, distance } from 'fastest-levenshtein'

/** `; did you mean "--samples"?` when one known name is close enough to be a typo. */
export function suggest(given: string, known: readonly string[], prefix = ''): string {
  if (known.length === 0) return ''
  const best = closest(given, [...known])
  const limit = Math.max(2, Math.floor(given.length / 3))
  const d = distance(given, best)
  const isPrefix = best.startsWith(given) || given.startsWith(best)
  return d <= limit || isPrefix ? `; did you mean "${prefix}${best}"?` : ''
}
