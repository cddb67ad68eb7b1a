/**
 * Progress goes to stderr, results to stdout, with one target or many: `--targets` printed its
 * per-target progress on stdout while a single target's went to stderr, so `check > result.txt`
 * kept progress lines in one case and not the other.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const { dir } = tempDirs('dw-progress-')

async function run(args: string[]) {
  const out: string[] = []
  const err: string[] = []
  const code = await main(args, { stdout: (s) => out.push(s), stderr: (s) => err.push(s), cwd: ROOT, env: {} })
  return { code, out, err }
}

/** stdout holds the results only: the headline, the reports, the history. */
const RESULT = /^(PASS|DRIFT|INCONCLUSIVE|ERROR|INTERRUPTED)\b|^Reports: |^History: /

describe('progress stream', () => {
  it('--quiet: no start line and no passing lines, a drifting one still', async () => {
    const quiet = await run(['check', '--target', 'sim', '--scenario', 'media-chunked', '--only', 'media.retrieve-url', '--only', 'phone-numbers.get', '--out', dir(), '--quiet'])
    expect(quiet.code).toBe(1)
    expect(quiet.err.filter((l) => l.startsWith('driftwatch check: ') || l.includes('✓'))).toEqual([])
    expect(quiet.err.some((l) => l.includes('✗') && l.includes('media.retrieve-url'))).toBe(true)
  }, 60_000)


  it('a single target: progress on stderr, results on stdout', async () => {
    const r = await run(['check', '--target', 'sim', '--only', 'phone-numbers.get', '--out', dir()])
    expect(r.code).toBe(0)
    expect(r.err.some((l) => l.startsWith('driftwatch check: '))).toBe(true)
    expect(r.out.filter((l) => !RESULT.test(l))).toEqual([])
  })

  it('--targets: the per-target progress lines on stderr too, results on stdout', async () => {
    const d = dir()
    writeFileSync(join(d, 'targets.yaml'), 'targets:\n  - { name: br-acme, target: sim }\n')
    const r = await run(['check', '--targets', join(d, 'targets.yaml'), '--only', 'phone-numbers.get', '--out', join(d, 'out')])
    expect(r.code).toBe(0)
    expect(r.err.filter((l) => /^\s+\[1\/1\] br-acme\s+PASS/.test(l))).toHaveLength(1)
    expect(r.out.filter((l) => !RESULT.test(l))).toEqual([])
  })
})
