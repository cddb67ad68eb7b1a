/**
 * watch and history agree on what is open (issue 20: `watch --state X` said "1 drift open" while
 * `history --history X` said "0 open now"). watch clears a drift only after --recover-after clean
 * runs (default 2); history ended the episode at the first clean run. Against the simulator: a
 * drift seen clean once is held open by watch, and history now counts it open and says why.
 */
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { HistoryStore } from '../../src/history/store.ts'
import { openSession } from '../../src/runner/session.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { runWatch, type CycleEvent, type WatchOptions } from '../../src/commands/watch.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const { dir } = tempDirs('dw-held-open-')
const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

const FAST = 5_000_000 // requests a day: cycles follow each other at test speed

function watchUntil(opts: Omit<WatchOptions, 'signal'>, until: (e: CycleEvent) => boolean) {
  const stop = new AbortController()
  return runWatch({ ...opts, signal: stop.signal, onCycle: (e) => (until(e) || e.n > 400) && stop.abort() })
}

async function history(state: string) {
  const lines: string[] = []
  const code = await main(['history', '--history', state], { stdout: (s) => lines.push(s), stderr: (s) => lines.push(s), cwd: ROOT, env: {} })
  const text = lines.join('\n')
  return { code, text, open: Number(/, (\d+) open now/.exec(text)?.[1]) }
}

describe('history of a watch state', () => {
  it('counts open what watch holds open, says why, and agrees again once watch recovers', async () => {
    const sim = await startSimulator()
    cleanup.push(() => sim.close())
    const c = sim.credentials
    const session = await openSession({ target: sim.url, contractsDir: 'contracts/meta', minIntervalMs: 0, cwd: ROOT, env: { WHATSAPP_ACCESS_TOKEN: c.token, WHATSAPP_PHONE_NUMBER_ID: c.phoneNumberId, WHATSAPP_WABA_ID: c.wabaId, WHATSAPP_TEST_RECIPIENT: c.testRecipient } })
    cleanup.push(() => session.close())
    const state = join(dir(), 'state.db')
    const store = new HistoryStore(state)
    cleanup.push(() => store.close())
    const base = { session, store, apiVersion: 'v23.0', perDay: FAST, sinks: [], random: () => 0.5 } as const
    const WITH_ID = 'media.retrieve-url.with-phone-number-id'
    const ran = (id: string, n: number) => {
      let seen = 0
      return (e: CycleEvent) => (seen += e.unit.contracts.includes(id) ? 1 : 0) >= n
    }

    // The media endpoint turns chunked: the drift opens.
    sim.setScenario('media-chunked')
    await watchUntil(base, ran(WITH_ID, 1))
    expect(store.openDrifts().map((d) => d.contract)).toContain(WITH_ID)

    // Back to baseline, judged clean once: watch (recover after 2) still holds it open.
    sim.setScenario('baseline')
    await watchUntil(base, ran(WITH_ID, 1))
    const held = store.openDrifts()
    expect(held.find((d) => d.contract === WITH_ID)).toMatchObject({ cleanRuns: 1 })
    const h = await history(state)
    expect(h.open).toBe(held.length)
    expect(h.code).toBe(1)
    expect(h.text).toMatch(new RegExp(`^OPEN .*${WITH_ID.replace(/\./g, '\\.')} framing-conformance \\(breaking\\)`, 'm'))
    expect(h.text).toContain('watch holds it open: clean in 1 judged run since; it recovers after --recover-after clean runs (default 2)')

    // Clean again: watch recovers it, and history says cleared, 0 open, like watch.
    await watchUntil(base, ran(WITH_ID, 2))
    await watchUntil(base, ran('media.retrieve-url', 2))
    expect(store.openDrifts()).toEqual([])
    const after = await history(state)
    expect(after.open).toBe(0)
    expect(after.code).toBe(0)
    expect(after.text).not.toContain('watch holds it open')
  })
})
