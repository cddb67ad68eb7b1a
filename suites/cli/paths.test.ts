/**
 * Paths in messages echo as the user gave them: `/proc/nope` was shown as `../../proc/nope`, a
 * path nobody typed (and a wrong one from any other directory).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { shownPath } from '../../src/util/paths.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const { dir } = tempDirs('dw-paths-')
const ROOT = join(import.meta.dirname, '..', '..')

describe('shownPath', () => {
  it.each([
    ['/work/app', '/proc/nope', '/proc/nope'],
    ['/work/app', '/work/other/x', '/work/other/x'],
    ['/work/app', '/work/app/reports/latest', 'reports/latest'],
    ['/work/app', '/work/app', '.'],
    ['/work/app', 'reports/latest/', 'reports/latest'],
    ['/work/app', '../shared/contracts', '../shared/contracts'],
    ['/work/app', './contracts', 'contracts'],
  ])('from %s, %s shows as %s', (cwd, path, shown) => {
    expect(shownPath(cwd, path)).toBe(shown)
  })
})

describe('commands echo an absolute path outside the working directory as typed', () => {
  const run = async (args: string[], cwd = dir()) => {
    const lines: string[] = []
    const code = await main(args, { stdout: (s) => lines.push(s), stderr: (s) => lines.push(s), cwd, env: {} })
    return { code, text: lines.join('\n'), cwd }
  }

  it('check --contracts /proc/nope', async () => {
    const r = await run(['check', '--contracts', '/proc/nope', '--quiet'])
    expect(r.code).toBe(2)
    expect(r.text).toContain('contract directory not found: /proc/nope')
    expect(r.text).not.toContain('../')
  })

  it('gate --pacts /proc/nope', async () => {
    // From the checkout, where the contracts and recordings the gate needs are.
    const r = await run(['gate', '--pacts', '/proc/nope', '--out', join(dir(), 'gate')], join(import.meta.dirname, '..', '..'))
    expect(r.code).toBe(2)
    expect(r.text).toContain('no pacts at /proc/nope')
    expect(r.text).not.toContain('../')
  })

  it('check --targets /proc/nope.yaml, and a relative one as typed', async () => {
    const r = await run(['check', '--targets', '/proc/nope.yaml'])
    expect(r.code).toBe(2)
    expect(r.text).toContain('--targets /proc/nope.yaml: no such file')
    const typed = await run(['check', '--targets', '../nope/targets.yaml'])
    expect(typed.text).toContain('--targets ../nope/targets.yaml: no such file')
  })

  it('import openapi /proc/nope.yaml', async () => {
    const r = await run(['import', 'openapi', '/proc/nope.yaml', '--out', join(dir(), 'drafts')])
    expect(r.code).toBe(2)
    expect(r.text).toContain('cannot read /proc/nope.yaml (ENOENT)')
  })
})

describe('a relative path that leads out of the working directory echoes as typed', () => {
  it('check --out ../<dir with spaces>/r: the Reports line says ../, not the resolved absolute path', async () => {
    const parent = dir()
    const cwd = join(parent, 'app')
    mkdirSync(cwd)
    const lines: string[] = []
    const code = await main(['check', '--contracts', join(ROOT, 'contracts/meta'), '--only', 'phone-numbers.get', '--no-history', '--out', '../elsewhere with spaces/r'], { stdout: (s) => lines.push(s), stderr: (s) => lines.push(s), cwd, env: {} })
    expect(code, lines.join('\n')).toBe(0)
    const reports = lines.find((l) => l.startsWith('Reports: '))!
    expect(reports).toContain('../elsewhere with spaces/r/report.json')
    expect(reports).not.toContain(parent)
    // Typed absolute, it stays absolute (as the tests above show for /proc/nope).
    lines.length = 0
    await main(['check', '--contracts', join(ROOT, 'contracts/meta'), '--only', 'phone-numbers.get', '--no-history', '--out', join(parent, 'abs')], { stdout: (s) => lines.push(s), stderr: (s) => lines.push(s), cwd, env: {} })
    expect(lines.find((l) => l.startsWith('Reports: '))).toContain(`${join(parent, 'abs')}/report.json`)
  }, 60_000)
})

describe("verify's capture, typed absolute, is named absolute", () => {
  it('a missing HAR outside the working directory, and the source line of one that exists', async () => {
    const parent = dir()
    const cwd = join(parent, 'a', 'b')
    mkdirSync(cwd, { recursive: true })
    const lines: string[] = []
    const io = { stdout: (s: string) => lines.push(s), stderr: (s: string) => lines.push(s), cwd, env: {} }
    expect(await main(['verify', join(parent, 'nope.har'), '--no-history', '--out', join(parent, 'out')], io)).toBe(2)
    expect(lines.join('\n')).toContain(`${join(parent, 'nope.har')} does not exist`)
    lines.length = 0
    const har = join(ROOT, 'suites/verify/fixtures/meta-media.har')
    await main(['verify', har, '--no-history', '--out', join(parent, 'out'), '--contracts', join(ROOT, 'contracts/meta')], io)
    expect(lines.join('\n')).toContain(`from har:${har}`)
    expect(lines.join('\n')).not.toContain('../')
  }, 60_000)
})
