/**
 * How `driftwatch proxy` ends, as a newcomer saw it (issue 20): stopped before any traffic it said
 * "INCONCLUSIVE: 0 contracts", exited 3 and left an empty recordings/meta/, where --help and the
 * README promise 0 for a clean stop; and its last line said "(3.5 s)" where report.md said
 * "(2.8 s)". Real sockets on loopback: the simulator as the upstream, undici as the application.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Pool } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { main, type CliIO } from '../../src/cli/main.ts'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const CONTRACTS = join(ROOT, 'contracts/meta')
const { dir } = tempDirs('dw-proxy-stop-')
const cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined)
})

async function sim(): Promise<RunningSimulator> {
  const s = await startSimulator({ scenario: 'baseline' })
  cleanup.push(() => s.close())
  return s
}

/** `driftwatch proxy` in-process in an empty folder, recording to rec/meta (two levels it makes) and reporting to out/. */
async function proxyIn(upstream: string): Promise<{ cwd: string; url: string; stop: () => Promise<number>; out: string[]; err: string[] }> {
  const cwd = dir()
  const out: string[] = []
  const err: string[] = []
  const first = new AbortController()
  const io: CliIO = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: {}, cwd, interrupt: first.signal }
  const run = main(['proxy', '--upstream', upstream, '--port', '0', '--contracts', CONTRACTS, '--recordings', 'rec/meta', '--out', 'out', '--format', 'json,md', '--compact-every', '0'], io)
  for (;;) {
    const line = out.find((l) => l.startsWith('driftwatch proxy listening on '))
    if (line) return { cwd, url: /listening on (\S+),/.exec(line)![1]!, stop: () => (first.abort(), run), out, err }
    const early = await Promise.race([run, new Promise((r) => setTimeout(r, 5))])
    if (typeof early === 'number') throw new Error(`the proxy exited ${early}: ${[...out, ...err].join('\n')}`)
  }
}

async function get(url: string, path: string, token?: string): Promise<number> {
  const pool = new Pool(url)
  try {
    const res = await pool.request({ method: 'GET', path, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) })
    await res.body.arrayBuffer()
    return res.statusCode
  } finally {
    await pool.close()
  }
}

const headline = (out: string[]) => out.find((l) => /^(PASS|DRIFT|INCONCLUSIVE|ERROR|INTERRUPTED)\b/.test(l)) ?? ''
const report = (cwd: string) => JSON.parse(readFileSync(join(cwd, 'out', 'report.json'), 'utf8')) as { outcome: string; startedAt: string; finishedAt: string; summary: Record<string, number> }

describe('a proxy stopped before any traffic (issue 20)', () => {
  it('is a clean stop: exit 0, a headline that says no exchange passed through, report outcome pass, no recordings folder', async () => {
    const p = await proxyIn('http://127.0.0.1:9')
    expect(existsSync(join(p.cwd, 'rec', 'meta', '.journal'))).toBe(true) // the journal was open while it ran
    expect(await p.stop()).toBe(0)
    expect(headline(p.out)).toMatch(/^PASS: no exchange passed through the proxy, so nothing was judged or recorded \(\d+\.\d s\)$/)
    expect(p.out.join('\n')).not.toContain('INCONCLUSIVE')
    expect(report(p.cwd)).toMatchObject({ outcome: 'pass', summary: { contracts: 0 } })
    expect(report(p.cwd).summary.entries).toBeUndefined()
    // report.md says what stdout says, not "no drift: every contract that ran matched" of 0 contracts.
    const md = readFileSync(join(p.cwd, 'out', 'report.md'), 'utf8')
    expect(md).toMatch(/^# driftwatch: PASS: no exchange passed through, so nothing was judged/)
    expect(md).toContain('No traffic: no exchange passed through, so nothing was judged or recorded.')
    expect(md).not.toContain('every contract that ran matched')
    // Nothing was recorded, so the folders made for it are gone; the report is what the session leaves.
    expect(readdirSync(p.cwd).sort()).toEqual(['out'])
  })

  it('traffic that came and was not attributed stays INCONCLUSIVE, exit 3, and leaves no recordings folder either', async () => {
    const s = await sim()
    const p = await proxyIn(s.url)
    await get(p.url, '/v23.0/me/businesses', s.credentials.token)
    expect(await p.stop()).toBe(3)
    expect(headline(p.out)).toMatch(/^INCONCLUSIVE: 0 contracts .*, 1 exchange, /)
    expect(report(p.cwd)).toMatchObject({ outcome: 'inconclusive', summary: { entries: 1, attributed: 0, unattributed: 1 } })
    expect(readdirSync(p.cwd).sort()).toEqual(['out'])
  })

  it('traffic that was recorded keeps its recordings folder, and the stop is PASS over the exchanges', async () => {
    const s = await sim()
    const p = await proxyIn(s.url)
    expect(await get(p.url, `/v23.0/${s.credentials.phoneNumberId}`, s.credentials.token)).toBe(200)
    expect(await p.stop()).toBe(0)
    expect(headline(p.out)).toMatch(/^PASS: 1 contract \(1 passed, .*\), 1 exchange, /)
    expect(existsSync(join(p.cwd, 'rec', 'meta', 'phone-numbers.get', 'proxy.json'))).toBe(true)
    expect(existsSync(join(p.cwd, 'rec', 'meta', '.journal'))).toBe(false)
  })
})

describe("the proxy's last line and report.md say the session's duration (issue 20: \"(3.5 s)\" beside \"(2.8 s)\")", () => {
  it('the seconds on stdout are the report\'s run, and report.md states the same span', async () => {
    const s = await sim()
    const p = await proxyIn(s.url)
    await get(p.url, `/v23.0/${s.credentials.phoneNumberId}`, s.credentials.token)
    await p.stop()
    const shown = /\((\d+\.\d) s\)$/.exec(headline(p.out))?.[1]
    const r = report(p.cwd)
    const ms = Date.parse(r.finishedAt) - Date.parse(r.startedAt)
    expect(shown).toBe((ms / 1000).toFixed(1))
    expect(readFileSync(join(p.cwd, 'out', 'report.md'), 'utf8')).toContain(`(${ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`})`)
  })
})
