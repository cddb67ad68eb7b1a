/**
 * Personal data out of a webhook body before it becomes evidence or a recording: phone numbers,
 * WhatsApp ids and people's names (the PersonalDataRedactor's stable placeholders), and what people
 * wrote or sent: message text, captions, reply titles, shared contact cards, places, file names,
 * business-scoped user ids and media URLs (signed: they grant access to the media).
 *
 * Type-preserving: a string stays a string and a number a number, so the redacted body is judged
 * exactly as the original would be (schema violations and drift are about types and presence).
 */
import { PersonalDataRedactor } from '../recordings/personal-data.ts'
import { redactWebhookKeys } from './redact-personal.ts'

/** Keys under a message's content whose values are structure, not what a person wrote. */
const STRUCTURE = new Set(['type', 'id', 'mime_type', 'sha256', 'animated', 'voice', 'message_id', 'emoji', 'catalog_id', 'product_retailer_id', 'currency', 'quantity', 'item_price', 'source_type', 'media_type', 'wa_id'])
/** Keys of a message that hold content (what the person sent). */
const CONTENT = new Set(['text', 'image', 'audio', 'video', 'document', 'sticker', 'location', 'contacts', 'interactive', 'button', 'order', 'system', 'referral'])
/** Business-scoped user ids (2026): they identify a person as much as a number does. */
const USER_IDS = new Set(['user_id', 'parent_user_id', 'from_user_id', 'recipient_user_id', 'recipient_parent_user_id'])

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** Content with every string that is not structure replaced, and coordinates zeroed. */
function scrub(v: unknown, key: string | undefined): unknown {
  if (typeof v === 'string') return key && STRUCTURE.has(key) ? v : `<${key ?? 'text'}>`
  if (typeof v === 'number') return key === 'latitude' || key === 'longitude' ? 0 : v
  if (Array.isArray(v)) return v.map((x) => scrub(x, key))
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x, k)]))
  return v
}

/** User ids anywhere, and a message's content, replaced. */
function walk(v: unknown, parent: string | undefined): unknown {
  if (Array.isArray(v)) return v.map((x) => walk(x, parent))
  if (!isObject(v)) return v
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) {
    if (USER_IDS.has(k) && typeof x === 'string') out[k] = '<user id>'
    else if (parent === 'messages' && CONTENT.has(k)) out[k] = scrub(x, k === 'text' || k === 'system' ? undefined : k)
    else if (k === 'url' && typeof x === 'string') out[k] = '<media url>'
    else out[k] = walk(x, k)
  }
  return out
}

/** User-id numbering per session redactor, so one person is one placeholder across a session's evidence. */
const userIdsOf = new WeakMap<PersonalDataRedactor, Map<string, string>>()

/**
 * A webhook value (or body) with personal data replaced; numbering is stable per PersonalDataRedactor.
 * The receiver journal's rules first (redact-personal.ts: usernames, group participants' numbers,
 * every business-scoped user id), so no output keeps what the journal removes.
 */
export function redactWebhook(value: unknown, personal: PersonalDataRedactor): unknown {
  let ids = userIdsOf.get(personal)
  if (!ids) userIdsOf.set(personal, (ids = new Map()))
  return walk(personal.json(redactWebhookKeys(value, personal, ids).value), undefined)
}
