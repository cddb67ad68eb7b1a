/** The help names every format and the --json option a command takes (a newcomer read `--format json,md,junit` and missed github). */
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.ts'
import { FORMATS } from '../../src/cli/options.ts'

async function help(args: string[]): Promise<string> {
  const out: string[] = []
  await main(args, { stdout: (l) => out.push(l), stderr: (l) => out.push(l), env: {}, cwd: process.cwd() })
  return out.join('\n')
}

describe('help', () => {
  it('driftwatch --help lists every format and --json among the global options', async () => {
    const text = await help(['--help'])
    for (const f of FORMATS) expect(text).toMatch(new RegExp(`--format .*\\b${f}\\b`))
    expect(text).toMatch(/--json +check, verify, gate/)
  })
  it('help check lists github for --format, and --json', async () => {
    const text = await help(['help', 'check'])
    expect(text).toMatch(/--format <list>[\s\S]*github/)
    expect(text).toContain('--json')
  })
})
