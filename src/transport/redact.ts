/**
 * Redaction of secrets and personal data. Applied twice: when the transport records a request
 * (so observations never hold the token), and as a last pass over every file or line written.
 */
import { MAX_WALK_DEPTH, TOO_DEEP } from '../json.ts'
import type { RawHeader } from '../observation.ts'

/** Replacement text for a secret. */
export const REDACTED = '[REDACTED]'

const SECRET_QUERY_PARAMS = ['access_token', 'appsecret_proof', 'client_secret', 'fb_exchange_token', 'input_token', 'code']
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-hub-signature', 'x-hub-signature-256'])

const BEARER = /\b(Bearer|OAuth)\s+(?!\[REDACTED)[A-Za-z0-9._~+/=-]{8,}/g
// The value stops before `\"`: this pass also runs over rendered JSON, where a URL in double quotes ends in an escaped quote.
const QUERY_SECRET = new RegExp(`([?&;](?:${SECRET_QUERY_PARAMS.join('|')})=)((?:[^&#\\s"'<>\\\\]|\\\\(?!"))+)`, 'gi')
// Meta user/system tokens start with EAA; redact anything that looks like one even if we were not told.
const META_TOKEN = /\bEAA[A-Za-z0-9]{20,}/g
// One cheap test that every pattern above needs to match; most strings (header values, JSON fields) fail it.
const MAY_MATCH = new RegExp(`bearer|oauth|eaa|${SECRET_QUERY_PARAMS.join('=|')}=`, 'i')

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
    if (!this.mayContainSecret(s)) return s
    let out = s
    for (const secret of this.secrets) out = out.split(secret).join(REDACTED)
    out = out.replace(BEARER, `$1 ${REDACTED}`).replace(QUERY_SECRET, `$1${REDACTED}`).replace(META_TOKEN, REDACTED)
    for (const p of this.personal) out = out.split(p).join('[REDACTED_PHONE]')
    return out
  }

  /** Fast negative: false means `text` would return `s` unchanged. Redaction runs on every header and JSON string of every probe. */
  private mayContainSecret(s: string): boolean {
    if (MAY_MATCH.test(s)) return true
    for (const x of this.secrets) if (s.includes(x)) return true
    for (const p of this.personal) if (s.includes(p)) return true
    return false
  }

  /** Redacts a URL's secret query parameters (and anything `text` would). */
  url(u: string): string {
    return this.text(u)
  }

  /** Redacts credential-bearing headers entirely and scrubs the rest; returns the same array when nothing changes. */
  headers(headers: readonly RawHeader[]): RawHeader[] {
    let out: RawHeader[] | undefined
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!
      const r = this.header(h)
      if (r !== h && !out) out = headers.slice(0, i)
      out?.push(r)
    }
    return out ?? (headers as RawHeader[])
  }

  private header(h: RawHeader): RawHeader {
    const [n, v] = h
    const lower = n.toLowerCase()
    if (lower === 'authorization' || lower === 'proxy-authorization') {
      const scheme = v.split(/\s+/, 1)[0]
      return [n, scheme && scheme !== v ? `${scheme} ${REDACTED}` : REDACTED]
    }
    if (SECRET_HEADERS.has(lower)) return [n, REDACTED]
    const t = this.text(v)
    return t === v ? h : [n, t]
  }

  /**
   * Applies `text` to every string (values, not keys) in a JSON-like value; unchanged parts keep
   * their identity. Whatever is nested deeper than MAX_WALK_DEPTH is replaced by TOO_DEEP: a walk
   * that deep would overflow the stack, and what was not walked was not redacted.
   */
  deep<T>(value: T): T {
    return this.visit(value, 0) as T
  }

  private visit(v: unknown, depth: number): unknown {
    if (typeof v === 'string') return this.text(v)
    if (v && typeof v === 'object' && depth >= MAX_WALK_DEPTH) return TOO_DEEP
    if (Array.isArray(v)) {
      let out: unknown[] | undefined
      for (let i = 0; i < v.length; i++) {
        const x = this.visit(v[i], depth + 1)
        if (x !== v[i] && !out) out = v.slice(0, i)
        out?.push(x)
      }
      return out ?? v
    }
    if (v && typeof v === 'object') {
      let out: Record<string, unknown> | undefined
      for (const k in v) {
        const x = (v as Record<string, unknown>)[k]
        const y = this.visit(x, depth + 1)
        if (y !== x) out ??= { ...(v as Record<string, unknown>) }
        if (out) out[k] = y
      }
      return out ?? v
    }
    return v
  }
}

function uniq(values: readonly (string | undefined)[] | undefined): string[] {
  return [...new Set((values ?? []).filter((v): v is string => typeof v === 'string' && v.length > 0))]
}
