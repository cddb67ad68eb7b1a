/**
 * Graph URL paths: `/v23.0/{id}/edge`. The version prefix is optional on the wire: a path without
 * it is served by the app's default version (FACTS.md "How real traffic looks").
 */

const VERSION = /^v\d+\.\d+$/

/** The Graph API version a URL names (`/v23.0/...`), or undefined. */
export function apiVersionIn(url: string): string | undefined {
  return /\/(v\d+\.\d+)(?=\/|$|\?)/.exec(url)?.[1]
}

/** Whether a path segment is a Graph version, `v23.0`. */
export function isVersionSegment(s: string): boolean {
  return VERSION.test(s)
}

/** Decodes one path segment; a broken percent-escape (`%E0%A4%A`) is kept as written, not thrown. */
export function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** Path segments, decoded, without empty ones from leading or trailing slashes. */
export function pathSegments(path: string): string[] {
  return path.split('?')[0]!.split('/').filter((s) => s !== '').map(decodeSegment)
}
