/**
 * The child side of the verify bench (see run.ts): runs verify on one HAR, or (`parse`) only the
 * HAR reader over it (scanning, bodies hashed, entries built and redacted; nothing judged), the
 * least verify does. Prints one JSON object on stdout.
 *
 * Plain JavaScript, so it runs the compiled package (dist/) without a TypeScript loader, as an
 * installed driftwatch does; VERIFY_BENCH_FROM=src runs src/ instead (under `--import tsx`).
 *
 * Two more modes take a stage out, to say what it costs (their reports are not verify's):
 * `unjudged` places every entry (attribution, what it teaches) but judges none
 * (IncrementalJudge.add does nothing), and `unplaced` only counts the entries it reads.
 */
import { readdirSync, readFileSync } from 'node:fs'

const from = process.env.VERIFY_BENCH_FROM === 'src' ? { dir: '../src', ext: 'ts' } : { dir: '../dist', ext: 'js' }
const load = (path) => import(new URL(`${from.dir}/${path}.${from.ext}`, import.meta.url).href)
const { PersonalDataRedactor } = await load('recordings/personal-data')
const { streamHar } = await load('traffic/har')
const { Redactor } = await load('transport/redact')
const { runVerify } = await load('commands/verify')
const { IncrementalJudge } = await load('traffic/incremental-judge')
const { TrafficJudge } = await load('traffic/judge-traffic')

const [mode, file, outDir] = process.argv.slice(2)
if (mode === 'unjudged') IncrementalJudge.prototype.add = async () => {}
if (mode === 'unplaced') {
  TrafficJudge.prototype.place = function () {
    this.counts.entries++
    this.counts.unattributed++
    return { kind: 'none', reason: 'not placed (bench)' }
  }
}
/**
 * CPU by thread, from Linux's /proc (elsewhere none): the main thread, the busiest other one (the reader's worker
 * when verify reads in one) and the rest (V8's garbage-collector and compiler threads). On a shared machine one run's
 * wall time swings by a third; how a run's CPU splits between its threads holds far steadier, and says which thread
 * a change lightened. A thread that ended is gone from /proc: its last reading, taken every 50 ms, stands for it.
 */
const threadCpu = new Map()
const readThreads = () => {
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      // utime and stime, the 14th and 15th fields, in clock ticks (100 a second on Linux), after the name in parentheses.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      threadCpu.set(tid, (Number(f[11]) + Number(f[12])) * 10)
    }
  } catch {
    // not Linux: no split by thread
  }
}
const sampler = setInterval(readThreads, 50)
sampler.unref()
const env = { WHATSAPP_PHONE_NUMBER_ID: '106540352242922', WHATSAPP_WABA_ID: '102290129340398' }
let entries = 0
let outcome = ''
let findings = 0
if (mode === 'parse') {
  for await (const _ of streamHar(file, new Redactor({ secrets: [], personal: [] }), new PersonalDataRedactor())) entries++
} else {
  const { counts, report } = await runVerify({ input: file, contractsDir: 'contracts/meta', outDir, formats: ['json'], env })
  entries = counts.entries
  outcome = report.outcome
  findings = report.findings.length
}
clearInterval(sampler)
readThreads()
let threads
if (threadCpu.size > 0) {
  const mainMs = threadCpu.get(String(process.pid)) ?? 0
  const others = [...threadCpu].filter(([tid]) => tid !== String(process.pid)).map(([, ms]) => ms).sort((a, b) => b - a)
  threads = { mainMs, busiestOtherMs: others[0] ?? 0, restMs: others.slice(1).reduce((a, b) => a + b, 0) }
}
// From the process's start, as a user times `driftwatch verify`: start-up and loading modules count (performance.now()
// counts from the process's time origin, and cpuUsage() without a base is the process's whole).
const cpu = process.cpuUsage()
process.stdout.write(
  JSON.stringify({
    entries,
    seconds: performance.now() / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    outcome,
    findings,
    // Peak resident set of this process, in MB (resourceUsage reports kilobytes).
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    threads,
  }),
)
