/**
 * A failed start leaves nothing behind: `driftwatch check` with no contract directory exited 2
 * and left an empty reports/latest (the writability check made it); watch left its state file.
 * Each command is started in an empty folder, fails before it sends anything, and the folder
 * must still be empty.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { assertWritable } from '../../src/util/preflight.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const { dir } = tempDirs('dw-failed-start-')

const everything = (d: string) => readdirSync(d, { recursive: true, encoding: 'utf8' }).sort()

async function inEmptyFolder(args: (cwd: string) => string[], env: Record<string, string> = {}) {
  const cwd = dir()
  const lines: string[] = []
  const code = await main(args(cwd), { stdout: (s) => lines.push(s), stderr: (s) => lines.push(s), cwd, env })
  return { code, text: lines.join('\n'), left: everything(cwd) }
}

describe('a command that fails at start-up leaves the folder as it found it', () => {
  let busy: Server
  let busyPort = 0
  beforeAll(async () => {
    busy = createServer()
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r))
    busyPort = (busy.address() as { port: number }).port
  })
  afterAll(() => new Promise<void>((r) => busy.close(() => r())))

  it.each([
    ['check, no contract directory', () => ['check', '--quiet', '--contracts', 'pack'], 'contract directory not found'],
    ['check --targets, no targets file', () => ['check', '--targets', 'targets.yaml', '--contracts', join(ROOT, 'contracts/meta')], 'no such file'],
    ['verify, no such input', () => ['verify', 'traffic.har', '--contracts', join(ROOT, 'contracts/meta')], 'traffic.har'],
    ['record, no contract directory', () => ['record', '--quiet', '--contracts', 'pack'], 'contract directory not found'],
    ['record --from, no such input', () => ['record', '--from', 'traffic.har', '--out', 'reports/x', '--contracts', join(ROOT, 'contracts/meta')], 'traffic.har'],
    ['gate, no pacts', () => ['gate', '--contracts', join(ROOT, 'contracts/meta'), '--recordings', join(ROOT, 'recordings/meta')], 'no pacts at pacts'],
    ['watch, no contract directory', () => ['watch', '--state', 'state/watch.db', '--cycles', '1', '--contracts', 'pack'], 'contract directory not found'],
  ])('%s', async (_name, args, said) => {
    const r = await inEmptyFolder(args)
    expect(r.code).toBe(2)
    expect(r.text).toContain(said)
    expect(r.left).toEqual([])
  })

  it('watch whose --metrics-port is busy', async () => {
    const r = await inEmptyFolder(() => ['watch', '--target', 'sim', '--contracts', join(ROOT, 'contracts/meta'), '--recordings', join(ROOT, 'recordings/meta'), '--state', 'state/watch.db', '--cycles', '1', '--metrics-port', String(busyPort)])
    expect(r.code).toBe(2)
    expect(r.text).toContain('EADDRINUSE')
    expect(r.left).toEqual([])
  })

  it('proxy whose --port is busy: no recordings folder, no .journal left', async () => {
    const r = await inEmptyFolder(() => ['proxy', '--upstream', 'http://127.0.0.1:9', '--contracts', join(ROOT, 'contracts/meta'), '--recordings', 'rec', '--out', 'out', '--port', String(busyPort)])
    expect(r.code).toBe(2)
    expect(r.text).toContain('EADDRINUSE')
    expect(r.left).toEqual([])
  })

  it('proxy whose --port is busy, with the default --recordings (recordings/meta: two levels): nothing left', async () => {
    const r = await inEmptyFolder(() => ['proxy', '--upstream', 'http://127.0.0.1:9', '--contracts', join(ROOT, 'contracts/meta'), '--out', 'out', '--port', String(busyPort)])
    expect(r.code).toBe(2)
    expect(r.text).toContain('EADDRINUSE')
    expect(r.left).toEqual([])
  })

  it('proxy whose --port is busy, with --state: the state database it would have opened is not left (issue 20)', async () => {
    const r = await inEmptyFolder(() => ['proxy', '--upstream', 'http://127.0.0.1:9', '--contracts', join(ROOT, 'contracts/meta'), '--no-record', '--out', 'out', '--state', 'reports/pxstate/state.db', '--port', String(busyPort)])
    expect(r.code).toBe(2)
    expect(r.text).toContain('EADDRINUSE')
    expect(r.left).toEqual([])
  })

  it("proxy whose --port is busy, with --alert-webhook: watch's default state (reports/history.db) is not left", async () => {
    const r = await inEmptyFolder(() => ['proxy', '--upstream', 'http://127.0.0.1:9', '--contracts', join(ROOT, 'contracts/meta'), '--no-record', '--out', 'out', '--alert-webhook', 'http://127.0.0.1:9/hook', '--port', String(busyPort)])
    expect(r.code).toBe(2)
    expect(r.text).toContain('EADDRINUSE')
    expect(r.left).toEqual([])
  })

  it('proxy whose --metrics-port is busy, with --state: nothing left', async () => {
    const r = await inEmptyFolder(() => ['proxy', '--upstream', 'http://127.0.0.1:9', '--contracts', join(ROOT, 'contracts/meta'), '--no-record', '--out', 'out', '--state', 'state/watch.db', '--port', '0', '--metrics-port', String(busyPort)])
    expect(r.code).toBe(2)
    expect(r.text).toContain('EADDRINUSE')
    expect(r.left).toEqual([])
  })

  it('a state database that was there before a failed proxy start stays, its content untouched', async () => {
    const cwd = dir()
    const { HistoryStore } = await import('../../src/history/store.ts')
    new HistoryStore(join(cwd, 'keep.db')).close()
    // Opening a history bumps SQLite's file change counter (header bytes 24-27, 92-95); every other byte must stay.
    const content = () => {
      const b = Buffer.from(readFileSync(join(cwd, 'keep.db')))
      b.fill(0, 24, 28).fill(0, 92, 96)
      return b
    }
    const before = content()
    const code = await main(['proxy', '--upstream', 'http://127.0.0.1:9', '--contracts', join(ROOT, 'contracts/meta'), '--no-record', '--out', 'out', '--state', 'keep.db', '--port', String(busyPort)], { stdout: () => {}, stderr: () => {}, cwd, env: {} })
    expect(code).toBe(2)
    expect(everything(cwd)).toEqual(['keep.db'])
    expect(content().equals(before)).toBe(true)
  })

  it('webhook whose --port is busy: nothing left', async () => {
    const r = await inEmptyFolder(() => ['webhook', '--forward', 'http://127.0.0.1:9/webhook', '--contracts', join(ROOT, 'contracts/meta'), '--out', 'out', '--state', 'state/watch.db', '--port', String(busyPort)], { WHATSAPP_APP_SECRET: 'test-secret-0123456789abcdef' })
    expect(r.code).toBe(2)
    expect(r.text).toContain('EADDRINUSE')
    expect(r.left).toEqual([])
  })

  it('a state file that was there before a failed watch start stays', async () => {
    const cwd = dir()
    writeFileSync(join(cwd, 'keep.db'), '')
    const code = await main(['watch', '--state', 'keep.db', '--cycles', '1', '--contracts', 'pack'], { stdout: () => {}, stderr: () => {}, cwd, env: {} })
    expect(code).toBe(2)
    expect(everything(cwd)).toEqual(['keep.db'])
  })
})

describe('assertWritable', () => {
  it('removes the folders it made to try, and keeps the ones that were there', async () => {
    const cwd = dir()
    await assertWritable(join(cwd, 'a', 'b', 'c'), '--out', cwd)
    expect(everything(cwd)).toEqual([])
    writeFileSync(join(cwd, 'x'), '')
    await assertWritable(cwd, '--out', cwd)
    expect(everything(cwd)).toEqual(['x'])
  })

  it('still refuses a folder it cannot make, naming the flag', async () => {
    const cwd = dir()
    writeFileSync(join(cwd, 'file'), '')
    await expect(assertWritable(join(cwd, 'file', 'sub'), '--out', cwd)).rejects.toThrow(/cannot create output directory file\/sub .*pass --out with a writable directory/)
    expect(everything(cwd)).toEqual(['file'])
  })
})
