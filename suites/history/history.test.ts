/**
 * History (issue 11): every check adds its run to the history database in its --out folder;
 * `driftwatch history` tells each finding's episodes; `driftwatch diff` compares two reports.
 * The sequence is the issue's own: baseline, media-chunked, baseline, media-chunked,
 * error-code-reorder into one reports folder.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main, type CliIO } from '../../src/cli/index.ts'
import { episodes } from '../../src/history/episodes.ts'
import type { FindingHistory } from '../../src/history/episodes.ts'
import { diffReports } from '../../src/commands/diff.ts'
import type { Finding } from '../../src/model/finding.ts'
import { clearedBy, pastKey, type Past } from '../../src/history/since.ts'
import type { ContractResult, Report } from '../../src/model/report.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const dir = mkdtempSync(join(tmpdir(), 'dw-history-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function io(): { out: string[]; err: string[]; io: CliIO } {
  const out: string[] = []
  const err: string[] = []
  return { out, err, io: { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: {}, cwd: ROOT } }
}

const SEQUENCE = ['baseline', 'media-chunked', 'baseline', 'media-chunked', 'error-code-reorder']
const reports: Report[] = []

describe('history across five runs', () => {
  beforeAll(async () => {
    for (const scenario of SEQUENCE) {
      const t = io()
      await main(['check', '--scenario', scenario, '--out', join(dir, 'latest'), '--format', 'json,md,html', '--quiet'], t.io)
      reports.push(JSON.parse(readFileSync(join(dir, 'latest', 'report.json'), 'utf8')) as Report)
    }
  }, 120_000)

  it('shows the chunked-framing finding appearing twice and clearing twice', async () => {
    expect(existsSync(join(dir, 'latest', 'history.db'))).toBe(true) // in the --out folder
    expect(existsSync(join(dir, 'history.db'))).toBe(false) // not next to it
    const t = io()
    expect(await main(['history', '--out', join(dir, 'latest'), '--json'], t.io)).toBe(0)
    const h = JSON.parse(t.out.join('\n')) as { runs: number; findings: FindingHistory[] }
    expect(h.runs).toBe(5)
    const framing = h.findings.filter((f) => f.check === 'framing-conformance')
    expect(framing.map((f) => f.contract).sort()).toEqual(['media.retrieve-url', 'media.retrieve-url.with-phone-number-id'])
    for (const f of framing) {
      expect(f.episodes.map((e) => [e.appearedRun, e.clearedRun])).toEqual([
        [2, 3],
        [4, 5],
      ])
      expect(f).toMatchObject({ flaps: 1, open: false, seen: 2, judged: 5 })
    }
  })

  it("report.html's timeline shows the same: drift, cleared, drift, cleared", () => {
    const html = readFileSync(join(dir, 'latest', 'report.html'), 'utf8')
    const row = html.split('\n').find((l) => l.startsWith('<tr id="media.retrieve-url"'))!
    expect([...row.matchAll(/<rect [^>]*class="(\w+)"/g)].map((m) => m[1])).toEqual(['pass', 'drift', 'pass', 'drift', 'pass'])
    const calm = html.split('\n').find((l) => l.startsWith('<tr id="templates.list"'))!
    expect([...calm.matchAll(/<rect [^>]*class="(\w+)"/g)].map((m) => m[1])).toEqual(['pass', 'pass', 'pass', 'pass', 'pass'])
  })

  it("the reports say it too: run 4's chunked framing is new, but back after clearing once", () => {
    const framing = (r: Report) => r.findings.find((f) => f.contract === 'media.retrieve-url' && f.check === 'framing-conformance')
    expect(framing(reports[1]!)).toMatchObject({ new: true })
    expect(framing(reports[1]!)!.recurring).toBeUndefined()
    expect(framing(reports[3]!)).toMatchObject({ new: true, recurring: { cleared: 1, lastClearedAt: reports[2]!.startedAt } })
    const md = readFileSync(join(dir, 'latest', 'report.md'), 'utf8')
    expect(md).not.toContain('back after clearing') // run 5 has no chunked finding
  })

  it('a run that clears a finding says so: runs 3 and 5 list the chunked framing as cleared, with when it began', () => {
    const cleared = reports.map((r) => (r.cleared ?? []).map((c) => `${c.contract} ${c.check} ${c.severity} since ${c.since}`))
    // An episode begins with the run that first had it: that run's start, as its report dated the finding.
    const began = (run: number) => reports[run]!.startedAt
    expect(cleared).toEqual([
      [],
      [],
      [`media.retrieve-url framing-conformance breaking since ${began(1)}`, `media.retrieve-url.with-phone-number-id framing-conformance breaking since ${began(1)}`],
      [],
      [`media.retrieve-url framing-conformance breaking since ${began(3)}`, `media.retrieve-url.with-phone-number-id framing-conformance breaking since ${began(3)}`],
    ])
    const md = readFileSync(join(dir, 'latest', 'report.md'), 'utf8')
    expect(md).toContain('| Cleared | 2 findings open before this run are gone (2 breaking): see "Cleared in this run" |')
    expect(md).toContain(`| 🔴 breaking | Framing changed to chunked (contract: content-length) | \`media.retrieve-url\` | \`framing-conformance\` | ${began(3)} |`)
    const html = readFileSync(join(dir, 'latest', 'report.html'), 'utf8')
    expect(html).toContain('<h2 id="cleared">Cleared in this run</h2>')
    expect(html).toContain('<dt>Cleared</dt><dd><a href="#cleared">2 findings open before this run are gone (2 breaking)</a></dd>')
  })

  it('prints it for people, filtered by contract', async () => {
    const t = io()
    await main(['history', '--history', join(dir, 'latest', 'history.db'), '--contract', 'media.retrieve-url'], t.io)
    const text = t.out.join('\n')
    expect(text).toMatch(/^history .*history\.db: 5 runs .*; 1 finding seen, 0 open now$/m)
    expect(text).toContain('cleared media.retrieve-url framing-conformance (breaking): Framing changed to chunked (contract: content-length)')
    expect(text).toContain('seen in 2 of 5 judged runs; 2 episodes, flapped 1×')
    expect(text).not.toContain('with-phone-number-id')
  })

  it('diff says what appeared and what cleared between two of the runs', () => {
    const appeared = diffReports(reports[0]!, reports[1]!)
    expect(appeared.appeared.map((f) => [f.contract, f.check])).toEqual([
      ['media.retrieve-url', 'framing-conformance'],
      ['media.retrieve-url.with-phone-number-id', 'framing-conformance'],
    ])
    expect(appeared.cleared).toEqual([])
    const cleared = diffReports(reports[1]!, reports[2]!)
    expect(cleared.cleared).toHaveLength(2)
    expect(cleared.appeared).toEqual([])
  })

  it('diff from the command line exits 1 when something at --fail-on appeared, 0 when it cleared', async () => {
    const a = io()
    const files = [0, 1].map((i) => join(dir, `r${i}.json`))
    const { writeFileSync } = await import('node:fs')
    writeFileSync(files[0]!, JSON.stringify(reports[0]))
    writeFileSync(files[1]!, JSON.stringify(reports[1]))
    expect(await main(['diff', files[0]!, files[1]!], a.io)).toBe(1)
    expect(a.out.join('\n')).toContain('2 appeared, 0 cleared, 0 changed')
    const b = io()
    expect(await main(['diff', files[1]!, files[0]!], b.io)).toBe(0)
    expect(b.out.join('\n')).toContain('0 appeared, 2 cleared')
  })
})

describe('episodes', () => {
  const entry = (run: number, status: string, findings: { check: string; severity: 'breaking' | 'warning' | 'info'; title: string }[] = []) => ({ run, command: 'check', at: `2026-11-0${run}T00:00:00.000Z`, target: 'sim', contract: 'c', status, durationMs: 1, findings })
  const drift = [{ check: 'framing-conformance', severity: 'breaking' as const, title: 'chunked' }]

  it('a run that did not judge the contract neither ends nor starts an episode', () => {
    const [h] = episodes([entry(1, 'failed', drift), entry(2, 'skipped'), entry(3, 'inconclusive'), entry(4, 'failed', drift), entry(5, 'passed')])
    expect(h!.episodes).toEqual([{ appearedAt: '2026-11-01T00:00:00.000Z', appearedRun: 1, clearedAt: '2026-11-05T00:00:00.000Z', clearedRun: 5, severity: 'breaking', title: 'chunked' }])
    expect(h).toMatchObject({ flaps: 0, judged: 3, seen: 2 })
  })

  it('an episode still open at the end is open', () => {
    const [h] = episodes([entry(1, 'passed'), entry(2, 'failed', drift)])
    expect(h).toMatchObject({ open: true, flaps: 0 })
    expect(h!.episodes[0]!.clearedAt).toBeUndefined()
  })
})

describe('cleared by a run', () => {
  const past: Past = { results: [], findings: new Map([[pastKey('sim', 'c', 'framing-conformance'), { openSince: '2026-11-01T00:00:00.000Z', open: { severity: 'breaking', title: 'chunked' }, cleared: 0, judged: 1, seen: 1 }]]) }
  const result = (status: ContractResult['status']) => ({ contract: 'c', title: 'c', file: 'c.yaml', request: 'GET /', status, probes: 1, durationMs: 1 }) as ContractResult
  const finding = { contract: 'c', check: 'framing-conformance' } as Finding

  it('a contract judged again without the finding cleared it', () => {
    expect(clearedBy([], [result('passed')], past, 'sim')).toEqual([{ contract: 'c', check: 'framing-conformance', severity: 'breaking', title: 'chunked', since: '2026-11-01T00:00:00.000Z' }])
  })

  it('a contract not judged (skipped, inconclusive), another target, or the finding still there clears nothing', () => {
    expect(clearedBy([], [result('skipped')], past, 'sim')).toEqual([])
    expect(clearedBy([], [result('inconclusive')], past, 'sim')).toEqual([])
    expect(clearedBy([], [result('passed')], past, 'https://graph.facebook.com')).toEqual([])
    expect(clearedBy([finding], [result('failed')], past, 'sim')).toEqual([])
  })
})

describe('since when, from the history', () => {
  it('a finding still open keeps the time it appeared even when the previous report.json is gone', async () => {
    const d = mkdtempSync(join(tmpdir(), 'dw-since-'))
    try {
      const run = () => main(['check', '--scenario', 'media-chunked', '--only', 'media.retrieve-url', '--out', join(d, 'latest'), '--format', 'json,md,html', '--quiet'], io().io)
      await run()
      const first = JSON.parse(readFileSync(join(d, 'latest', 'report.json'), 'utf8')) as Report
      await run()
      rmSync(join(d, 'latest', 'report.json'))
      await run()
      const third = JSON.parse(readFileSync(join(d, 'latest', 'report.json'), 'utf8')) as Report
      const f = third.findings.find((x) => x.check === 'framing-conformance')!
      // One instant from the first report to the third: the run's start, which the first report gave as its since.
      expect(first.findings.find((x) => x.check === 'framing-conformance')).toMatchObject({ new: true, since: first.startedAt })
      expect(first.startedAt).not.toBe(first.finishedAt)
      expect(f).toMatchObject({ new: false, since: first.startedAt })
      expect(readFileSync(join(d, 'latest', 'report.md'), 'utf8')).toContain(`since ${first.startedAt}`)
      expect(readFileSync(join(d, 'latest', 'report.html'), 'utf8')).toContain(`since ${first.startedAt}`)
      // And `driftwatch history` says the episode appeared at that same instant.
      const h = io()
      await main(['history', '--out', join(d, 'latest'), '--json'], h.io)
      const episode = (JSON.parse(h.out.join('\n')) as { findings: FindingHistory[] }).findings.find((x) => x.check === 'framing-conformance')!.episodes[0]!
      expect(episode.appearedAt).toBe(first.startedAt)
    } finally {
      rmSync(d, { recursive: true, force: true })
    }
  }, 60_000)
})

describe('adding runs to the history', () => {
  it('each run says which history it went to, and how many runs of its target it holds', async () => {
    const d = mkdtempSync(join(tmpdir(), 'dw-where-'))
    try {
      const said: string[] = []
      for (let i = 0; i < 2; i++) {
        const t = { ...io().io, cwd: d }
        const out: string[] = []
        await main(['check', '--contracts', join(ROOT, 'contracts/meta'), '--recordings', join(ROOT, 'recordings/meta'), '--only', 'phone-numbers.get', '--out', join(d, 'out'), '--quiet'], { ...t, stdout: (l) => out.push(l) })
        said.push(out.find((l) => l.startsWith('History:'))!)
      }
      expect(said).toEqual(['History: out/history.db (1 run of sim)', 'History: out/history.db (2 runs of sim)'])
    } finally {
      rmSync(d, { recursive: true, force: true })
    }
  })

  it('--no-history adds nothing; a missing history is said plainly', async () => {
    const d = mkdtempSync(join(tmpdir(), 'dw-nohist-'))
    try {
      const quiet = io()
      await main(['check', '--only', 'phone-numbers.get', '--out', join(d, 'out'), '--no-history', '--quiet'], quiet.io)
      expect(existsSync(join(d, 'out', 'history.db'))).toBe(false)
      expect(quiet.out.join('\n')).not.toContain('History:')
      const t = io()
      expect(await main(['history', '--out', join(d, 'out')], t.io)).toBe(2)
      expect(t.err.join('\n')).toContain(`no history at ${join(d, 'out', 'history.db')}: check, verify and merge add every run to history.db in their --out folder`)
    } finally {
      rmSync(d, { recursive: true, force: true })
    }
  })
})
