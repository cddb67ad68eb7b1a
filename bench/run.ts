/**
 * Benchmarks, run by hand (`npm run bench`), never in CI: these machines are noisy, so the
 * numbers are ratios and medians measured in one run, not thresholds.
 *
 * The simulator runs here, in the parent; the client work runs in a child process so its CPU time
 * and peak memory are the harness's alone.
 *  1. throughput: `check`'s probe pipeline (request building, wire capture, checks, findings) vs a
 *     bare undici loop sending the same requests over a keep-alive connection, interleaved rounds.
 *  2. memory: peak RSS of the harness downloading 1, 50 and 200 MB media bodies (flat is the goal).
 *  3. gate: wall time of the whole `driftwatch gate` command on the committed pacts and recordings.
 *  4. proxy: the recording proxy vs the simulator direct (proxy.ts); PROXY_BENCH_REQUESTS sets its
 *     soak (default 100,000).
 *  5. verify: a HAR of realistic Cloud API traffic (BENCH_VERIFY_MB, default 1024) written to the
 *     temp directory, verified in a child process: peak RSS and entries/s against the goals; the
 *     HAR reader alone on the same file (the ceiling); verify again with the old space capped at
 *     BENCH_VERIFY_HEAP_MB (default 192, 0 skips) to show what it really holds. Then real-shaped
 *     traffic (BENCH_VERIFY_REAL_MB, default 256): each copy's upload a multipart body of
 *     BENCH_VERIFY_MEDIA_MB (default 4) binary bytes and its download as much base64, most of the
 *     bytes in a few large bodies as in real captures: MB/s, entries/s and peak RSS, next to issue
 *     17's figures before the byte-level reader (7 MB/s, 1,788 entries/s).
 *
 *  6. watch: time from a seed incident to its alert, at the default budget and at 10x (watch.ts).
 *  7. html: report.html of the largest scenario with a full history behind it: its size, and the time
 *     headless Chromium takes to open it (html.ts).
 *  8. redaction: what finding secrets in every spelling costs per string, per MB of text and of
 *     binary body, and as a share of a whole check run (redaction.ts).
 *
 * `npm run bench -- --only <section>` (or BENCH_ONLY=<section>) runs one section alone: throughput,
 * memory, gate, proxy, verify, watch, html or redaction.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator } from '../src/simulator/server.ts'
import { writeLargeHar } from '../suites/helpers/large-har.ts'

const here = import.meta.dirname
const onlyArg = process.argv.indexOf('--only')
const only = onlyArg >= 0 ? process.argv[onlyArg + 1] : process.env.BENCH_ONLY
const SECTIONS = ['throughput', 'memory', 'gate', 'proxy', 'verify', 'watch', 'html', 'redaction']
if (only !== undefined && !SECTIONS.includes(only)) throw new Error(`--only takes one of ${SECTIONS.join(', ')} (got "${only}")`)
const runs = (section: string) => only === undefined || only === section

function child(args: string[], env: Record<string, string>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, 'client.ts'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    p.stdout.on('data', (d: Buffer) => (out += d))
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`bench client exited ${code}`))))
  })
}

if (runs('throughput') || runs('memory')) {
const sim = await startSimulator()
const c = sim.credentials
const env = { SIM_URL: sim.url, SIM_TOKEN: c.token, SIM_PHONE: c.phoneNumberId, SIM_WABA: c.wabaId }
try {
  const t = (await child(['throughput'], env)) as { requestsPerIteration: number; rounds: { harness: number; bare: number; parsing: number; harnessCpuUs: number; bareCpuUs: number; parsingCpuUs: number }[] }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const h = med(t.rounds.map((r) => r.harness))
  const b = med(t.rounds.map((r) => r.bare))
  const hc = med(t.rounds.map((r) => r.harnessCpuUs))
  const bc = med(t.rounds.map((r) => r.bareCpuUs))
  console.log(`throughput (${t.rounds.length} interleaved rounds, ${t.requestsPerIteration} requests per pack iteration, medians)`)
  console.log(`  harness pipeline : ${h.toFixed(0)} probes/s, ${hc.toFixed(0)} µs client CPU per probe`)
  console.log(`  bare undici loop : ${b.toFixed(0)} requests/s, ${bc.toFixed(0)} µs client CPU per request`)
  const p = med(t.rounds.map((r) => r.parsing))
  const pc = med(t.rounds.map((r) => r.parsingCpuUs))
  console.log(`  bare + sha256 + JSON.parse: ${p.toFixed(0)} requests/s, ${pc.toFixed(0)} µs client CPU per request (the least a checking client does)`)
  console.log(`  ratio harness/bare: ${(h / b).toFixed(2)} (wall-clock overhead ${((b / h - 1) * 100).toFixed(1)}%; target < 20%)`)
  console.log(`  ratio harness/(bare + parse): ${(h / p).toFixed(2)} (overhead ${((p / h - 1) * 100).toFixed(1)}%)`)

  const sizes = [1, 50, 200]
  console.log('memory (peak RSS of a fresh client process downloading one media body; "held" is JS heap + Buffer memory still held after a GC)')
  const peaks: Record<string, number[]> = { harness: [], bare: [] }
  for (const mb of sizes) {
    const m = sim.state.addSyntheticMedia(mb * 1024 * 1024)
    for (const who of ['harness', 'bare'] as const) {
      const r = (await child(['download', m.id, who], env)) as { bytes: number; sha256ok: boolean; baselineRssMb: number; peakRssMb: number; retainedMb: number }
      peaks[who]!.push(r.peakRssMb - r.baselineRssMb)
      console.log(`  ${String(mb).padStart(3)} MB body, ${who.padEnd(7)}: peak ${r.peakRssMb.toFixed(1)} MB (+${(r.peakRssMb - r.baselineRssMb).toFixed(1)} over its ${r.baselineRssMb.toFixed(1)} MB start), held after GC ${r.retainedMb.toFixed(2)} MB, sha256 and size verified: ${r.sha256ok}`)
    }
  }
  const growth = (xs: number[]) => xs.map((x, i) => `${sizes[i]} MB: +${x.toFixed(0)} MB`).join(', ')
  console.log(`  peak growth, harness: ${growth(peaks.harness!)}; bare undici: ${growth(peaks.bare!)}`)
  console.log('  (flat in body size means the 200 MB run peaks no higher than the 50 MB one; the growth both clients share is')
  console.log('   socket read buffers waiting for the garbage collector, not bodies held in memory)')
} finally {
  await sim.close()
}
}

// 3. The pre-deploy gate, as CI runs it: a fresh process each time, startup included.
const root = join(here, '..')
if (!runs('gate')) {
  // another section asked for alone
} else if (!existsSync(join(root, 'pacts'))) {
  console.log('gate: skipped (no pacts/; run npm run test:consumer first)')
} else {
  const times: number[] = []
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    const r = spawnSync(process.execPath, [join(root, 'bin/driftwatch.js'), 'gate', '--quiet', '--out', join(root, 'reports/bench-gate')], { cwd: root, encoding: 'utf8' })
    times.push(performance.now() - t0)
    if (r.status !== 0) console.log(`gate run ${i + 1} exited ${r.status}: ${r.stdout}${r.stderr}`)
  }
  times.sort((a, b) => a - b)
  console.log(`gate: whole command, ${times.length} runs: median ${(times[2]! / 1000).toFixed(2)} s, min ${(times[0]! / 1000).toFixed(2)} s, max ${(times[4]! / 1000).toFixed(2)} s (target < 3 s)`)
}

// 4. The recording proxy at line rate.
if (runs('proxy')) await import('./proxy.ts')

// 5. verify on a large HAR: flat memory and entries/s, measured in a child process of its own.
if (runs('verify')) {
  const mb = Number(process.env.BENCH_VERIFY_MB ?? 1024)
  const dir = mkdtempSync(join(tmpdir(), 'dw-bench-verify-'))
  try {
    const file = join(dir, 'traffic.har')
    const t0 = performance.now()
    const written = await writeLargeHar(file, { bytes: mb * 1024 * 1024 })
    console.log(`verify: ${(written.bytes / 1024 / 1024).toFixed(0)} MB HAR, ${written.entries.toLocaleString('en-US')} entries of Cloud API traffic, written in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    type Measured = { entries: number; seconds: number; cpuSeconds: number; peakRssMb: number; outcome: string; findings: number }
    const measure = (mode: 'verify' | 'parse', flags: string[] = []) =>
      new Promise<Measured>((resolveRun, reject) => {
        const p = spawn(process.execPath, [...flags, '--import', 'tsx', join(here, 'verify-child.ts'), mode, file, join(dir, 'out')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
        let out = ''
        p.stdout.on('data', (d: Buffer) => (out += d))
        p.on('close', (code) => (code === 0 ? resolveRun(JSON.parse(out)) : reject(new Error(`verify bench child (${mode}) exited ${code}`))))
      })
    const r = await measure('verify')
    const bare = await measure('parse')
    // V8 grows its heap lazily when there is room: the same run with the old space capped shows what is really held.
    const heapMb = Number(process.env.BENCH_VERIFY_HEAP_MB ?? 192)
    const capped = heapMb > 0 ? await measure('verify', [`--max-old-space-size=${heapMb}`]) : undefined
    const rate = r.entries / r.seconds
    const goal = (ok: boolean) => (ok ? 'met' : 'NOT met')
    const scale = 1024 / mb
    console.log(`  ${r.entries.toLocaleString('en-US')} entries judged in ${r.seconds.toFixed(1)} s (${r.cpuSeconds.toFixed(1)} s CPU, startup included), outcome ${r.outcome}, ${r.findings} findings`)
    console.log(`  peak RSS   : ${r.peakRssMb.toFixed(0)} MB (goal < 400 MB for 1 GB${scale !== 1 ? `; this is ${mb} MB` : ''}: ${goal(r.peakRssMb < 400)}); the parser alone peaks at ${bare.peakRssMb.toFixed(0)} MB`)
    if (capped) console.log(`  peak RSS with --max-old-space-size=${heapMb}: ${capped.peakRssMb.toFixed(0)} MB, ${Math.round(capped.entries / capped.seconds).toLocaleString('en-US')} entries/s (${capped.entries.toLocaleString('en-US')} entries, outcome ${capped.outcome}): what verify holds, without V8's slack`)
    console.log(`  throughput : ${Math.round(rate).toLocaleString('en-US')} entries/s wall, ${Math.round(r.entries / r.cpuSeconds).toLocaleString('en-US')} per CPU second (goal >= 20,000 entries/s: ${goal(rate >= 20000)})`)
    console.log(`  the streaming parser alone on the same file: ${Math.round(bare.entries / bare.seconds).toLocaleString('en-US')} entries/s wall, ${Math.round(bare.entries / bare.cpuSeconds).toLocaleString('en-US')} per CPU second (the ceiling on this machine; ratio verify/parser ${(rate / (bare.entries / bare.seconds)).toFixed(2)})`)
    console.log('  (a busy shared machine makes these indicative; the CPU-second rate is the steadier of the two)')

    const realMb = Number(process.env.BENCH_VERIFY_REAL_MB ?? 256)
    const mediaMb = Number(process.env.BENCH_VERIFY_MEDIA_MB ?? 4)
    if (realMb > 0) {
      rmSync(file, { force: true })
      const real = await writeLargeHar(file, { bytes: realMb * 1024 * 1024, media: { bytes: mediaMb * 1024 * 1024 } })
      const mbOf = real.bytes / 1024 / 1024
      const v = await measure('verify')
      const p = await measure('parse')
      console.log(`verify on real-shaped traffic: ${mbOf.toFixed(0)} MB, ${real.entries.toLocaleString('en-US')} entries, each copy of the traffic with a ${mediaMb} MB multipart upload and a ${mediaMb} MB base64 download`)
      console.log(`  verify     : ${(mbOf / v.seconds).toFixed(1)} MB/s, ${Math.round(v.entries / v.seconds).toLocaleString('en-US')} entries/s wall (${(mbOf / v.cpuSeconds).toFixed(1)} MB per CPU second), peak RSS ${v.peakRssMb.toFixed(0)} MB, outcome ${v.outcome}`)
      console.log(`  reader only: ${(mbOf / p.seconds).toFixed(1)} MB/s wall, ${(mbOf / p.cpuSeconds).toFixed(1)} MB per CPU second, peak RSS ${p.peakRssMb.toFixed(0)} MB`)
      console.log(`  before (issue 17, @streamparser/json): 7 MB/s, 1,788 entries/s; ${v.seconds > 0 && mbOf / v.seconds > 7 ? `now ${(mbOf / v.seconds / 7).toFixed(1)}x` : 'NOT faster'}`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// 6. watch: time to detect each seed incident.
if (runs('watch')) {
  const { benchWatch } = await import('./watch.ts')
  await benchWatch()
}

// 7. report.html: size and time to open in headless Chromium.
if (runs('html')) {
  const { benchHtml } = await import('./html.ts')
  await benchHtml()
}

// 8. Redaction: secrets in every spelling, per string, per MB, and inside a check run.
if (runs('redaction')) {
  const { benchRedaction } = await import('./redaction.ts')
  await benchRedaction()
}
