/**
 * One output folder is one series of runs (issue 17, item 5). `--out /tmp/x` used to add its run to
 * /tmp/history.db, shared with whatever else wrote there, and an unrelated HAR's verify then listed
 * "Cleared in this run" and "since" dates from the other capture. Now the history is history.db
 * inside --out, and within one folder a verified file's series is its origin and its path: two
 * unrelated captures neither clear nor date each other's findings, while the same capture path
 * verified night after night (and check run night after night) is one series that says since when.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { main, type CliIO } from '../../src/cli/index.ts'
import { HistoryStore } from '../../src/history/store.ts'
import type { Report } from '../../src/model/report.ts'

const ROOT = join(import.meta.dirname, '..', '..')
/** Both 2026 incidents on media.retrieve-url: four breaking findings there. */
const INCIDENTS = join(ROOT, 'suites', 'verify', 'fixtures', 'meta-media.har')
/** Another application's traffic to the same origin: media.retrieve-url judged, and clean. */
const CLEAN = join(ROOT, 'suites', 'verify', 'fixtures', 'cloud-api-traffic.har')

const dirs: string[] = []
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'dw-series-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** Runs the CLI; returns its exit code, the `History:` line, and the report.json it wrote in `out`. */
async function run(args: string[], out: string): Promise<{ code: number; history?: string; report: Report }> {
  const lines: string[] = []
  const io: CliIO = { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l), env: {}, cwd: ROOT }
  const code = await main([...args, '--out', out, '--format', 'json,md', '--quiet'], io)
  expect([0, 1], lines.join('\n')).toContain(code)
  return { code, history: lines.find((l) => l.startsWith('History:')), report: JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report }
}

/** Runs a history holds, per series. */
function runsIn(file: string): Record<string, number> {
  const store = new HistoryStore(file)
  try {
    const out: Record<string, number> = {}
    for (const c of store.cycles()) out[c.target] = (out[c.target] ?? 0) + 1
    return out
  } finally {
    store.close()
  }
}

/**
 * What a run says as the first of its series: nothing cleared, every finding new and none back.
 * (Both ways the past reaches a report set these: the previous report.json and the history date a
 * finding with `new: false`, and the history marks one that cleared before as `recurring`.)
 */
function expectFirstOfItsSeries(r: Report): void {
  expect(r.cleared ?? []).toEqual([])
  expect(r.findings.length).toBeGreaterThan(0)
  for (const f of r.findings) {
    expect(f, `${f.contract} ${f.check}: ${f.title}`).toMatchObject({ new: true })
    expect(f.recurring, `${f.contract} ${f.check}`).toBeUndefined()
  }
}

describe('two captures verified into two --out folders (the issue)', () => {
  it('share no history: each folder keeps its own, nothing is written next to them, and neither clears nor dates the other', async () => {
    const d = fresh()
    const first = await run(['verify', INCIDENTS], join(d, 'x'))
    expect(first.code).toBe(1)
    const second = await run(['verify', CLEAN], join(d, 'y'))
    expect(existsSync(join(d, 'history.db'))).toBe(false)
    expect(Object.values(runsIn(join(d, 'x', 'history.db')))).toEqual([1])
    expect(Object.values(runsIn(join(d, 'y', 'history.db')))).toEqual([1])
    expect(second.history).toMatch(/^History: .*\/y\/history\.db \(1 run of traffic https:\/\/graph\.facebook\.com from .*cloud-api-traffic\.har\)$/)
    // The clean capture judged media.retrieve-url, where the other one had four breaking findings open.
    expect(second.report.results.find((r) => r.contract === 'media.retrieve-url')?.status).toBe('passed')
    expectFirstOfItsSeries(second.report)
    expect(readFileSync(join(d, 'y', 'report.md'), 'utf8')).not.toContain('Cleared')
  }, 60_000)

  it('check: a drifting run and a clean one into two folders under one parent do not clear each other either', async () => {
    const d = fresh()
    const only = ['--only', 'media.retrieve-url']
    const drifted = await run(['check', '--scenario', 'media-chunked', ...only], join(d, 'x'))
    expect(drifted.code).toBe(1)
    const clean = await run(['check', ...only], join(d, 'y'))
    expect(clean.report.cleared ?? []).toEqual([])
    expect(existsSync(join(d, 'history.db'))).toBe(false)
  }, 60_000)
})

describe('two unrelated captures verified into one --out', () => {
  it('are two series: the second neither clears the first one\'s findings nor takes their dates', async () => {
    const d = fresh()
    const first = await run(['verify', INCIDENTS], join(d, 'out'))
    const second = await run(['verify', CLEAN], join(d, 'out'))
    expectFirstOfItsSeries(second.report)
    expect(runsIn(join(d, 'out', 'history.db'))).toEqual({
      [`traffic https://graph.facebook.com from ${first.report.target.replace(/^har:/, '')}`]: 1,
      [`traffic https://graph.facebook.com from ${second.report.target.replace(/^har:/, '')}`]: 1,
    })
  }, 60_000)

  it('diff still compares them: two captures of one origin, whatever the files are called (you chose them)', async () => {
    const d = fresh()
    await run(['verify', INCIDENTS, '--no-history'], join(d, 'a'))
    await run(['verify', CLEAN, '--no-history'], join(d, 'b'))
    const lines: string[] = []
    const io: CliIO = { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l), env: {}, cwd: ROOT }
    // Not refused (exit 2): the clean one's findings are info, below --fail-on.
    expect(await main(['diff', join(d, 'a', 'report.json'), join(d, 'b', 'report.json')], io), lines.join('\n')).toBe(0)
    expect(lines.join('\n')).toMatch(/\d+ appeared, 4 cleared/)
  }, 60_000)

  it('without a history too: the previous report.json in --out dates only findings of its own series', async () => {
    const d = fresh()
    // The same traffic under two names: every finding of the second has a twin in the first.
    copyFileSync(INCIDENTS, join(d, 'app-a.har'))
    copyFileSync(INCIDENTS, join(d, 'app-b.har'))
    const first = await run(['verify', join(d, 'app-a.har'), '--no-history'], join(d, 'out'))
    const second = await run(['verify', join(d, 'app-b.har'), '--no-history'], join(d, 'out'))
    expect(second.report.findings.length).toBe(first.report.findings.length)
    expectFirstOfItsSeries(second.report)
  }, 60_000)
})

describe('one series: the same runs night after night into one --out (quiet case)', () => {
  it('verify of one capture path: the second night shares the history, says since when, and what it cleared', async () => {
    const d = fresh()
    const tonight = join(d, 'captures', 'tonight.har')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(join(d, 'captures'))
    copyFileSync(INCIDENTS, tonight)
    const night1 = await run(['verify', tonight], join(d, 'nightly'))
    const night2 = await run(['verify', tonight], join(d, 'nightly'))
    expect(night2.history).toMatch(/\(2 runs of traffic https:\/\/graph\.facebook\.com from .*captures\/tonight\.har\)$/)
    const breaking = night2.report.findings.filter((f) => f.severity === 'breaking')
    expect(breaking.length).toBe(4)
    for (const f of breaking) {
      // Dated by night one (its run, or the capture's own time): not new tonight.
      expect(f, `${f.contract} ${f.check}`).toMatchObject({ new: false })
      expect(f.since <= night1.report.finishedAt, `${f.contract} ${f.check} since ${f.since}`).toBe(true)
    }
    // Night three's capture (same path) no longer has them: cleared, with when each began.
    copyFileSync(CLEAN, tonight)
    const night3 = await run(['verify', tonight], join(d, 'nightly'))
    expect((night3.report.cleared ?? []).map((c) => `${c.contract} ${c.check}`).sort()).toEqual(breaking.map((f) => `${f.contract} ${f.check}`).sort())
    expect(readFileSync(join(d, 'nightly', 'report.md'), 'utf8')).toContain('Cleared in this run')
  }, 90_000)

  it('check: the second night shares the history in --out and says since when', async () => {
    const d = fresh()
    const args = ['check', '--scenario', 'media-chunked', '--only', 'media.retrieve-url']
    const night1 = await run(args, join(d, 'nightly'))
    const night2 = await run(args, join(d, 'nightly'))
    expect(night2.history).toBe(`History: ${join(d, 'nightly', 'history.db')} (2 runs of sim)`)
    const framing = night2.report.findings.find((f) => f.check === 'framing-conformance')!
    expect(framing).toMatchObject({ new: false })
    expect(framing.since >= night1.report.startedAt && framing.since <= night1.report.finishedAt, framing.since).toBe(true)
  }, 60_000)
})
