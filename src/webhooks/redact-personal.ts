/**
 * Personal data in a webhook body replaced by placeholders before the body is written anywhere
 * (the receiver's journal, its logs). The recordings' PersonalDataRedactor knows the numbers and
 * names Graph responses carry (wa_id, from, recipient_id, display_phone_number, profile names,
 * wamids); webhooks carry more of a person than responses do: what they wrote (text bodies, media
 * captions, file names, order notes, flow answers), where they are (shared locations), the cards
 * they shared (emails, addresses, companies), business-scoped user ids and usernames, the
 * participant and the id of a group, and the old and new number of a `user_changed_number` system message.
 *
 * One redactor per body: placeholders are numbered within the body (`Person 1` is the same person
 * throughout one body, and nothing links two bodies). Memory stays flat however long the receiver
 * runs, and the same delivery retried by Meta is redacted to the same bytes. Media URLs go too:
 * they are signed, and grant access to what the person sent. Shapes are kept: a
 * string stays a string, a number a number, so the redacted body still has the structure a
 * contract judges.
 */
import { MAX_WALK_DEPTH, TOO_DEEP } from '../util/json.ts'
import { PersonalDataRedactor } from '../recordings/personal-data.ts'

/** What replaces free text a person wrote or shared. */
export const TEXT_PLACEHOLDER = '[redacted]'

/** Keys whose string values are text a person wrote, named or shared, wherever they appear in a webhook. */
const TEXT_KEYS = new Set(['body', 'caption', 'filename', 'response_json', 'email', 'address', 'birthday', 'ctwa_clid', 'url'])
/** `text` is a person's text where it is a string (button.text, order.text); `text: {body}` is walked into. */
const TEXT_WHEN_STRING = new Set(['text'])
/** Keys whose values are a phone number in webhooks only (PersonalDataRedactor knows the rest). */
const PHONE_KEYS = new Set(['new_wa_id', 'customer', 'recipient_participant_id'])
/** Keys whose values are a person's name or handle in webhooks only. */
const NAME_KEYS = new Set(['username'])
/** Under these parents every string is personal except `type` (a shared contact card, a shared location). */
const PERSONAL_PARENTS = new Set(['org', 'urls', 'emails', 'addresses'])
/** Business-scoped user ids (2026): `user_id`, `parent_user_id`, `recipient_participant_user_id`, ... */
const USER_ID = /(^|_)user_id$/

/** A redacted body and how many values were replaced. */
export interface RedactedBody {
  value: unknown
  replaced: number
}

/** A copy of a parsed webhook body with personal data replaced; see the file comment. */
export function redactWebhookBody(body: unknown): RedactedBody {
  const pd = new PersonalDataRedactor()
  const { value: mine, replaced } = redactWebhookKeys(body, pd, new Map())
  // Webhook-only keys first (they see the real values: `recipient_participant_id` is a phone only before it is replaced), then the shared rules.
  const value = pd.json(mine)
  return { value, replaced: replaced + pd.count }
}

/**
 * The webhook-only rules alone (numbers, usernames, user ids, group ids, what a person wrote),
 * with the caller's redactor and user-id numbering: the judge's evidence and recordings
 * (src/webhooks/redact.ts) use them with one redactor per session, the journal with one per body.
 */
export function redactWebhookKeys(body: unknown, pd: PersonalDataRedactor, userIds: Map<string, string>): RedactedBody {
  const state = { pd, replaced: 0, userIds }
  const value = visit(body, undefined, undefined, false, 0, state)
  return { value, replaced: state.replaced }
}

interface WalkState {
  pd: PersonalDataRedactor
  replaced: number
  userIds: Map<string, string>
}

function visit(v: unknown, key: string | undefined, parent: string | undefined, personal: boolean, depth: number, s: WalkState): unknown {
  if (v && typeof v === 'object' && depth >= MAX_WALK_DEPTH) return TOO_DEEP
  if (Array.isArray(v)) return v.map((x) => visit(x, key, parent, personal, depth + 1, s))
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    // A location a person sent or shared: where they are (coordinates), what the place is called.
    const inLocation = key === 'location'
    for (const [k, x] of Object.entries(v)) {
      if (inLocation && (k === 'latitude' || k === 'longitude') && typeof x === 'number') {
        out[k] = 0
        s.replaced++
      } else out[k] = visit(x, k, key, personal || PERSONAL_PARENTS.has(k) || inLocation, depth + 1, s)
    }
    return out
  }
  if (typeof v !== 'string' || v === '' || key === undefined) return v
  if (PHONE_KEYS.has(key)) return counted(s, s.pd.phone(v), v)
  // A status to a group names the group, not a number: an id of people all the same.
  if (key === 'recipient_id' && !/^\+?[\d ().-]+$/.test(v)) return counted(s, userId(v, s), v)
  if (NAME_KEYS.has(key)) return counted(s, s.pd.name(v), v)
  if (USER_ID.test(key)) return counted(s, userId(v, s), v)
  if (key === 'type') return v
  if (personal || TEXT_KEYS.has(key) || TEXT_WHEN_STRING.has(key)) return counted(s, TEXT_PLACEHOLDER, v)
  return v
}

function counted(s: WalkState, fake: string, real: string): string {
  if (fake !== real) s.replaced++
  return fake
}

/** `US.13491208655302741918` -> `US.00000000000000000001`: the prefix and length kept, the digits a per-body index. */
function userId(v: string, s: WalkState): string {
  let fake = s.userIds.get(v)
  if (!fake) {
    const n = String(s.userIds.size + 1)
    const digits = v.replace(/\D/g, '').length
    const fill = n.padStart(Math.max(digits, n.length), '0')
    let i = 0
    fake = digits ? v.replace(/\d/g, () => fill[i++]!) : `REDACTED${n}`
    s.userIds.set(v, fake)
  }
  return fake
}
