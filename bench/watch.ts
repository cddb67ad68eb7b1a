/**
 * Time to detect, measured (issue 10): `watch` against the simulator; after a warm-up pass the
 * simulator switches to a seed incident, and the bench measures the time from the switch to the
 * alert, at the default budget and at 10x. Run by hand: `npm run bench -- --only watch` or
 * `npx tsx bench/watch.ts`.
 *
 * The clock is virtual (discrete events): waiting between cycles advances it without sleeping, and
 * a cycle's own requests (a few ms on loopback, up to a second live) count as no time. Pacing,
 * priorities and the breaker are the real ones; only the waiting is skipped, so a day of watching
 * takes seconds. The switch lands at a random moment of the schedule (seeded), as a rollout would.
 */
import { openSession } from '../src/runner/session.ts'
import { seededRandom } from '../src/simulator/scenario.ts'
import { startSimulator } from '../src/simulator/server.ts'
import type { AlertSink } from '../src/watch/alerts.ts'
import { DAY_MS, DEFAULT_BUDGET_PER_DAY } from '../src/watch/schedule.ts'
import { HistoryStore } from '../src/history/store.ts'
import { runWatch, type WatchClock } from '../src/commands/watch.ts'

const GOAL_MS = 5 * 60_000
const TRIALS = Number(process.env.DW_BENCH_WATCH_TRIALS ?? 7)

/** A clock that only moves when the loop waits; `at` runs a callback when virtual time crosses it. */
function virtualClock(start: number) {
  let now = start
  let pending: { at: number; run: () => void } | undefined
  const clock: WatchClock = {
    now: () => now,
    async sleep(ms, signal) {
      if (signal?.aborted) return
      const until = now + ms
      if (pending && pending.at <= until) {
        now = pending.at
        const p = pending
        pending = undefined
        p.run()
      }
      now = until
      await new Promise((r) => setImmediate(r))
    },
  }
  return { clock, at: (at: number, run: () => void) => (pending = { at, run }) }
}

interface Trial {
  ttdMs: number | undefined
  requests: number
  virtualMs: number
}

async function trial(incident: string | undefined, perDay: number, seed: number, forMs?: number): Promise<Trial> {
  const sim = await startSimulator()
  const c = sim.credentials
  const session = await openSession({ target: sim.url, contractsDir: 'contracts/meta', minIntervalMs: 0, env: { WHATSAPP_ACCESS_TOKEN: c.token, WHATSAPP_PHONE_NUMBER_ID: c.phoneNumberId, WHATSAPP_WABA_ID: c.wabaId, WHATSAPP_TEST_RECIPIENT: c.testRecipient } })
  const store = new HistoryStore(':memory:')
  const t0 = Date.UTC(2026, 0, 20, 9, 0, 0)
  const { clock, at } = virtualClock(t0)
  const random = seededRandom(seed)
  const stop = new AbortController()
  let switchedAt: number | undefined
  let alertedAt: number | undefined
  const sink: AlertSink = {
    label: 'bench',
    async send(a) {
      if (a.kind === 'drift' && switchedAt !== undefined && alertedAt === undefined) {
        alertedAt = clock.now()
        stop.abort()
      }
    },
  }
  const ran = new Set<string>()
  let warm = false
  const result = await runWatch({
    session,
    store,
    apiVersion: 'v23.0',
    perDay,
    sinks: [sink],
    clock,
    random,
    signal: stop.signal,
    onCycle: (e) => {
      for (const id of e.unit.contracts) ran.add(id)
      if (forMs !== undefined && clock.now() - t0 >= forMs) stop.abort()
      if (incident && !warm && ran.size === session.pack.probes.length) {
        warm = true
        // The rollout lands somewhere in the next pass: uniformly within a pass's duration.
        const passMs = (DAY_MS / perDay) * 30
        at(clock.now() + random() * passMs, () => {
          switchedAt = clock.now()
          sim.setScenario(incident!)
        })
      }
      if (clock.now() - t0 > 3 * DAY_MS) stop.abort() // never detected: give up after 3 virtual days
    },
  })
  await session.close()
  await sim.close()
  store.close()
  return { ttdMs: switchedAt !== undefined && alertedAt !== undefined ? alertedAt - switchedAt : undefined, requests: result.requests, virtualMs: clock.now() - t0 }
}

const fmt = (ms: number) => (ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(0)} s`)

export async function benchWatch(): Promise<void> {
  console.log(`watch: time from the simulator switching to a seed incident until the alert (${TRIALS} trials each, virtual clock: pacing real, waiting skipped)`)
  const incidents = [
    ['media-chunked', 'Jan 20 2026: media answers chunked'],
    ['media-post-intermittent', 'Feb 6 2026: POST method=get, split fleet'],
  ] as const
  for (const perDay of [DEFAULT_BUDGET_PER_DAY, DEFAULT_BUDGET_PER_DAY * 10]) {
    const day = await trial(undefined, perDay, 7, DAY_MS)
    console.log(`  budget ${String(perDay).padStart(5)}/day: one virtual day of baseline watching spent ${day.requests} requests in ${(day.virtualMs / 3_600_000).toFixed(1)} h (${((day.requests / day.virtualMs) * DAY_MS).toFixed(0)}/day)`)
    for (const [incident, label] of incidents) {
      const trials: Trial[] = []
      for (let i = 0; i < TRIALS; i++) trials.push(await trial(incident, perDay, 1000 + i))
      const ttd = trials.map((t) => t.ttdMs).filter((x): x is number => x !== undefined).sort((a, b) => a - b)
      const missed = trials.length - ttd.length
      const worst = ttd.at(-1)
      const met = missed === 0 && worst !== undefined && worst <= GOAL_MS && perDay < 1000
      const goal = perDay < 1000 ? `goal: every trial within ${fmt(GOAL_MS)} at under 1,000 requests/day: ${met ? 'met' : 'NOT met'}` : `(10x budget; the goal is stated for under 1,000/day)`
      console.log(
        `  budget ${String(perDay).padStart(5)}/day, ${label.padEnd(42)}: median ${ttd.length ? fmt(ttd[Math.floor(ttd.length / 2)]!) : '-'}, worst ${worst !== undefined ? fmt(worst) : '-'}${missed ? `, ${missed} not detected in 3 days` : ''}; ${goal}`,
      )
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchWatch()
