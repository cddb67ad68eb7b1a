/**
 * report.html opens fast and stays small (issue 11: "the largest scenario opens in under 1 s in
 * headless Chromium and stays under 2 MB"). Run by hand: `npm run bench -- --only html` or
 * `npx tsx bench/html.ts`; needs Chromium as the browser tests do.
 *
 * Every simulator scenario is checked once, as a nightly would, with a full history behind it (60
 * past runs per contract, the most a timeline draws, results and latencies seeded), and writes
 * report.html. The largest file is opened BENCH_HTML_OPENS times (default 7), each in a fresh tab:
 * the time from navigation to the load event, and to first contentful paint, as Chromium reports them.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import puppeteer from 'puppeteer-core'
import { chromiumPath } from '../browser/chromium.ts'
import { main, type CliIO } from '../src/cli/index.ts'
import { PAST_RUNS } from '../src/history/past.ts'
import { HistoryStore } from '../src/history/store.ts'
import type { Report } from '../src/model/report.ts'
import { seededRandom } from '../src/simulator/scenario.ts'
import { scenarioNames } from '../src/simulator/scenarios/index.ts'

const GOAL_MS = 1000
const GOAL_BYTES = 2 * 1024 * 1024
const OPENS = Number(process.env.BENCH_HTML_OPENS ?? 7)
const ROOT = join(import.meta.dirname, '..')
const quiet: CliIO = { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: ROOT }

export async function benchHtml(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dw-bench-html-'))
  try {
    // The contracts a run judges, from one baseline run, then a history of PAST_RUNS nights of them.
    await main(['check', '--out', join(dir, 'seed'), '--format', 'json', '--no-history', '--quiet'], quiet)
    const contracts = (JSON.parse(readFileSync(join(dir, 'seed', 'report.json'), 'utf8')) as Report).results.map((r) => r.contract)
    const history = join(dir, 'history.db')
    const store = new HistoryStore(history)
    const random = seededRandom(11)
    const start = Date.now() - (PAST_RUNS + 1) * 86_400_000
    for (let night = 0; night < PAST_RUNS; night++) {
      const at = new Date(start + night * 86_400_000).toISOString()
      const results = contracts.map((contract) => ({ contract, status: random() < 0.15 ? 'failed' : 'passed', durationMs: Math.round(5 + random() * 400), probes: 1 + Math.floor(random() * 4) }))
      store.addCycle({ startedAt: at, finishedAt: at, target: 'sim', unit: 'check', contracts, requests: 25, outcome: 'pass', healthy: true }, [], results)
    }
    store.close()

    const sizes: { scenario: string; file: string; bytes: number }[] = []
    for (const scenario of scenarioNames()) {
      const out = join(dir, scenario)
      mkdirSync(out, { recursive: true })
      copyFileSync(history, join(out, 'history.db'))
      await main(['check', '--scenario', scenario, '--out', join(out, 'latest'), '--history', join(out, 'history.db'), '--format', 'json,html', '--quiet'], quiet)
      const file = join(out, 'latest', 'report.html')
      sizes.push({ scenario, file, bytes: statSync(file).size })
    }
    sizes.sort((a, b) => b.bytes - a.bytes)
    const largest = sizes[0]!
    console.log(`html: report.html of ${sizes.length} scenarios, each with ${PAST_RUNS} past runs per contract: ${sizes.map((s) => `${s.scenario} ${(s.bytes / 1024).toFixed(0)} KB`).join(', ')}`)

    const browser = await puppeteer.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
    const loads: number[] = []
    const paints: number[] = []
    try {
      for (let i = 0; i < OPENS; i++) {
        const page = await browser.newPage()
        await page.setViewport({ width: 1200, height: 1400 })
        const t0 = performance.now()
        await page.goto(pathToFileURL(largest.file).href, { waitUntil: 'load' })
        const wall = performance.now() - t0
        // Chromium's own figures for the same navigation (ms since it started).
        const fcp = await page.evaluate(`new Promise((done) => {
          new PerformanceObserver((list) => { const e = list.getEntries().find((x) => x.name === 'first-contentful-paint'); if (e) done(e.startTime) }).observe({ type: 'paint', buffered: true })
          setTimeout(() => done(-1), 2000)
        })`)
        loads.push(wall)
        if (Number(fcp) >= 0) paints.push(Number(fcp))
        await page.close()
      }
    } finally {
      await browser.close()
    }
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
    const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)]!
    const met = (ok: boolean) => (ok ? 'met' : 'NOT met')
    console.log(`  largest: ${largest.scenario}, ${(largest.bytes / 1024).toFixed(0)} KB (goal < ${GOAL_BYTES / 1024 / 1024} MB: ${met(largest.bytes < GOAL_BYTES)})`)
    console.log(`  opened ${OPENS}× in headless Chromium, each in a fresh tab: to the load event median ${median(loads).toFixed(0)} ms, worst ${Math.max(...loads).toFixed(0)} ms (goal < ${GOAL_MS} ms: ${met(Math.max(...loads) < GOAL_MS)})${paints.length ? `; first contentful paint median ${median(paints).toFixed(0)} ms` : ''}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchHtml()
