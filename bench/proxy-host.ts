/**
 * A process of the proxy benchmark (see proxy.ts), driven over IPC. Modes:
 *  - `sim`: the simulator (the upstream of the throughput rounds and the soak);
 *  - `big <mb>`: a plain upstream serving `/big`, a body of <mb> MB, and saying its sha256;
 *  - `bare <upstream>`: a minimal pass-through proxy, node:http in, an undici pool out, no capture
 *    (the ceiling any Node proxy reaches here: the goals are ratios to it);
 *  - `passthrough <upstream>`: driftwatch's request path (src/proxy/passthrough.ts) with a capture
 *    callback doing what production's offer does on the request path: push into a bounded queue,
 *    drop and count when it is full (a timer empties the queue, as an observer keeping up would);
 *  - `proxy <upstream> <recordings-dir> <production|production-thread|review> [<state> <webhook>]`: the composed proxy
 *    (`startProxy`) as `driftwatch proxy` runs it (production-thread: its observer in a worker thread, resting to
 *    PROXY_BENCH_THREAD_SHARE of it when set; inline, a fixed share of PROXY_BENCH_SHARE when set, for an A/B by hand): its metrics (ProxyMetrics, as --metrics-port
 *    feeds them) and, with a state file and a webhook URL, its incidents on that state (TrafficIncidents,
 *    alerts to the webhook, as --state and --alert-webhook).
 * Each answers `{ cmd: 'sample' }` with its RSS, JS heap after a GC, peak RSS and counters (`counters`: those alone), and
 * `{ cmd: 'stop' }` by stopping.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'
import type { CapturedExchange } from '../src/proxy/exchange.ts'

const [mode, upstream, arg] = process.argv.slice(2)
const send = (m: unknown) => process.send!(m)
/**
 * Where driftwatch's own contenders (passthrough, proxy) load from: PROXY_BENCH_FROM=dist runs the
 * compiled package, as deployed (bench/proxy.ts builds it first); otherwise src/ under tsx, whose
 * transform adds work a deployment does not do (a name helper run for every function a class
 * field makes, per request).
 */
const FROM = process.env.PROXY_BENCH_FROM === 'dist' ? { dir: '../dist', ext: 'js' } : { dir: '../src', ext: 'ts' }
const load = <T>(path: string): Promise<T> => import(`${FROM.dir}/${path}.${FROM.ext}`) as Promise<T>

function memory() {
  globalThis.gc?.()
  const m = process.memoryUsage()
  const mb = (n: number) => n / 1048576
  // Where the resident memory is, when RSS grows and the JS heap does not: V8's reserved heap, memory outside it
  // (Buffers, native), and the kernel's split of RSS into anonymous and file-backed pages (Linux).
  let anonMb: number | undefined
  try {
    const kb = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
    if (kb) anonMb = Number(kb) / 1024
  } catch {}
  return { rssMb: mb(m.rss), heapMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), externalMb: mb(m.external), arrayBuffersMb: mb(m.arrayBuffers), ...(anonMb !== undefined ? { anonMb } : {}), peakRssMb: process.resourceUsage().maxRSS / 1024 }
}

/** Serves IPC commands: `sample` with memory and `counters()`, `stop` after `close()`. */
function serve(counters: () => unknown, close: () => Promise<unknown>): void {
  process.on('message', async (m: { cmd: string }) => {
    if (m.cmd === 'sample') send({ ...memory(), stats: counters() })
    // The counters alone: no garbage collection, which would shrink the heap the next round then grows again.
    if (m.cmd === 'counters') send({ stats: counters() })
    if (m.cmd === 'stop') {
      await close()
      send({ stopped: true, ...memory() })
      process.exit(0)
    }
  })
}

async function listen(server: ReturnType<typeof createServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

// Each mode imports only what it runs: a process's RSS is its own contender's, not the whole harness's.
if (mode === 'sim') {
  const { startSimulator } = await import('../src/simulator/server.ts')
  const sim = await startSimulator()
  const c = sim.credentials
  // One stored media: the alert figure retrieves it through the proxy after the simulator switches to media-chunked.
  const media = sim.state.addMedia(Buffer.from('a small jpeg'), 'image/jpeg', 'a.jpg', c.phoneNumberId).id
  send({ ready: true, url: sim.url, token: c.token, phone: c.phoneNumberId, waba: c.wabaId, media })
  serve(() => undefined, () => sim.close())
} else if (mode === 'big') {
  // One megabyte of varied bytes, sent `mb` times: the sha256 of the whole is known before the first request.
  const mb = Number(upstream)
  const piece = Buffer.alloc(1048576)
  for (let i = 0; i < piece.length; i++) piece[i] = (i * 131 + (i >> 8)) & 0xff
  const hash = createHash('sha256')
  for (let i = 0; i < mb; i++) hash.update(piece)
  const sha256 = hash.digest('hex')
  const server = createServer(async (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': mb * piece.length })
    for (let i = 0; i < mb && !res.destroyed; i++) if (!res.write(piece)) await new Promise((r) => res.once('drain', r))
    res.end()
  })
  send({ ready: true, url: await listen(server), sha256, bytes: mb * piece.length })
  serve(() => undefined, () => new Promise((r) => server.close(r)))
} else if (mode === 'bare') {
  // The floor for any Node proxy on this machine: node:http in, an undici Pool out, the body piped
  // through untouched. No wire capture, no checks, no recording.
  const pool = new Pool(upstream!, { connections: 32 })
  const server = createServer((req, res) => {
    const headers: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && k !== 'host' && k !== 'connection') headers[k] = v
    pool
      .request({ method: req.method as 'GET', path: req.url!, headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req })
      .then((up) => {
        const out: Record<string, string | string[]> = {}
        for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && k !== 'connection' && k !== 'keep-alive') out[k] = v
        res.writeHead(up.statusCode, out)
        up.body.pipe(res)
      })
      .catch(() => {
        res.writeHead(502).end()
      })
  })
  send({ ready: true, url: await listen(server), ...memory() })
  serve(() => undefined, async () => {
    server.close()
    await pool.close()
  })
} else if (mode === 'passthrough') {
  // What production's offer does on the request path: a bounded queue, dropped and counted when full.
  const MAX_QUEUE = 1024
  const queue: CapturedExchange[] = []
  const counts = { offered: 0, captured: 0, skipped: 0 }
  const capture = (x: CapturedExchange) => {
    counts.offered++
    if (queue.length >= MAX_QUEUE) counts.skipped++
    else {
      queue.push(x)
      counts.captured++
    }
  }
  // An observer that keeps up, without the observer's work (that is off the request path and measured elsewhere).
  setInterval(() => queue.splice(0), 20).unref()
  const { startPassthrough } = await load<typeof import('../src/proxy/passthrough.ts')>('proxy/passthrough')
  const proxy = await startPassthrough({ upstream: upstream!, capture })
  send({ ready: true, url: proxy.url, ...memory() })
  serve(() => ({ ...proxy.stats(), ...counts }), () => proxy.close({ graceMs: 1_000 }))
} else if (mode === 'proxy') {
  // `production-thread`: production with the observer in a worker thread (--observer thread).
  const [modeArg, state, webhook] = process.argv.slice(5)
  const [proxyMode, where] = (modeArg ?? '').split('-')
  if (proxyMode !== 'production' && proxyMode !== 'review') throw new Error(`proxy mode must be production or review (got ${proxyMode})`)
  const { startProxy } = await load<typeof import('../src/commands/proxy.ts')>('commands/proxy')
  const { loadContracts } = await load<typeof import('../src/contracts/load.ts')>('contracts/load')
  const { operationOf, ProxyMetrics, TrafficIncidents } = await load<typeof import('../src/live/index.ts')>('live/index')
  const { webhookSink } = await load<typeof import('../src/watch/alerts.ts')>('watch/alerts')
  const pack = loadContracts('contracts/meta')
  const metrics = new ProxyMetrics({ operations: pack.operations.map((o) => o.id) })
  const incidents = state && webhook ? new TrafficIncidents({ state, upstream: upstream!, operationOf: operationOf(pack), sinks: [webhookSink(webhook)], metrics }) : undefined
  const proxy = await startProxy({ upstream: upstream!, contractsDir: 'contracts/meta', pack, recordingsDir: arg!, port: 0, mode: proxyMode, observer: where === 'thread' ? 'thread' : 'inline', ...(where === 'thread' && process.env.PROXY_BENCH_THREAD_SHARE ? { observerShare: Number(process.env.PROXY_BENCH_THREAD_SHARE) } : {}), ...(where !== 'thread' && process.env.PROXY_BENCH_SHARE ? { observerShare: Number(process.env.PROXY_BENCH_SHARE) } : {}), metrics, ...(incidents ? { incidents } : {}) })
  send({ ready: true, url: proxy.url, ...memory() })
  serve(() => proxy.stats(), async () => {
    await proxy.close({ interrupted: true })
    await incidents?.close()
  })
} else {
  throw new Error(`unknown mode ${mode}`)
}
