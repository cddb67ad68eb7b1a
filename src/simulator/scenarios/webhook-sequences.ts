/**
 * What Meta's FAQ calls normal for status webhooks, one scenario each: they arrive out of order,
 * twice, or a delivered message also fails (another device). The bodies stay valid; a judge that
 * reads timestamps rather than arrival order reports nothing above info for them.
 */
import type { Scenario } from '../scenario.ts'
import { WEBHOOK_ERRORS } from '../webhooks.ts'
import { answerAsBaseline } from './webhook-drift.ts'

const FAQ = 'FACTS.md (delivery "at least once, not ordered"; "duplicates happen"; one message can get both delivered and failed, seed 003)'

export const webhookOutOfOrder: Scenario = {
  name: 'webhook-out-of-order',
  description: 'Each send\'s delivered webhook arrives before its sent webhook; timestamps still say sent came first.',
  source: FAQ,
  respond: answerAsBaseline,
  webhooks: {
    plan(statuses) {
      const sent = statuses.findIndex((s) => s.status === 'sent')
      const delivered = statuses.findIndex((s) => s.status === 'delivered')
      if (sent < 0 || delivered < 0) return statuses
      const out = [...statuses]
      out[sent] = statuses[delivered]!
      out[delivered] = statuses[sent]!
      return out
    },
    expects: [],
  },
}

export const webhookDuplicates: Scenario = {
  name: 'webhook-duplicates',
  description: 'Every status webhook is delivered twice, byte for byte, as Meta\'s at-least-once retries do.',
  source: FAQ,
  respond: answerAsBaseline,
  webhooks: {
    plan: (statuses) => statuses.flatMap((s) => [s, s]),
    // Info, never more: Meta delivers at least once (FACTS.md).
    expects: (['sent', 'delivered', 'read', 'failed'] as const).map((status) => ({ contract: `webhook.statuses.${status}`, check: 'webhook-sequence', severity: 'info' as const, title: `Duplicate ${status} status for one message`, webhook: status })),
  },
}

export const webhookDeliveredThenFailed: Scenario = {
  name: 'webhook-delivered-then-failed',
  description: 'A delivered message then fails (131026) a second later, as on a second device; no read follows.',
  source: FAQ,
  respond: answerAsBaseline,
  webhooks: {
    plan(statuses) {
      const delivered = statuses.find((s) => s.status === 'delivered')
      if (!delivered) return statuses
      const kept = statuses.filter((s) => s.status !== 'read')
      return [...kept, { ...delivered, status: 'failed', timestamp: delivered.timestamp + 1, errors: [WEBHOOK_ERRORS.undeliverable()] }]
    },
    expects: [{ contract: 'webhook.statuses.failed', check: 'webhook-sequence', severity: 'info', title: 'Message both delivered and failed', webhook: 'failed' }],
  },
}
