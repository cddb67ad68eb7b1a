/**
 * URLs of captured traffic parsed once: the pipeline reads each exchange's URL in several places
 * (attribution, what it teaches, sample identity, parameter-rejection's request parts), and real
 * traffic asks the same URLs over and over. Parsing each anew was a tenth of judging.
 */

/** URLs parsed lately (null: does not parse); cleared when full, so memory stays bounded. */
const parsed = new Map<string, URL | null>()
const KEPT = 4096
/** Longer URLs (a data: URL can be a megabyte) are parsed each time, never kept. */
const KEPT_CHARS = 2048

/** The URL parsed, or undefined when it does not parse. Shared: readers never change it. */
export function parsedUrl(url: string): URL | undefined {
  if (url.length > KEPT_CHARS) return parse(url) ?? undefined
  let u = parsed.get(url)
  if (u === undefined) {
    u = parse(url)
    if (parsed.size >= KEPT) parsed.clear()
    parsed.set(url, u)
  }
  return u ?? undefined
}

function parse(url: string): URL | null {
  try {
    return new URL(url)
  } catch {
    return null
  }
}
