/**
 * The spellings of a secret that redaction promises to find (README "Secrets in every spelling"),
 * written here independently of the Redactor: `spell` gives what a hostile upstream or capture
 * echoes, and `leaks` greps any output for any of them, pieces included. It does not search the way
 * the Redactor does (it decodes the haystack instead of widening the needle), so a spelling the
 * Redactor forgets is a leak this finds.
 */

/** A secret spelled every way the promise covers, each embedded as it would sit in a longer text or stream. */
export function spell(secret: string): Record<string, string> {
  const bytes = Buffer.from(secret, 'utf8')
  const hex = bytes.toString('hex')
  const spaced = hex.replace(/(..)(?!$)/g, '$1 ')
  // Inside a longer base64 stream the secret starts at byte 0, 1 or 2 of a 3-byte group.
  const inStream = (k: number, enc: 'base64' | 'base64url') => Buffer.concat([Buffer.from('ab'.slice(0, k)), bytes, Buffer.from('!?')]).toString(enc)
  const chars = [...secret]
  const pct = (c: string) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')
  const u = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  return {
    plain: secret,
    lower: secret.toLowerCase(),
    upper: secret.toUpperCase(),
    'hex lower': hex,
    'hex upper': hex.toUpperCase(),
    'hex spaced': spaced,
    'hex spaced upper': spaced.toUpperCase(),
    'hex \\x': [...bytes].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join(''),
    'base64 aligned 0': inStream(0, 'base64'),
    'base64 aligned 1': inStream(1, 'base64'),
    'base64 aligned 2': inStream(2, 'base64'),
    'base64url aligned 1': inStream(1, 'base64url'),
    'base64url aligned 2': inStream(2, 'base64url'),
    // As MIME and HAR exporters wrap base64: 76 characters a line.
    'base64 wrapped': Buffer.concat([Buffer.from('attachment of a message: '), bytes]).toString('base64').replace(/(.{76})(?!$)/g, '$1\r\n'),
    'url some': chars.map((c, i) => (i % 3 === 0 ? pct(c) : encodeURIComponent(c))).join(''),
    'url all': chars.map(pct).join(''),
    'json some': chars.map((c, i) => (i % 4 === 0 ? u(c) : c)).join(''),
    'json all': chars.map(u).join(''),
    'json first only': `${u(chars[0]!)}${chars.slice(1).join('')}`,
    html: chars.map((c) => `&#${c.codePointAt(0)};`).join(''),
    // As a Markdown renderer escapes punctuation (the token has some).
    markdown: secret.replace(/[!-/:-@[-`{-~]/g, '\\$&'),
  }
}

/** Length of the pieces searched for: a piece of a secret this long is a leak. */
const PIECE = 12

/** What `leaks` searches: every PIECE-long window of the secret, as text, as hex and as base64 at each alignment. */
function needles(secret: string): { what: string; needle: string }[] {
  const bytes = Buffer.from(secret, 'utf8')
  const out: { what: string; needle: string }[] = []
  const windows = (what: string, s: string, n: number) => {
    for (let i = 0; i + n <= s.length || (i === 0 && s.length < n); i++) out.push({ what, needle: s.slice(i, i + n).toLowerCase() })
  }
  windows('text', secret, PIECE)
  windows('hex', bytes.toString('hex'), 2 * PIECE)
  for (let k = 0; k < 3; k++) {
    const b64 = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64').slice([0, 2, 3][k], Math.floor(((k + bytes.length) * 8) / 6))
    windows(`base64 (alignment ${k})`, b64, Math.ceil((PIECE * 4) / 3))
    windows(`base64url (alignment ${k})`, b64.replace(/\+/g, '-').replace(/\//g, '_'), Math.ceil((PIECE * 4) / 3))
  }
  return out
}

/** Decodes what an output may have escaped: percent-encoding, JSON `\uXXXX`, a backslash before punctuation (JSON, Markdown), HTML references (also escaped once more). */
function decoded(s: string): string {
  return s
    .replace(/&amp;/g, '&')
    .replace(/&(lt|gt|quot|apos);/g, (_, n: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'" })[n]!)
    .replace(/%([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\\u([0-9a-f]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\\+([!-/:-@[-`{-~])/g, '$1')
    .replace(/&#x([0-9a-f]+);/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
}

/**
 * Every piece of `secret` found in `output`, in any case: as it is, decoded (percent, JSON, HTML),
 * and decoded with gaps removed (spaces, colons, commas, dashes, line breaks raw or escaped, `0x` and
 * `\x`), which is how hex is spaced and base64 wrapped. Empty when the output is clean.
 */
export function leaks(output: string, secret: string): string[] {
  const lower = output.toLowerCase()
  const plainer = decoded(lower).toLowerCase()
  const gapless = plainer.replace(/\\+[rnx]|<br ?\/?>|0x|[\s:,-]/g, '')
  // One line per kind of piece and haystack: the first place it shows, with what surrounds it.
  const found = new Map<string, string>()
  for (const { what, needle } of needles(secret)) {
    for (const [how, hay] of [['as is', lower], ['decoded', plainer], ['decoded, gaps removed', gapless]] as const) {
      const at = hay.indexOf(needle)
      if (at >= 0) {
        if (!found.has(`${what} ${how}`)) found.set(`${what} ${how}`, `${what} ${how}: …${hay.slice(Math.max(0, at - 30), at + needle.length + 30)}…`)
        break
      }
    }
  }
  return [...found.values()]
}
