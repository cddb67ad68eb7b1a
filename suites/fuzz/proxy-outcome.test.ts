/**
 * Issue 18: every kind of malformed HTTP answer of the fuzz suite (malformed-http.ts) reaches an
 * application through the pass-through as it would direct. The same request is sent direct to a
 * hostile upstream and through the pass-through in front of it, by two application clients (undici,
 * as fetch uses, and node:http), and the application's outcome is classified: an answer (status and
 * the sha256 of the body it read), an error before any answer, or an error mid-body (after the
 * status). The classes must be equal: a proxy that rewrote a truncated body into a clean answer,
 * turned a reset into a 502 or buffered a stall into a timeout fails here. Seeded (seed.ts): each
 * kind's answer is drawn from the same generator state for both runs, so both get the same bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startPassthrough, type Passthrough } from '../../src/proxy/passthrough.ts'
import { CLIENT_TIMEOUT_MS, CLIENTS, outcomeMismatches } from './app-outcome.ts'
import { hostileServer, type HostileServer } from './hostile-server.ts'
import { MALFORMED_KINDS, type MalformedKind } from './malformed-http.ts'
import { fuzzSeed, Rng } from './seed.ts'

const SEED = fuzzSeed()
interface Pair {
  kind: MalformedKind
  upstream: HostileServer
  proxy: Passthrough
}

const pairs: Pair[] = []

beforeAll(async () => {
  const root = new Rng(SEED)
  for (const kind of MALFORMED_KINDS) {
    // Every request gets the same bytes: the generator restarts from the kind's own fork each time.
    const upstream = await hostileServer((_head, base) => kind.reply(root.fork(kind.name), base))
    const proxy = await startPassthrough({ upstream: upstream.url, headersTimeoutMs: 10 * CLIENT_TIMEOUT_MS, graceMs: 0 })
    pairs.push({ kind, upstream, proxy })
  }
})

afterAll(async () => {
  await Promise.all(pairs.map(async (p) => {
    await p.proxy.abort()
    await p.upstream.close()
  }))
})

describe(`the application's outcome through the pass-through equals direct, for every malformed-HTTP kind (seed ${SEED})`, () => {
  for (const [name, client] of Object.entries(CLIENTS)) {
    it(`${name}: every kind`, async () => {
      const rows = await Promise.all(pairs.map(async ({ kind, upstream, proxy }) => {
        const path = '/v23.0/1390000000007919?fields=id'
        const direct = await client(`${upstream.url}${path}`)
        const through = await client(`${proxy.url}${path}`)
        return { kind: kind.name, direct, through }
      }))
      const wrong = outcomeMismatches(name, rows)
      expect(wrong, `seed ${SEED} (DRIFTWATCH_FUZZ_SEED=${SEED} replays it)\n${wrong.join('\n')}`).toEqual([])
      // Every class occurs: the kinds really exercise answers, failures before an answer and failures mid-body.
      expect(new Set(rows.map((r) => r.direct.class))).toEqual(new Set(['answer', 'error-before-answer', 'error-mid-body']))
    }, 60_000)
  }
})
