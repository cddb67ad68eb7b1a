/**
 * Statuses in a webhook body, and the one-way name a message id goes by where the body is
 * redacted. A wamid is base64 of the recipient's number plus a random part, so the receiver's
 * journal keeps a placeholder in the body and, next to it, `messageIdHash` per status: whoever
 * sent the message (check --round-trip) hashes the id it got back and finds its statuses, and
 * nobody reading the journal learns a number.
 */
import { createHash } from 'node:crypto'

/** The name a message id goes by in the journal: sha256, hex, first 32 characters. */
export function messageIdHash(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 32)
}

/** Every `entry[].changes[].value.statuses[]` item of a body, in body order; none for anything else. */
export function statusItems(body: unknown): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = []
  const entries = (body as { entry?: unknown } | null)?.entry
  if (!Array.isArray(entries)) return items
  for (const e of entries) {
    const changes = (e as { changes?: unknown } | null)?.changes
    if (!Array.isArray(changes)) continue
    for (const c of changes) {
      const statuses = (c as { value?: { statuses?: unknown } } | null)?.value?.statuses
      if (!Array.isArray(statuses)) continue
      for (const s of statuses) if (s && typeof s === 'object') items.push(s as Record<string, unknown>)
    }
  }
  return items
}

/** What the journal keeps of a body's statuses: the hashed message id, the status and Meta's timestamp. */
export function statusIndex(body: unknown): { statuses?: { messageIdHash: string; status: string; timestamp?: string }[] } {
  const statuses = statusItems(body)
    .filter((s) => typeof s.id === 'string' && typeof s.status === 'string')
    .map((s) => ({ messageIdHash: messageIdHash(s.id as string), status: s.status as string, ...(typeof s.timestamp === 'string' ? { timestamp: s.timestamp } : {}) }))
  return statuses.length ? { statuses } : {}
}
