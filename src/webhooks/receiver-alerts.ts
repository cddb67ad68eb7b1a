/**
 * `webhook --alert-webhook`: the receiver's two incidents, alerted through watch's sinks
 * (src/watch/alerts.ts: JSON or Slack webhooks, retried, URLs shown by host only).
 *
 * - `app-delivery`: the app has not taken the last N deliveries (down, timing out, answering
 *   non-2xx). Meta retries them, but for 7 days at most, and every retry fails the same way until
 *   someone looks. Recovered by the next delivery the app answers 2xx.
 * - `webhook-signature`: the last N deliveries all failed the signature check. Meta's own
 *   deliveries fail so when the app secret was rotated and the receiver still has the old one:
 *   nothing reaches the app. Recovered by the next delivery with a good signature.
 *
 * One alert when an incident opens, one when it clears. Sending never delays a delivery.
 */
import type { Severity } from '../model/finding.ts'
import { deliver, type Alert, type AlertSink } from '../watch/alerts.ts'

/** When to alert, and where. */
export interface ReceiverAlertsOptions {
  sinks: readonly AlertSink[]
  /** Deliveries in a row before an incident opens (default 3). */
  after?: number
  /** The app, for the alert's `target` (origin and path only). */
  target: string
  /** Each alert raised, with what each sink did with it (for stdout and stderr). */
  onAlert?: (alert: Alert, delivery: string[]) => void
}

type IncidentId = 'app-delivery' | 'webhook-signature'

interface Streak {
  count: number
  since?: string
  open: boolean
  last?: string
}

/** What each incident's alerts say; `recovered` is read as "<it> no longer seen" (alertLine). */
const ABOUT: Record<IncidentId, { severity: Severity; title: (n: number, last?: string) => string; message: string; recovered: string }> = {
  'app-delivery': {
    severity: 'breaking',
    title: (n, last) => `the app did not take ${n} webhook deliveries in a row${last ? ` (last: ${last})` : ''}`,
    message: 'Meta was answered 5xx (or the app\'s own non-2xx) so that it retries; it retries for up to 7 days. The journal keeps each delivery (redacted).',
    recovered: 'the app failing webhook deliveries',
  },
  'webhook-signature': {
    severity: 'warning',
    title: (n) => `${n} webhook deliveries in a row failed the X-Hub-Signature-256 check`,
    message: 'They were answered 401/403 and not forwarded. If they are Meta\'s, the app secret in WHATSAPP_APP_SECRET is not the one Meta signs with (rotated?): nothing reaches the app.',
    recovered: 'deliveries failing the signature check',
  },
}

/** Tracks the receiver's incidents and alerts on open and clear; see the file comment. */
export class ReceiverAlerts {
  private readonly after: number
  private readonly streaks: Record<IncidentId, Streak> = { 'app-delivery': { count: 0, open: false }, 'webhook-signature': { count: 0, open: false } }
  private readonly pending = new Set<Promise<void>>()
  /** Alerts raised so far, by kind. */
  readonly raised = { drift: 0, recovery: 0 }

  constructor(private readonly opts: ReceiverAlertsOptions) {
    this.after = opts.after ?? 3
  }

  /** A forwarded delivery the app answered 2xx. */
  appTook(): void {
    this.clear('app-delivery')
  }

  /** A forwarded delivery the app did not take, and why (no body, no personal data). */
  appFailed(why: string): void {
    this.fail('app-delivery', why)
  }

  /** A delivery whose signature was good. */
  signatureGood(): void {
    this.clear('webhook-signature')
  }

  /** A delivery refused for a missing or bad signature. */
  signatureBad(why: string): void {
    this.fail('webhook-signature', why)
  }

  /** Incidents open now. */
  open(): IncidentId[] {
    return (Object.keys(this.streaks) as IncidentId[]).filter((id) => this.streaks[id].open)
  }

  /** Waits for alerts being sent (their sinks retry; bounded by their own deadlines). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending])
  }

  private fail(id: IncidentId, why: string): void {
    const s = this.streaks[id]
    s.count++
    s.since ??= new Date().toISOString()
    s.last = why
    if (!s.open && s.count >= this.after) {
      s.open = true
      this.raise(id, 'drift', s)
    }
  }

  private clear(id: IncidentId): void {
    const s = this.streaks[id]
    if (s.open) this.raise(id, 'recovery', s)
    this.streaks[id] = { count: 0, open: false }
  }

  private raise(id: IncidentId, kind: 'drift' | 'recovery', s: Streak): void {
    const about = ABOUT[id]
    const at = new Date().toISOString()
    const alert: Alert = {
      kind,
      key: `webhook.receiver ${id}`,
      contract: 'webhook.receiver',
      check: id,
      severity: about.severity,
      title: kind === 'drift' ? about.title(s.count, s.last) : about.recovered,
      ...(kind === 'drift' ? { message: about.message } : {}),
      seenBy: 'traffic',
      target: this.opts.target,
      since: s.since ?? at,
      at,
    }
    this.raised[kind]++
    const sending = deliver(alert, this.opts.sinks).then((d) => this.opts.onAlert?.(alert, d))
    this.pending.add(sending)
    void sending.finally(() => this.pending.delete(sending))
  }
}
