/**
 * XML (junit.xml) as a medium: untrusted text escaped for content and quoted attributes. XML 1.0
 * forbids most control characters; they are shown (`\x1b`) rather than dropped, so the evidence
 * still says they were there.
 */
import { tagFor, type Fragment } from './fragment.ts'
import { printable, type Untrusted } from './untrusted.ts'

/** A piece of XML built by the `xml` tag. */
export type Xml = Fragment<'xml'>

/** Escapes untrusted text for XML content and attributes; characters XML cannot carry are shown as escapes. */
export function escapeXml(u: Untrusted): string {
  return printable(u)
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

/** `xml\`<failure message="${title}">\``: every value escaped unless it is an XML fragment. */
export const xml = tagFor<'xml', Untrusted>('xml', escapeXml)
