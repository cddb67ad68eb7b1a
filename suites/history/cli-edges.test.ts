/**
 * history and diff at their edges, where a mistake used to look like an answer: two reports of
 * different targets, a filter that matches nothing, a --since window with no run, a report.json
 * given as the history, a folder given as a report, --history with --no-history. The fixtures are
 * real check runs against the simulator, in a temp dir.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { main, type CliIO } from '../../src/cli/index.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const dir = mkdtempSync(join(tmpdir(), 'dw-cli-edges-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const HISTORY = join(dir, 'reports', 'history.db')

function io(cwd = ROOT): { out: string[]; err: string[]; text: () => string; io: CliIO } {
  const out: string[] = []
  const err: string[] = []
  return { out, err, text: () => [...out, ...err].join('\n'), io: { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: {}, cwd } }
}

/** check against the simulator, into the one shared --history unless told --no-history; its report.json copied to `<dir>/<keep>`. */
async function check(args: string[], out: string, keep?: string): Promise<void> {
  const t = io()
  const history = args.includes('--no-history') ? [] : ['--history', HISTORY]
  const code = await main(['check', ...args, '--out', join(dir, 'reports', out), ...history, '--format', 'json', '--quiet'], t.io)
  expect([0, 1], t.text()).toContain(code)
  if (keep) copyFileSync(join(dir, 'reports', out, 'report.json'), join(dir, keep))
}

beforeAll(async () => {
  // One history (reports/history.db, shared on purpose with --history): sim baseline, sim media-chunked (open drift), then three lab targets.
  await check(['--scenario', 'baseline'], 'latest', 'old.json')
  await check(['--scenario', 'media-chunked'], 'latest', 'new.json')
  await check(['--targets', join(ROOT, 'examples', 'targets-lab.yaml')], 'lab', 'lab.json')
  await check(['--scenario', 'baseline', '--api-version', 'v22.0', '--no-history'], 'v22', 'v22.json')
}, 120_000)

describe('diff', () => {
  it('refuses two reports of different targets (it used to report false drift, exit 1)', async () => {
    const t = io()
    expect(await main(['diff', join(dir, 'old.json'), join(dir, 'lab.json')], t.io)).toBe(2)
    expect(t.err.join('\n')).toContain('diff compares two runs of the same target: old is sim')
    expect(t.err.join('\n')).toContain('new is targets lab-a, lab-b, lab-c')
    expect(t.out).toEqual([])
  })

  it('warns, and goes on, when the API versions differ', async () => {
    const t = io()
    expect(await main(['diff', join(dir, 'old.json'), join(dir, 'v22.json')], t.io)).toBe(0)
    expect(t.err.join('\n')).toMatch(/^Warning: .*API v23\.0.*v22\.0.*findings may differ because of the version/m)
    expect(t.out.join('\n')).toMatch(/appeared, \d+ cleared/)
  })

  it('asks whether the reports were swapped when the new one is older', async () => {
    const t = io()
    expect(await main(['diff', join(dir, 'new.json'), join(dir, 'old.json')], t.io)).toBe(0)
    expect(t.err.join('\n')).toMatch(/^Warning: the new report is older than the old one \(.*\): did you swap them\?/m)
    expect(t.out.join('\n')).toContain('0 appeared, 2 cleared')
    const right = io()
    expect(await main(['diff', join(dir, 'old.json'), join(dir, 'new.json')], right.io)).toBe(1)
    expect(right.err).toEqual([])
  })

  it('a folder given for a report: pass its report.json', async () => {
    const t = io(dir)
    expect(await main(['diff', 'reports/latest', 'new.json'], t.io)).toBe(2)
    expect(t.err.join('\n')).toContain('reports/latest is a directory: pass its report.json (e.g. reports/latest/report.json)')
    expect(t.err.join('\n')).not.toContain('EISDIR')
  })

  it('shows paths outside the working directory absolute, inside it relative', async () => {
    const t = io()
    await main(['diff', join(dir, 'old.json'), join(dir, 'new.json')], t.io)
    expect(t.out[0]).toContain(`${join(dir, 'old.json')} (`)
    expect(t.out[0]).not.toContain('../')
    const inside = io(dir)
    await main(['diff', 'old.json', 'new.json'], inside.io)
    expect(inside.out[0]).toMatch(/^old\.json \(.*\) → new\.json \(/)
  })
})

describe('history', () => {
  afterEach(() => vi.useRealTimers())

  it('the full history has drift open (exit 1)', async () => {
    const t = io()
    expect(await main(['history', '--history', HISTORY], t.io)).toBe(1)
  })

  it('--contract that matches no contract in the history is a usage error listing the ones it has', async () => {
    const t = io()
    expect(await main(['history', '--history', HISTORY, '--contract', 'nonexistent'], t.io)).toBe(2)
    const err = t.err.join('\n')
    expect(err).toContain('--contract "nonexistent" matches no contract in')
    expect(err).toContain('media.retrieve-url')
    expect(t.out).toEqual([])
    const typo = io()
    expect(await main(['history', '--history', HISTORY, '--contract', 'media.*,medai.retrieve-url'], typo.io)).toBe(2)
    expect(typo.err.join('\n')).toContain('--contract "medai.retrieve-url" matches no contract')
  })

  it('--target that matches no target in the history is a usage error listing the ones it has', async () => {
    const t = io()
    expect(await main(['history', '--history', HISTORY, '--target', 'nonexistent'], t.io)).toBe(2)
    expect(t.err.join('\n')).toContain('--target "nonexistent" matches no target in')
    expect(t.err.join('\n')).toContain('lab-a, lab-b, lab-c, sim')
    const known = io()
    expect(await main(['history', '--history', HISTORY, '--target', 'lab-b', '--contract', 'media.*'], known.io)).toBe(1)
  })

  it('--since with no judged run in the window says when the latest was, and exits 3 (nothing judged)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 3_600_000) // an hour after the runs
    for (const extra of [[], ['--contract', 'media.*'], ['--json']]) {
      const t = io()
      expect(await main(['history', '--history', HISTORY, '--since', '1m', ...extra], t.io), t.text()).toBe(3)
      expect(t.text()).toMatch(/no run since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ.*; the latest run (that did )?was at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/)
    }
  })

  it('--since with runs in the window: open is what the latest judged run saw, as in the full history', async () => {
    const t = io()
    expect(await main(['history', '--history', HISTORY, '--since', '1h', '--json'], t.io)).toBe(1)
    const all = io()
    await main(['history', '--history', HISTORY, '--json'], all.io)
    const open = (lines: string[]) => (JSON.parse(lines.join('\n')) as { findings: { open: boolean }[] }).findings.filter((f) => f.open).length
    expect(open(t.out)).toBe(open(all.out))
  })

  it("--since that leaves out a contract's runs still counts its open finding, and says so", async () => {
    const { readFileSync } = await import('node:fs')
    // The window starts with the lab run: the sim's chunked drift (opened before) has no run in it.
    const since = (JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as { startedAt: string }).startedAt
    const t = io()
    expect(await main(['history', '--history', HISTORY, '--since', since], t.io)).toBe(1)
    expect(t.out.join('\n')).toMatch(/^OPEN {4}media\.retrieve-url framing-conformance \(breaking\)/m)
    expect(t.out.join('\n')).toContain('the contract was last judged before --since, so the window shows none of its runs')
    const j = io()
    await main(['history', '--history', HISTORY, '--since', since, '--json'], j.io)
    const open = (JSON.parse(j.out.join('\n')) as { openBeforeWindow?: { target: string; contract: string }[] }).openBeforeWindow ?? []
    expect(open.map((h) => `${h.target}/${h.contract}`).sort()).toEqual(['sim/media.retrieve-url', 'sim/media.retrieve-url.with-phone-number-id'])
  })

  it('help history documents exit 3', async () => {
    const t = io()
    await main(['help', 'history'], t.io)
    expect(t.out.join('\n')).toMatch(/3 when no\s+run in the --since window/)
  })

  it('shows a history outside the working directory by its absolute path, one inside it relative', async () => {
    const t = io()
    expect(await main(['history', '--history', '/nonexistent/dir/h.db'], t.io)).toBe(2)
    expect(t.err.join('\n')).toContain('no history at /nonexistent/dir/h.db:')
    const inside = io(dir)
    await main(['history', '--history', 'reports/history.db'], inside.io)
    expect(inside.out[0]).toMatch(/^history reports\/history\.db: /)
  })

  it('a report.json given as the history: not a driftwatch history, pass the history.db check writes', async () => {
    const t = io()
    expect(await main(['history', '--history', join(dir, 'old.json')], t.io)).toBe(2)
    const err = t.err.join('\n')
    expect(err).toContain(`${join(dir, 'old.json')} is not a driftwatch history (not an SQLite database): pass --history with the history.db that check writes in its --out folder`)
    expect(err).not.toContain('writable folder')
    const folder = io()
    expect(await main(['history', '--history', join(dir, 'reports')], folder.io)).toBe(2)
    expect(folder.err.join('\n')).toContain(`${join(dir, 'reports')} is a directory: pass the history.db in it`)
  })

  it("another program's SQLite file: refused, and left exactly as it was", async () => {
    const { default: Database } = await import('better-sqlite3')
    const { readFileSync } = await import('node:fs')
    const file = join(dir, 'other.sqlite')
    const other = new Database(file)
    other.exec("CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('Ana')")
    other.close()
    const before = readFileSync(file)
    const t = io()
    expect(await main(['history', '--history', file], t.io)).toBe(2)
    expect(t.err.join('\n')).toContain(`${file} is an SQLite database but not a driftwatch history (it has no cycles table)`)
    expect(readFileSync(file).equals(before)).toBe(true)
  })

  it('a history that cannot be opened still gets the writable-folder advice', async () => {
    const t = io()
    await main(['check', '--only', 'phone-numbers.get', '--out', join(dir, 'reports', 'blocked'), '--history', join(dir, 'old.json', 'h.db'), '--format', 'json', '--quiet'], t.io)
    expect(t.err.join('\n')).toMatch(/cannot open the history database .*in a writable folder/)
  })
})

describe('--history with --no-history', () => {
  it('check refuses them together before probing anything', async () => {
    const t = io()
    const out = join(dir, 'reports', 'both')
    expect(await main(['check', '--only', 'phone-numbers.get', '--out', out, '--no-history', '--history', join(dir, 'x.db'), '--quiet'], t.io)).toBe(2)
    expect(t.err.join('\n')).toMatch(/--history .* --no-history|--no-history .* --history/)
    expect(existsSync(out)).toBe(false)
    expect(existsSync(join(dir, 'x.db'))).toBe(false)
  })

  it('history: --out (the runs\' folder) or --history (a file), not both; by default check\'s folder', async () => {
    const both = io()
    expect(await main(['history', '--out', join(dir, 'reports', 'latest'), '--history', HISTORY], both.io)).toBe(2)
    expect(both.err.join('\n')).toContain('both name a history: pass --out <folder> for the runs written there, or --history <file>')
    const bare = io(dir)
    expect(await main(['history'], bare.io)).toBe(2)
    expect(bare.err.join('\n')).toContain('no history at reports/latest/history.db: ')
    const lab = io(dir)
    expect(await main(['history', '--history', 'reports/history.db', '--target', 'lab-b'], lab.io)).toBe(1)
    expect(lab.out[0]).toMatch(/^history reports\/history\.db: /)
  })

  it('verify refuses them together too', async () => {
    const t = io()
    const out = join(dir, 'reports', 'verify-both')
    expect(await main(['verify', join(ROOT, 'suites', 'verify', 'fixtures', 'meta-media.har'), '--out', out, '--history', join(dir, 'y.db'), '--no-history', '--quiet'], t.io)).toBe(2)
    expect(t.err.join('\n')).toMatch(/--history .* --no-history|--no-history .* --history/)
    expect(existsSync(out)).toBe(false)
  })
})
