/**
 * report.html draws each contract's past from the history, whichever command wrote the report:
 * check (one target or several), verify (the traffic's origin and the file's path are its line of
 * history: tonight's capture at one path, not any file of the same origin) and merge (shards already in the history are not drawn twice). A history written
 * before the requests column existed is upgraded in place.
 */
import Database from 'better-sqlite3'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { main, type CliIO } from '../../src/cli/index.ts'
import { HistoryStore } from '../../src/history/store.ts'
import { shownPath } from '../../src/util/paths.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const HAR = join(ROOT, 'suites', 'verify', 'fixtures', 'meta-media.har')
const dirs: string[] = []
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'dw-timelines-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
const quiet: CliIO = { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: ROOT }

/** The timeline cells of each contract row, by row id. */
function strips(html: string): Map<string, string[]> {
  const rows = html.split('\n').filter((l) => l.startsWith('<tr id="'))
  return new Map(rows.map((l) => [/^<tr id="([^"]+)"/.exec(l)![1]!, [...l.matchAll(/<rect [^>]*class="(\w+)"/g)].map((m) => m[1]!)]))
}

describe('report.html timelines', () => {
  it('verify: one capture path verified night after night is one line of history; another file is a line of its own', async () => {
    const d = fresh()
    const tonight = join(d, 'tonight.har')
    const other = join(d, 'other-app.har')
    copyFileSync(HAR, tonight)
    copyFileSync(HAR, other)
    const verify = (file: string) => main(['verify', file, '--out', join(d, 'latest'), '--format', 'json,html', '--quiet'], quiet)
    await verify(tonight)
    await verify(tonight)
    const judged = () => [...strips(readFileSync(join(d, 'latest', 'report.html'), 'utf8'))].filter(([, cells]) => cells.length > 0)
    expect(judged().length).toBeGreaterThan(0)
    for (const [, cells] of judged()) expect(cells).toHaveLength(2)
    expect(readFileSync(join(d, 'latest', 'report.html'), 'utf8')).toContain('(traffic to https://graph.facebook.com)')
    // The same traffic under another name, into the same folder: not tonight's capture, so no past drawn under it.
    await verify(other)
    for (const [, cells] of judged()) expect(cells).toHaveLength(1)
    const store = new HistoryStore(join(d, 'latest', 'history.db'))
    try {
      const series = (file: string) => `traffic https://graph.facebook.com from ${shownPath(ROOT, file)}`
      expect(store.cycles().map((c) => [c.command, c.target]).reverse()).toEqual([
        ['verify', series(tonight)],
        ['verify', series(tonight)],
        ['verify', series(other)],
      ])
    } finally {
      store.close()
    }
  }, 60_000)

  it('check --targets, then merge: each target keeps its own line, and the shards are not drawn twice', async () => {
    const d = fresh()
    const targets = join(ROOT, 'examples', 'targets-lab.yaml')
    const said: string[] = []
    const listening: CliIO = { ...quiet, stdout: (l) => void (l.startsWith('History:') && said.push(l)) }
    // Two nights of shards: each writes its share into the one history next to the reports.
    for (let night = 0; night < 2; night++) {
      for (const shard of ['1/2', '2/2']) {
        await main(['check', '--targets', targets, '--shard', shard, '--out', join(d, `shard-${shard[0]}`), '--history', join(d, 'history.db'), '--format', 'json', '--quiet'], listening)
      }
      await main(['merge', join(d, 'shard-1', 'report.json'), join(d, 'shard-2', 'report.json'), '--out', join(d, 'merged'), '--history', join(d, 'history.db'), '--format', 'json,html', '--quiet'], listening)
    }
    // Each run says where it went (outside the working folder: the whole path), per target; the merge that added nothing says so.
    const at = join(d, 'history.db')
    expect(said.slice(3)).toEqual([
      `History: ${at} (2 runs of lab-a, 2 runs of lab-c)`,
      `History: ${at} (2 runs of lab-b)`,
      `History: ${at} (the shards' runs, added by them; 2 runs of lab-a, 2 runs of lab-b, 2 runs of lab-c)`,
    ])
    const s = strips(readFileSync(join(d, 'merged', 'report.html'), 'utf8'))
    // Night one's result, then tonight's (from the merged report itself): two cells, not three.
    expect(s.get('lab-b/media.retrieve-url')).toEqual(['drift', 'drift'])
    expect(s.get('lab-a/media.retrieve-url')).toEqual(['pass', 'pass'])
    expect(s.get('lab-c/media.retrieve-url')).toEqual(['pass', 'pass'])
  }, 120_000)

  it('merge in CI: shards without a history, the merge adds the merged run, once', async () => {
    const d = fresh()
    const targets = join(ROOT, 'examples', 'targets-lab.yaml')
    const history = join(d, 'history.db')
    for (let night = 0; night < 2; night++) {
      for (const shard of ['1/2', '2/2']) await main(['check', '--targets', targets, '--shard', shard, '--out', join(d, `shard-${shard[0]}`), '--no-history', '--format', 'json', '--quiet'], quiet)
      const merge = ['merge', join(d, 'shard-1', 'report.json'), join(d, 'shard-2', 'report.json'), '--out', join(d, 'merged'), '--history', history, '--format', 'json,html', '--quiet']
      await main(merge, quiet)
      if (night === 0) await main(merge, quiet) // merged again (a re-run job): not added twice
    }
    const store = new HistoryStore(history)
    try {
      expect(store.cycles().map((c) => c.command)).toEqual(['merge', 'merge'])
    } finally {
      store.close()
    }
    const s = strips(readFileSync(join(d, 'merged', 'report.html'), 'utf8'))
    expect(s.get('lab-b/media.retrieve-url')).toEqual(['drift', 'drift'])
    expect(s.get('lab-a/media.retrieve-url')).toEqual(['pass', 'pass'])
    const merged = JSON.parse(readFileSync(join(d, 'merged', 'report.json'), 'utf8')) as { findings: { target?: string; contract: string; new: boolean }[] }
    expect(merged.findings.find((f) => f.target === 'lab-b' && f.contract === 'media.retrieve-url')).toMatchObject({ new: false })
  }, 120_000)

  it('a history written before the requests column existed is upgraded, and its old rows draw no latency', () => {
    const d = fresh()
    const file = join(d, 'history.db')
    mkdirSync(d, { recursive: true })
    const old = new Database(file)
    old.exec(`CREATE TABLE cycles (id INTEGER PRIMARY KEY, command TEXT NOT NULL DEFAULT 'watch', started_at TEXT NOT NULL, finished_at TEXT NOT NULL, target TEXT NOT NULL, unit TEXT NOT NULL, contracts TEXT NOT NULL, requests INTEGER NOT NULL, outcome TEXT NOT NULL, healthy INTEGER NOT NULL);
      CREATE TABLE cycle_results (cycle_id INTEGER NOT NULL REFERENCES cycles(id), target TEXT NOT NULL, contract TEXT NOT NULL, status TEXT NOT NULL, duration_ms INTEGER NOT NULL DEFAULT 0);
      INSERT INTO cycles VALUES (1, 'check', '2026-11-01T00:00:00Z', '2026-11-01T00:00:05Z', 'sim', 'check', 'media.upload', 1, 'pass', 1);
      INSERT INTO cycle_results VALUES (1, 'sim', 'media.upload', 'passed', 40);
      PRAGMA user_version = 1;`)
    old.close()
    const store = new HistoryStore(file)
    try {
      expect(store.recentResults('2026-12-01T00:00:00Z')).toEqual([{ at: '2026-11-01T00:00:00Z', target: 'sim', contract: 'media.upload', status: 'passed', durationMs: 40, requests: 0 }])
      store.addCycle({ startedAt: '2026-11-02T00:00:00Z', finishedAt: '2026-11-02T00:00:03Z', target: 'sim', unit: 'check', contracts: ['media.upload'], requests: 2, outcome: 'pass', healthy: true }, [], [{ contract: 'media.upload', status: 'passed', durationMs: 30, probes: 2 }])
      expect(store.recentResults('2026-12-01T00:00:00Z').map((p) => p.requests)).toEqual([0, 2])
    } finally {
      store.close()
    }
  })

  it('keeps at most the latest runs per contract, oldest first', () => {
    const store = new HistoryStore(join(fresh(), 'history.db'))
    try {
      for (let i = 0; i < 5; i++) {
        const at = `2026-11-0${i + 1}T00:00:00Z`
        store.addCycle({ startedAt: at, finishedAt: at, target: 'sim', unit: 'check', contracts: ['a', 'b'], requests: 2, outcome: 'pass', healthy: true }, [], [
          { contract: 'a', status: 'passed', durationMs: i, probes: 1 },
          { contract: 'b', status: 'passed', durationMs: i, probes: 1 },
        ])
      }
      const recent = store.recentResults('2026-11-05T00:00:00Z', 2)
      expect(recent.map((p) => [p.contract, p.at.slice(0, 10)])).toEqual([
        ['a', '2026-11-03'],
        ['b', '2026-11-03'],
        ['a', '2026-11-04'],
        ['b', '2026-11-04'],
      ])
    } finally {
      store.close()
    }
  })
})
