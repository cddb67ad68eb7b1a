/**
 * Markdown (CommonMark with GitHub's extensions: tables, autolinks, strikethrough) as a medium.
 * Where untrusted text lands decides how it must be escaped, so the `md` tag takes only fragments
 * and numbers: every untrusted value goes through one of the placing functions below, which says
 * where it lands.
 *
 * - `text`: prose. Every character that can open a construct is backslash-escaped (links,
 *   images, emphasis, raw HTML, entities), and so are the characters GitHub's autolinker looks
 *   for (`://`, `www.`, `@`), so no link or image ever comes from untrusted text. One line.
 * - `cell`: `text` for a table cell (a `|` is escaped, line breaks become spaces).
 * - `code` / `cellCode`: a code span whose backtick fence is longer than any run inside it.
 * - `block`: a fenced block whose fence is longer than any backtick run inside it.
 */
import { fragment, joinFragments, tagFor, type Fragment } from './fragment.ts'
import { codeSpans, oneLine, printable, untrusted, type Untrusted } from './untrusted.ts'
import { httpUrl } from './url.ts'

/** A piece of Markdown built here: safe to place as is. */
export type Md = Fragment<'md'>

/** `md\`| ${cell(title)} |\``: the literal parts are Markdown; values must be placed fragments (no escape fits every place). */
export const md = tagFor('md')

/** Markdown fragments joined with a separator. */
export function joinMd(parts: readonly Md[], separator: Md = fragment('md', '')): Md {
  return joinFragments('md', parts, separator)
}

// The characters that open or close a CommonMark/GFM construct in the middle of a line: links and
// images ([ ] !), emphasis and strikethrough (* _ ~), code (`), raw HTML and autolinks (< >),
// entities (&), table cells (|), and the backslash itself. Outside these, a backslash is literal.
// An underscore between two letters or digits (snake_case) opens nothing, so it is left as is.
const SPECIAL = /[\\`*[\]<>!|~&]|(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu

/** Escapes prose; GitHub's autolinker also turns `http://`, `www.` and `a@b.c` into links, so those are broken up too. */
function prose(s: string): string {
  return s
    .replace(SPECIAL, '\\$&')
    .replace(/:\/\//g, '\\://')
    .replace(/(w{3})\./gi, '$1\\.')
    .replace(/@/g, '\\@')
    .replace(/^[#+\-=]/, '\\$&')
}

/** Untrusted text as Markdown prose, on one line: it reads the same rendered, and nothing in it is markup or a link. */
export function text(u: Untrusted): Md {
  return fragment('md', prose(oneLine(u)))
}

/** Untrusted text for a table cell: prose with line breaks as spaces (a row is one line). */
export function cell(u: Untrusted): Md {
  return fragment('md', prose(printable(u).replace(/\s*\n\s*/g, ' ').replace(/\t/g, ' ')))
}

function span(content: string): string {
  const longest = Math.max(0, ...[...content.matchAll(/`+/g)].map((m) => m[0].length))
  const fence = '`'.repeat(longest + 1)
  // A space on each side when the content touches a backtick, so the fence is not read as longer.
  const pad = content.startsWith('`') || content.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${content}${pad}${fence}`
}

/** Untrusted text as an inline code span, outside a table. */
export function code(u: Untrusted): Md {
  return fragment('md', span(printable(u).replace(/\s*\n\s*/g, ' ')))
}

/** Untrusted text as an inline code span inside a table cell: a `|` is escaped (GitHub splits cells before code spans). */
export function cellCode(u: Untrusted): Md {
  return fragment('md', span(printable(u).replace(/\s*\n\s*/g, ' ')).replace(/\|/g, '\\|'))
}

/** Untrusted text as a fenced code block, whose fence is longer than any backtick run inside, so content cannot break out. */
export function block(u: Untrusted, lang: 'text' | 'json' | 'http' | 'sh' | '' = ''): Md {
  const content = printable(u).replace(/\s+$/, '')
  const longest = Math.max(2, ...[...content.matchAll(/`+/g)].map((m) => m[0].length))
  const f = '`'.repeat(longest + 1)
  return fragment('md', `${f}${lang}\n${content}\n${f}`)
}

/** Prose whose `code` spans stay code spans (fenced anew, so a crafted span cannot open more); the rest is `text`. */
export function textWithCode(u: Untrusted): Md {
  return joinMd(codeSpans(u).map((part, i) => (i % 2 ? code(untrusted(part)) : text(untrusted(part)))))
}

/** `textWithCode` for a table cell. */
export function cellWithCode(u: Untrusted): Md {
  return joinMd(codeSpans(u).map((part, i) => (i % 2 ? cellCode(untrusted(part)) : cell(untrusted(part)))))
}

/**
 * A link whose text is prose and whose target is an http(s) URL or a relative path already made
 * safe by src/render/url (risky characters percent-encoded). Anything else (a `javascript:` URL, a
 * target holding spaces or brackets) is shown as the text alone: no link.
 */
export function link(label: Untrusted, target: Untrusted | undefined): Md {
  const safe = target === undefined ? undefined : /^https?:/i.test(target) ? httpUrl(target) : /^[\w.%~/-]+$/.test(target) && !target.includes(':') ? target : undefined
  return safe ? fragment('md', `[${prose(oneLine(label))}](${safe})`) : text(label)
}
