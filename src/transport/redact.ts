/**
 * Redaction of secrets and personal data. Applied twice: when the transport records a request
 * (so observations never hold the token), and as a last pass over every file or line written.
 */
import type { RawHeader } from '../observation.ts'

/** Replacement text for a secret. */
export const REDACTED = '[REDACTED]'

const SECRET_QUERY_PARAMS = ['access_token', 'appsecret_proof', 'client_secret', 'fb_exchange_token', 'input_token', 'code']
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-hub-signature', 'x-hub-signature-256'])

const BEARER = /\b(Bearer|OAuth)\s+(?!\[REDACTED)[A-Za-z0-9._~+/=-]{8,}/g
const QUERY_SECRET = new RegExp(`([?&;](?:${SECRET_QUERY_PARAMS.join('|')})=)([^&#\\s"'<>]+)`, 'gi')
// Meta user/system tokens start with EAA; redact anything that looks like one even if we were not told.
const META_TOKEN = /\bEAA[A-Za-z0-9]{20,}/g

/** Options: exact secret values (tokens) and personal values (phone numbers) to scrub. */
export interface RedactorOptions {
  secrets?: readonly (string | undefined)[]
  /** Personal data such as the test recipient's phone number. */
  personal?: readonly (string | undefined)[]
}

/** Scrubs secrets and personal data from text, URLs, headers and JSON values. */
export class Redactor {
  private readonly secrets: string[]
  private readonly personal: string[]

  constructor(options: RedactorOptions = {}) {
    // Longest first, so a secret containing another is replaced whole.
    this.secrets = uniq(options.secrets).filter((s) => s.length >= 6).sort((a, b) => b.length - a.length)
    const personal = uniq(options.personal).flatMap((p) => [p, p.replace(/\D/g, '')])
    this.personal = uniq(personal).filter((s) => s.length >= 6).sort((a, b) => b.length - a.length)
  }

  /** Redacts known secret values, bearer tokens, secret query parameters, Meta-looking tokens and personal values. */
  text(s: string): string {
    let out = s
    for (const secret of this.secrets) out = out.split(secret).join(REDACTED)
    out = out.replace(BEARER, `$1 ${REDACTED}`).replace(QUERY_SECRET, `$1${REDACTED}`).replace(META_TOKEN, REDACTED)
    for (const p of this.personal) out = out.split(p).join('[REDACTED_PHONE]')
    return out
  }

  /** Redacts a URL's secret query parameters (and anything `text` would). */
  url(u: string): string {
    return this.text(u)
  }

  /** Redacts credential-bearing headers entirely and scrubs the rest. */
  headers(headers: readonly RawHeader[]): RawHeader[] {
    return headers.map(([n, v]) => {
      const lower = n.toLowerCase()
      if (lower === 'authorization' || lower === 'proxy-authorization') {
        const scheme = v.split(/\s+/, 1)[0]
        return [n, scheme && scheme !== v ? `${scheme} ${REDACTED}` : REDACTED]
      }
      if (SECRET_HEADERS.has(lower)) return [n, REDACTED]
      return [n, this.text(v)]
    })
  }

  /** Applies `text` to every string (values, not keys) in a JSON-like value. */
  deep<T>(value: T): T {
    const visit = (v: unknown): unknown => {
      if (typeof v === 'string') return this.text(v)
      if (Array.isArray(v)) return v.map(visit)
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x)]))
      return v
    }
    return visit(value) as T
  }
}

function uniq(values: readonly (string | undefined)[] | undefined): string[] {
  return [...new Set((values ?? []).filter((v): v is string => typeof v === 'string' && v.length > 0))]
}
