/**
 * report.html in a real browser (issue 11): headless Chromium opens the report of a drifting run
 * with a history behind it, and the findings, timeline and evidence render; the filters work; the
 * layout is where it should be (compared loosely: boxes, not pixels). The screenshot of the drifting
 * report is written to reports/browser/ and, with UPDATE_SCREENSHOT=1, to docs/report-html.png for
 * the README.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main, type CliIO } from '../src/cli/index.ts'
import { chromiumPath } from './chromium.ts'
import { HistoryStore } from '../src/history/store.ts'

// Callbacks passed to page.$eval run in the page; the project compiles without the DOM library, so
// the few page globals they use are declared here, for this file only.
declare const document: { querySelector(s: string): { id: string; getBoundingClientRect(): { top: number } } | null }
declare function getComputedStyle(e: unknown): { backgroundColor: string; fill: string; fontSize: string }
type HTMLElement = { offsetParent: unknown; hidden: boolean }
type DOMRect = { width: number; height: number }

const ROOT = join(import.meta.dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'dw-browser-'))
let browser: Browser
let page: Page
let file: string

const quietIo: CliIO = { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: ROOT }

beforeAll(async () => {
  // A history first (the sequence), then the drifting run whose report is opened.
  for (const scenario of ['baseline', 'media-chunked', 'baseline', 'media-chunked', 'error-code-reorder', 'media-chunked']) {
    await main(['check', '--scenario', scenario, '--out', join(dir, 'latest'), '--format', 'json,html', '--quiet'], quietIo)
  }
  file = join(dir, 'latest', 'report.html')
  browser = await puppeteer.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
  page = await browser.newPage()
  await page.setViewport({ width: 1200, height: 1400 })
  const t0 = performance.now()
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' })
  // Said, not asserted: timing belongs to the bench on these machines.
  console.log(`report.html (${statSync(file).size} bytes) loaded in ${(performance.now() - t0).toFixed(0)} ms`)
}, 180_000)

afterAll(async () => {
  await browser?.close()
  rmSync(dir, { recursive: true, force: true })
})

const visible = (selector: string) => page.$$eval(selector, (els) => els.filter((e) => (e as HTMLElement).offsetParent !== null).length)

describe('report.html in Chromium', () => {
  it('renders the summary, the findings worst first, and their evidence', async () => {
    expect(await page.title()).toBe('driftwatch: DRIFT sim')
    expect(await page.$eval('header.band', (e) => getComputedStyle(e).backgroundColor)).toBe('rgb(179, 38, 30)')
    const rows = await page.$$eval('table.causes tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-severity'), tr.querySelector('td:nth-child(3)')!.textContent]))
    expect(rows).toEqual([['breaking', 'Framing changed to chunked (contract: content-length)']])
    expect(await page.$eval('#finding-1 table.headers tr.named th', (th) => th.textContent)).toBe('Transfer-Encoding')
    expect(await page.$eval('#finding-1 .framing', (p) => p.textContent)).toBe('Framing: Transfer-Encoding: chunked')
  })

  it("draws each contract's timeline across the history: the chunked contract drifted three times in six runs", async () => {
    const strip = await page.$$eval('tr[id="media.retrieve-url"] svg.timeline rect', (rs) => rs.map((r) => r.getAttribute('class')))
    expect(strip).toEqual(['pass', 'drift', 'pass', 'drift', 'pass', 'drift'])
    const box = await page.$eval('tr[id="media.retrieve-url"] svg.timeline', (s) => s.getBoundingClientRect().toJSON() as DOMRect)
    expect(box.width).toBeGreaterThan(40)
    expect(box.height).toBeGreaterThanOrEqual(12)
    expect(await page.$eval('tr[id="media.retrieve-url"] svg.timeline rect.drift', (r) => getComputedStyle(r).fill)).toBe('rgb(179, 38, 30)')
  })

  it('labels the timeline axis with the first and last runs\' times, readable (11 px or more), and names the cause in the band', async () => {
    const labels = await page.$$eval('tr[id="media.retrieve-url"] svg.timeline text', (ts) => ts.map((t) => [t.textContent, getComputedStyle(t).fontSize]))
    // Six runs within a minute or so: the labels carry seconds, so they do not read the same.
    expect(labels.map(([text]) => text)).toEqual([expect.stringMatching(/^\d\d-\d\d \d\d:\d\d:\d\d$/), expect.stringMatching(/^\d\d-\d\d \d\d:\d\d:\d\d UTC$/)])
    // They are the first and last runs' start times (when all six start within one second, both read the same second).
    const store = new HistoryStore(join(dir, 'latest', 'history.db'))
    const starts = store.cycles().map((c) => c.startedAt).sort()
    store.close()
    const shown = (iso: string) => `${iso.slice(5, 10)} ${iso.slice(11, 19)}`
    expect([labels[0]![0], labels[1]![0]!.replace(' UTC', '')]).toEqual([shown(starts[0]!), shown(starts.at(-1)!)])
    for (const [, size] of labels) expect(parseFloat(size!)).toBeGreaterThanOrEqual(11)
    // The last label ends where the strip and its axis end, and does not run into the first.
    const right = (sel: string) => page.$eval(`tr[id="media.retrieve-url"] svg.timeline ${sel}`, (e) => e.getBoundingClientRect().toJSON() as DOMRect & { left: number; right: number })
    const [strip, axis, first, last] = [await right('rect:last-of-type'), await right('line.axis'), await right('text:first-of-type'), await right('text:last-of-type')]
    expect(Math.abs(axis.right - strip.right)).toBeLessThanOrEqual(1.5)
    expect(Math.abs(last.right - axis.right)).toBeLessThanOrEqual(1.5)
    expect(first.right).toBeLessThan(last.left)
    for (const size of await page.$$eval('svg.latency text', (ts) => ts.map((t) => getComputedStyle(t).fontSize))) expect(parseFloat(size)).toBeGreaterThanOrEqual(11)
    expect(await page.$eval('header.band h1', (h) => h.textContent)).toMatch(/^driftwatch: DRIFTGET \/\{api_version\}\/\{media_id\}: Framing changed to chunked \(contract: content-length\) \(breaking\)/)
  })

  it('charts latency per request under the timeline, one dot per run, aligned with it', async () => {
    const chart = 'tr[id="media.retrieve-url"] svg.latency'
    expect(await page.$$eval(`${chart} circle`, (cs) => cs.length)).toBe(6)
    expect(await page.$eval(chart, (s) => s.getAttribute('aria-label'))).toMatch(/^Latency per request over 6 runs: max \d+ ms · median \d+ ms · now \d+ ms$/)
    const strip = await page.$eval('tr[id="media.retrieve-url"] svg.timeline', (s) => s.getBoundingClientRect().toJSON() as DOMRect & { top: number; left: number })
    const box = await page.$eval(chart, (s) => s.getBoundingClientRect().toJSON() as DOMRect & { top: number; left: number })
    expect(box.top).toBeGreaterThanOrEqual(strip.top + strip.height) // under the strip
    expect(box.left).toBe(strip.left) // run i at the same x in both
    expect(box.height).toBeGreaterThan(20)
  })

  it('filters by severity and by contract, and follows deep links', async () => {
    expect(await visible('#filters')).toBe(1) // shown once the script runs
    expect(await visible('section.finding')).toBe(1)
    await page.click('#filters input[value="breaking"]')
    expect(await visible('section.finding')).toBe(0)
    expect(await visible('table.causes tbody tr')).toBe(0)
    await page.click('#filters input[value="breaking"]')
    expect(await visible('section.finding')).toBe(1)
    await page.select('#filters select[name="contract"]', 'templates.list')
    expect(await visible('section.finding')).toBe(0)
    expect(await visible('table.contracts tbody tr')).toBe(1)
    await page.select('#filters select[name="contract"]', '')
    expect(await visible('table.contracts tbody tr')).toBe(13)
    await page.goto(`${pathToFileURL(file).href}#media.download`, { waitUntil: 'load' })
    expect(await page.evaluate(() => document.querySelector(':target')?.id)).toBe('media.download')
  })

  it('lays out as designed: band on top, then filters, findings, evidence and contracts, in that order', async () => {
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' })
    const tops = await page.evaluate(() => ['header.band', '#filters', 'table.causes', '#finding-1', 'table.contracts'].map((s) => document.querySelector(s)!.getBoundingClientRect().top))
    expect(tops[0]).toBe(0)
    for (let i = 1; i < tops.length; i++) expect(tops[i]!, `element ${i} below element ${i - 1}`).toBeGreaterThan(tops[i - 1]!)
    mkdirSync(join(ROOT, 'reports', 'browser'), { recursive: true })
    const shot = join(ROOT, 'reports', 'browser', 'report-html.png')
    await page.screenshot({ path: shot, fullPage: false })
    // Loosely: a PNG of the viewport with more than a blank page's worth of bytes in it.
    const png = readFileSync(shot)
    expect(png.subarray(1, 4).toString()).toBe('PNG')
    expect(png.readUInt32BE(16)).toBe(1200)
    expect(png.length).toBeGreaterThan(20_000)
    // And the contracts with their timelines and latency charts, for the README too.
    const contracts = join(ROOT, 'reports', 'browser', 'report-html-contracts.png')
    await (await page.$('table.contracts'))!.screenshot({ path: contracts })
    expect(readFileSync(contracts).length).toBeGreaterThan(20_000)
    if (process.env.UPDATE_SCREENSHOT) {
      copyFileSync(shot, join(ROOT, 'docs', 'report-html.png'))
      copyFileSync(contracts, join(ROOT, 'docs', 'report-html-contracts.png'))
    }
  })

  it('stays small and works without JavaScript', async () => {
    expect(statSync(file).size).toBeLessThan(2 * 1024 * 1024)
    const plain = await browser.newPage()
    await plain.setJavaScriptEnabled(false)
    await plain.goto(pathToFileURL(file).href, { waitUntil: 'load' })
    expect(await plain.$$eval('section.finding', (s) => s.length)).toBe(1)
    expect(await plain.$eval('#filters', (f) => (f as HTMLElement).hidden)).toBe(true)
    await plain.close()
  })
})
