/**
 * The simulator's webhooks, shaped and signed as Meta sends them (FACTS.md "Webhooks as Meta delivers
 * them"; ../shared/meta/webhooks/*.json): after each accepted send, status webhooks (`sent`, `delivered`,
 * `read`, or `failed` with `errors[]` for an undeliverable recipient), and inbound messages on request.
 * Deliveries run off the send's response path, are retried with backoff a bounded number of times, and
 * never throw into the server: a receiver that is down costs a few timers, not the simulator.
 */
import { createHmac } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import { HarnessError } from '../util/errors.ts'
import type { SimulatorCredentials, SimulatorState } from './state.ts'

/** The app secret used when none is given (option or WHATSAPP_APP_SECRET): public, for local development only. */
export const DEV_APP_SECRET = 'driftwatch-simulator-dev-app-secret'

/** Where the app secret came from, so the simulator can say it signs with the public dev default. */
export type AppSecretSource = 'option' | 'env' | 'dev-default'

/** The display form of the simulator's number in webhook metadata: digits only, as Meta sends it. */
export const DISPLAY_PHONE_NUMBER = '16315550142'

/** How often and how fast a failed delivery is retried. Meta retries "with decreasing frequency" for up to 7 days; the simulator stops sooner. */
export interface WebhookRetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number
  /** Delay before the first retry; doubles each time. */
  baseDelayMs: number
  maxDelayMs: number
}

/** 5 attempts over about 7.5 s (0.5, 1, 2, 4 s between them): Meta's backoff, compressed to a test run. */
export const DEFAULT_WEBHOOK_RETRY: WebhookRetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 8_000 }

/** What happened to one delivery attempt, for logs and tests (no body, no secret). */
export interface WebhookDeliveryEvent {
  /** `delivered`: 2xx; `retrying`: a non-2xx, a timeout or a refused connection, another attempt follows; `gave-up`: no attempt left; `dropped`: the simulator closed first. */
  outcome: 'delivered' | 'retrying' | 'gave-up' | 'dropped'
  /** What was sent: `status:sent`, `inbound:text`, ... */
  kind: string
  /** The wamid the webhook is about. */
  messageId: string
  attempt: number
  /** The receiver's HTTP status, when it answered. */
  status?: number
  /** Why the attempt failed, when it did without an answer. */
  error?: string
  /** Milliseconds until the next attempt (`retrying` only). */
  retryInMs?: number
}

/** Where and how the simulator delivers webhooks. */
export interface WebhookOptions {
  /** The callback URL (http or https) that receives every webhook POST. */
  url: string
  /** The app secret that signs bodies; DEV_APP_SECRET when absent. */
  appSecret?: string
  /** Says where `appSecret` came from (default: `option` when given, else `dev-default`). */
  appSecretSource?: AppSecretSource
  retry?: Partial<WebhookRetryPolicy>
  /** An attempt with no answer within this is a failure (Meta: "a few seconds"); default 5000. */
  timeoutMs?: number
  /** Called for every attempt's outcome. Must not throw (what it throws is ignored). */
  onEvent?: (e: WebhookDeliveryEvent) => void
}

/** A webhook body: `{"object": "whatsapp_business_account", "entry": [...]}`. */
export type WebhookBody = Record<string, unknown>

/** An entry of `statuses[].errors[]`, as Meta's error catalogue words it. */
export interface WebhookError {
  code: number
  title: string
  message: string
  error_data: { details: string }
  href: string
}

const ERROR_CODES_HREF = 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/'

/** Asynchronous failures by name (Meta's error-code catalogue; FACTS.md "Asynchronous failures"). */
export const WEBHOOK_ERRORS = {
  undeliverable: (): WebhookError => ({
    code: 131026,
    title: 'Message undeliverable',
    message: 'Message undeliverable',
    error_data: { details: 'Message Undeliverable.' },
    href: ERROR_CODES_HREF,
  }),
  experiment: (): WebhookError => ({
    code: 130472,
    title: "User's number is part of an experiment",
    message: "User's number is part of an experiment",
    error_data: { details: "Failed to send message because this user's phone number is part of an experiment" },
    href: ERROR_CODES_HREF,
  }),
}

/** One status webhook to deliver, as data: scenarios reorder, repeat or add these before bodies are built. */
export interface StatusSpec {
  status: 'sent' | 'delivered' | 'read' | 'failed'
  /** The wamid the send returned. */
  messageId: string
  recipientId: string
  /** Unix seconds. */
  timestamp: number
  /** `template` sends are billed (utility); others are free service messages. */
  messageType: string
  errors?: WebhookError[]
}

/** The status webhooks Meta sends for one accepted send: failed (131026) for an undeliverable recipient, else sent, delivered, read, one second apart. */
export function baselineStatuses(send: { messageId: string; recipientId: string; messageType: string; undeliverable: boolean }, now: number): StatusSpec[] {
  const base = { messageId: send.messageId, recipientId: send.recipientId, messageType: send.messageType }
  if (send.undeliverable) return [{ ...base, status: 'failed', timestamp: now, errors: [WEBHOOK_ERRORS.undeliverable()] }]
  return [
    { ...base, status: 'sent', timestamp: now },
    { ...base, status: 'delivered', timestamp: now + 1 },
    { ...base, status: 'read', timestamp: now + 2 },
  ]
}

/** The envelope around one `messages` change. */
export function envelope(credentials: SimulatorCredentials, value: Record<string, unknown>): WebhookBody {
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: credentials.wabaId, changes: [{ value: { messaging_product: 'whatsapp', metadata: { display_phone_number: DISPLAY_PHONE_NUMBER, phone_number_id: credentials.phoneNumberId }, ...value }, field: 'messages' }] }],
  }
}

/**
 * A status webhook body, keys in Meta's order. `conversation` and `pricing` as under per-message pricing
 * (PMP, from 2025-07): on `sent` and `delivered`, absent on `read` and `failed` (FACTS.md: both may be absent).
 */
export function statusBody(credentials: SimulatorCredentials, s: StatusSpec): WebhookBody {
  const status: Record<string, unknown> = { id: s.messageId, status: s.status, timestamp: String(s.timestamp), recipient_id: s.recipientId }
  if (s.status === 'sent' || s.status === 'delivered') {
    const billed = s.messageType === 'template'
    const category = billed ? 'utility' : 'service'
    status.conversation = {
      id: conversationId(s.messageId),
      ...(s.status === 'sent' ? { expiration_timestamp: String(s.timestamp + 86_400) } : {}),
      origin: { type: category },
    }
    status.pricing = { billable: billed, pricing_model: 'PMP', category, type: billed ? 'regular' : 'free_customer_service' }
  }
  if (s.errors) status.errors = s.errors
  return envelope(credentials, { statuses: [status] })
}

function conversationId(messageId: string): string {
  let h = 2166136261
  for (const c of messageId) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0
  return h.toString(16).padStart(8, '0').repeat(4).slice(0, 30)
}

/** Inbound message types the simulator can send; `button_reply` and `list_reply` arrive as `type: "interactive"`. */
export const INBOUND_TYPES = ['text', 'image', 'video', 'audio', 'document', 'sticker', 'reaction', 'button_reply', 'list_reply', 'button', 'location', 'unsupported'] as const
/** One of INBOUND_TYPES. */
export type InboundType = (typeof INBOUND_TYPES)[number]

/** What to send as an inbound message; everything but `type` has a default. */
export interface InboundSpec {
  type: InboundType
  /** The customer's number (default: the test recipient). */
  from?: string
  /** The customer's profile name. */
  name?: string
  /** `text`: the body; `image`, `video`, `document`: the caption; `button`: the button text. */
  text?: string
  /** `reaction`: the emoji (default 👍). */
  emoji?: string
  /** `reaction`, `button_reply`, `list_reply`, `button`: the business message this answers (default: the last one sent). */
  replyTo?: string
  /** `button_reply`/`list_reply`: the reply id; `button`: the payload. */
  replyId?: string
  /** `button_reply`/`list_reply`: the reply title. */
  title?: string
}

// A 1x1 PNG: an inbound image whose media the app can then retrieve and download from the simulator.
const PIXEL = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6300010000050001' + '0d0a2db40000000049454e44ae426082', 'hex')

/** What each inbound media type stores: MIME type, file name, bytes (placeholders except the image), and fields Meta adds. */
const INBOUND_MEDIA: Record<string, { mime: string; file: string; bytes: Buffer; extra?: Record<string, unknown>; caption: boolean }> = {
  image: { mime: 'image/png', file: 'inbound.png', bytes: PIXEL, caption: true },
  video: { mime: 'video/mp4', file: 'inbound.mp4', bytes: Buffer.from('simulated video'), caption: true },
  audio: { mime: 'audio/ogg', file: 'inbound.ogg', bytes: Buffer.from('simulated voice note'), extra: { voice: true }, caption: false },
  document: { mime: 'application/pdf', file: 'invoice.pdf', bytes: Buffer.from('%PDF-1.4\n% simulated\n'), extra: { filename: 'invoice.pdf' }, caption: true },
  sticker: { mime: 'image/webp', file: 'sticker.webp', bytes: Buffer.from('RIFF\x00\x00\x00\x00WEBP'), extra: { animated: false }, caption: false },
}

/** An inbound `messages` webhook body and its message's wamid. `image` stores a media item the app can fetch. */
export function inboundBody(state: SimulatorState, spec: InboundSpec, now: number): { body: WebhookBody; messageId: string } {
  const c = state.credentials
  const from = spec.from ?? c.testRecipient
  const messageId = state.nextInboundMessageId()
  const replyTo = spec.replyTo ?? state.lastSentMessageId ?? state.nextInboundMessageId()
  const context = { from: DISPLAY_PHONE_NUMBER, id: replyTo }
  const message: Record<string, unknown> = { from, id: messageId, timestamp: String(now) }
  switch (spec.type) {
    case 'text':
      message.text = { body: spec.text ?? 'Hello from the simulator' }
      message.type = 'text'
      break
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const m = INBOUND_MEDIA[spec.type]!
      const media = state.addMedia(m.bytes, m.mime, m.file, c.phoneNumberId)
      message.type = spec.type
      const caption = m.caption && spec.text !== undefined ? { caption: spec.text } : {}
      message[spec.type] = { ...caption, ...m.extra, mime_type: media.mimeType, sha256: Buffer.from(media.sha256, 'hex').toString('base64'), id: media.id }
      break
    }
    case 'reaction':
      message.reaction = { message_id: replyTo, emoji: spec.emoji ?? '\u{1F44D}' }
      message.type = 'reaction'
      break
    case 'button_reply':
    case 'list_reply': {
      message.context = context
      const reply = { id: spec.replyId ?? `${spec.type}-1`, title: spec.title ?? 'Yes' }
      message.type = 'interactive'
      message.interactive = { type: spec.type, [spec.type]: spec.type === 'list_reply' ? { ...reply, description: '' } : reply }
      break
    }
    case 'button':
      message.context = context
      message.type = 'button'
      message.button = { payload: spec.replyId ?? 'Unsubscribe', text: spec.text ?? 'Unsubscribe from Promos' }
      break
    case 'location':
      message.location = { latitude: 48.8566, longitude: 2.3522, name: 'Simulated place', address: '1 Simulator Street' }
      message.type = 'location'
      break
    case 'unsupported':
      // A type the Cloud API cannot show (e.g. a poll): Meta's catalogue 131051. Older payloads said `unknown`.
      message.errors = [{ code: 131051, title: 'Message type unknown', message: 'Message type unknown', error_data: { details: 'Message type is currently not supported.' } }]
      message.type = 'unsupported'
      break
  }
  const body = envelope(c, { contacts: [{ profile: { name: spec.name ?? 'Simulated Customer' }, wa_id: from }], messages: [message] })
  return { body, messageId }
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`, the X-Hub-Signature-256 value Meta sends. */
export function signature(raw: Buffer, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`
}

interface Delivery {
  kind: string
  messageId: string
  body: WebhookBody
}

/**
 * Delivers webhooks to one callback URL. Each send's statuses go one after another, in the order
 * given (so a scenario decides the arrival order); different messages go concurrently. Every failure
 * is reported through `onEvent`, never thrown.
 */
export class WebhookSender {
  readonly url: URL
  readonly appSecretSource: AppSecretSource
  private readonly secret: string
  private readonly retry: WebhookRetryPolicy
  private readonly timeoutMs: number
  private readonly onEvent: (e: WebhookDeliveryEvent) => void
  private readonly pending = new Set<Promise<void>>()
  private readonly timers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>()
  private readonly inFlight = new Set<http.ClientRequest>()
  private closed = false
  private counts = { delivered: 0, attempts: 0, gaveUp: 0, dropped: 0 }

  constructor(options: WebhookOptions) {
    const url = URL.canParse(options.url) ? new URL(options.url) : undefined
    if (url?.protocol !== 'http:' && url?.protocol !== 'https:') throw new HarnessError('DW_USAGE', 'the webhook URL must be an http:// or https:// URL')
    this.url = url
    this.secret = options.appSecret ?? DEV_APP_SECRET
    this.appSecretSource = options.appSecretSource ?? (options.appSecret !== undefined ? 'option' : 'dev-default')
    this.retry = { ...DEFAULT_WEBHOOK_RETRY, ...options.retry }
    this.timeoutMs = options.timeoutMs ?? 5_000
    const onEvent = options.onEvent
    this.onEvent = (e) => {
      try {
        onEvent?.(e)
      } catch {
        // A listener's bug must not stop deliveries.
      }
    }
  }

  /** Deliveries so far: bodies the receiver took (2xx), attempts made, bodies given up on or dropped at close. */
  get stats(): { delivered: number; attempts: number; gaveUp: number; dropped: number; pending: number } {
    return { ...this.counts, pending: this.pending.size }
  }

  /** Queues a send's status webhooks, delivered in this order; returns at once. */
  statuses(credentials: SimulatorCredentials, specs: StatusSpec[], edit?: (body: WebhookBody, spec: StatusSpec) => void): void {
    const deliveries = specs.map((s): Delivery => {
      const body = statusBody(credentials, s)
      edit?.(body, s)
      return { kind: `status:${s.status}`, messageId: s.messageId, body }
    })
    this.track(this.inOrder(deliveries))
  }

  /** Queues an inbound message webhook; returns at once. */
  inbound(kind: string, messageId: string, body: WebhookBody): void {
    this.track(this.inOrder([{ kind: `inbound:${kind}`, messageId, body }]))
  }

  /** Resolves when every queued delivery is done (delivered, given up or dropped). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending])
  }

  /** Stops: pending retries are dropped, requests in flight aborted. */
  async close(): Promise<void> {
    this.closed = true
    for (const t of this.timers) {
      clearTimeout(t.timer)
      t.wake()
    }
    for (const r of this.inFlight) r.destroy(new Error('simulator closed'))
    await this.idle()
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch(() => undefined).finally(() => this.pending.delete(tracked))
    this.pending.add(tracked)
  }

  private async inOrder(deliveries: Delivery[]): Promise<void> {
    // Off the response path: the first POST starts after the send's answer is on its way.
    await new Promise<void>((resolve) => setImmediate(resolve))
    for (const d of deliveries) await this.deliver(d)
  }

  private async deliver(d: Delivery): Promise<void> {
    const raw = Buffer.from(JSON.stringify(d.body))
    const sig = signature(raw, this.secret)
    for (let attempt = 1; ; attempt++) {
      if (this.closed) {
        this.counts.dropped++
        this.onEvent({ outcome: 'dropped', kind: d.kind, messageId: d.messageId, attempt })
        return
      }
      this.counts.attempts++
      const r = await this.post(raw, sig)
      if (r.status !== undefined && r.status >= 200 && r.status < 300) {
        this.counts.delivered++
        this.onEvent({ outcome: 'delivered', kind: d.kind, messageId: d.messageId, attempt, status: r.status })
        return
      }
      const why = { ...(r.status !== undefined ? { status: r.status } : {}), ...(r.error !== undefined ? { error: r.error } : {}) }
      if (attempt >= this.retry.attempts || this.closed) {
        if (this.closed) this.counts.dropped++
        else this.counts.gaveUp++
        this.onEvent({ outcome: this.closed ? 'dropped' : 'gave-up', kind: d.kind, messageId: d.messageId, attempt, ...why })
        return
      }
      const retryInMs = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1))
      this.onEvent({ outcome: 'retrying', kind: d.kind, messageId: d.messageId, attempt, ...why, retryInMs })
      await this.sleep(retryInMs)
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.timers.delete(entry)
          resolve()
        }, ms),
        wake: resolve,
      }
      entry.timer.unref()
      this.timers.add(entry)
    })
  }

  /** One POST as Meta sends it: JSON, signed, Content-Length framed. Resolves with the status or the error, never rejects. */
  private post(raw: Buffer, sig: string): Promise<{ status?: number; error?: string }> {
    return new Promise((resolve) => {
      const client = this.url.protocol === 'https:' ? https : http
      let settled = false
      const done = (r: { status?: number; error?: string }) => {
        if (settled) return
        settled = true
        this.inFlight.delete(req)
        resolve(r)
      }
      const req = client.request(this.url, {
        method: 'POST',
        agent: false,
        timeout: this.timeoutMs,
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(raw.length), 'User-Agent': 'facebookexternalua', 'X-Hub-Signature-256': sig },
      })
      this.inFlight.add(req)
      req.on('response', (res) => {
        res.resume()
        res.on('end', () => done({ status: res.statusCode ?? 0 }))
        res.on('error', () => done({ status: res.statusCode ?? 0 }))
        // A receiver that hangs up mid-answer still answered: its status decides.
        res.on('close', () => done({ status: res.statusCode ?? 0 }))
      })
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)))
      req.on('error', (err: NodeJS.ErrnoException) => done({ error: err.code ?? err.message }))
      req.end(raw)
    })
  }
}
