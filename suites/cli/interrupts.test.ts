/**
 * Ctrl-C is not drift. Interrupting a run at the worst moment (a request in flight, against a
 * real simulator on loopback) must give outcome `interrupted`, exit 130, no finding the upstream
 * did not cause, cleanup that still deletes the uploaded media, recordings that never hold an
 * abandoned sample, and no temporary file left behind after a second Ctrl-C.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { main, type CliIO } from '../../src/cli/index.ts'
import type { Report } from '../../src/model/report.ts'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'
import type { Scenario } from '../../src/simulator/scenarios/index.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const tmp: string[] = []
const sims: RunningSimulator[] = []
afterEach(async () => {
  for (const s of sims.splice(0)) await s.close()
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dw-int-'))
  tmp.push(d)
  return d
}

/** Every file under `dir`, relative, including hidden ones. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name).slice(dir.length + 1)).sort()
}

/**
 * A simulator that fires `first` (the first Ctrl-C) while the request matching `when` is in flight,
 * and `second` while the one matching `secondWhen` is; both answers are held back a little so the
 * interrupt lands mid-request.
 */
async function interruptingSim(first: AbortController, when: (method: string, path: string) => boolean, second?: { ctl: AbortController; when: (method: string, path: string) => boolean }): Promise<RunningSimulator> {
  const scenario: Scenario = {
    name: 'interrupting',
    description: 'fires Ctrl-C while a request is in flight',
    source: 'test',
    respond: async (req, next) => {
      if (!first.signal.aborted && when(req.method, req.url.pathname)) {
        first.abort()
        await new Promise((r) => setTimeout(r, 150))
      } else if (second && !second.ctl.signal.aborted && second.when(req.method, req.url.pathname)) {
        second.ctl.abort()
        await new Promise((r) => setTimeout(r, 150))
      }
      return next()
    },
  }
  const sim = await startSimulator({ scenario })
  sims.push(sim)
  return sim
}

function io(sim: RunningSimulator, first: AbortController, second?: AbortController): CliIO & { out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  const c = sim.credentials
  return {
    out,
    err,
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    env: { WHATSAPP_ACCESS_TOKEN: c.token, WHATSAPP_PHONE_NUMBER_ID: c.phoneNumberId, WHATSAPP_WABA_ID: c.wabaId, WHATSAPP_TEST_RECIPIENT: c.testRecipient },
    cwd: ROOT,
    interrupt: first.signal,
    ...(second ? { halt: second.signal } : {}),
  }
}

const isMediaGet = (m: string, p: string) => m === 'GET' && /^\/v23\.0\/1390\d+$/.test(p)

describe('Ctrl-C while a request is in flight', () => {
  it('check: outcome interrupted, exit 130, no invented finding in any format, and the uploaded media is deleted', async () => {
    const first = new AbortController()
    const sim = await interruptingSim(first, isMediaGet)
    const out = tempDir()
    const run = io(sim, first)
    const code = await main(['check', '--target', sim.url, '--out', out], run)
    expect(code).toBe(130)
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report
    expect(report.outcome).toBe('interrupted')
    // The abandoned request is not a timeout, a transport failure, or drift of any kind.
    expect(report.findings).toEqual([])
    const cut = report.results.find((r) => r.contract === 'media.retrieve-url')!
    expect(cut).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^interrupted after 0 of 1 sample \(the request in flight was abandoned\): not judged, not recorded/) })
    // Cleanup ran: media.delete passed, and the simulator holds no media any more.
    expect(report.results.find((r) => r.contract === 'media.delete')!.status).toBe('passed')
    expect(sim.state.media.size).toBe(0)
    expect(report.results.find((r) => r.contract === 'media.download')).toMatchObject({ status: 'skipped', reason: 'run interrupted before this contract' })
    // Every format says the same.
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/^# driftwatch: INTERRUPTED/)
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toMatch(/<testsuites name="driftwatch" tests="\d+" failures="0"/)
    expect(run.out[0]).toMatch(/^INTERRUPTED: /)
    expect(run.err.join('\n')).not.toContain('✗')
    expect(files(out)).toEqual(['history.db', 'junit.xml', 'report.json', 'report.md'])
  })

  it('check: a second Ctrl-C abandons cleanup, says what was left upstream, and still writes every report with no temp file', async () => {
    const first = new AbortController()
    const second = new AbortController()
    const sim = await interruptingSim(first, isMediaGet, { ctl: second, when: (m) => m === 'DELETE' })
    const out = tempDir()
    const code = await main(['check', '--target', sim.url, '--out', out], io(sim, first, second))
    expect(code).toBe(130)
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report
    expect(report.findings).toEqual([])
    expect(report.results.find((r) => r.contract === 'media.delete')).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^interrupted after 0 of 1 sample \(the request in flight was abandoned\)/) })
    expect(files(out)).toEqual(['history.db', 'junit.xml', 'report.json', 'report.md'])
  })

  it('record: the probe cut short is not recorded (its golden stays as it was), and verify of the folder still passes', async () => {
    const first = new AbortController()
    const sim = await interruptingSim(first, isMediaGet)
    const recordings = tempDir()
    cpSync(join(ROOT, 'recordings', 'meta'), recordings, { recursive: true })
    const before = readFileSync(join(recordings, 'media.retrieve-url', 'sim-baseline.json'), 'utf8')
    const run = io(sim, first)
    const code = await main(['record', '--target', sim.url, '--recordings', recordings, '--name', 'sim-baseline', '--out', tempDir()], run)
    expect(code).toBe(130)
    expect(run.err.join('\n')).toContain('Not recorded (interrupted before they finished): media.retrieve-url')
    expect(readFileSync(join(recordings, 'media.retrieve-url', 'sim-baseline.json'), 'utf8')).toBe(before)
    expect(files(recordings).filter((f) => f.includes('.tmp-'))).toEqual([])
    const verifyIo = { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: ROOT }
    expect(await main(['verify', recordings, '--out', tempDir()], verifyIo)).toBe(0)
  })

  it('quiet when nothing is interrupted: the same simulator path gives a complete pass', async () => {
    const never = new AbortController()
    const sim = await interruptingSim(new AbortController(), () => false)
    const out = tempDir()
    expect(await main(['check', '--target', sim.url, '--out', out], io(sim, never))).toBe(0)
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report
    expect(report.outcome).toBe('pass')
    expect(report.results.every((r) => r.status === 'passed' || r.status === 'skipped')).toBe(true)
    expect(sim.state.media.size).toBe(0)
  })
})
