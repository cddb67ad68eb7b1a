/**
 * A ready-to-run reproduction of an observed request: a curl command line an on-call engineer can
 * paste. The token is always `$WHATSAPP_ACCESS_TOKEN` (never its value, which was redacted long
 * before this point); a body we only have an excerpt of is said, not invented.
 */
import type { ObservedRequest } from './observation.ts'
import { REDACTED } from './transport/redact.ts'

/** Quotes for a POSIX shell: single quotes, with ' as '\''. */
function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** Headers curl sets itself, or that a transport added and a person need not. */
const SKIP = new Set(['host', 'content-length', 'connection', 'user-agent', 'accept-encoding', 'transfer-encoding'])

/** `curl -sS -i -X POST ... 'url'`, with the token as $WHATSAPP_ACCESS_TOKEN. */
export function curlFor(req: Pick<ObservedRequest, 'method' | 'url' | 'headers' | 'bodyExcerpt' | 'bodySize' | 'tokenSent'>): string {
  const parts = ['curl -sS -i']
  if (req.method !== 'GET') parts.push(`-X ${req.method}`)
  let auth = false
  for (const [name, value] of req.headers) {
    const lower = name.toLowerCase()
    if (SKIP.has(lower)) continue
    if (lower === 'authorization') {
      auth = true
      parts.push(`-H "Authorization: Bearer $WHATSAPP_ACCESS_TOKEN"`)
      continue
    }
    if (lower === 'content-type' && value.startsWith('multipart/')) continue
    parts.push(`-H ${sh(`${name}: ${value}`)}`)
  }
  if (!auth && req.tokenSent) parts.push(`-H "Authorization: Bearer $WHATSAPP_ACCESS_TOKEN"`)
  const body = req.bodyExcerpt
  let note: string | undefined
  if (body !== undefined && req.bodySize > 0) {
    if (body.startsWith('multipart/form-data: ')) note = `# body was ${body}: pass each part with -F name=value (files as -F file=@path)`
    else if (body.endsWith('…') || body.includes(REDACTED)) note = `# body (${req.bodySize} bytes) was only kept as an excerpt: ${body.replace(/\n/g, ' ')}`
    else parts.push(`--data-raw ${sh(body)}`)
  }
  // A token in the query (access_token=...) was redacted: put the variable back.
  const url = req.url.split(encodeURIComponent(REDACTED)).join('$WHATSAPP_ACCESS_TOKEN').split(REDACTED).join('$WHATSAPP_ACCESS_TOKEN')
  parts.push(url.includes('$WHATSAPP_ACCESS_TOKEN') ? `"${url.replace(/(["\\`])/g, '\\$1')}"` : sh(url))
  return note ? `${note}\n${parts.join(' ')}` : parts.join(' ')
}
