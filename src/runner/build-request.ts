/**
 * Turns a probe's request template into bytes to send: variables filled (path segments
 * URL-encoded), query appended, body encoded as JSON, form or multipart. No credentials here:
 * the transport adds the token per its host policy.
 */
import { readFile } from 'node:fs/promises'
import type { Probe } from '../contracts/types.ts'
import { deepFill, fill } from '../contracts/template.ts'
import type { RawHeader } from '../model/observation.ts'
import type { PreparedRequest } from '../transport/transport.ts'

/** Variables available to templates; undefined means "not configured / not captured". */
export type Variables = Readonly<Record<string, string | undefined>>

const fileCache = new Map<string, Buffer>()

async function fileBytes(path: string): Promise<Buffer> {
  let b = fileCache.get(path)
  if (!b) {
    b = await readFile(path)
    fileCache.set(path, b)
  }
  return b
}

/**
 * A request that cannot be built because a value captured from an earlier answer makes no URL
 * (`"url": "http://[::1"`): the probe is not sent, and the reason says which value it was.
 */
export class UnbuildableRequest extends Error {
  constructor(
    message: string,
    /** The variables the URL is built from. */
    readonly variables: readonly string[],
  ) {
    super(message)
  }
}

/** Resolves the probe's request against the variables; throws UnbuildableRequest when the URL does not parse. */
export async function buildRequest(c: Probe, vars: Variables, baseUrl: string, sample: number): Promise<PreparedRequest> {
  const r = c.request
  const text = r.path !== undefined ? baseUrl.replace(/\/+$/, '') + fill(r.path, vars, encodeURIComponent) : fill(r.url!, vars)
  let url: URL | undefined
  try {
    url = new URL(text)
  } catch {}
  // Only http(s) has an origin to connect to; `javascript:` or `ftp:` from an answer is no request to send.
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    const variables = c.uses.filter((v) => (r.url ?? r.path ?? '').includes(`{${v}}`))
    const from = variables.length ? ` built from ${variables.map((v) => `{${v}}`).join(', ')}` : ''
    throw new UnbuildableRequest(`its URL${from} is not an http(s) URL: ${JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text)}`, variables)
  }
  for (const [k, v] of Object.entries(r.query)) url.searchParams.append(k, fill(v, vars))

  const headers: RawHeader[] = Object.entries(r.headers).map(([k, v]) => [k, fill(v, vars)])
  const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name)
  let body: Buffer | undefined
  let bodyExcerpt: string | undefined

  if (r.body?.kind === 'json') {
    const text = JSON.stringify(deepFill(r.body.json, vars))
    body = Buffer.from(text)
    bodyExcerpt = excerpt(text)
    if (!has('content-type')) headers.push(['Content-Type', 'application/json'])
  } else if (r.body?.kind === 'form') {
    const text = new URLSearchParams(Object.entries(r.body.form).map(([k, v]): [string, string] => [k, fill(v, vars)])).toString()
    body = Buffer.from(text)
    bodyExcerpt = excerpt(text)
    if (!has('content-type')) headers.push(['Content-Type', 'application/x-www-form-urlencoded'])
  } else if (r.body?.kind === 'multipart') {
    const form = new FormData()
    const parts: string[] = []
    for (const [k, v] of Object.entries(r.body.fields)) {
      const value = fill(v, vars)
      form.append(k, value)
      parts.push(`${k}=${value}`)
    }
    if (r.body.file) {
      const bytes = await fileBytes(r.body.file.path)
      form.append(r.body.file.field, new Blob([bytes], { type: r.body.file.type }), r.body.file.filename)
      parts.push(`${r.body.file.field}=@${r.body.file.filename} (${r.body.file.type}, ${bytes.length} bytes)`)
    }
    // The platform's own encoder writes the multipart body and its boundary.
    const encoded = new Response(form)
    body = Buffer.from(await encoded.arrayBuffer())
    headers.push(['Content-Type', encoded.headers.get('content-type')!])
    bodyExcerpt = `multipart/form-data: ${parts.join(', ')}`
  }

  return {
    contract: c.id,
    sample,
    method: r.method,
    url: url.toString(),
    headers,
    ...(body ? { body } : {}),
    ...(bodyExcerpt ? { bodyExcerpt } : {}),
    auth: r.auth,
  }
}

function excerpt(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}
