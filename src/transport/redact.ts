/**
 * Redaction of secrets and personal data. Applied twice: when the transport records a request
 * (so observations never hold the token), and as a last pass over every file or line written.
 *
 * A secret is known as bytes and found in every spelling captures, reports and logs give it: plain
 * and in any letter case; hex (either case, bytes spaced as a preview prints them, or not, or as
 * `\x45`/`0x45`); base64 and base64url at each of the three alignments it can have inside a longer
 * stream, also wrapped over lines; percent-encoded (some or all characters); JSON-escaped (`\u0045`
 * for some or all characters, `\/`) or backslash-escaped as Markdown does; HTML character references
 * (`&#69;`, `&#x45;`, `&gt;`, also as `&amp;#69;`). Text gets `[REDACTED]` in place. A body that is
 * bytes rather than text and holds a secret keeps only its size and sha256 (`body`): bytes cannot
 * be redacted in place without lying about them.
 */
import { MAX_WALK_DEPTH, TOO_DEEP } from '../util/json.ts'
import { PREVIEW_WITHHELD, type Observation, type ObservedBody, type ObservedResponse, type RawHeader } from '../model/observation.ts'

/** Replacement text for a secret. */
export const REDACTED = '[REDACTED]'

/** Environment variables whose values are secrets wherever they appear: the access token, and the app secret that signs webhooks. */
export const SECRET_ENV = ['WHATSAPP_ACCESS_TOKEN', 'WHATSAPP_APP_SECRET'] as const

/** The secrets an environment holds (SECRET_ENV): every Redactor built where the token is read knows them all. */
export function secretsFromEnv(env: Readonly<Record<string, string | undefined>> | undefined): string[] {
  // Trimmed too: a secret pasted with a trailing newline is still sent, and quoted, without it.
  return SECRET_ENV.flatMap((k) => [env?.[k], env?.[k]?.trim()]).filter((v): v is string => typeof v === 'string' && v.length > 0)
}

const SECRET_QUERY_PARAMS = ['access_token', 'appsecret_proof', 'client_secret', 'fb_exchange_token', 'input_token', 'code']
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-hub-signature', 'x-hub-signature-256'])

const BEARER = /\b(Bearer|OAuth)\s+(?!\[REDACTED)[A-Za-z0-9._~+/=-]{8,}/g
// The value stops before `\"`: this pass also runs over rendered JSON, where a URL in double quotes ends in an escaped quote;
// and before a backtick: over report.md, where a URL in a code span ends in one (the span was left open).
// Not a shell variable standing for the token (`access_token=$WHATSAPP_ACCESS_TOKEN` in a curl line
// driftwatch wrote): no token starts with `$`, and redacting it made the curl send "[REDACTED]".
const QUERY_SECRET = new RegExp(`([?&;](?:${SECRET_QUERY_PARAMS.join('|')})=)(?!\\$[A-Z_][A-Z0-9_]*(?:[&#\\s"'\\x60<>\\\\]|$))((?:[^&#\\s"'\\x60<>\\\\]|\\\\(?!"))+)`, 'gi')
// Meta user/system tokens start with EAA; redact anything that looks like one even if we were not told, in any
// case and with characters JSON-escaped or percent-encoded. Not a run of hex digits (a sha256 can start with eaa).
const META_UNIT = '(?:[a-z0-9]|\\\\u00[3-7][0-9a-f]|%[3-7][0-9a-f])'
const META_SOURCE = `(?<![a-z0-9])(?:e|\\\\u00[46]5|%[46]5)(?:a|\\\\u00[46]1|%[46]1){2}(?![0-9a-f]*(?![a-z0-9\\\\%&]))${META_UNIT}{20,}`
const META_TOKEN = new RegExp(META_SOURCE, 'gi')
const META_TEST = new RegExp(META_SOURCE, 'i')
// One cheap test that every pattern above needs to match; most strings (header values, JSON fields) fail it.
const MAY_MATCH = new RegExp(`bearer|oauth|eaa|\\\\u00[46]5|%[46]5|${SECRET_QUERY_PARAMS.join('=|')}=`, 'i')

/** Shortest secret redacted: a shorter value would match ordinary text. */
const MIN_SECRET = 6
/** A fragment this long of a secret (in any literal spelling) withholds a preview of bytes that shows it. */
const FRAGMENT = 8
/** Binary bodies are searched in windows of this many bytes (as Latin-1 text), overlapping by the longest spelling. */
const SCAN_WINDOW = 1024 * 1024

/** Options: exact secret values (tokens) and personal values (phone numbers) to scrub. */
export interface RedactorOptions {
  secrets?: readonly (string | undefined)[]
  /** Personal data such as the test recipient's phone number. */
  personal?: readonly (string | undefined)[]
  /** Also the patterns (Bearer values, secret query parameters, Meta-shaped tokens); default true. */
  patterns?: boolean
}

/** Scrubs secrets and personal data from text, URLs, headers, JSON values and bodies. */
export class Redactor {
  private readonly personal: string[]
  private readonly patterns: boolean
  /** The literal spellings of every known secret, lower-cased: plain, hex, base64 and base64url at each alignment. */
  private readonly literals: string[]
  /** The same, reduced (see `reduce`): what the escaped, spaced and wrapped spellings become too. */
  private readonly reduced: string[]
  /** `literals` and `reduced` as one alternation each: literal alternations compile in no time and run fast. */
  private readonly literalTest: RegExp | undefined
  private readonly reducedTest: RegExp | undefined
  /** The escapes that can stand for a character of a spelling (see escapesFor). */
  private readonly escape: RegExp
  /** Text shorter than this cannot hold a spelling of a known secret. */
  private readonly shortest: number
  /** Lower-case FRAGMENT-long pieces of each literal spelling, reduced too. */
  private readonly fragments = new Set<string>()
  /** The most characters one spelling of a secret can span, so scan windows overlap by it. */
  private readonly reach: number

  constructor(options: RedactorOptions = {}) {
    const secrets = uniq(options.secrets).filter((s) => s.length >= MIN_SECRET)
    const personal = uniq(options.personal).flatMap((p) => [p, p.replace(/\D/g, '')])
    this.personal = uniq(personal).filter((s) => s.length >= 6).sort((a, b) => b.length - a.length)
    this.patterns = options.patterns !== false
    const bytes = secrets.map((s) => Buffer.from(s, 'utf8'))
    // Longest first, so that where spellings overlap the longer is placed first.
    const byLength = (a: string, b: string) => b.length - a.length
    this.literals = uniq(bytes.flatMap(literalSpellings)).sort(byLength)
    this.escape = escapesFor(this.literals)
    this.reduced = uniq(this.literals.map((l) => reduce(l, this.escape))).filter((l) => l.length >= MIN_SECRET).sort(byLength)
    if (this.literals.length) this.literalTest = new RegExp(this.literals.map(escapeRe).join('|'))
    if (this.reduced.length) this.reducedTest = new RegExp(this.reduced.map(escapeRe).join('|'))
    this.shortest = Math.min(...this.reduced.map((l) => l.length), ...this.literals.map((l) => l.length))
    for (const l of [...this.literals, ...this.reduced]) addWindows(this.fragments, l)
    this.reach = 64 + 24 * Math.max(32, ...bytes.map((b) => b.length))
  }

  /** Redacts known secrets in every spelling, bearer tokens, secret query parameters, Meta-looking tokens and personal values. */
  text(s: string): string {
    const known = this.holdsKnown(s)
    if (!known && !(this.patterns && MAY_MATCH.test(s)) && !this.personal.some((p) => s.includes(p))) return s
    let out = known ? this.replaceKnown(s) : s
    if (this.patterns) out = out.replace(BEARER, `$1 ${REDACTED}`).replace(QUERY_SECRET, `$1${REDACTED}`).replace(META_TOKEN, REDACTED)
    for (const p of this.personal) out = out.split(p).join('[REDACTED_PHONE]')
    return out
  }

  /**
   * Whether `s` holds a known secret in any spelling: the fast negative, since redaction runs on
   * every header and JSON string of every probe. Short text is out at once. The rest is lower-cased
   * and searched for the literal spellings, then reduced (escapes decoded, gaps removed) and
   * searched for them reduced: two literal alternations, and no expression per spelling (those,
   * with optional gaps and escapes between every character, take the regexp compiler tens of
   * milliseconds each and run several times slower).
   */
  private holdsKnown(s: string): boolean {
    if (!this.literalTest || !this.reducedTest || s.length < this.shortest) return false
    const lower = s.toLowerCase()
    return this.literalTest.test(lower) || this.reducedTest.test(reduce(lower, this.escape))
  }

  /** `s` with every known secret, in every spelling, replaced by REDACTED (holdsKnown said there is one). */
  private replaceKnown(s: string): string {
    // Positions below are the text's own: lower-cased character by character where a character would change length.
    let lower = s.toLowerCase()
    if (lower.length !== s.length) lower = [...s].map((c) => (c.toLowerCase().length === c.length ? c.toLowerCase() : c)).join('')
    const ranges: [number, number][] = []
    for (const l of this.literals) for (let i = lower.indexOf(l); i >= 0; i = lower.indexOf(l, i + l.length)) ranges.push([i, i + l.length])
    const literal = splice(s, ranges)
    // Most echoes are literal: placing escaped, spaced or wrapped spellings (a slower walk) only when one remains.
    if (ranges.length && !this.holdsKnown(literal)) return literal
    const r = reduceMapped(lower, this.escape)
    for (const l of this.reduced) for (let i = r.text.indexOf(l); i >= 0; i = r.text.indexOf(l, i + l.length)) ranges.push([r.from[i]!, r.to[i + l.length - 1]!])
    // Found but not placed cannot happen (reduceMapped reduces as reduce does); if it did, the text goes rather than the secret with it.
    return ranges.length ? splice(s, ranges) : REDACTED
  }

  /**
   * Whether bytes hold a known secret in any spelling, or (with the patterns) a Meta-shaped token.
   * They are searched as Latin-1 text, one character per byte, so every ASCII spelling is found
   * wherever it sits in binary data; in windows, so a large body is never one large string.
   */
  holdsSecret(bytes: Uint8Array): boolean {
    if (bytes.length === 0 || (this.literals.length === 0 && !this.patterns)) return false
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let at = 0; at < buf.length; at += SCAN_WINDOW) {
      const end = Math.min(buf.length, at + SCAN_WINDOW + this.reach)
      if (this.textHoldsSecret(buf.toString('latin1', at, end))) return true
      if (end === buf.length) break
    }
    return false
  }

  /** Whether text holds a known secret in any spelling or (with the patterns) a Meta-shaped token: what `text` would replace. */
  private textHoldsSecret(s: string): boolean {
    return this.holdsKnown(s) || (this.patterns && MAY_MATCH.test(s) && META_TEST.test(s))
  }

  /** Whether bytes show a FRAGMENT-long piece of a known secret (a literal spelling, or one reduced): a preview must not show even part of one. */
  private showsFragment(bytes: Uint8Array): boolean {
    if (this.fragments.size === 0) return false
    const lower = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1').toLowerCase()
    for (const s of [lower, reduce(lower, this.escape)]) for (let i = 0; i + FRAGMENT <= s.length; i++) if (this.fragments.has(s.slice(i, i + FRAGMENT))) return true
    return false
  }

  /**
   * A response body as it may be kept. Text and JSON are redacted in place. A body that is bytes
   * rather than text (binary, or not UTF-8 under a text type) and holds a secret in any spelling
   * keeps its size and sha256 only: no base64, no text, and its preview is PREVIEW_WITHHELD.
   * `kept`: the bytes the capture kept, when it has them (the preview and base64 are searched too).
   */
  body(b: ObservedBody, kept?: Uint8Array): ObservedBody {
    if (b.hexPreview === PREVIEW_WITHHELD && b.text === undefined && b.base64 === undefined) return b
    const isBytes = b.text === undefined || b.hexPreview !== undefined
    if (isBytes && b.size > 0 && this.bodyHoldsSecret(b, kept)) return { size: b.size, sha256: b.sha256, keptBytes: 0, truncated: true, hexPreview: PREVIEW_WITHHELD }
    // A capture cut short can end inside a secret: the piece at its end is cut off as well.
    const text = b.text !== undefined ? this.text(b.truncated ? this.withoutTrailingPiece(b.text) : b.text) : undefined
    const json = b.json !== undefined ? this.deep(b.json) : undefined
    const jsonError = b.jsonError !== undefined ? this.text(b.jsonError) : undefined
    if (text === b.text && json === b.json && jsonError === b.jsonError) return b
    return { ...b, ...(text !== undefined ? { text } : {}), ...(json !== undefined ? { json } : {}), ...(jsonError !== undefined ? { jsonError } : {}) }
  }

  /** `text` cut where a FRAGMENT-long piece of a secret starts near its end (then ending in REDACTED), or as it is. */
  private withoutTrailingPiece(text: string): string {
    if (this.fragments.size === 0) return text
    const from = Math.max(0, text.length - this.reach)
    const tail = text.slice(from)
    const lower = tail.toLowerCase()
    if (lower.length !== tail.length) return text
    for (let i = 0; i + FRAGMENT <= lower.length; i++) if (this.fragments.has(lower.slice(i, i + FRAGMENT))) return text.slice(0, from + i) + REDACTED
    return text
  }

  private bodyHoldsSecret(b: ObservedBody, kept: Uint8Array | undefined): boolean {
    if (b.hexPreview === PREVIEW_WITHHELD) return true // withheld once: never shown again, whatever else the body claims
    // A truncated capture can end inside a secret: its tail must not show a piece of one either.
    const within = (bytes: Uint8Array) => this.holdsSecret(bytes) || (b.truncated && this.showsFragment(bytes.subarray(Math.max(0, bytes.length - this.reach))))
    if (kept?.length && within(kept)) return true
    if (b.base64 && within(Buffer.from(b.base64, 'base64'))) return true
    if (b.hexPreview) {
      const shown = Buffer.from(b.hexPreview.replace(/[^0-9a-f]/gi, ''), 'hex')
      if (this.holdsSecret(shown) || this.showsFragment(shown)) return true
    }
    return b.text !== undefined && this.textHoldsSecret(b.text)
  }

  /** A response as it may be kept: status line, headers (names too) and body redacted; the same object when nothing changes. */
  response(r: ObservedResponse, kept?: Uint8Array): ObservedResponse {
    const rawHeaders = this.headers(r.rawHeaders)
    const body = this.body(r.body, kept)
    const statusText = this.text(r.statusText)
    const statusLine = r.statusLine !== undefined ? this.text(r.statusLine) : undefined
    if (rawHeaders === r.rawHeaders && body === r.body && statusText === r.statusText && statusLine === r.statusLine) return r
    return { ...r, rawHeaders, body, statusText, ...(statusLine !== undefined ? { statusLine } : {}) }
  }

  /**
   * An observation with every part that came from the wire or a capture redacted again (URL,
   * headers, request excerpt, response, failure message): for observations that reach a file by
   * another road than this redactor's transport (a proxy's learned tokens, recordings read back).
   */
  observation(o: Observation): Observation {
    const q = o.request
    const url = this.url(q.url)
    const headers = this.headers(q.headers)
    const bodyExcerpt = q.bodyExcerpt !== undefined ? this.text(q.bodyExcerpt) : undefined
    const request = url === q.url && headers === q.headers && bodyExcerpt === q.bodyExcerpt ? q : { ...q, url, headers, ...(bodyExcerpt !== undefined ? { bodyExcerpt } : {}) }
    const response = o.response ? this.response(o.response) : undefined
    const e = o.transportError
    const message = e ? this.text(e.message) : undefined
    if (request === q && response === o.response && message === e?.message) return o
    return { ...o, request, ...(response ? { response } : {}), ...(e ? { transportError: { ...e, message: message! } } : {}) }
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
    const name = this.text(n)
    const t = this.text(v)
    return t === v && name === n ? h : [name, t]
  }

  /**
   * Applies `text` to every string (values, and keys that hold a secret) in a JSON-like value; unchanged parts keep
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
        const key = this.text(k)
        if (y !== x || key !== k) out ??= { ...(v as Record<string, unknown>) }
        if (key !== k) delete out![k]
        if (out) out[key] = y
      }
      return out ?? v
    }
    return v
  }
}

/** `s` with each of the ranges (overlapping or not, any order) replaced by one REDACTED. */
function splice(s: string, ranges: [number, number][]): string {
  if (ranges.length === 0) return s
  ranges.sort((a, b) => a[0] - b[0])
  let out = ''
  let at = 0
  for (const [from, to] of ranges) {
    if (to <= at) continue
    if (from >= at) out += s.slice(at, from) + REDACTED
    at = to
  }
  return out + s.slice(at)
}

function uniq(values: readonly (string | undefined)[] | undefined): string[] {
  return [...new Set((values ?? []).filter((v): v is string => typeof v === 'string' && v.length > 0))]
}

/** The literal spellings of a secret (lower-cased): its text, its bytes, its hex, its base64 and base64url at each alignment. */
function literalSpellings(bytes: Buffer): string[] {
  const middles = base64Middles(bytes).filter((m) => m.length >= 4)
  // Latin-1 too: a secret with characters outside ASCII, as its UTF-8 bytes read in a binary body.
  return [bytes.toString('utf8'), bytes.toString('latin1'), bytes.toString('hex'), ...middles, ...middles.map((m) => m.replace(/\+/g, '-').replace(/\//g, '_'))].map((l) => l.toLowerCase())
}

/**
 * The escapes a spelling may use, for lower-case text: percent-encoding; JSON `\uXXXX`; a backslash
 * before punctuation (JSON's `\/`, Markdown's `\>`, `\_`), however many times the backslash was
 * escaped itself; HTML and XML references (`&#69;`, `&#x45;`, `&gt;`), also escaped again
 * (`&amp;#69;`). A backslash or a named reference only before a character some spelling has: JSON
 * text is full of `\"`, and decoding what cannot be part of a secret costs time and finds nothing.
 */
function escapesFor(literals: readonly string[]): RegExp {
  const chars = new Set(literals.join(''))
  const punct = [...chars].filter((c) => /[!-/:-@[-`{-~]/.test(c))
  const named = Object.keys(NAMED).filter((n) => chars.has(NAMED[n]!))
  // Alternatives left out, not made unmatchable: an alternative that can never match still slows every search five times.
  const backslash = punct.length ? `|\\\\+(?<esc>[${punct.map((c) => `\\${c}`).join('')}])` : ''
  const names = named.length ? `|(?<named>${named.join('|')})` : ''
  return new RegExp(`%(?<pct>[0-9a-f]{2})|\\\\+u(?<u>[0-9a-f]{4})${backslash}|&(?:amp;)?(?:#(?:x(?<hex>[0-9a-f]{1,6})|(?<dec>\\d{1,7}))${names});`, 'g')
}
/** Named references decoded (for a secret with one of these characters). */
const NAMED: Record<string, string> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' }
/** Text that may hold an escape; most does not, and then decoding is skipped. */
const MAY_ESCAPE = /[%\\&]/
/**
 * Gaps: what sits between the characters of a spaced or wrapped spelling (whitespace, as a
 * renderer may turn a line break into a space; `:`, `,`, `-`; line breaks escaped as `\n`, however
 * many backslashes, or rendered as `<br>`), and the `0x` and `\x` before hex bytes.
 */
const GAPS = /[\s:,-]+|\\+[rnx]|<br ?\/?>|0x/g

/** The groups an escape expression (escapesFor) captures. */
interface EscapeGroups {
  pct?: string
  u?: string
  esc?: string
  hex?: string
  dec?: string
  named?: string
}

/** What the escape `m` stands for, lower-cased. */
function decode(m: string, g: EscapeGroups): string {
  if (g.named !== undefined) return NAMED[g.named]!
  const code = g.esc !== undefined ? g.esc.charCodeAt(0) : g.dec !== undefined ? Number(g.dec) : parseInt(g.pct ?? g.u ?? g.hex!, 16)
  return code > 0x10ffff ? m : String.fromCodePoint(code).toLowerCase()
}

/** `decode` as a replace callback: the groups object comes last. */
function decodeMatch(m: string, ...rest: unknown[]): string {
  return decode(m, rest.at(-1) as EscapeGroups)
}

/**
 * What every spelling of a secret comes down to: escapes decoded (twice, for a spelling escaped
 * again such as `%2545`), then gaps removed. The reduced spellings of a secret, searched for in
 * reduced text, find it however it was escaped, spaced or wrapped. `lower` is lower-cased already.
 * Two replaces in the regexp engine: a loop over character codes in JavaScript was three times slower.
 */
function reduce(lower: string, escape: RegExp): string {
  let t = lower
  for (let i = 0; i < 2 && MAY_ESCAPE.test(t); i++) t = t.replace(escape, decodeMatch)
  return t.replace(GAPS, '')
}

/** A reduced text and, for each of its characters, where it came from: `from` its first source character, `to` one past its last. */
interface Mapped {
  text: string
  from: Int32Array
  to: Int32Array
}

/**
 * `reduce` with where each character came from, to place `[REDACTED]`: the same replaces with the
 * same expressions, so it reduces exactly as `reduce` does. Slower; only run on text known to hold a secret.
 */
function reduceMapped(lower: string, escape: RegExp): Mapped {
  let m: Mapped = { text: lower, from: Int32Array.from({ length: lower.length }, (_, i) => i), to: Int32Array.from({ length: lower.length }, (_, i) => i + 1) }
  for (let i = 0; i < 2 && MAY_ESCAPE.test(m.text); i++) m = mappedReplace(m, escape, (x) => decode(x[0], x.groups ?? {}))
  return mappedReplace(m, GAPS, () => '')
}

/** One `text.replace(re, replacement)` where every replacement is shorter than what it replaces, carrying the origins of the characters kept and made. */
function mappedReplace(m: Mapped, re: RegExp, replacement: (match: RegExpExecArray) => string): Mapped {
  const t = m.text
  const from = new Int32Array(t.length)
  const to = new Int32Array(t.length)
  const parts: string[] = []
  let n = 0
  let last = 0
  const keep = (end: number) => {
    parts.push(t.slice(last, end))
    from.set(m.from.subarray(last, end), n)
    to.set(m.to.subarray(last, end), n)
    n += end - last
  }
  for (const match of t.matchAll(re)) {
    keep(match.index)
    const made = replacement(match as RegExpExecArray)
    parts.push(made)
    for (let k = 0; k < made.length; k++, n++) {
      from[n] = m.from[match.index]!
      to[n] = m.to[match.index + match[0].length - 1]!
    }
    last = match.index + match[0].length
  }
  keep(t.length)
  return { text: parts.join(''), from: from.subarray(0, n), to: to.subarray(0, n) }
}

/**
 * The base64 of a secret inside a longer stream depends on where it starts modulo 3 bytes: for
 * each alignment, the characters that only the secret's bits decide (the first one or two and the
 * last are shared with the neighbouring bytes).
 */
function base64Middles(bytes: Buffer): string[] {
  return [0, 1, 2].map((k) => Buffer.concat([Buffer.alloc(k), bytes]).toString('base64').slice([0, 2, 3][k], Math.floor(((k + bytes.length) * 8) / 6)))
}

function addWindows(set: Set<string>, s: string): void {
  if (s.length < FRAGMENT) set.add(s)
  for (let i = 0; i + FRAGMENT <= s.length; i++) set.add(s.slice(i, i + FRAGMENT))
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
}
