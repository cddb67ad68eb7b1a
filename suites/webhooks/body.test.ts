/**
 * A webhook body split into notifications: one per message and status (with its path, message id
 * and timestamp), one per change of other fields; a body whose entry is an object is still read
 * (the envelope contract says it is breaking), and what is not a WhatsApp webhook is not one.
 */
import { describe, expect, it } from 'vitest'
import { isWebhookBody, notificationsOf } from '../../src/webhooks/index.ts'
import { body, inbound, status, statuses, text } from './helpers.ts'

describe('isWebhookBody', () => {
  it.each([
    ['a WhatsApp Business Account body', body(inbound(text())), true],
    ['entry as an object (drift, still a webhook)', { object: 'whatsapp_business_account', entry: { id: '1', changes: [] } }, true],
    ['a Page webhook', { object: 'page', entry: [] }, false],
    ['no entry', { object: 'whatsapp_business_account' }, false],
    ['a Graph API answer', { messaging_product: 'whatsapp', contacts: [], messages: [{ id: 'wamid.x' }] }, false],
    ['a list', [body()], false],
  ])('%s: %s', (_what, json, expected) => {
    expect(isWebhookBody(json)).toBe(expected)
  })
})

describe('notificationsOf', () => {
  it('gives one notification per message and per status, with its path, message id and timestamp', () => {
    const b = body(inbound(text(), text({ type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: 'a', title: 'A' } } })), statuses(status('sent', 10), status('failed', 12)))
    const ns = notificationsOf(b)
    expect(ns.map((n) => [n.kind, n.path, n.timestamp])).toEqual([
      ['messages.text', 'entry[0].changes[0].value.messages[0]', 1733900000],
      ['messages.interactive.list_reply', 'entry[0].changes[0].value.messages[1]', 1733900000],
      ['statuses.sent', 'entry[0].changes[1].value.statuses[0]', 10],
      ['statuses.failed', 'entry[0].changes[1].value.statuses[1]', 12],
    ])
    expect(ns[3]!.messageId).toMatch(/^wamid\./)
    // The judged value holds only its own item, with the change's envelope.
    expect((ns[1]!.value as { messages: unknown[]; contacts: unknown[] }).messages).toHaveLength(1)
    expect((ns[1]!.value as { contacts: unknown[] }).contacts).toHaveLength(1)
  })

  it('names other fields by the field, and reads an entry that is an object as one entry', () => {
    const b = { object: 'whatsapp_business_account', entry: { id: '1', changes: [{ field: 'account_update', value: { event: 'VERIFIED_ACCOUNT' } }] } }
    expect(notificationsOf(b).map((n) => [n.kind, n.path])).toEqual([['account_update', 'entry.changes[0].value']])
  })

  it('tells the kind of a message without type from its content, and a missing status as (none)', () => {
    const { type: _t, ...untyped } = text()
    const { status: _s, ...bare } = status('sent', 1)
    expect(notificationsOf(body(inbound(untyped), statuses(bare))).map((n) => n.kind)).toEqual(['messages.text', 'statuses.(none)'])
  })

  it('gives a messages change with only errors[] its own kind, and messages as a non-list to the any-message contract', () => {
    const errorsOnly = { field: 'messages', value: { messaging_product: 'whatsapp', metadata: {}, errors: [{ code: 130429 }] } }
    const notList = { field: 'messages', value: { messaging_product: 'whatsapp', metadata: {}, messages: { id: 'x' } } }
    expect(notificationsOf(body(errorsOnly, notList)).map((n) => [n.kind, n.path])).toEqual([
      ['messages.errors', 'entry[0].changes[0].value'],
      ['messages.*', 'entry[0].changes[1].value.messages'],
    ])
  })
})
