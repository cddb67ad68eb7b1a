/**
 * Statuses judged as Meta documents them, per message id: in the order of their timestamps, not of
 * arrival (webhooks are not ordered); a duplicate is a retry (at-least-once delivery), info; a
 * message both delivered and failed is documented (several devices), info. What is a finding: a
 * `failed` status without `errors[]` (the application cannot tell why), or with an error code
 * outside Meta's catalogue (one it has no handling for), a warning. Nothing the FAQ calls normal is
 * ever breaking.
 *
 * Pure: statuses in, drafts and figures out; the WebhookJudge words them as findings.
 */

/** One status as the sequence judge keeps it. */
export interface StatusEvent {
  messageId: string
  status: string
  /** Unix seconds, when readable. */
  timestamp?: number
  /** Order of arrival across the traffic. */
  arrival: number
  /** Where it was: `<where> entry[0].changes[0].value.statuses[1]`. */
  at: string
  /** The contract it was judged by (findings are reported under it). */
  contract: string
}

/** A sequence finding before it is worded as a Finding. */
export interface SequenceDraft {
  contract: string
  severity: 'warning' | 'info'
  title: string
  message: string
  expected: string
  actual: string
  at: string
}

/** What the sequences looked like. */
export interface SequenceFigures {
  /** Message ids with at least one status. */
  messages: number
  statuses: number
  /** Message ids whose statuses arrived in another order than their timestamps. */
  outOfOrder: number
  /** Statuses that repeated one already seen for the same message. */
  duplicates: number
  /** Message ids with both delivered and failed. */
  deliveredAndFailed: number
  /** Message ids forgotten to bound memory (the oldest first). */
  forgotten: number
}

/** At most this many message ids are followed; beyond, the oldest is forgotten. */
export const MAX_MESSAGES = 100_000

/** Follows statuses per message id as they arrive. */
export class StatusSequences {
  private readonly byId = new Map<string, StatusEvent[]>()
  private arrivals = 0
  private forgotten = 0

  constructor(private readonly limit = MAX_MESSAGES) {}

  /** Adds one status (arrival order is the order of calls). */
  add(e: Omit<StatusEvent, 'arrival'>): void {
    let list = this.byId.get(e.messageId)
    if (!list) {
      if (this.byId.size >= this.limit) {
        const oldest = this.byId.keys().next().value
        if (oldest !== undefined) this.byId.delete(oldest)
        this.forgotten++
      }
      list = []
      this.byId.set(e.messageId, list)
    }
    list.push({ ...e, arrival: this.arrivals++ })
  }

  /** Drafts and figures over every status added so far. */
  judge(): { drafts: SequenceDraft[]; figures: SequenceFigures } {
    const drafts: SequenceDraft[] = []
    const figures: SequenceFigures = { messages: this.byId.size, statuses: 0, outOfOrder: 0, duplicates: 0, deliveredAndFailed: 0, forgotten: this.forgotten }
    for (const [id, list] of this.byId) {
      figures.statuses += list.length
      // Timestamps decide the order; equal or missing ones keep arrival order.
      const ordered = [...list].sort((a, b) => (a.timestamp ?? Infinity) - (b.timestamp ?? Infinity) || a.arrival - b.arrival)
      if (ordered.some((e, i) => e.arrival !== list[i]!.arrival)) figures.outOfOrder++
      const seen = new Set<string>()
      for (const e of ordered) {
        if (!seen.has(e.status)) {
          seen.add(e.status)
          continue
        }
        figures.duplicates++
        drafts.push({
          contract: e.contract,
          severity: 'info',
          title: `Duplicate ${e.status} status for one message`,
          message: `Received: a second ${e.status} status for message ${id}\nMeta delivers webhooks at least once and retries when the application is slow or errs: duplicates are documented. Handle statuses idempotently (by message id and status).`,
          expected: `one ${e.status} per message`,
          actual: `${e.status} again`,
          at: e.at,
        })
      }
      const delivered = ordered.find((e) => e.status === 'delivered')
      const failed = ordered.find((e) => e.status === 'failed')
      if (delivered && failed) {
        figures.deliveredAndFailed++
        const first = (delivered.timestamp ?? 0) <= (failed.timestamp ?? 0) ? 'delivered then failed' : 'failed then delivered'
        drafts.push({
          contract: failed.contract,
          severity: 'info',
          title: 'Message both delivered and failed',
          message: `Received: ${first} for message ${id} (by their timestamps)\nMeta documents this (a message goes to several devices of one user): a failed after delivered does not undo the delivery.`,
          expected: 'delivered or failed',
          actual: first,
          at: failed.at,
        })
      }
    }
    return { drafts, figures }
  }
}

/** The findings one failed status gives on its own: no errors[], or error codes outside the catalogue. */
export function failedStatusDrafts(status: Record<string, unknown>, contract: string, at: string, known: (code: number) => boolean): SequenceDraft[] {
  const errors = status.errors
  if (!Array.isArray(errors) || errors.length === 0) {
    return [
      {
        contract,
        severity: 'warning',
        title: 'Failed status without errors[]',
        message: `Received: status failed with ${errors === undefined ? 'no errors field' : Array.isArray(errors) ? 'an empty errors[]' : `errors as ${typeof errors}`}\nMeta's failed statuses say why in errors[]{code, title, message, error_data}; without it the application cannot tell a blocked recipient from an expired window, and cannot retry rightly.`,
        expected: 'errors[] with at least one {code}',
        actual: errors === undefined ? 'no errors' : JSON.stringify(errors).slice(0, 40),
        at,
      },
    ]
  }
  const out: SequenceDraft[] = []
  for (const e of errors) {
    const code = e && typeof e === 'object' ? (e as Record<string, unknown>).code : undefined
    // A code that is not an integer is the schema's (breaking); here only codes the catalogue does not know.
    if (typeof code !== 'number' || !Number.isInteger(code) || known(code)) continue
    out.push({
      contract,
      severity: 'warning',
      title: `Failed status with error code ${code}, not in Meta's catalogue`,
      message: `Received: errors[].code ${code} on a failed status\nMeta's error code catalogue (contracts/meta/webhooks/error-codes.yaml) does not list it: an application that branches on codes takes its default path. Meta adds codes; check its error codes page and add the code once understood.`,
      expected: "a code in Meta's catalogue",
      actual: `code ${code}`,
      at,
    })
  }
  return out
}
