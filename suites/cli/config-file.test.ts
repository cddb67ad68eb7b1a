/**
 * driftwatch.config.yaml and DRIFTWATCH_* (issue 20 item 2): every option a command takes can live
 * in the file (defaults: or the command's section); DRIFTWATCH_* variables override the file and
 * flags override both; a wrong key or type is refused naming the file, the key and the fix.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.ts'
import { envName } from '../../src/cli/config-file.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const { dir: tempDir } = tempDirs('dw-config-')

const ROOT = join(import.meta.dirname, '..', '..')

function folder(config?: string): string {
  const d = tempDir()
  if (config !== undefined) writeFileSync(join(d, 'driftwatch.config.yaml'), config)
  return d
}

async function run(args: string[], cwd: string, env: Record<string, string> = {}) {
  const out: string[] = []
  const err: string[] = []
  const code = await main(args, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env, cwd })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

const PACK = join(ROOT, 'contracts/meta')

describe('driftwatch.config.yaml', () => {
  it('a command takes its options from the file: defaults and its own section', async () => {
    const d = folder(`defaults:\n  contracts: ${PACK}\n  no-history: true\ncheck:\n  only: [phone-numbers.get]\n  out: from-config\n  format: [json, md]\n`)
    const r = await run(['check'], d)
    expect(r.code, r.err).toBe(0)
    expect(JSON.parse(readFileSync(join(d, 'from-config', 'report.json'), 'utf8')).summary.contracts).toBe(1)
    expect(readFileSync(join(d, 'from-config', 'report.md'), 'utf8')).toContain('PASS')
  }, 60_000)

  it('DRIFTWATCH_* overrides the file, and a flag overrides both', async () => {
    const d = folder(`check:\n  contracts: ${PACK}\n  only: phone-numbers.get\n  out: from-config\n  no-history: true\n`)
    await run(['check'], d, { DRIFTWATCH_OUT: 'from-env' })
    expect(readFileSync(join(d, 'from-env', 'report.json'), 'utf8')).toContain('"outcome"')
    await run(['check', '--out', 'from-flag'], d, { DRIFTWATCH_OUT: 'from-env' })
    expect(readFileSync(join(d, 'from-flag', 'report.json'), 'utf8')).toContain('"outcome"')
    expect(envName('fail-on')).toBe('DRIFTWATCH_FAIL_ON')
  }, 60_000)

  it("--targets on the command line replaces the file's target (init writes one for check), and --target the file's targets; both on one command line are still refused", async () => {
    const targets = 'targets:\n  - name: lab-a\n    target: sim\n  - name: lab-b\n    target: sim\n'
    const d = folder(`check:\n  contracts: ${PACK}\n  only: phone-numbers.get\n  target: https://graph.facebook.com\n  no-history: true\n`)
    writeFileSync(join(d, 'targets.yaml'), targets)
    const shard = await run(['check', '--targets', 'targets.yaml', '--shard', '1/2', '--out', 'shard'], d)
    expect(shard.err).not.toContain('--targets replaces')
    expect(shard.code, shard.err).toBe(0)
    expect(JSON.parse(readFileSync(join(d, 'shard', 'report.json'), 'utf8')).targets.map((t: { name: string }) => t.name)).toEqual(['lab-a'])
    // The same from the environment.
    const viaEnv = await run(['check', '--out', 'env'], d, { DRIFTWATCH_TARGETS: 'targets.yaml' })
    expect(viaEnv.code, viaEnv.err).toBe(0)
    // A file with targets: and a --target flag: the flag's single target runs.
    const e = folder(`check:\n  contracts: ${PACK}\n  only: phone-numbers.get\n  targets: targets.yaml\n  no-history: true\n`)
    writeFileSync(join(e, 'targets.yaml'), targets)
    const single = await run(['check', '--target', 'sim', '--out', 'one'], e)
    expect(single.code, single.err).toBe(0)
    expect(JSON.parse(readFileSync(join(e, 'one', 'report.json'), 'utf8')).targets).toBeUndefined()
    const both = await run(['check', '--targets', 'targets.yaml', '--target', 'sim'], e)
    expect(both.code).toBe(2)
    expect(both.err).toContain('--targets replaces --target')
  }, 120_000)

  it('--json on the command line takes github out of the formats the file gives (both write stdout); both as flags are still refused', async () => {
    const d = folder(`check:\n  contracts: ${PACK}\n  only: phone-numbers.get\n  no-history: true\n  format: [json, md, github]\n`)
    const r = await run(['check', '--target', 'sim', '--json'], d)
    expect(r.code, r.err).toBe(0)
    expect(JSON.parse(r.out)).toMatchObject({ outcome: 'pass' })
    expect(r.out).not.toContain('::')
    const both = await run(['check', '--target', 'sim', '--json', '--format', 'json,github'], d)
    expect(both.code).toBe(2)
    expect(both.err).toContain('pick one')
  }, 60_000)

  it("--no-history on the command line replaces the file's history: (a rerun line says --no-history), and both as flags are still refused", async () => {
    const d = folder(`check:\n  contracts: ${PACK}\n  only: phone-numbers.get\n  history: shared.db\n`)
    const r = await run(['check', '--target', 'sim', '--no-history', '--out', 'rerun'], d)
    expect(r.code, r.err).toBe(0)
    expect(existsSync(join(d, 'shared.db'))).toBe(false)
    const both = await run(['check', '--target', 'sim', '--no-history', '--history', 'x.db'], d)
    expect(both.code).toBe(2)
  }, 60_000)

  it('a bad value from the file or a variable is refused naming where it came from; one from a flag is not said to come from anywhere', async () => {
    const d = folder('check:\n  samples: abc\n')
    const fromFile = await run(['check', '--target', 'sim'], d)
    expect(fromFile.code).toBe(2)
    expect(fromFile.err).toContain('(the value of --samples came from driftwatch.config.yaml: check.samples)')
    const fromEnv = await run(['check', '--target', 'sim', '--samples', '1'], folder(), { DRIFTWATCH_FAIL_ON: 'warnin' })
    expect(fromEnv.code).toBe(2)
    expect(fromEnv.err).toContain('(the value of --fail-on came from DRIFTWATCH_FAIL_ON)')
    const fromFlag = await run(['check', '--target', 'sim', '--fail-on', 'warnin'], folder())
    expect(fromFlag.code).toBe(2)
    expect(fromFlag.err).not.toContain('came from')
  }, 60_000)

  it('an unknown key is refused with the file, the key and a suggestion (exit 2), before anything runs', async () => {
    const d = folder('check:\n  fail_on: warning\n')
    const r = await run(['check'], d)
    expect(r.code).toBe(2)
    expect(r.err).toContain('driftwatch.config.yaml: check.fail_on is not an option of check; did you mean "fail-on"?')
  })

  it('a list for an option that takes one value is refused; format takes one', async () => {
    const r = await run(['check'], folder('check:\n  out: [a, b]\n'))
    expect(r.code).toBe(2)
    expect(r.err).toContain('driftwatch.config.yaml: check.out: out takes one value (<dir>), not a list')
  })

  it('an unknown section, a wrong type and a bad DRIFTWATCH_ value are refused too', async () => {
    expect((await run(['check'], folder('chek:\n  out: x\n'))).err).toContain('unknown section "chek"; did you mean "check"?')
    expect((await run(['check'], folder('check:\n  quiet: maybe\n'))).err).toContain('check.quiet: quiet is true or false (a switch), not "maybe"')
    expect((await run(['check'], folder(), { DRIFTWATCH_QUIET: 'loud' })).err).toContain('DRIFTWATCH_QUIET: quiet is true or false')
    expect((await run(['check'], folder(), { DRIFTWATCH_CONFIG: 'nope.yaml' })).err).toContain('DRIFTWATCH_CONFIG names nope.yaml, which does not exist')
  })

  it('a DRIFTWATCH_ variable no command reads is warned about with the closest one, and the run goes on; one another command reads is not', async () => {
    const d = folder(`check:\n  contracts: ${PACK}\n  only: phone-numbers.get\n  no-history: true\n`)
    const typo = await run(['check', '--out', 'typo'], d, { DRIFTWATCH_FAIL_ONN: 'warning' })
    expect(typo.code, typo.err).toBe(0)
    expect(typo.err).toContain('driftwatch: warning: DRIFTWATCH_FAIL_ONN is not a variable driftwatch reads, so it is ignored; did you mean "DRIFTWATCH_FAIL_ON"?')
    // DRIFTWATCH_UPSTREAM is proxy's --upstream: a global variable set for another command is no typo.
    const other = await run(['check', '--out', 'other'], d, { DRIFTWATCH_UPSTREAM: 'https://graph.facebook.com', DRIFTWATCH_READ_THREAD: '1' })
    expect(other.code, other.err).toBe(0)
    expect(other.err).not.toContain('warning')
  }, 60_000)

  it('--json and --help are for the command line: the file and the variables say so, not "did you mean json"', async () => {
    const file = await run(['check'], folder('check:\n  json: true\n'))
    expect(file.code).toBe(2)
    expect(file.err).toContain('driftwatch.config.yaml: check.json: --json is for the command line only, not the config file')
    expect((await run(['check'], folder('defaults:\n  help: true\n'))).err).toContain('defaults.help: --help is for the command line only')
    const env = await run(['check', '--contracts', PACK, '--only', 'phone-numbers.get', '--no-history', '--out', 'o'], folder(), { DRIFTWATCH_JSON: 'true' })
    expect(env.err).toContain('driftwatch: warning: DRIFTWATCH_JSON is ignored: --json is for the command line only')
  }, 60_000)

  it('a value from the file is checked as a flag is: a bad --fail-on from the file exits 2 with the usual message', async () => {
    const r = await run(['check'], folder('defaults:\n  fail-on: sometimes\n'))
    expect(r.code).toBe(2)
    expect(r.err).toContain('--fail-on must be breaking, warning, info or never (got "sometimes")')
  })
})
