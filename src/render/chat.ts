/**
 * Alerts leave driftwatch as Slack messages and JSON webhooks. Slack reads `mrkdwn`: `<...>` is a
 * link or a mention (`<!channel>`), so `& < >` are escaped as Slack asks; a backtick run cannot end
 * a code block or span early. A JSON webhook's receiver may show its strings anywhere (a log
 * viewer, a web page), so its strings have their controls shown and `< > &` and the line separators
 * are written as `\u` escapes: the JSON means the same, and holds no markup a careless page would run.
 */
import { fragment, tagFor, type Fragment } from './fragment.ts'
import { oneLine, printable, type Untrusted } from './untrusted.ts'

/** Slack mrkdwn built here. */
export type Mrkdwn = Fragment<'slack'>

const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Untrusted text as Slack prose, on one line. */
export function slackText(u: Untrusted): Mrkdwn {
  return fragment('slack', slackEscape(oneLine(u)))
}

/** Untrusted text as a Slack inline code span (a backtick cannot be escaped there, so it is shown as ˋ). */
export function slackCode(u: Untrusted): Mrkdwn {
  return fragment('slack', `\`${slackEscape(oneLine(u)).replace(/`/g, 'ˋ')}\``)
}

/** Untrusted text as a Slack code block (a backtick inside is shown as ˋ: Slack has no escape, and three would close the block). */
export function slackBlock(u: Untrusted): Mrkdwn {
  return fragment('slack', '```' + slackEscape(printable(u)).replace(/`/g, 'ˋ') + '```')
}

/** `slack\`*Drift* on ${slackCode(contract)}\``: values must be placed fragments. */
export const slack = tagFor('slack')

/**
 * A JSON webhook body: every string with its controls shown, and `< > &`, U+2028 and U+2029 as `\u`
 * escapes, so the text is the same JSON but inert wherever a receiver pastes it.
 */
export function webhookJson(value: unknown): string {
  const json = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? printable(v) : v))
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
