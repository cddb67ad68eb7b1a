/**
 * A process of the proxy benchmark (see proxy.ts), driven over IPC: `sim` runs the simulator,
 * `proxy <upstream> <recordings-dir>` runs the recording proxy in front of it, `bare <upstream>`
 * a minimal pass-through proxy (the floor any Node proxy pays on this machine), `judge <n>` measures
 * what the session judge (TrafficJudge) alone keeps per exchange. The first two answer
 * `{ cmd: 'sample' }` with its RSS, heap after a GC, and the proxy's counters, and `{ cmd: 'stop' }`
 * by stopping (the proxy as a first Ctrl-C does: compaction, judging, report) and saying how long it took.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { loadContracts } from '../src/contracts/load.ts'
import { startProxy } from '../src/proxy/proxy.ts'
import { startSimulator } from '../src/simulator/server.ts'
import { trafficState } from '../src/traffic/attribute.ts'
import { TrafficJudge } from '../src/traffic/judge-traffic.ts'
import { HostPolicy } from '../src/transport/host-policy.ts'
import { Redactor } from '../src/transport/redact.ts'
import { Transport } from '../src/transport/transport.ts'

const [mode, upstream, recordingsDir] = process.argv.slice(2)
const send = (m: unknown) => process.send!(m)

function memory() {
  globalThis.gc?.()
  const m = process.memoryUsage()
  return { rssMb: m.rss / 1048576, heapMb: m.heapUsed / 1048576 }
}

if (mode === 'sim') {
  const sim = await startSimulator()
  const c = sim.credentials
  send({ ready: true, url: sim.url, token: c.token, phone: c.phoneNumberId, waba: c.wabaId })
  process.on('message', async (m: { cmd: string }) => {
    if (m.cmd === 'sample') send({ ...memory() })
    if (m.cmd === 'stop') {
      await sim.close()
      send({ stopped: true })
      process.exit(0)
    }
  })
} else if (mode === 'proxy') {
  const proxy = await startProxy({ upstream: upstream!, contractsDir: 'contracts/meta', recordingsDir: recordingsDir!, port: 0 })
  send({ ready: true, url: proxy.url, ...memory() })
  process.on('message', async (m: { cmd: string }) => {
    if (m.cmd === 'sample') send({ ...memory(), stats: proxy.stats() })
    if (m.cmd === 'stop') {
      const t0 = performance.now()
      const session = await proxy.close({ interrupted: true })
      send({ stopped: true, closeSeconds: (performance.now() - t0) / 1000, compactSeconds: session.timings.compactMs / 1000, judgeSeconds: session.timings.judgeMs / 1000, stats: session.stats, compacted: session.compaction?.exchanges ?? 0, outcome: session.report.outcome, ...memory() })
      process.exit(0)
    }
  })
} else if (mode === 'judge') {
  // The session judge alone: what TrafficJudge.place keeps per exchange (the proxy calls it for every one).
  const sim = await startSimulator()
  const transport = new Transport({ hostPolicy: new HostPolicy({ allowHosts: [new URL(sim.url).host] }), redactor: new Redactor() })
  // The same three reads the load generator sends, in turn.
  const paths = [`/v23.0/${sim.credentials.phoneNumberId}`, `/v23.0/${sim.credentials.wabaId}/message_templates?limit=2`, `/v23.0/${sim.credentials.phoneNumberId}?fields=display_phone_number,verified_name`]
  const sent = await Promise.all(paths.map((p) => transport.send({ contract: '', sample: 1, method: 'GET', url: `${sim.url}${p}`, headers: [['Authorization', `Bearer ${sim.credentials.token}`]], auth: 'none' })))
  await transport.close()
  await sim.close()
  const traffic = new TrafficJudge({ pack: loadContracts('contracts/meta'), state: trafficState({}), since: new Date().toISOString(), contractsDir: 'contracts/meta', label: 'bench', upstreamHosts: [new URL(sim.url).host] })
  const n = Number(upstream ?? 20_000)
  const before = memory()
  for (let i = 0; i < n; i++) traffic.place({ source: `bench ${i}`, observation: structuredClone(sent[i % 3]!), hasBody: true })
  const placed = memory()
  // And judged live, as the proxy does under its live bound: what that adds to what is kept.
  const judged = new TrafficJudge({ pack: loadContracts('contracts/meta'), state: trafficState({}), since: new Date().toISOString(), contractsDir: 'contracts/meta', label: 'bench', upstreamHosts: [new URL(sim.url).host] })
  for (let i = 0; i < n; i++) {
    const entry = { source: `bench ${i}`, observation: structuredClone(sent[i % 3]!), hasBody: true }
    await judged.judgeOne(entry, judged.place(entry))
  }
  const after = memory()
  // Both judges stay alive until measured (an unused local may be collected early).
  if (traffic.counts.entries + judged.counts.entries !== 2 * n) throw new Error('not every exchange was placed')
  send({ entries: n, bytesPerEntry: ((placed.heapMb - before.heapMb) * 1048576) / n, bytesPerJudgedEntry: ((after.heapMb - placed.heapMb) * 1048576) / n, observationJsonBytes: Math.round(sent.reduce((b, o) => b + JSON.stringify(o).length, 0) / 3) })
  process.exit(0)
} else if (mode === 'bare') {
  // The floor for any Node proxy on this machine: node:http in, an undici Pool out, the body piped
  // through untouched. No wire capture, no checks, no recording. What driftwatch's proxy costs beyond
  // forwarding is its ratio to this one, measured in the same run.
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  send({ ready: true, url: `http://127.0.0.1:${port}`, ...memory() })
  process.on('message', async (m: { cmd: string }) => {
    if (m.cmd === 'stop') {
      server.close()
      await pool.close()
      send({ stopped: true })
      process.exit(0)
    }
  })
} else {
  throw new Error(`unknown mode ${mode}`)
}
