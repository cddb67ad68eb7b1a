/**
 * `startWatch`, the whole watch command as a library call (the CLI only parses and prints): it
 * opens the state, the target's session and the metrics server before the first cycle, runs the
 * cycles with `run`, and a start that fails leaves no state file it made behind.
 */
import { existsSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startWatch, type CycleEvent } from '../../src/commands/watch.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const tmp = tempDirs('dw-start-watch-')
const FAST = 5_000_000 // requests a day: cycles follow each other at test speed

describe('startWatch', () => {
  it('starts against the simulator with its metrics server, runs two cycles and closes', async () => {
    const state = join(tmp.dir(), 'state', 'w.db')
    const cycles: { e: CycleEvent; scope: string | undefined }[] = []
    const running = await startWatch({
      sessions: { target: 'sim', contractsDir: 'contracts/meta', env: {}, cwd: ROOT },
      state,
      metricsPort: 0,
      apiVersion: 'v23.0',
      perDay: FAST,
      sinks: [],
      maxCycles: 2,
      onCycle: (e, scope) => cycles.push({ e, scope }),
    })
    expect(running.targets).toHaveLength(1)
    expect(running.targets[0]!.session.label).toBe('sim')
    expect(running.openBefore).toBe(0)
    expect(existsSync(state)).toBe(true)
    const health = await fetch(`${running.metricsUrl!}/healthz`)
    expect(health.status).toBe(200)
    const token = 'EAAG' + 'x'.repeat(40)
    expect(running.redact(`Bearer ${token}`)).not.toContain(token)
    const result = await running.run()
    expect(result.cycles).toBe(2)
    expect(result.requests).toBeGreaterThan(0)
    expect(cycles.map((c) => [c.e.n, c.scope])).toEqual([[1, undefined], [2, undefined]])
    // run() stopped the metrics server.
    await expect(fetch(`${running.metricsUrl!}/healthz`)).rejects.toThrow()
  })

  it('a busy metrics port fails the start and removes the state file (and folder) it made', async () => {
    const busy = createServer()
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r))
    try {
      const dir = tmp.dir()
      const state = join(dir, 'made', 'w.db')
      const start = startWatch({
        sessions: { target: 'sim', contractsDir: 'contracts/meta', env: {}, cwd: ROOT },
        state,
        metricsPort: (busy.address() as AddressInfo).port,
        apiVersion: 'v23.0',
        perDay: FAST,
        sinks: [],
      })
      await expect(start).rejects.toThrow()
      expect(existsSync(join(dir, 'made'))).toBe(false)
    } finally {
      await new Promise<void>((r) => busy.close(() => r()))
    }
  })
})
