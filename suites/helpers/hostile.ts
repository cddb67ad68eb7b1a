/**
 * Hostile text, as an attacker would plant it in a header, a body, a capture or a shard's
 * report.json: script for report.html, Markdown for report.md and job summaries, escape sequences
 * for a terminal, and the access token in every encoding redaction must know. And the inspectors
 * that say whether any of it got through: token forms to grep for, control bytes to count.
 *
 * Markers: every injected element carries `data-dw-injected`, every script sets `window.__dwPwned`,
 * every URL points at dw-exfil.invalid, so a test counts what got through without guessing.
 */

/** The access token the hostile runs hold (Meta-shaped), and an app secret (webhooks). */
export const TOKEN = 'EAAGhostile0Token0For0Driftwatch0Tests0ZDZD'
export const APP_SECRET = 'f00dfacedeadbeef0123456789abcdef'

/** Script that runs if report.html ever lets markup through. */
export const SCRIPT = [
  '<script data-dw-injected>window.__dwPwned=1</script>',
  '<img src=x onerror="window.__dwPwned=2" data-dw-injected>',
  '<svg onload="window.__dwPwned=3" data-dw-injected></svg>',
  '<a href="javascript:window.__dwPwned=4" data-dw-injected>open</a>',
  '<iframe src="http://dw-exfil.invalid/frame" data-dw-injected></iframe>',
  '"><b data-dw-injected>attr</b><x y=\'',
  '<meta http-equiv="refresh" content="0;url=http://dw-exfil.invalid/">',
].join(' ')

/** Markdown that would become links, images, headings, rows or raw HTML in report.md. */
export const MARKDOWN = [
  '![exfil](http://dw-exfil.invalid/p.png)',
  '[click](javascript:alert(1))',
  '[site](http://dw-exfil.invalid/) <http://dw-exfil.invalid/auto>',
  'http://dw-exfil.invalid/bare www.dw-exfil.invalid dw@exfil.invalid',
  '**bold** _em_ ~~del~~ `code` ```fence```',
  '| x | y |',
  '\n# injected heading\n- injected item\n\n| a | b |\n|---|---|\n| c | d |\n',
  '\r| cr row |',
  '<details open><summary>s</summary>d</details>',
  '&lt;entity&gt; &#x3C;b&#x3E;',
].join(' ')

/** Terminal escape sequences: window title, OSC 8 link, clear screen, colour, 8-bit CSI, BEL, a bare CR, a bidi override. */
export const ESCAPES = '\u001b]0;dw-title\u0007\u001b]8;;http://dw-exfil.invalid/\u001b\\link\u001b]8;;\u001b\\\u001b[2J\u001b[31mred\u001b[0m\u009b31m\u0007\rforged line\u202emirrored'

/** A secret in each encoding redaction must find: as it would sit in text. */
export function secretEncodings(secret: string): Record<string, string> {
  const bytes = Buffer.from(secret, 'utf8')
  const hex = bytes.toString('hex')
  return {
    plain: secret,
    lowercase: secret.toLowerCase(),
    uppercase: secret.toUpperCase(),
    hex,
    HEX: hex.toUpperCase(),
    'spaced hex': hex.replace(/(..)(?!$)/g, '$1 '),
    base64: bytes.toString('base64'),
    'base64 +1': Buffer.concat([Buffer.from('a'), bytes]).toString('base64'),
    'base64 +2': Buffer.concat([Buffer.from('ab'), bytes]).toString('base64'),
    base64url: bytes.toString('base64url'),
    'url-encoded': [...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
    'json-escaped': [...secret].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
  }
}

/**
 * What to grep an output for, per encoding: the whole secret in that form (for base64 at a shifted
 * alignment, the part of the encoding that depends on the secret alone).
 */
export function secretForms(secret: string): { name: string; test: (text: string) => boolean }[] {
  const e = secretEncodings(secret)
  const has = (needle: string, ci = false) => (text: string) => (ci ? text.toLowerCase().includes(needle.toLowerCase()) : text.includes(needle))
  // In a longer base64 stream the first and last characters of a secret's encoding depend on its neighbours.
  const middle = (b64: string | undefined) => (b64 ?? '').slice(4, -4)
  return [
    { name: 'plain (any case)', test: has(e.plain!, true) },
    { name: 'hex (any case)', test: has(e.hex!, true) },
    { name: 'spaced hex (any case)', test: has(e['spaced hex']!, true) },
    { name: 'base64', test: has(middle(e.base64)) },
    { name: 'base64 at +1', test: has(middle(e['base64 +1'])) },
    { name: 'base64 at +2', test: has(middle(e['base64 +2'])) },
    { name: 'base64url', test: has(middle(e.base64url)) },
    { name: 'url-encoded', test: has(e['url-encoded']!, true) },
    { name: 'json-escaped', test: has(e['json-escaped']!, true) },
  ]
}

/** The encodings of a secret found in a text (empty: none). */
export function leaks(text: string, secret = TOKEN): string[] {
  return secretForms(secret)
    .filter((f) => f.test(text))
    .map((f) => f.name)
}

/** Everything at once, marked with where it was planted: what every field of a hostile input holds. */
export function payload(marker: string, secret = TOKEN): string {
  return `${marker}: ${SCRIPT} ${MARKDOWN} ${ESCAPES} ${Object.values(secretEncodings(secret)).join(' ')}`
}

/** Control characters a terminal acts on (C0 but tab and newline, DEL, C1), as `[index, code]` (empty: none). */
export function controlsIn(text: string): [number, number][] {
  const out: [number, number][] = []
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f)) out.push([i, c])
  }
  return out
}
