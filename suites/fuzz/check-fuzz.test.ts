/**
 * `driftwatch check` against an upstream that answers every request with malformed HTTP chosen at
 * random (bad status lines, conflicting framing, broken chunks, truncation, resets, stalls, 1xx,
 * binary and hostile JSON...). Whatever comes back, the run ends with a report and an honest exit
 * code, or a DW_ error: never an internal error, never a stack trace. Seeded: a failure prints the
 * seed, and DRIFTWATCH_FUZZ_SEED replays it.
 */
import { describe, expect, it } from 'vitest'
import { brokenPromise, explain, FUZZ_ENV, runCli } from './cli-outcome.ts'
import { hostileServer } from './hostile-server.ts'
import { MALFORMED_KINDS } from './malformed-http.ts'
import { fuzzSeed, Rng } from './seed.ts'

const SEED = fuzzSeed()
const CAPTURABLE = MALFORMED_KINDS.filter((k) => k.name === 'graph-like 200' || k.name === 'hostile captured values')
const RUNS = 8
const ENV = { ...FUZZ_ENV, WHATSAPP_TEST_RECIPIENT: '+1 631-555-0142' }

describe(`check against malformed HTTP (seed ${SEED})`, () => {
  it(`${RUNS} runs, a random kind of answer for every request: a report and an honest exit, or a DW_ error`, async () => {
    const root = new Rng(SEED)
    const served = new Set<string>()
    // Runs go side by side (each paced to 5 requests/s, as for a live target); each has its own
    // server and generator, so a seed replays the same answers whatever the timing.
    await Promise.all(
      Array.from({ length: RUNS }, async (_, i) => {
        const rng = root.fork(`check-${i}`)
        const srv = await hostileServer((_head, base) => {
          // A third of the answers look like Graph's (some with hostile ids and URLs), so runs get past
          // the first probes into those built from captured values (download, delete, next page).
          const kind = rng.chance(0.33) ? rng.pick(CAPTURABLE) : rng.pick(MALFORMED_KINDS)
          return kind.reply(rng, base)
        })
        try {
          const r = await runCli(['check', '--target', srv.url, '--timeout', '400', '--retry-budget', '0', '--samples', '2', '--recordings', 'suites/fuzz/none'], ENV)
          srv.served.forEach((s) => served.add(s))
          if (process.env.DRIFTWATCH_FUZZ_KEEP) console.log(`run ${i}: ${srv.served.join(', ')}\n${r.stderr}`)
          const why = brokenPromise(r)
          expect(why, why && explain(r, why, SEED, `check run ${i} (answers: ${srv.served.join(', ')})`)).toBeUndefined()
          expect(r.stderr + r.stdout).not.toContain(ENV.WHATSAPP_ACCESS_TOKEN)
        } finally {
          await srv.close()
        }
      }),
    )
    // The runs exercised the generators, not just the first few kinds.
    expect(served.size).toBeGreaterThan(MALFORMED_KINDS.length / 2)
  })
})
