/**
 * A recording folder the proxy wrote never stops another command: a proxy recording that is huge
 * (a 1.5 GB file, as proxies before bounded storage wrote; made sparse here) or cut short (a copy
 * interrupted) is named with its fix and skipped, and `check` and `verify` read the rest. A broken
 * recording that `record` wrote still stops `check` (recordings.test.ts), so the proxy's mark is
 * what makes the difference.
 */
import { mkdirSync, openSync, closeSync, writeFileSync, ftruncateSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { Pool } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { startProxy } from '../../src/commands/proxy.ts'
import { loadRecordings, type RecordingProblem } from '../../src/recordings/store.ts'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'
import { brokenPromise, runCli } from '../fuzz/cli-outcome.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const tmp = tempDirs('dw-proxy-written-')
const running: RunningSimulator[] = []
afterEach(async () => {
  for (const s of running.splice(0)) await s.close()
})

const HEAD = (contract: string) => `{\n  "version": 1,\n  "contract": "${contract}",\n  "name": "proxy",\n  "target": "http://127.0.0.1:9",\n  "apiVersion": "v23.0",\n  "recordedAt": "2026-11-25T09:00:00.000Z",\n  "recorder": "driftwatch proxy",\n  "observations": [\n    {`

/** A proxy session against the simulator, recorded to a fresh folder: one good recording. */
async function recorded(): Promise<string> {
  const sim = await startSimulator()
  running.push(sim)
  const out = tmp.dir()
  const proxy = await startProxy({ upstream: sim.url, contractsDir: join(ROOT, 'contracts/meta'), cwd: ROOT, recordingsDir: out, compactEveryMs: 0 })
  const pool = new Pool(proxy.url)
  await (await pool.request({ method: 'GET', path: `/v23.0/${sim.credentials.phoneNumberId}`, headers: { authorization: `Bearer ${sim.credentials.token}` } })).body.text()
  await pool.close()
  await proxy.close()
  return out
}

/** Adds a 1.5 GB proxy recording (sparse: costs no disk) and one cut short. */
function spoil(out: string): void {
  mkdirSync(join(out, 'media.delete'), { recursive: true })
  const fd = openSync(join(out, 'media.delete', 'proxy.json'), 'w')
  writeSync(fd, HEAD('media.delete'))
  ftruncateSync(fd, 1.5 * 1024 * 1024 * 1024)
  closeSync(fd)
  mkdirSync(join(out, 'media.upload'), { recursive: true })
  writeFileSync(join(out, 'media.upload', 'proxy.json'), `${HEAD('media.upload')}\n      "contract": "media.up`)
}

describe('a recording folder written by the proxy', () => {
  it('names a huge and a cut-short proxy recording as problems with their fix, and reads the rest', async () => {
    const out = await recorded()
    spoil(out)
    const problems: RecordingProblem[] = []
    const all = loadRecordings(out, out, problems)
    expect([...all.keys()]).toEqual(['phone-numbers.get'])
    expect(problems.map((p) => [p.contract, p.proxy, p.message.replace(/\(.*\)/, '(…)')])).toEqual([
      ['media.delete', true, 'recording media.delete/proxy.json is 1536 MB, over the 256 MB a recording is read at'],
      ['media.upload', true, 'recording media.upload/proxy.json is not valid JSON (…)'],
    ])
    expect(problems[0]!.repair).toMatch(/^delete it \(`rm media\.delete\/proxy\.json`\) or move it out of \.: the proxy writes it again, bounded/)
  })

  it('check reads it: the broken proxy recordings are warnings, not a refusal', async () => {
    const out = await recorded()
    spoil(out)
    const r = await runCli(['check', '--target', 'sim', '--recordings', out, '--only', 'phone-numbers.get'])
    expect(brokenPromise(r)).toBeUndefined()
    expect(r.code).not.toBe(2)
    expect(r.stderr).toMatch(/media\.delete\/proxy\.json is 1536 MB, over the 256 MB a recording is read at: media\.delete is compared with no golden recording this run; fix: delete it/)
  })

  it('verify reads it: the good recording is judged, the broken ones skipped', async () => {
    const out = await recorded()
    spoil(out)
    const r = await runCli(['verify', out, '--no-history'])
    expect(brokenPromise(r)).toBeUndefined()
    expect(r.code).not.toBe(2)
    expect(r.stdout + r.stderr).toMatch(/phone-numbers\.get/)
  })

  it('an intact proxy folder reads back with no problem', async () => {
    const out = await recorded()
    const problems: RecordingProblem[] = []
    expect([...loadRecordings(out, out, problems).keys()]).toEqual(['phone-numbers.get'])
    expect(problems).toEqual([])
    expect(loadRecordings(out, out).get('phone-numbers.get')![0]).toMatchObject({ recorder: 'driftwatch proxy', name: 'proxy' })
  })
})
