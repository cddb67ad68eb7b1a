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
import { createHash } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from 'undici'
import { startPassthrough, type Passthrough } from '../../src/proxy/passthrough.ts'
import { hostileServer, type HostileServer } from './hostile-server.ts'
import { MALFORMED_KINDS, type MalformedKind } from './malformed-http.ts'
import { fuzzSeed, Rng } from './seed.ts'

const SEED = fuzzSeed()
/** The application's own deadlines: shorter than the proxy's head timeout, so a stall ends at the application as it would direct. */
const CLIENT_TIMEOUT_MS = 1_000

/** What the application saw. */
type Outcome = { class: 'answer'; status: number; sha256: string } | { class: 'error-before-answer' } | { class: 'error-mid-body'; status: number }
type AppClient = (url: string) => Promise<Outcome>

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** An application on undici (what fetch runs on): a fresh connection per request. */
const viaUndici: AppClient = async (url) => {
  const u = new URL(url)
  const client = new Client(u.origin, { headersTimeout: CLIENT_TIMEOUT_MS, bodyTimeout: CLIENT_TIMEOUT_MS })
  try {
    let res: Awaited<ReturnType<Client['request']>>
    try {
      res = await client.request({ method: 'GET', path: `${u.pathname}${u.search}`, headers: { accept: 'application/json' } })
    } catch {
      return { class: 'error-before-answer' }
    }
    try {
      return { class: 'answer', status: res.statusCode, sha256: sha(Buffer.from(await res.body.arrayBuffer())) }
    } catch {
      return { class: 'error-mid-body', status: res.statusCode }
    }
  } finally {
    await client.destroy().catch(() => undefined)
  }
}

/** An application on node:http: its own parser and its own idea of a premature end. */
const viaNodeHttp: AppClient = (url) =>
  new Promise((resolve) => {
    let settled = false
    const done = (o: Outcome) => {
      if (!settled) {
        clearTimeout(deadline)
        settled = true
        resolve(o)
      }
    }
    let answered = false
    const req = httpRequest(url, { agent: false, headers: { accept: 'application/json' } }, (res) => {
      answered = true
      const parts: Buffer[] = []
      let ended = false
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('end', () => {
        ended = true
        done({ class: 'answer', status: res.statusCode ?? 0, sha256: sha(Buffer.concat(parts)) })
      })
      res.on('error', () => undefined)
      res.on('close', () => {
        if (!ended) done({ class: 'error-mid-body', status: res.statusCode ?? 0 })
      })
    })
    // An idle deadline, and one for the whole exchange (a 101 detaches the socket from the first).
    req.setTimeout(CLIENT_TIMEOUT_MS, () => req.destroy(new Error('timeout')))
    const deadline = setTimeout(() => {
      req.destroy(new Error('deadline'))
      // A request node:http gave up on without an event (a 101 nobody upgrades) failed all the same.
      done({ class: 'error-before-answer' })
    }, 2 * CLIENT_TIMEOUT_MS)
    deadline.unref()
    // node:http also fails the request when the response it already gave breaks: that is the response's outcome.
    req.on('error', () => answered || done({ class: 'error-before-answer' }))
    req.end()
  })

const CLIENTS: Record<string, AppClient> = { undici: viaUndici, 'node:http': viaNodeHttp }

/**
 * Kinds no proxy built on this stack can pass on as they are, with the class the application gets
 * instead (asserted, so a change either way is seen). Keyed `client: kind`.
 */
const KNOWN_DIFFERENT: Record<string, Outcome['class']> = {
  // undici, the proxy's client to the upstream, fails on a 100 Continue nobody asked for (as an application on undici
  // does direct); node:http skips it and reads the 200. A proxy whose outbound parser skipped it would pass it on.
  'node:http: 100 Continue then 200': 'error-before-answer',
}

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
      const wrong: string[] = []
      for (const r of rows) {
        const known = KNOWN_DIFFERENT[`${name}: ${r.kind}`]
        if (known) {
          if (r.through.class !== known) wrong.push(`${r.kind}: expected the known class ${known} through the proxy, got ${JSON.stringify(r.through)} (direct ${JSON.stringify(r.direct)})`)
        } else if (JSON.stringify(r.through) !== JSON.stringify(r.direct)) {
          wrong.push(`${r.kind}: direct ${JSON.stringify(r.direct)}, through the proxy ${JSON.stringify(r.through)}`)
        }
      }
      expect(wrong, `seed ${SEED} (DRIFTWATCH_FUZZ_SEED=${SEED} replays it)\n${wrong.join('\n')}`).toEqual([])
      // Every class occurs: the kinds really exercise answers, failures before an answer and failures mid-body.
      expect(new Set(rows.map((r) => r.direct.class))).toEqual(new Set(['answer', 'error-before-answer', 'error-mid-body']))
    }, 60_000)
  }
})
