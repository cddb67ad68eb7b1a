/**
 * Where the receiver hands accepted deliveries for judging: off the forwarding path. `offer`
 * returns at once whatever the consumer does; a consumer that falls behind loses bodies to a
 * bounded queue (counted as skipped), never the delivery to the app its time.
 */

/** What the receiver knows about a delivery besides its bytes. */
export interface WebhookInfo {
  /** When the receiver read the whole body (ISO-8601). */
  receivedAt: string
}

/** Takes accepted webhook bodies (raw bytes as Meta sent and signed them); must never block or throw. */
export interface WebhookSink {
  offer(body: Buffer, info: WebhookInfo): void
}

/** What a sink did with what it was offered. */
export interface SinkStats {
  offered: number
  /** Handed to the consumer. */
  consumed: number
  /** Not handed over: the queue was full, or the sink was closed. */
  skipped: number
  /** The consumer threw on it. */
  failed: number
  /** Waiting now. */
  queued: number
}

/** The default sink: counts what it is offered and keeps nothing (judging is wired in by whoever has a judge). */
export class CountingSink implements WebhookSink {
  readonly stats: SinkStats = { offered: 0, consumed: 0, skipped: 0, failed: 0, queued: 0 }
  /** Describes the sink for the startup line. */
  readonly label = 'counted only (no judge wired)'

  offer(): void {
    this.stats.offered++
    this.stats.consumed++
  }
}

/** How QueuedSink bounds itself. */
export interface QueuedSinkOptions {
  /** Bodies waiting at most (default 1024); past it new ones are skipped. */
  capacity?: number
  /** For the startup line. */
  label?: string
}

/**
 * A bounded queue in front of a consumer (a judge's `add`): bodies are handed over one per
 * macrotask, so a burst of deliveries is answered before judging starts on it.
 */
export class QueuedSink implements WebhookSink {
  readonly stats: SinkStats = { offered: 0, consumed: 0, skipped: 0, failed: 0, queued: 0 }
  readonly label: string
  private readonly queue: [Buffer, WebhookInfo][] = []
  private readonly capacity: number
  private draining = false
  private closed = false
  private idleWaiters: (() => void)[] = []

  constructor(
    private readonly consume: (body: Buffer, info: WebhookInfo) => unknown,
    opts: QueuedSinkOptions = {},
  ) {
    this.capacity = opts.capacity ?? 1024
    this.label = opts.label ?? 'queued'
  }

  offer(body: Buffer, info: WebhookInfo): void {
    this.stats.offered++
    if (this.closed || this.queue.length >= this.capacity) {
      this.stats.skipped++
      return
    }
    this.queue.push([body, info])
    this.stats.queued = this.queue.length
    if (!this.draining) {
      this.draining = true
      setImmediate(() => void this.drain())
    }
  }

  /** Resolves when everything queued so far was handed over. */
  idle(): Promise<void> {
    if (!this.draining) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** Hands over what is queued, then refuses (skips) new bodies. */
  async close(): Promise<void> {
    await this.idle()
    this.closed = true
  }

  private async drain(): Promise<void> {
    const next = this.queue.shift()
    if (next) {
      // An async consumer (the judge) is awaited: one body at a time, the queue's bound holds the rest.
      try {
        await this.consume(next[0], next[1])
        this.stats.consumed++
      } catch {
        this.stats.failed++
      }
    }
    this.stats.queued = this.queue.length
    if (this.queue.length) {
      setImmediate(() => void this.drain())
      return
    }
    this.draining = false
    for (const w of this.idleWaiters.splice(0)) w()
  }
}
