/**
 * A run whose outcome is ERROR because one target of several could not run (an account's variables
 * unset) still adds the targets that ran to the history: one broken account must not cost every
 * other account its night ("last good", the timelines). A run that failed before any contract ran
 * adds nothing and says so.
 */
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { HistoryStore } from '../../src/history/store.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const { dir } = tempDirs('dw-error-runs-')
/** A live account whose variables are not set in the environment. */
const MAIN = 'targets:\n  - name: main\n    target: https://graph.facebook.com\n    env:\n      token: WHATSAPP_ACCESS_TOKEN\n      phone_number_id: WHATSAPP_PHONE_NUMBER_ID\n      waba_id: WHATSAPP_WABA_ID\n'

async function check(cwd: string, targets: string) {
  writeFileSync(join(cwd, 'targets.yaml'), targets)
  const lines: string[] = []
  const code = await main(['check', '--targets', 'targets.yaml', '--contracts', join(ROOT, 'contracts/meta'), '--only', 'phone-numbers.get', '--out', 'out'], { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l), cwd, env: {} })
  return { code, text: lines.join('\n') }
}

describe('an ERROR run and the history', () => {
  it('adds the targets that ran when another could not', async () => {
    const d = dir()
    const r = await check(d, `${MAIN}  - name: local\n    target: sim\n`)
    expect(r.code).toBe(2)
    expect(r.text).toContain('History: out/history.db')
    const store = new HistoryStore(join(d, 'out', 'history.db'))
    try {
      expect(store.timeline().map((t) => [t.target, t.contract, t.status])).toEqual([['local', 'phone-numbers.get', 'passed']])
    } finally {
      store.close()
    }
  }, 60_000)

  it('adds nothing, and says so, when no target ran', async () => {
    const d = dir()
    const r = await check(d, MAIN)
    expect(r.code).toBe(2)
    expect(r.text).toContain('the run was not added to the history')
    expect(r.text).toContain('it failed before any contract ran')
    expect(existsSync(join(d, 'out', 'history.db'))).toBe(false)
  }, 60_000)
})
