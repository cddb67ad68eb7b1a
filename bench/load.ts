/**
 * The load generator of the proxy benchmark (see proxy.ts): C concurrent clients, each with its own
 * keep-alive connection, send N requests in total to a base URL and time each one from send to the
 * last body byte. Prints one JSON object on stdout: throughput and latency percentiles.
 * Run alone: `tsx bench/load.ts <base-url> <token> <phone-number-id> <waba-id> <requests> <concurrency> [sends]`.
 * With `sends`, one request in four is a text message to a recipient of its own: every answer names
 * a new wamid and a new number, as a BSP's traffic does, so what the proxy learns per send shows.
 */
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'

const [base, token, phone, waba, total, concurrency, mix] = process.argv.slice(2) as [string, string, string, string, string, string, string | undefined]
const sends = mix === 'sends'
const n = Number(total)
const c = Number(concurrency)
// Reads the simulator answers the same way every time: the session's state (and so its memory) stays flat.
const paths = [`/v23.0/${phone}`, `/v23.0/${waba}/message_templates?limit=2`, `/v23.0/${phone}?fields=display_phone_number,verified_name`]
const pool = new Pool(base, { connections: c, pipelining: 1 })
const headers = { authorization: `Bearer ${token}` }
const latencies = new Float64Array(n)
let next = 0
let failed = 0

async function worker(): Promise<void> {
  for (let i = next++; i < n; i = next++) {
    const t0 = performance.now()
    const send = sends && i % 4 === 3
    const res = send
      ? await pool.request({ method: 'POST', path: `/v23.0/${phone}/messages`, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ messaging_product: 'whatsapp', to: `1650${String(5_000_000 + (i % 5_000_000)).padStart(7, '0')}`, type: 'text', text: { body: `order ${i} shipped` } }) })
      : await pool.request({ method: 'GET', path: paths[i % paths.length]!, headers })
    await res.body.arrayBuffer()
    latencies[i] = performance.now() - t0
    if (res.statusCode !== 200) failed++
  }
}

const t0 = performance.now()
await Promise.all(Array.from({ length: c }, worker))
const ms = performance.now() - t0
await pool.close()
const sorted = [...latencies].sort((a, b) => a - b)
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
process.stdout.write(JSON.stringify({ requests: n, failed, seconds: ms / 1000, perSecond: (n / ms) * 1000, p50: pct(50), p99: pct(99), max: sorted.at(-1) }))
