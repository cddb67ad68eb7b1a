/**
 * Bounded exponential backoff for Meta's documented downtime (error 2 / 503, "up to 5 minutes")
 * and throttling (429). One budget for the whole run: once it is spent, each remaining contract
 * gets a single attempt, so a long outage never turns into hammering.
 */

/** Backoff settings, in milliseconds. */
export interface RetryPolicy {
  /** Total time the run may spend waiting to retry. 0 disables retries. */
  budgetMs: number
  /** First delay; doubles on each further attempt. */
  baseDelayMs: number
  /** Cap on a single delay. */
  maxDelayMs: number
}

/** Defaults: wait up to 60 s in all, starting at 1 s, never more than 30 s at once. */
export const DEFAULT_RETRY: RetryPolicy = { budgetMs: 60_000, baseDelayMs: 1_000, maxDelayMs: 30_000 }

/** The run's shared waiting budget. */
export class RetryBudget {
  private spentMs = 0

  constructor(readonly policy: RetryPolicy) {}

  /** Milliseconds still available for waiting. */
  get remainingMs(): number {
    return Math.max(0, this.policy.budgetMs - this.spentMs)
  }

  /**
   * The delay before retry number `attempt` (0-based), honouring the upstream's Retry-After when it
   * asks for longer; undefined when that wait would not fit in the remaining budget (give up now
   * rather than wait for nothing).
   */
  next(attempt: number, retryAfterMs?: number): number | undefined {
    const backoff = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** attempt)
    const delay = Math.max(backoff, retryAfterMs ?? 0)
    if (delay > this.remainingMs) return undefined
    this.spentMs += delay
    return delay
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v) * 1000
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
