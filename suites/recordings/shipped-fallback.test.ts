/**
 * The golden recordings driftwatch ships back up an application's own, contract by contract: an
 * app's recordings/meta that holds only what its proxy wrote (live traffic) must not leave a run
 * on the simulator without the simulator's baseline goldens. An explicit --recordings means that
 * folder alone.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const { dir } = tempDirs('dw-shipped-')

/** A folder whose recordings/meta holds one recording of live traffic (as the proxy writes), for another contract. */
function appFolder(): string {
  const d = dir()
  const live = JSON.parse(readFileSync(join(ROOT, 'recordings/meta/phone-numbers.get/sim-baseline.json'), 'utf8')) as Record<string, unknown>
  mkdirSync(join(d, 'recordings/meta/phone-numbers.get'), { recursive: true })
  writeFileSync(join(d, 'recordings/meta/phone-numbers.get/proxy.json'), JSON.stringify({ ...live, name: 'proxy', target: 'https://graph.facebook.com', scenario: undefined }))
  return d
}

async function check(cwd: string, extra: string[] = []) {
  const out: string[] = []
  const code = await main(['check', '--contracts', join(ROOT, 'contracts/meta'), '--only', 'templates.list', '--out', 'out', '--no-history', ...extra], { stdout: (l) => out.push(l), stderr: (l) => out.push(l), env: {}, cwd })
  return { code, text: out.join('\n') }
}

describe('shipped golden recordings, per contract', () => {
  it("a sim run in a folder whose recordings/meta has only live recordings compares with the shipped baseline's", async () => {
    const r = await check(appFolder())
    expect(r.code, r.text).toBe(0)
    const shipped = readdirSync(join(ROOT, 'recordings/meta')).filter((c) => existsSync(join(ROOT, 'recordings/meta', c, 'sim-baseline.json'))).length
    expect(shipped).toBeGreaterThan(1)
    expect(r.text).toContain(`compared with golden recordings of ${shipped} contracts`)
  }, 60_000)

  it('an explicit --recordings is that folder alone: no shipped golden is added', async () => {
    const r = await check(appFolder(), ['--recordings', 'recordings/meta'])
    expect(r.code, r.text).toBe(0)
    expect(r.text).toContain('no golden recordings for this target')
  }, 60_000)
})
