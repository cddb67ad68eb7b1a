/**
 * Which credential a request carried, as a fingerprint: salted per process (a token cannot be
 * tested against it), short, the same for the same token. Traffic from a multi-tenant app or
 * across a token rotation carries several; requests with different credentials are not samples of
 * one another (a 401 for one tenant is not an intermittent 200: checks/sample-consistency.ts). The
 * proxy fingerprints what it forwards; the HAR and cassette readers what they read.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { RawHeader } from '../model/observation.ts'

let SALT = randomBytes(16)

/** This process's salt, for a worker thread that reads traffic for it (its fingerprints must be the same). */
export function credentialSalt(): Uint8Array {
  return new Uint8Array(SALT)
}

/** In a worker thread: fingerprint under the salt of the thread that started it. */
export function useCredentialSalt(salt: Uint8Array): void {
  SALT = Buffer.from(salt)
}
const BEARER = /^(?:bearer|oauth)\s+(\S+)/i

/** The fingerprint of `tokens` (in order) under `salt`. */
export function fingerprint(salt: Buffer, tokens: readonly string[]): string {
  const h = createHash('sha256').update(salt)
  for (const t of tokens) h.update(t).update('\u0000')
  return h.digest('hex').slice(0, 12)
}

/** A recorder's placeholder where the token was (`[REDACTED]`, `<ACCESS_TOKEN>`, `{{token}}`, `FILTERED`): it names no credential. */
const PLACEHOLDER = /^(?:\[.*\]|<.*>|\{.*\}|\(.*\))$|redacted|filtered/i

/** The tokens a request carries (its Authorization bearer, its access_token query parameter), placeholders left out. */
export function tokensOf(headers: readonly RawHeader[], url: string): string[] {
  const out: string[] = []
  for (const [n, v] of headers) {
    if (n.length !== 13 || n.toLowerCase() !== 'authorization') continue
    const t = BEARER.exec(v)?.[1]
    if (t && !PLACEHOLDER.test(t)) out.push(t)
  }
  const q = url.indexOf('?')
  if (q >= 0 && url.includes('access_token=', q)) {
    const t = new URLSearchParams(url.slice(q + 1)).get('access_token')
    if (t && !PLACEHOLDER.test(t)) out.push(t)
  }
  return out
}

/** The request's credential fingerprint under this process's salt, or undefined when it carried no token. Read before the headers are redacted. */
export function credentialOf(headers: readonly RawHeader[], url: string): string | undefined {
  const tokens = tokensOf(headers, url)
  return tokens.length ? fingerprint(SALT, tokens) : undefined
}
