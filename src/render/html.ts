/**
 * HTML as a medium: the `html` tag escapes every interpolated value unless it is itself an HTML
 * fragment. Untrusted text is escaped for element content and for double- or single-quoted
 * attribute values alike (`& < > " '`), after its control characters are made visible. A value
 * from a report can never become markup.
 */
import { createHash } from 'node:crypto'
import { fragment, joinFragments, tagFor, type Fragment } from './fragment.ts'
import { codeSpans, printable, untrusted, type Untrusted } from './untrusted.ts'

/** A piece of HTML built by the `html` tag: safe to place as is. */
export type Html = Fragment<'html'>

/** Escapes untrusted text for HTML content and quoted attribute values. */
export function escapeHtml(u: Untrusted): string {
  return printable(u).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

/** `html\`<td>${title}</td>\``: the literal parts are markup, every value is escaped unless it is an HTML fragment. */
export const html = tagFor<'html', Untrusted>('html', escapeHtml)

/** Untrusted prose whose `code` spans (titles quote field paths so) become <code>: escaped either way, and no backtick shows. */
export function withCode(u: Untrusted): Html {
  return joinHtml(codeSpans(u).map((part, i) => (i % 2 ? html`<code>${untrusted(part)}</code>` : html`${untrusted(part)}`)))
}

/** HTML fragments joined with a separator. */
export function joinHtml(parts: readonly Html[], separator: Html = fragment('html', '')): Html {
  return joinFragments('html', parts, separator)
}

/**
 * The sha256 (base64) of one inline script or style, for a Content-Security-Policy `'sha256-…'`
 * source: the page allows exactly the code it was built with, so an injected `<script>` or
 * `onerror=` never runs, even if some day a value escaped this module.
 */
export function cspHash(code: Html): Untrusted {
  return createHash('sha256').update(String(code), 'utf8').digest('base64') as Untrusted
}
