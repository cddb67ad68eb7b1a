/**
 * The recording proxy at line rate (issue 9), run by hand: `npm run bench -- --only proxy` (or
 * BENCH_ONLY=proxy). Three processes, as in real use: the simulator, the recording proxy in front
 * of it, and a load generator with 10 concurrent keep-alive clients (load.ts). In the same run:
 *  1. direct vs through the proxy vs through a bare pass-through proxy (what any Node proxy pays
 *     here), interleaved rounds (PROXY_BENCH_ROUND requests each, default 5,000), medians:
 *     throughput ratio and the latency the proxy adds at p50 and p99;
 *  2. a soak of PROXY_BENCH_REQUESTS through the proxy (default 100,000) in ten chunks: the proxy's
 *     RSS (and JS heap after a GC) at start, middle and end, and the longest time from an answer to
 *     its journal line being fsynced;
 *  3. the stop: how long compaction and judging the whole session take.
 * Each figure is printed next to its goal, met or not. On a shared 2-core machine the figures are
 * indicative: the three processes compete for the same cores with whatever else runs.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'

const here = import.meta.dirname
const TOTAL = Number(process.env.PROXY_BENCH_REQUESTS ?? 100_000)
const ROUND = Number(process.env.PROXY_BENCH_ROUND ?? 5_000)
const CONCURRENCY = 10

interface Load {
  requests: number
  failed: number
  perSecond: number
  p50: number
  p99: number
}
interface Sample {
  rssMb: number
  heapMb: number
  stats?: { exchanges: number; maxDiskLagMs: number; maxSyncMs: number; journalBytes: number; judgedLive: number; waited: number; notRecorded: number }
}

function host(args: string[]): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  const child = fork(join(here, 'proxy-host.ts'), args, { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, ready: m as Record<string, unknown> }))
    child.once('exit', (code) => reject(new Error(`bench host ${args[0]} exited ${code}`)))
  })
}

function ask<T>(child: ChildProcess, cmd: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as T))
    child.send({ cmd })
  })
}

function load(url: string, creds: Record<string, unknown>, n: number): Promise<Load> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(here, 'load.ts'), url, String(creds.token), String(creds.phone), String(creds.waba), String(n), String(CONCURRENCY)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    p.stdout.on('data', (d: Buffer) => (out += d))
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Load) : reject(new Error(`load generator exited ${code}`))))
  })
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met')

const recordings = mkdtempSync(join(tmpdir(), 'dw-bench-proxy-'))
const sim = await host(['sim'])
const creds = sim.ready
const proxy = await host(['proxy', String(creds.url), recordings])
const proxyUrl = String(proxy.ready.url)
let bare: Awaited<ReturnType<typeof host>> | undefined
try {
  bare = await host(['bare', String(creds.url)])
  const bareUrl = String(bare.ready.url)
  console.log(`proxy (loopback, ${CONCURRENCY} concurrent clients, GETs of the phone number and templates; load average at start ${loadavg()[0]!.toFixed(1)} on this machine)`)
  await load(String(creds.url), creds, 2_000)
  await load(proxyUrl, creds, 2_000)
  await load(bareUrl, creds, 2_000)
  const direct: Load[] = []
  const through: Load[] = []
  const floor: Load[] = []
  for (let r = 0; r < 3; r++) {
    direct.push(await load(String(creds.url), creds, ROUND))
    through.push(await load(proxyUrl, creds, ROUND))
    floor.push(await load(bareUrl, creds, ROUND))
  }
  const d = { rps: med(direct.map((x) => x.perSecond)), p50: med(direct.map((x) => x.p50)), p99: med(direct.map((x) => x.p99)) }
  const p = { rps: med(through.map((x) => x.perSecond)), p50: med(through.map((x) => x.p50)), p99: med(through.map((x) => x.p99)) }
  const b = { rps: med(floor.map((x) => x.perSecond)), p50: med(floor.map((x) => x.p50)), p99: med(floor.map((x) => x.p99)) }
  const failed = [...direct, ...through].reduce((n, x) => n + x.failed, 0)
  console.log(`  direct : ${d.rps.toFixed(0)} req/s, p50 ${d.p50.toFixed(2)} ms, p99 ${d.p99.toFixed(2)} ms (3 rounds of ${ROUND}, medians)`)
  console.log(`  proxy  : ${p.rps.toFixed(0)} req/s, p50 ${p.p50.toFixed(2)} ms, p99 ${p.p99.toFixed(2)} ms${failed ? `; ${failed} non-200 answers` : ''}`)
  const ratio = p.rps / d.rps
  console.log(`  throughput ratio proxy/direct: ${ratio.toFixed(2)} (goal >= 0.80: ${verdict(ratio >= 0.8)})`)
  const bareFailed = floor.reduce((n, x) => n + x.failed, 0)
  console.log(`  bare   : ${b.rps.toFixed(0)} req/s, p50 ${b.p50.toFixed(2)} ms, p99 ${b.p99.toFixed(2)} ms${bareFailed ? ` (${bareFailed} non-200 answers: the figure is not the ceiling)` : ''}: a minimal node:http + undici pass-through, no capture, no recording (bare/direct ${(b.rps / d.rps).toFixed(2)}: the ceiling of any Node proxy in this three-process setup on ${availableParallelism()} cores; driftwatch/bare ${(p.rps / b.rps).toFixed(2)})`)
  console.log(`  added latency: p50 +${(p.p50 - d.p50).toFixed(2)} ms (goal <= 1 ms: ${verdict(p.p50 - d.p50 <= 1)}), p99 +${(p.p99 - d.p99).toFixed(2)} ms (goal <= 5 ms: ${verdict(p.p99 - d.p99 <= 5)})`)

  const chunk = Math.max(1, Math.floor(TOTAL / 10))
  const samples: Sample[] = [await ask<Sample>(proxy.child, 'sample')]
  const soak: Load[] = []
  for (let i = 0; i < 10; i++) {
    soak.push(await load(proxyUrl, creds, chunk))
    samples.push(await ask<Sample>(proxy.child, 'sample'))
  }
  const [start, middle, end] = [samples[0]!, samples[5]!, samples[10]!]
  const stats = end.stats!
  const lag = stats.maxDiskLagMs
  console.log(`  soak: ${chunk * 10} requests through the proxy at ${med(soak.map((x) => x.perSecond)).toFixed(0)} req/s (median of 10 chunks); ${stats.exchanges} exchanges in the session, ${stats.judgedLive} judged live, ${stats.waited} waited for room, ${stats.notRecorded} not recorded`)
  console.log(`  on disk: longest answer -> fsynced journal line ${lag.toFixed(0)} ms (goal <= 1000 ms: ${verdict(lag <= 1000)}; the longest write + fsync of one batch took ${stats.maxSyncMs.toFixed(0)} ms); journal ${(stats.journalBytes / 1048576).toFixed(1)} MB, ${(stats.journalBytes / stats.exchanges).toFixed(0)} bytes per exchange`)
  const growth = end.rssMb / middle.rssMb - 1
  console.log(`  proxy RSS: start ${start.rssMb.toFixed(0)} MB, middle ${middle.rssMb.toFixed(0)} MB, end ${end.rssMb.toFixed(0)} MB (goal flat, middle to end within 10%: ${verdict(growth <= 0.1)}, +${(growth * 100).toFixed(0)}%)`)
  const perExchange = ((end.heapMb - start.heapMb) * 1048576) / (stats.exchanges - (start.stats?.exchanges ?? 0))
  console.log(`  proxy JS heap after GC: start ${start.heapMb.toFixed(0)} MB, middle ${middle.heapMb.toFixed(0)} MB, end ${end.heapMb.toFixed(0)} MB (${perExchange.toFixed(0)} bytes held per exchange: the session judge keeps aggregates and a bounded sample per kind of answer, not the exchanges)`)
  const judge = await host(['judge', '20000'])
  const j = judge.ready as { entries: number; bytesPerEntry: number; bytesPerJudgedEntry: number; observationJsonBytes: number }
  console.log(`  of which the session judge (TrafficJudge, ${j.entries} exchanges in a fresh process): ${j.bytesPerEntry.toFixed(0)} bytes per exchange placed, ${j.bytesPerJudgedEntry.toFixed(0)} placed and judged live (an observation is ${j.observationJsonBytes} bytes as JSON, on average; measured while its bounds still fill, and noisy: the heap line above is the long-run figure)`)
  const stop = await ask<{ closeSeconds: number; compactSeconds: number; judgeSeconds: number; compacted: number; outcome: string; rssMb: number }>(proxy.child, 'stop')
  console.log(`  stop (first Ctrl-C): ${stop.closeSeconds.toFixed(1)} s: ${stop.compactSeconds.toFixed(1)} s to compact ${stop.compacted} exchanges, ${stop.judgeSeconds.toFixed(1)} s for the session judge's report (outcome ${stop.outcome})`)
  console.log('  (indicative: a shared 2-core machine, three busy processes; compare ratios within one run, not across runs)')
} finally {
  proxy.child.kill()
  bare?.child.kill()
  await ask(sim.child, 'stop').catch(() => undefined)
  rmSync(recordings, { recursive: true, force: true })
}
