/** Webhook bodies for tests: an envelope around changes, a text message, a status, and a judge run over bodies. */
import type { Finding } from '../../src/model/finding.ts'
import type { Golden } from '../../src/judge/index.ts'
import { WebhookJudge, type WebhookVerdict } from '../../src/webhooks/index.ts'

export const SINCE = '2026-12-01T00:00:00.000Z'

/** A body of one entry holding the given changes. */
export function body(...changes: { field: string; value: unknown }[]): Record<string, unknown> {
  return { object: 'whatsapp_business_account', entry: [{ id: '102290129340398', changes }] }
}

const META = { display_phone_number: '14155550199', phone_number_id: '106540352242922' }

/** A messages change with inbound messages (contacts[] as Meta sends it). */
export function inbound(...messages: unknown[]): { field: string; value: unknown } {
  return { field: 'messages', value: { messaging_product: 'whatsapp', metadata: META, contacts: [{ profile: { name: 'Kerry Fisher' }, wa_id: '16315551234' }], messages } }
}

/** A messages change with statuses. */
export function statuses(...list: unknown[]): { field: string; value: unknown } {
  return { field: 'messages', value: { messaging_product: 'whatsapp', metadata: META, statuses: list } }
}

/** An inbound text message. */
export function text(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { from: '16315551234', id: 'wamid.HBgLMTYzMTU1NTEyMzQVAgASGBQzQTdCNTg5RjY1MEI2N0Y2RjI4MwA=', timestamp: '1733900000', type: 'text', text: { body: 'my card number is 4111 1111' }, ...extra }
}

/** A status of a message. */
export function status(value: string, timestamp: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'wamid.HBgLMTYzMTU1NTEyMzQVAgARGBI1RjQ0QkE4RjM4MkQ2QzI0NjMA', status: value, timestamp: String(timestamp), recipient_id: '16315551234', ...extra }
}

/** Judges bodies in order with the pack in contracts/meta. */
export async function judgeBodies(bodies: readonly unknown[], golden?: ReadonlyMap<string, Golden>): Promise<WebhookVerdict> {
  const j = new WebhookJudge({ since: SINCE, ...(golden ? { golden } : {}) })
  bodies.forEach((b, i) => j.add(b, { where: `body ${i + 1}`, receivedAt: SINCE }))
  return j.verdict()
}

/** Findings as `severity check contract: title` lines, sorted: what a table test compares. */
export function lines(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.severity} ${f.check} ${f.contract}: ${f.title}`).sort()
}
