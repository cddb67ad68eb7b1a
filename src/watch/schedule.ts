/**
 * What `watch` probes next, and when. Pure: the loop in src/commands/watch.ts feeds it times and outcomes.
 *
 * - **Units.** A unit is one probe with what it needs (the probes it depends on) and what undoes
 *   its side effects (cleanup probes that use its captures): running `media.download` alone is
 *   upload, retrieve, download, delete. Each unit is run as one small `check`.
 * - **Priority.** Each contract is worth its staleness (time since it last ran, capped), times 4
 *   while it is "hot" (a finding open now, or its findings changed in the last day: what changed
 *   recently changes again, and an open drift needs probing to see it clear). The most urgent
 *   contract goes next, by the cheapest unit that includes it: every contract is refreshed about as
 *   often as every other, and a dear one (eight samples, an upload to read back) costs only itself.
 * - **Budget.** Requests are spread evenly over the day: after a cycle that spent n requests, the
 *   next starts n day-shares later (a day-share is 24 h / budget), with ±10% jitter so many
 *   watchers do not fall into step. There are no bursts to save up.
 * - **Circuit breaker.** When a cycle finds the upstream in downtime, throttling, unreachable, or
 *   rejecting the token, probing stops: the breaker opens for 1 min, doubling per failed retry up
 *   to 30 min; when it expires, one cheap probe (the preflight) tests the water before anything else.
 */
import type { Probe } from '../contracts/types.ts'
import { HarnessError } from '../util/errors.ts'
import { samplesFor } from '../runner/run.ts'
import { selectProbes } from '../runner/select.ts'

export const DAY_MS = 24 * 60 * 60 * 1000

/**
 * Meta's default limit for Business Management calls is 200 an hour per app per WABA (5,000 once a
 * number is registered). The default budget spends a fifth of the lower one: 40 an hour.
 */
export const DEFAULT_BUDGET_PER_DAY = 960

/** Staleness is capped, so a contract never run is "very stale", not infinitely so. */
const MAX_STALENESS_MS = DAY_MS
const HOT_WEIGHT = 4
const HOT_FOR_MS = DAY_MS
const BREAKER_BASE_MS = 60_000
const BREAKER_MAX_MS = 30 * 60_000

/** `1000/day`, `40/hour`, `2/min`, or a bare number (per day) → requests per day. */
export function parseBudget(text: string): number {
  // The unit is required: "--budget 10" was silently 10 a day, when the user may have meant an hour.
  const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(day|d|hour|h|minute|min|m)\s*$/i.exec(text)
  const per = { day: 1, d: 1, hour: 24, h: 24, minute: 1440, min: 1440, m: 1440 } as const
  const perDay = m ? Number(m[1]) * per[m[2]!.toLowerCase() as keyof typeof per] : NaN
  if (/^\s*\d+(?:\.\d+)?\s*$/.test(text)) throw new HarnessError('DW_USAGE', `--budget needs a unit: ${text.trim()}/day, ${text.trim()}/hour or ${text.trim()}/minute? e.g. --budget 1000/day`)
  if (!Number.isFinite(perDay) || perDay < 1) throw new HarnessError('DW_USAGE', `--budget must be requests per day, hour or minute, at least 1 a day, e.g. --budget 1000/day or --budget 40/hour; not "${text}"`)
  return perDay
}

/** A unit of work: the probes one cycle runs. */
export interface Unit {
  /** The probe the unit exists for. */
  id: string
  /** Every probe it runs, in pack order. */
  contracts: string[]
  /** Requests it is expected to spend (samples), then what it really spent. */
  cost: number
}

/** Builds one unit per probe: the probe, its dependencies, and the cleanups its captures call for. Identical units are kept once. */
export function buildUnits(probes: readonly Probe[], selected: readonly Probe[], samples?: number, samplesCap?: number): Unit[] {
  const units: Unit[] = []
  const seen = new Set<string>()
  for (const p of selected) {
    // The probe, what it needs, and the cleanup of what it creates (selectProbes pulls those in for --only too).
    const chain = new Set(selectProbes(probes, [p.id], { preflight: false }).map((s) => s.probe.id))
    const contracts = probes.filter((c) => chain.has(c.id))
    const key = contracts.map((c) => c.id).join(',')
    if (seen.has(key)) continue
    seen.add(key)
    units.push({ id: p.id, contracts: contracts.map((c) => c.id), cost: contracts.reduce((n, c) => n + samplesFor(c, samples, samplesCap), 0) })
  }
  return units
}

/** What the schedule knows of one contract. */
export interface ContractState {
  lastRunAt?: number
  /** When its set of findings last changed (opened, cleared). */
  lastChangedAt?: number
  /** A finding is open on it now. */
  open: boolean
}

/** The schedule's decision: which unit, and how long to wait before running it. */
export interface Decision {
  unit: Unit
  waitMs: number
  /** Why this unit: `breaker half-open` or the priority. */
  why: string
}

export interface ScheduleOptions {
  perDay: number
  /** Seeded or Math.random; jitter only. */
  random?: () => number
  /** The preflight unit's probe id, used to test the water when the breaker half-opens. */
  preflight?: string
}

export class Schedule {
  readonly contracts = new Map<string, ContractState>()
  private notBefore = 0
  private breakerUntil = 0
  private failures = 0
  private readonly random: () => number

  constructor(
    readonly units: readonly Unit[],
    private readonly opts: ScheduleOptions,
  ) {
    this.random = opts.random ?? Math.random
    for (const u of units) for (const c of u.contracts) if (!this.contracts.has(c)) this.contracts.set(c, { open: false })
  }

  /** One request's share of the day, in ms. */
  get shareMs(): number {
    return DAY_MS / this.opts.perDay
  }

  /** True while the breaker holds probing back. */
  breakerOpen(now: number): boolean {
    return now < this.breakerUntil
  }

  /** When the breaker closes again (0 when closed). */
  get breakerOpenUntil(): number {
    return this.breakerUntil
  }

  /** How urgent a contract is: its staleness, capped, times 4 while hot. */
  urgency(id: string, now: number): number {
    const c = this.contracts.get(id)!
    const stale = c.lastRunAt === undefined ? MAX_STALENESS_MS : Math.min(MAX_STALENESS_MS, now - c.lastRunAt)
    const hot = c.open || (c.lastChangedAt !== undefined && now - c.lastChangedAt < HOT_FOR_MS)
    return stale * (hot ? HOT_WEIGHT : 1)
  }

  /** The next unit and how long to wait for it (budget pacing, or the breaker). */
  next(now: number): Decision {
    return this.nextExcept(now, new Set())!
  }

  /**
   * As `next`, never for a contract in `skip` (live traffic judges it: watch spends its budget on
   * the others); undefined when every contract is skipped. A skipped contract may still run inside
   * another's unit (an upload before the download that is due).
   */
  nextExcept(now: number, skip: ReadonlySet<string>): Decision | undefined {
    const start = Math.max(now, this.notBefore, this.breakerUntil)
    if (this.failures > 0 && this.opts.preflight) {
      const probe = this.units.find((u) => u.id === this.opts.preflight)
      if (probe) return { unit: probe, waitMs: start - now, why: `breaker half-open after ${this.failures} failed cycle${this.failures === 1 ? '' : 's'}: testing with ${probe.id}` }
    }
    let most = ''
    let mostUrgency = -1
    for (const id of this.contracts.keys()) {
      if (skip.has(id)) continue
      const u = this.urgency(id, start)
      if (u > mostUrgency) {
        most = id
        mostUrgency = u
      }
    }
    if (mostUrgency < 0) return undefined
    let best: Unit | undefined
    for (const u of this.units) if (u.contracts.includes(most) && (!best || u.cost < best.cost || (u.cost === best.cost && u.contracts.length < best.contracts.length))) best = u
    const last = this.contracts.get(most)!.lastRunAt
    return { unit: best!, waitMs: start - now, why: `${most} is the most urgent (${last === undefined ? 'never run' : `last run ${Math.round((start - last) / 60_000)} min ago`}${this.contracts.get(most)!.open ? ', drift open' : ''})` }
  }

  /**
   * Records a finished cycle. `spent`: requests it really sent; `healthy`: false when the upstream
   * was down, throttling, unreachable or rejected the token (the breaker opens); `changed`: the
   * contracts whose findings opened or cleared.
   */
  done(unit: Unit, at: number, spent: number, result: { healthy: boolean; ran: readonly string[]; open: ReadonlySet<string>; changed: ReadonlySet<string> }): void {
    unit.cost = spent > 0 ? Math.round((unit.cost + spent) / 2) || 1 : unit.cost
    for (const id of result.ran) {
      const c = this.contracts.get(id)
      if (!c) continue
      c.lastRunAt = at
      c.open = result.open.has(id)
      if (result.changed.has(id)) c.lastChangedAt = at
    }
    const jitter = 0.9 + 0.2 * this.random()
    this.notBefore = at + Math.max(1, spent) * this.shareMs * jitter
    if (result.healthy) {
      this.failures = 0
      this.breakerUntil = 0
    } else {
      this.breakerUntil = at + Math.min(BREAKER_MAX_MS, BREAKER_BASE_MS * 2 ** this.failures) * jitter
      this.failures++
    }
  }

  /** Restores what a previous run knew (restart). */
  restore(states: ReadonlyMap<string, ContractState>): void {
    for (const [id, s] of states) if (this.contracts.has(id)) this.contracts.set(id, { ...s })
  }
}
