/**
 * A webhook body split into notifications: one per message and per status of a `messages`
 * change, one per change of any other field. Reading is tolerant on purpose: a body whose `entry`
 * is an object, or a change without `value`, is still split as far as it goes, so that what it
 * carries is judged too and the envelope contract says what is wrong with it.
 */

/** `object` of a WhatsApp Business Account webhook. */
export const WEBHOOK_OBJECT = 'whatsapp_business_account'

/** The kind of a messages change with neither messages[], statuses[] nor errors[]: no contract names it. */
export const NO_ITEMS = 'messages.(no messages or statuses)'

/** One notification: a message, a status, or another field's change. */
export interface Notification {
  /** The change's `field`. */
  field: string
  /** `messages.text`, `messages.interactive.button_reply`, `statuses.failed`, or the field's name. */
  kind: string
  /** Where it is in the body: `entry[0].changes[0].value.statuses[1]`. */
  path: string
  /** The body judged against the kind's contract: the change's value (for a message or status, holding that one item). */
  value: unknown
  /** The message or status itself (messages field only). */
  item?: Record<string, unknown>
  /** The message id (wamid) of a message or status. */
  messageId?: string
  /** Its timestamp, Unix seconds, when it has a readable one. */
  timestamp?: number
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/**
 * Whether a JSON value is a WhatsApp webhook body: `object` is whatsapp_business_account and there
 * is an `entry` (an array, or an object: a breaking drift the envelope contract reports, not a
 * reason to ignore the body).
 */
export function isWebhookBody(json: unknown): boolean {
  return isObject(json) && json.object === WEBHOOK_OBJECT && (Array.isArray(json.entry) || isObject(json.entry))
}

/** Seconds since the epoch from a webhook timestamp (a string of digits, or a number). */
export function timestampOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'string' && /^\d{1,12}$/.test(v)) return Number(v)
  return undefined
}

/** Content keys of an inbound message, each named after its type. */
const CONTENT_TYPES = ['text', 'image', 'audio', 'video', 'document', 'sticker', 'location', 'contacts', 'interactive', 'button', 'reaction', 'order', 'system']

/** The type a message without one has by its content: the one content key it holds, else undefined. */
export function contentType(m: Record<string, unknown>): string | undefined {
  const held = CONTENT_TYPES.filter((k) => m[k] !== undefined)
  return held.length === 1 ? held[0] : undefined
}

/**
 * The kind of an inbound message: by type (interactive by its own type), any message with a referral
 * as a referral, a message without type by its content (Meta's own Postman sample of a contacts
 * message has no type).
 */
export function messageKind(m: Record<string, unknown>): string {
  if (isObject(m.referral)) return 'messages.referral'
  const type = typeof m.type === 'string' ? shortValue(m.type) : m.type === undefined ? (contentType(m) ?? '(none)') : '(none)'
  if (type === 'interactive') {
    const it = isObject(m.interactive) && typeof m.interactive.type === 'string' ? shortValue(m.interactive.type) : '(none)'
    return `messages.interactive.${it}`
  }
  // Before 2023 Meta said `unknown` for what it now calls `unsupported`.
  if (type === 'unknown') return 'messages.unsupported'
  return `messages.${type}`
}

/** The kind of a status: by its value. */
export function statusKind(s: Record<string, unknown>): string {
  return `statuses.${typeof s.status === 'string' ? shortValue(s.status) : '(none)'}`
}

/** Longest type or status value a kind carries: a 200 KB `type` from a hostile upstream made a 200 KB title and line. */
export const MAX_KIND_VALUE = 64

/** A type or status value as a kind names it: cut at MAX_KIND_VALUE characters, with an ellipsis. */
function shortValue(v: string): string {
  return v.length > MAX_KIND_VALUE ? `${v.slice(0, MAX_KIND_VALUE)}…` : v
}

/** The entries of a body as a list with their path prefix (an object `entry` is read as one entry). */
function entriesOf(body: Record<string, unknown>): [string, unknown][] {
  if (Array.isArray(body.entry)) return body.entry.map((e, i) => [`entry[${i}]`, e])
  return isObject(body.entry) ? [['entry', body.entry]] : []
}

/** Splits a webhook body into notifications, in body order. */
export function notificationsOf(body: unknown): Notification[] {
  if (!isObject(body)) return []
  const out: Notification[] = []
  for (const [ePath, entry] of entriesOf(body)) {
    if (!isObject(entry) || !Array.isArray(entry.changes)) continue
    entry.changes.forEach((change, j) => {
      if (!isObject(change)) return
      const field = typeof change.field === 'string' ? change.field : '(none)'
      const cPath = `${ePath}.changes[${j}]`
      const value = change.value
      if (field !== 'messages' || !isObject(value)) {
        out.push({ field, kind: field, path: `${cPath}.value`, value })
        return
      }
      const { messages, statuses, ...envelope } = value
      const items: [key: 'messages' | 'statuses', list: unknown][] = [
        ['messages', messages],
        ['statuses', statuses],
      ]
      let any = false
      for (const [key, list] of items) {
        if (list === undefined) continue
        if (!Array.isArray(list)) {
          // messages or statuses as something else than a list: judged as such (a breaking type change), not skipped.
          any = true
          out.push({ field, kind: `${key}.*`, path: `${cPath}.value.${key}`, value })
          continue
        }
        list.forEach((item, k) => {
          any = true
          const it = isObject(item) ? item : {}
          const n: Notification = {
            field,
            kind: key === 'messages' ? messageKind(it) : statusKind(it),
            path: `${cPath}.value.${key}[${k}]`,
            // Statuses carry no contacts[]: the value keeps what it has.
            value: { ...envelope, [key]: [item] },
            item: it,
          }
          if (typeof it.id === 'string') n.messageId = it.id
          const ts = timestampOf(it.timestamp)
          if (ts !== undefined) n.timestamp = ts
          out.push(n)
        })
      }
      // A messages change with neither list: webhook-level errors[] (a kind of its own), or something new.
      if (!any) out.push({ field, kind: Array.isArray(value.errors) ? 'messages.errors' : NO_ITEMS, path: `${cPath}.value`, value })
    })
  }
  return out
}
