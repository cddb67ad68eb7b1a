/**
 * How much of the main thread the production observer may take (issue 18): it adapts to what the
 * request path leaves. The observer runs in slices (one exchange each) and rests after each one; while it rests only
 * the request path (forwarding) runs, so the event loop's utilization over a rest is the request
 * path's own. The busier forwarding keeps the thread, the smaller the observer's share:
 *
 *   share = clamp(most - forwarding, least, most)
 *
 * An idle proxy observes at `most` (half the thread by default: every exchange of a quiet proxy is
 * judged); one that forwards flat out keeps `least` (a twentieth) for observing, and what the observer
 * cannot keep up with is sampled (skipped and counted), never the application delayed. The
 * forwarding figure is smoothed over rests, so one burst does not swing it.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks'

/** The production observer's share bounds: the most it takes of an idle thread, the least it keeps of a busy one. */
export const SHARE_MOST = 0.5
export const SHARE_LEAST = 0.05
/** Weight of the newest rest in the smoothed forwarding utilization. */
const WEIGHT = 0.3

/** The event loop's utilization since a mark (Node's perf_hooks, replaceable in tests). */
export type Utilization = (since?: EventLoopUtilization) => EventLoopUtilization

export class ObserverShare {
  private forwarding = 0
  private mark: EventLoopUtilization | undefined

  /** `fixed`: a share that never adapts (review mode's 1, or `observerShare` given to startProxy); otherwise adaptive between `least` and `most`. */
  constructor(
    private readonly fixed?: number,
    private readonly least = SHARE_LEAST,
    private readonly most = SHARE_MOST,
    private readonly utilization: Utilization = (since) => performance.eventLoopUtilization(since),
  ) {}

  /** The share now (0-1). */
  get share(): number {
    if (this.fixed !== undefined) return Math.min(1, Math.max(0.01, this.fixed))
    return Math.min(this.most, Math.max(this.least, this.most - this.forwarding))
  }

  /** The request path's smoothed utilization of the thread, as the rests measured it (0-1). */
  get forwardingUtilization(): number {
    return this.forwarding
  }

  /** How long to rest (ms) after a slice that was busy `busyMs` (0 at a share of 1). */
  restFor(busyMs: number): number {
    const s = this.share
    return s >= 1 ? 0 : busyMs * (1 / s - 1)
  }

  /** A rest begins: call `rested` when it ends. */
  resting(): void {
    this.mark = this.utilization()
  }

  /** The rest is over: what the loop did during it was the request path's. */
  rested(): void {
    if (!this.mark) return
    const u = this.utilization(this.mark).utilization
    this.mark = undefined
    if (Number.isFinite(u)) this.forwarding = this.forwarding * (1 - WEIGHT) + Math.min(1, Math.max(0, u)) * WEIGHT
  }
}
