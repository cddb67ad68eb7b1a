/**
 * The terminal as a medium. A header value or a HAR method holding ESC sequences would, printed raw,
 * set the window title, plant an OSC 8 hyperlink, clear the screen or forge a line. Untrusted text
 * is printed on one line with every control character shown (`\x1b`, `\r`, `\n`), and every line the
 * CLI prints passes `terminalSafe` on its way out, so no ESC byte reaches an engineer's terminal
 * whatever a command forgot.
 */
import { fragment, tagFor, type Fragment } from './fragment.ts'
import { oneLine, printable, type Untrusted } from './untrusted.ts'

/** Text for the terminal built by the `term` tag: safe to print. */
export type Term = Fragment<'term'>

/** `term\`✗ ${method} ${path}\``: literal parts are ours, every untrusted value is shown on one line with its controls visible. */
export const term = tagFor<'term', Untrusted>('term', oneLine)

/** Several lines of untrusted text (a finding's message), controls visible, each line indented. */
export function termBlock(u: Untrusted, indent = '    '): Term {
  return fragment('term', printable(u).split('\n').map((l) => indent + l).join('\n'))
}

// What printable() shows, less the replacement character (text here is ours or already shown).
const CONTROLS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/g

/**
 * The last guard on the way to stdout and stderr: every control character but newline and tab is
 * shown as `\u001b`, not sent. driftwatch itself prints no escape sequences (no colours, no cursor
 * moves), so any ESC, CSI or BEL at this point came from outside. The `\u` form keeps a `--json`
 * line valid JSON (JSON.stringify leaves C1 controls and U+2028 raw; `\u009b` reads back the same).
 */
export function terminalSafe(line: string | Term): string {
  return String(line).replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
