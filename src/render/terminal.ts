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

/**
 * The last guard on the way to stdout and stderr: every control character but newline and tab is
 * shown, not sent. driftwatch itself prints no escape sequences (no colours, no cursor moves), so
 * any ESC, CSI or BEL at this point came from outside.
 */
export function terminalSafe(line: string | Term): string {
  return printable(String(line))
}
