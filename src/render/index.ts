/**
 * Rendering untrusted text, one module per medium. Everything from the wire, a capture, a
 * recording or another report enters a renderer as `Untrusted` and leaves it escaped for HTML,
 * Markdown, the terminal, XML, Slack or a JSON webhook. Pure: no I/O.
 */
export { untrusted, untrusting, printable, oneLine, codeSpans, type Untrusted, type Untrusting } from './untrusted.ts'
export { httpUrl, fileUrl } from './url.ts'
export { Fragment, type Medium } from './fragment.ts'
export { html, joinHtml, escapeHtml, cspHash, withCode, type Html } from './html.ts'
export { md, joinMd, type Md, text, cell, code, cellCode, block, textWithCode, cellWithCode, link } from './markdown.ts'
export { term, termBlock, terminalSafe, type Term } from './terminal.ts'
export { xml, escapeXml, type Xml } from './xml.ts'
export { slack, type Mrkdwn, slackText, slackCode, slackBlock, webhookJson } from './chat.ts'
