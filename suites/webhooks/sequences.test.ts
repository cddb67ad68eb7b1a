/**
 * Statuses per message id, judged as Meta documents them: by their timestamps, not arrival; a
 * duplicate (Meta retries) and delivered+failed (several devices) are info; a failed status
 * without errors[] or with a code outside Meta's catalogue is a warning. Nothing the FAQ calls
 * normal is ever breaking. Each finding has its quiet twin.
 */
import { describe, expect, it } from 'vitest'
import { StatusSequences } from '../../src/webhooks/index.ts'
import { body, judgeBodies, lines, status, statuses } from './helpers.ts'

const ERR_131026 = { errors: [{ code: 131026, title: 'Message undeliverable', message: 'Message undeliverable', error_data: { details: 'Message Undeliverable.' } }] }

describe('status sequences through the WebhookJudge', () => {
  it.each([
    ['sent, delivered, read in order', [status('sent', 10), status('delivered', 11), status('read', 12)], []],
    ['the same statuses out of order (judged by timestamp: quiet)', [status('read', 12), status('sent', 10), status('delivered', 11)], []],
    ['a duplicate delivered (a retry)', [status('sent', 10), status('delivered', 11), status('delivered', 11)], ['info webhook-sequence webhook.statuses.delivered: Duplicate delivered status for one message']],
    ['delivered then failed', [status('sent', 10), status('delivered', 11), status('failed', 12, ERR_131026)], ['info webhook-sequence webhook.statuses.failed: Message both delivered and failed']],
    ['failed with a catalogued code (quiet)', [status('sent', 10), status('failed', 11, ERR_131026)], []],
    ['failed without errors[]', [status('failed', 11)], ['warning webhook-sequence webhook.statuses.failed: Failed status without errors[]']],
    ['failed with an empty errors[]', [status('failed', 11, { errors: [] })], ['warning webhook-sequence webhook.statuses.failed: Failed status without errors[]']],
    ['failed with a code outside the catalogue', [status('failed', 11, { errors: [{ code: 999999, title: 'x' }] })], ["warning webhook-sequence webhook.statuses.failed: Failed status with error code 999999, not in Meta's catalogue"]],
  ])('%s', async (_what, list, expected) => {
    // One body per status, as Meta sends them.
    const v = await judgeBodies(list.map((s) => body(statuses(s))))
    expect(lines(v.findings)).toEqual(expected)
    expect(v.findings.filter((f) => f.severity === 'breaking')).toEqual([])
  })
})

describe('StatusSequences', () => {
  it('orders by timestamp, counts what arrived out of order, duplicates and delivered+failed', () => {
    const s = new StatusSequences()
    const at = { at: 'x', contract: 'c' }
    s.add({ messageId: 'a', status: 'delivered', timestamp: 11, ...at })
    s.add({ messageId: 'a', status: 'sent', timestamp: 10, ...at })
    s.add({ messageId: 'b', status: 'sent', timestamp: 10, ...at })
    s.add({ messageId: 'b', status: 'sent', timestamp: 10, ...at })
    s.add({ messageId: 'c', status: 'failed', timestamp: 9, ...at })
    s.add({ messageId: 'c', status: 'delivered', timestamp: 12, ...at })
    const { drafts, figures } = s.judge()
    expect(figures).toEqual({ messages: 3, statuses: 6, outOfOrder: 1, duplicates: 1, deliveredAndFailed: 1, forgotten: 0 })
    expect(drafts.find((d) => d.title === 'Message both delivered and failed')!.actual).toBe('failed then delivered')
  })

  it('forgets the oldest message id past its limit, and says so', () => {
    const s = new StatusSequences(2)
    for (const id of ['a', 'b', 'c']) s.add({ messageId: id, status: 'sent', timestamp: 1, at: 'x', contract: 'c' })
    expect(s.judge().figures).toMatchObject({ messages: 2, forgotten: 1 })
  })
})
