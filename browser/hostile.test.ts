/**
 * The hostile runs of suites/hostile (every command on hostile upstreams, captures and crafted
 * reports) opened in headless Chromium: every report.html, and every report.md as a real GFM
 * renderer turns it into HTML (raw HTML allowed, no CSP: the worst a viewer could do). Each must
 * show 0 script executions, 0 requests, 0 injected elements, 0 CSP violations (nothing even tried),
 * and stay on its page. Every junit.xml must parse as XML with only JUnit's elements in it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { micromark } from 'micromark'
import { gfm, gfmHtml } from 'micromark-extension-gfm'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { filesUnder, hostileRuns, type HostileRuns } from '../suites/hostile/runs.ts'
import { chromiumPath } from './chromium.ts'

// Page globals the callbacks below use (the project compiles without the DOM library).
declare const window: { __dwPwned?: number; __dwViolations: string[]; addEventListener(t: string, f: (e: { violatedDirective: string; blockedURI: string }) => void): void; location: { href: string } }
declare const document: { querySelectorAll(s: string): { length: number; [i: number]: { tagName: string } } & Iterable<{ tagName: string }>; getElementsByTagName(s: string): Iterable<{ tagName: string; attributes: Iterable<{ name: string }> }> }
declare class DOMParser {
  parseFromString(s: string, type: string): { getElementsByTagName(s: string): ArrayLike<{ tagName: string; attributes: ArrayLike<{ name: string }> }> }
}

const dir = mkdtempSync(join(tmpdir(), 'dw-hostile-browser-'))
let runs: HostileRuns
let browser: Browser

beforeAll(async () => {
  runs = await hostileRuns(dir)
  browser = await puppeteer.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] })
}, 300_000)
afterAll(async () => {
  await browser?.close()
  rmSync(dir, { recursive: true, force: true })
})

const named = (name: string) => runs.outputs.flatMap((o) => filesUnder(o.dir)).filter((f) => basename(f) === name)

/** Opens a page the way a person would, counting every request it makes besides itself, every CSP violation, and whether any script of the payloads ran. */
async function inspect(open: (page: Page) => Promise<void>, self: string): Promise<{ requests: string[]; violations: string[]; pwned: unknown; injected: number; scripts: number; stayed: boolean; tags: string[] }> {
  const page = await browser.newPage()
  const requests: string[] = []
  await page.setRequestInterception(true)
  page.on('request', (r) => {
    if (r.url() !== self) requests.push(r.url())
    void (r.url() === self ? r.continue() : r.abort())
  })
  await page.evaluateOnNewDocument(() => {
    window.__dwViolations = []
    window.addEventListener('securitypolicyviolation', (e) => window.__dwViolations.push(`${e.violatedDirective} ${e.blockedURI}`))
  })
  await open(page)
  // Give anything that might run (onerror, onload, a refresh) the time to try.
  await new Promise((r) => setTimeout(r, 300))
  const seen = await page.evaluate(() => ({
    pwned: window.__dwPwned,
    violations: window.__dwViolations,
    injected: document.querySelectorAll('[data-dw-injected], img, iframe, object, embed, link, base, meta[http-equiv="refresh"], meta[http-equiv="Refresh"]').length,
    scripts: document.querySelectorAll('script').length,
    href: window.location.href,
    tags: [...new Set([...document.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()))],
  }))
  await page.close()
  return { requests, violations: seen.violations, pwned: seen.pwned, injected: seen.injected, scripts: seen.scripts, stayed: seen.href === self, tags: seen.tags }
}

describe('report.html of every hostile run, in Chromium', () => {
  it('runs no script but its own, makes no request, has no injected element and stays put', async () => {
    const files = named('report.html')
    expect(files.length).toBeGreaterThanOrEqual(6)
    for (const f of files) {
      const url = pathToFileURL(f).href
      const r = await inspect((page) => page.goto(url, { waitUntil: 'load' }).then(() => undefined), url)
      expect(r, f).toMatchObject({ requests: [], violations: [], pwned: undefined, injected: 0, scripts: 1, stayed: true })
    }
  })
})

describe('report.md of every hostile run, rendered by a GFM renderer and opened in Chromium with no CSP', () => {
  it('runs no script, makes no request and has no injected element', async () => {
    const files = named('report.md')
    expect(files.length).toBeGreaterThanOrEqual(6)
    for (const f of files) {
      const html = micromark(readFileSync(f, 'utf8'), { allowDangerousHtml: true, extensions: [gfm()], htmlExtensions: [gfmHtml()] })
      const page = `${f}.html`
      // A byte-order mark says UTF-8 without adding an element of ours to count.
      writeFileSync(page, `\uFEFF<!doctype html><html><head></head><body>${html}</body></html>`)
      const url = pathToFileURL(page).href
      const r = await inspect((p) => p.goto(url, { waitUntil: 'load' }).then(() => undefined), url)
      expect(r, f).toMatchObject({ requests: [], violations: [], pwned: undefined, injected: 0, scripts: 0, stayed: true })
      expect(r.tags.filter((t) => !['html', 'head', 'body', 'h1', 'h2', 'h3', 'p', 'ul', 'li', 'strong', 'code', 'pre', 'table', 'thead', 'tbody', 'tr', 'th', 'td'].includes(t)), f).toEqual([])
    }
  })
})

describe('junit.xml of every hostile run', () => {
  it('parses as XML in Chromium, with only JUnit elements and attributes', async () => {
    const files = named('junit.xml')
    expect(files.length).toBeGreaterThanOrEqual(6)
    const page = await browser.newPage()
    for (const f of files) {
      const parsed = await page.evaluate((xml) => {
        const doc = new DOMParser().parseFromString(xml, 'application/xml')
        const all = doc.getElementsByTagName('*')
        const out: { tag: string; attrs: string[] }[] = []
        for (let i = 0; i < all.length; i++) {
          const attrs: string[] = []
          for (let j = 0; j < all[i]!.attributes.length; j++) attrs.push(all[i]!.attributes[j]!.name)
          out.push({ tag: all[i]!.tagName, attrs })
        }
        return out
      }, readFileSync(f, 'utf8'))
      expect(parsed.filter((e) => !['testsuites', 'testsuite', 'properties', 'property', 'testcase', 'failure', 'skipped', 'system-out'].includes(e.tag)).map((e) => e.tag), f).toEqual([])
      expect(parsed.flatMap((e) => e.attrs).filter((a) => !['name', 'value', 'tests', 'failures', 'errors', 'skipped', 'time', 'timestamp', 'classname', 'file', 'type', 'message'].includes(a)), f).toEqual([])
    }
    await page.close()
  })
})
