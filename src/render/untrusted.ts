/**
 * Untrusted text has a type. Everything read from the wire, a capture, a recording or another
 * report (a header value, a body excerpt, a finding's title quoting either, a report.json handed
 * to merge) may carry script, Markdown, terminal escape sequences or a secret in another encoding.
 * Such text is `Untrusted` until a renderer for one medium (HTML, Markdown, terminal, XML, Slack,
 * JSON webhooks: src/render/) escapes it for that medium. Renderers take `Untrusted`, never plain
 * `string`, and build their output only from their own fragments, so text cannot reach an output
 * unescaped by forgetting a call: it does not type-check.
 *
 * At run time an Untrusted value is the same string; the brand exists for the compiler.
 */

declare const UNTRUSTED: unique symbol

/** Text that came from outside driftwatch (wire, capture, recording, report). Only a renderer turns it into output. */
export type Untrusted = string & { readonly [UNTRUSTED]: true }

/**
 * A value as a renderer sees it: every string inside it is Untrusted (string literal unions such as a
 * severity keep their literal type too, so they still select icons and classes, and are still escaped).
 */
export type Untrusting<T> = T extends string
  ? T & Untrusted
  : T extends number | boolean | bigint | symbol | null | undefined
    ? T
    : T extends (...args: never[]) => unknown
      ? never
      : { readonly [K in keyof T]: Untrusting<T[K]> }

/** Marks one string as untrusted. */
export function untrusted(s: string): Untrusted {
  return s as Untrusted
}

/** Marks every string in a value (a report, an alert) as untrusted: what renderers are handed. */
export function untrusting<T>(value: T): Untrusting<T> {
  return value as Untrusting<T>
}

/**
 * Control characters a person must see rather than have interpreted: C0 (except tab and newline),
 * DEL, C1 (0x9b is a CSI on 8-bit terminals), line and paragraph separators, and the bidirectional
 * overrides and isolates that make text display in another order than it reads ("Trojan Source"),
 * and the zero-width characters that hide inside a word (a token split by one would read whole).
 */
const CONTROLS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/g

/** `\x1b`, `\x9b`, `\u202e`: how a control character is shown. */
function shown(c: string): string {
  const n = c.charCodeAt(0)
  return n > 0xff ? `\\u${n.toString(16).padStart(4, '0')}` : `\\x${n.toString(16).padStart(2, '0')}`
}

/**
 * Text a person can read, in any medium: control characters become visible escapes (`\x1b`) and a
 * run of replacement characters (bytes that were not UTF-8) becomes `[not UTF-8 ×N]`. Newlines and
 * tabs stay, CRLF reads as a newline; a lone CR is shown (it rewrites a terminal line and splits a Markdown table row).
 */
export function printable(s: string): string {
  return s.replace(/\r\n/g, '\n').replace(CONTROLS, shown).replace(/\uFFFD+/g, (run) => `[not UTF-8 ×${run.length}]`)
}

/** printable(), on one line: newlines and tabs become visible escapes too, so a value cannot start a line of its own. */
export function oneLine(s: string): string {
  return printable(s).replace(/\n/g, '\\n').replace(/\t/g, '\\t')
}

/**
 * Untrusted text split at its inline code spans (`x`, as titles write field paths): prose and code
 * alternate, code at odd indices. Only single-backtick spans count; a lone backtick, or a run of
 * them (```), is prose. Each medium places each part its own way.
 */
export function codeSpans(s: string): string[] {
  return s.split(/(?<!`)`([^`\n]+)`(?!`)/)
}
