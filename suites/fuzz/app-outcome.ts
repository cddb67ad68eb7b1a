/**
 * What an application sees of one request, classified (issue 18): an answer (status and the
 * sha256 of the body it read), an error before any answer, or an error mid-body (after the
 * status). Two application clients, undici (as fetch uses) and node:http, each with its own parser
 * and its own idea of a premature end. Shared by the fuzz tests that compare the outcome through a
 * proxy with the outcome direct (proxy-outcome.test.ts: the pass-through; composed-proxy.test.ts:
 * the production proxy).
 */
import { createHash } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { Client } from 'undici'

/** The application's own deadlines: shorter than the proxy's head timeout, so a stall ends at the application as it would direct. */
export const CLIENT_TIMEOUT_MS = 1_000

/** What the application saw. */
export type Outcome = { class: 'answer'; status: number; sha256: string } | { class: 'error-before-answer' } | { class: 'error-mid-body'; status: number }
export type AppClient = (url: string) => Promise<Outcome>

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** An application on undici (what fetch runs on): a fresh connection per request. */
export const viaUndici: AppClient = async (url) => {
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
export const viaNodeHttp: AppClient = (url) =>
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

export const CLIENTS: Record<string, AppClient> = { undici: viaUndici, 'node:http': viaNodeHttp }

/**
 * Kinds no proxy built on this stack can pass on as they are, with the class the application gets
 * instead (asserted, so a change either way is seen). Keyed `client: kind`.
 */
export const KNOWN_DIFFERENT: Record<string, Outcome['class']> = {
  // undici, the proxy's client to the upstream, fails on a 100 Continue nobody asked for (as an application on undici
  // does direct); node:http skips it and reads the 200. A proxy whose outbound parser skipped it would pass it on.
  'node:http: 100 Continue then 200': 'error-before-answer',
  // undici refuses a status below 100 (as an application on undici does direct); node:http reads it as an answer.
  'node:http: status below 100': 'error-before-answer',
}

/** One kind's outcomes: direct, and through the proxy. */
export interface OutcomeRow {
  kind: string
  direct: Outcome
  through: Outcome
}

/** Why the rows of `client` differ from direct (a kind in KNOWN_DIFFERENT must get its known class instead), one line each. */
export function outcomeMismatches(client: string, rows: readonly OutcomeRow[]): string[] {
  const wrong: string[] = []
  for (const r of rows) {
    const known = KNOWN_DIFFERENT[`${client}: ${r.kind}`]
    if (known) {
      if (r.through.class !== known) wrong.push(`${r.kind}: expected the known class ${known} through the proxy, got ${JSON.stringify(r.through)} (direct ${JSON.stringify(r.direct)})`)
    } else if (JSON.stringify(r.through) !== JSON.stringify(r.direct)) {
      wrong.push(`${r.kind}: direct ${JSON.stringify(r.direct)}, through the proxy ${JSON.stringify(r.through)}`)
    }
  }
  return wrong
}
