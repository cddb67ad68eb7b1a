/**
 * Personal data in recorded bodies (phone numbers, `wa_id`, `display_phone_number`, people's
 * names) replaced by stable, format-preserving placeholders before a recording touches disk.
 *
 * Stable: the same real value gets the same placeholder everywhere in one run, numbered in order of
 * first appearance, so re-recording an unchanged upstream writes the same file. Format-preserving:
 * `+1 631-555-0142` becomes `+1 555-000-0001` (same punctuation, same digit count), so the
 * contracts' patterns still hold and the gate can replay the recording. Placeholders are never a
 * hash of the value: a phone number's hash is reversible by trying every number.
 *
 * Business names (`verified_name`) are public and kept; secrets are the Redactor's job, not this.
 */
import type { Finding } from '../model/finding.ts'
import { MAX_WALK_DEPTH, TOO_DEEP } from '../util/json.ts'

/** Keys whose string values are phone numbers or WhatsApp ids. */
const PHONE_KEYS = new Set(['wa_id', 'display_phone_number', 'phone_number', 'phone', 'input', 'to', 'from', 'recipient_id'])
/** Keys whose string values are a person's name wherever they appear. */
const NAME_KEYS = new Set(['formatted_name', 'first_name', 'last_name', 'middle_name', 'full_name'])
/** `name` is personal under these parents (a contact's profile), not elsewhere (templates have names). */
const NAME_PARENTS = new Set(['profile', 'contacts', 'contact', 'user'])
/** A placeholder's digits (`1555` and a zero-padded index): already replaced, by this run or the one that recorded it. */
const PLACEHOLDER_DIGITS = /^15550*[1-9]\d{0,5}$/
/** An international number inside free text, e.g. an error message quoting the recipient. */
const E164_IN_TEXT = /\+\d[\d ()-]{8,18}\d/g
/** What JSON.stringify escapes (controls, a quote, a backslash, lone surrogates) or remember() spells as \\u escapes (U+007F and up). */
const ESCAPED_IN_JSON = /[\u0000-\u001f"\\\u007f-\uffff]/

/**
 * Values a redactor remembers (with their placeholders): a run that records or verifies a capture
 * stays far below it, and a proxy or webhook receiver that runs for months (a new wamid with every
 * send) forgets the least recently seen past it instead of growing (measured: ~18 MB at the limit).
 * A value forgotten and seen again gets a new placeholder; placeholders are never reused.
 */
export const PERSONAL_VALUES_LIMIT = 25_000

/** Replaces personal data with stable placeholders; one instance per run keeps numbering stable. */
export class PersonalDataRedactor {
  private readonly phones: Recent<string>
  private readonly names: Recent<string>
  private wamids = 0
  private phoneSeq = 0
  private personSeq = 0
  /** Placeholders handed out: never replaced again (text passes run after JSON passes). */
  private readonly fakes: Recent<true>
  /** Every real value replaced so far, with its placeholder: applied to raw text bodies too. */
  private readonly replaced: ValueIndex

  constructor(readonly limit = PERSONAL_VALUES_LIMIT) {
    this.phones = new Recent(limit)
    this.names = new Recent(limit)
    this.fakes = new Recent(2 * limit)
    this.replaced = new ValueIndex(2 * limit)
  }

  /** A redactor copied by structured clone (to a worker thread) made whole again: its prototypes are not copied. */
  static revive(data: unknown): PersonalDataRedactor {
    const p = Object.setPrototypeOf(data, PersonalDataRedactor.prototype) as PersonalDataRedactor
    Object.setPrototypeOf(p.replaced, ValueIndex.prototype)
    for (const r of [p.phones, p.names, p.fakes]) Object.setPrototypeOf(r, Recent.prototype)
    return p
  }

  /** How many distinct values were given a placeholder (forgotten ones included). */
  get count(): number {
    return this.phoneSeq + this.personSeq + this.wamids
  }

  /** Values remembered now (bounded by the limit). */
  get remembered(): number {
    return this.replaced.size
  }

  /**
   * The JSON value with personal data replaced (keys decide what is personal); below MAX_WALK_DEPTH,
   * TOO_DEEP. Copied where something was replaced; the value itself (===) when nothing was.
   */
  json(value: unknown): unknown {
    return this.visit(value, undefined, undefined, 0)
  }

  /** Applies every replacement made so far to raw text (a body's bytes, a URL, a header value), plus numbers in free text. */
  text(s: string): string {
    let out = s
    // Only the values that occur in the text, found in one pass (every send adds a wamid: trying each would grow with the traffic).
    // Longest first, as they were found in order of first appearance: a value containing another is replaced whole.
    for (const [real, fake] of this.replaced.occurring(s)) {
      if (out.includes(real)) out = out.split(real).join(fake)
    }
    // Every number in free text starts with '+': most texts (a header, a URL) have none, and skip the pattern.
    return out.includes('+') ? out.replace(E164_IN_TEXT, (m) => this.phone(m)) : out
  }

  /** Values compared with text so far: the work text() did, which grows with the text's length and not with the values seen. */
  get comparisons(): number {
    return this.replaced.comparisons
  }

  /** The placeholder of a phone number: same punctuation and digit count, digits from the placeholder index. */
  phone(value: string): string {
    const digits = value.replace(/\D/g, '')
    if (digits.length < 5 || this.fakes.has(value) || PLACEHOLDER_DIGITS.test(digits)) return value
    let fakeDigits = this.phones.get(digits)
    if (!fakeDigits) {
      const n = String(++this.phoneSeq)
      fakeDigits = `1555${n.padStart(digits.length - 4, '0')}`.slice(0, digits.length)
      this.phones.set(digits, fakeDigits)
    }
    let i = 0
    const fake = value.replace(/\d/g, () => fakeDigits![i++]!)
    this.remember(value, fake)
    if (value !== digits) this.remember(digits, fakeDigits)
    return fake
  }

  /** The placeholder of a message id: `wamid.REDACTED1`, ... */
  wamid(value: string): string {
    // A placeholder already (a body walked again): kept, as phone() keeps its own.
    if (this.fakes.has(value)) return value
    let fake = this.names.get(value)
    if (!fake) {
      fake = `wamid.REDACTED${++this.wamids}`
      this.names.set(value, fake)
    }
    this.remember(value, fake)
    return fake
  }

  /** The placeholder of a person's name: `Person 1`, `Person 2`, ... */
  name(value: string): string {
    if (this.fakes.has(value)) return value
    let fake = this.names.get(value)
    if (!fake) {
      fake = `Person ${++this.personSeq}`
      this.names.set(value, fake)
    }
    this.remember(value, fake)
    return fake
  }

  private remember(real: string, fake: string): void {
    this.replaced.set(real, fake)
    this.fakes.set(fake, true)
    // JSON escapes non-ASCII and '/' in some encoders; replace the escaped spelling in raw bodies too. A value with
    // nothing JSON.stringify or the replace below would escape (most: digits, wamids) is its own escaped spelling.
    if (!ESCAPED_IN_JSON.test(real)) return
    const escaped = JSON.stringify(real).slice(1, -1).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    if (escaped !== real) this.replaced.set(escaped, fake)
  }

  private visit(v: unknown, key: string | undefined, parent: string | undefined, depth: number): unknown {
    if (v && typeof v === 'object' && depth >= MAX_WALK_DEPTH) return TOO_DEEP
    if (typeof v === 'string') {
      if (key && PHONE_KEYS.has(key) && looksLikePhone(v)) return this.phone(v)
      // A wamid is base64 of, among others, the recipient's number: keep the prefix, replace the rest.
      if (v.startsWith('wamid.') && v.length > 12) return this.wamid(v)
      if (key && (NAME_KEYS.has(key) || (key === 'name' && parent && NAME_PARENTS.has(parent)))) return this.name(v)
      // Every number in free text starts with '+' (as in text()): most strings have none, and skip the pattern.
      return v.includes('+') ? v.replace(E164_IN_TEXT, (m) => this.phone(m)) : v
    }
    // Array elements inherit the array's key as their parent (`contacts: [{ profile: { name } }]`).
    // Copy on write: a value with nothing personal in it comes back as the very same object, so a
    // caller can tell by identity that nothing was replaced (most bodies: a template list, an error).
    if (Array.isArray(v)) {
      let out: unknown[] | undefined
      for (let i = 0; i < v.length; i++) {
        const x = this.visit(v[i], key, parent, depth + 1)
        if (x !== v[i] && !out) out = v.slice(0, i)
        out?.push(x)
      }
      return out ?? v
    }
    if (v && typeof v === 'object') {
      let out: Record<string, unknown> | undefined
      const entries = Object.entries(v)
      for (let i = 0; i < entries.length; i++) {
        const [k, x] = entries[i]!
        const y = this.visit(x, k, key, depth + 1)
        if (y !== x && !out) {
          out = {}
          for (let j = 0; j < i; j++) define(out, entries[j]![0], entries[j]![1])
        }
        if (out) define(out, k, y)
      }
      return out ?? v
    }
    return v
  }
}

/**
 * The real values replaced so far, found in a text by the two characters they start with: one pass
 * over the text, and at a position whose pair starts some value, one lookup per length of the
 * values starting so (a handful), never one per value seen.
 */
class ValueIndex {
  /** Real value -> its placeholder and the order it was first seen (ties in length keep that order, as replacement always has); least recently set first. */
  private readonly values = new Map<string, { fake: string; order: number }>()
  private order = 0
  /** Bit set of the first two characters (low bytes) of every value: most positions of a text fail here. */
  private readonly pairs = new Uint8Array(65536)
  /** The exact first two characters -> the lengths of the values starting with them, longest first. */
  private readonly lengths = new Map<number, number[]>()
  /** Values of one character (a name `A`): tried on every text, at most one per character. */
  private readonly single: string[] = []
  comparisons = 0

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.values.size
  }

  set(real: string, fake: string): void {
    // An empty name is nothing to replace (splitting on '' would put the placeholder between every character).
    if (real === '') return
    const known = this.values.get(real)
    if (known) {
      known.fake = fake
      // Most recently set last: the first in the map is the first to forget.
      this.values.delete(real)
      this.values.set(real, known)
      return
    }
    this.values.set(real, { fake, order: this.order++ })
    if (this.values.size > this.limit) {
      // The pair bits and lengths of a forgotten value stay: they only send a position to a lookup that misses.
      const oldest = this.values.keys().next().value!
      this.values.delete(oldest)
      if (oldest.length === 1) this.single.splice(this.single.indexOf(oldest), 1)
    }
    if (real.length === 1) {
      this.single.push(real)
      return
    }
    const c0 = real.charCodeAt(0)
    const c1 = real.charCodeAt(1)
    this.pairs[((c0 & 0xff) << 8) | (c1 & 0xff)] = 1
    const key = c0 * 0x10000 + c1
    const lens = this.lengths.get(key)
    if (!lens) this.lengths.set(key, [real.length])
    else if (!lens.includes(real.length)) {
      lens.push(real.length)
      lens.sort((a, b) => b - a)
    }
  }

  /** The values that occur in `s` with their placeholders, longest first (then in order first seen). */
  occurring(s: string): [string, string][] {
    let found: string[] | undefined
    for (const v of this.single) {
      this.comparisons++
      if (s.includes(v)) (found ??= []).push(v)
    }
    const pairs = this.pairs
    const n = s.length
    let c1 = n > 0 ? s.charCodeAt(0) : 0
    for (let i = 0; i + 1 < n; i++) {
      const c0 = c1
      c1 = s.charCodeAt(i + 1)
      if (pairs[((c0 & 0xff) << 8) | (c1 & 0xff)] === 0) continue
      const lens = this.lengths.get(c0 * 0x10000 + c1)
      if (!lens) continue
      for (const len of lens) {
        if (i + len > n) continue
        this.comparisons++
        const candidate = s.slice(i, i + len)
        if (this.values.has(candidate)) (found ??= []).push(candidate)
      }
    }
    if (!found) return []
    const unique = [...new Set(found)].map((real) => [real, this.values.get(real)!] as const)
    unique.sort((a, b) => b[0].length - a[0].length || a[1].order - b[1].order)
    return unique.map(([real, { fake }]) => [real, fake])
  }
}

/** Sets a key as JSON.parse would: `__proto__` as an own key, never the prototype. */
function define(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
  else o[k] = v
}

/** A map that forgets its least recently used entry past a limit (kept here: the redactor crosses to worker threads by structured clone, and revive() restores its prototypes). */
class Recent<V> {
  private readonly map = new Map<string, V>()
  constructor(private readonly limit: number) {}

  get(key: string): V | undefined {
    const v = this.map.get(key)
    if (v !== undefined) {
      this.map.delete(key)
      this.map.set(key, v)
    }
    return v
  }

  has(key: string): boolean {
    return this.map.has(key)
  }

  set(key: string, value: V): void {
    this.map.delete(key)
    this.map.set(key, value)
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value!)
  }
}

/** Whether values under this key are personal data (replaced by placeholders wherever driftwatch writes them). */
export function isPersonalKey(key: string): boolean {
  return PHONE_KEYS.has(key) || NAME_KEYS.has(key)
}

/** A phone number or WhatsApp id as Meta writes them: digits with optional `+`, spaces, dashes, parentheses; not a date. */
function looksLikePhone(v: string): boolean {
  if (!/^\+?[\d ().-]+$/.test(v) || /^\d{4}-\d{2}-\d{2}/.test(v)) return false
  const n = v.replace(/\D/g, '').length
  return n >= 7 && n <= 15
}

/** A shell-quoted `--data-raw '...'` body in a curl line, unquoted. */
function curlBody(curl: string): string | undefined {
  const m = /--data-raw '((?:[^']|'\\'')*)'/.exec(curl)
  return m?.[1]?.split(`'\\''`).join(`'`)
}

/**
 * Findings as a report shows them: personal data in their evidence and words replaced by the same
 * placeholders recordings use (numbered across the report; placeholders already there are kept).
 * Every JSON body is read first, so a truncated excerpt, a curl or a title that quotes a value gets
 * the same placeholder as the body it came from.
 */
export function withoutPersonalData<F extends Finding>(findings: readonly F[]): F[] {
  const pd = new PersonalDataRedactor()
  const learn = (text: string | undefined) => {
    if (!text) return
    try {
      pd.json(JSON.parse(text))
    } catch {
      // an excerpt cut short, or not JSON: replaced as text below
    }
  }
  for (const f of findings) {
    learn(f.evidence.golden?.bodyExcerpt)
    learn(f.evidence.bodyExcerpt)
    if (f.evidence.curl) learn(curlBody(f.evidence.curl))
  }
  const t = (s: string) => pd.text(s)
  const opt = (s: string | undefined) => (s === undefined ? s : pd.text(s))
  return findings.map((f) => {
    const ev = f.evidence
    const evidence = {
      ...ev,
      ...(ev.request !== undefined ? { request: t(ev.request) } : {}),
      ...(ev.headers ? { headers: ev.headers.map(([n, v]) => [n, t(v)] as [string, string]) } : {}),
      ...(ev.bodyExcerpt !== undefined ? { bodyExcerpt: t(ev.bodyExcerpt) } : {}),
      ...(ev.curl !== undefined ? { curl: t(ev.curl) } : {}),
      ...(ev.golden ? { golden: { ...ev.golden, ...(ev.golden.bodyExcerpt !== undefined ? { bodyExcerpt: opt(ev.golden.bodyExcerpt)! } : {}) } } : {}),
    }
    return { ...f, title: t(f.title), message: t(f.message), expected: t(f.expected), actual: t(f.actual), evidence }
  })
}
