/**
 * Link targets built from report values. A report's URLs (the CI run) and paths (a contract file)
 * are untrusted like every other string in it: a crafted report.json could say `javascript:` or
 * close a Markdown link early. Only http(s) URLs pass, and every character that means something in
 * an HTML attribute or a Markdown link destination is percent-encoded, so the result is inert in
 * both media; a path becomes a relative URL whose segments are encoded one by one (`a:b` cannot
 * become a scheme).
 */
import type { Untrusted } from './untrusted.ts'

// Characters a URL may carry that end or open something in a Markdown destination or an HTML attribute.
const RISKY = /[()<>[\]`|\\"' {}^]/g
const encodeRisky = (s: string) => s.replace(RISKY, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)

/** An absolute http(s) URL, normalised and with risky characters encoded; undefined for anything else (javascript:, data:, credentials, garbage). */
export function httpUrl(u: Untrusted): Untrusted | undefined {
  let url: URL
  try {
    url = new URL(u)
  } catch {
    return undefined
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) return undefined
  return encodeRisky(url.href) as Untrusted
}

/**
 * A file path placed under a base: an http(s) URL (a repository's blob URL) or a relative prefix
 * (`../..`, from the report's folder to the working directory). Each segment is percent-encoded.
 * Undefined for an absolute path, or one that leaves the base when the base is a URL (a file outside
 * the repository has no blob URL).
 */
export function fileUrl(base: Untrusted, file: Untrusted): Untrusted | undefined {
  if (file.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(file) || file.includes('\\')) return undefined
  const segments = file.split('/').filter((s) => s !== '' && s !== '.')
  if (segments.length === 0) return undefined
  const remote = /^https?:\/\//i.test(base)
  if (remote && segments.includes('..')) return undefined
  const path = segments.map((s) => (s === '..' ? s : encodeURIComponent(s))).join('/')
  if (remote) {
    const root = httpUrl(base)
    return root ? (`${root.replace(/\/+$/, '')}/${path}` as Untrusted) : undefined
  }
  const prefix = base.split('/').filter((s) => s !== '' && s !== '.')
  // A relative prefix is `..` segments or plain names only (the writer makes it with path.relative).
  if (prefix.some((s) => s !== '..' && !/^[\w.-]+$/.test(s))) return undefined
  return [...prefix, path].join('/') as Untrusted
}
