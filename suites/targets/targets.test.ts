/**
 * Many accounts (issue 10): a targets file of 6 simulated targets, run whole and as 3 shards
 * merged, gives the same report; each target's credentials come from its own environment
 * variables; a target that cannot run is its own error, not everyone's.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { main, type CliIO } from '../../src/cli/index.ts'
import type { Report } from '../../src/model/report.ts'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'
import { loadTargets, parseShard, shardOf } from '../../src/targets/targets-file.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const dirs: string[] = []
const sims: RunningSimulator[] = []
afterEach(async () => {
  for (const s of sims.splice(0)) await s.close()
})
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'dw-targets-'))
  dirs.push(d)
  return d
}

function io(env: Record<string, string> = {}): { out: string[]; err: string[]; io: CliIO } {
  const out: string[] = []
  const err: string[] = []
  return { out, err, io: { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env, cwd: ROOT } }
}

const read = (dir: string) => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report

/** What a report says, without times and durations (which differ between any two runs). */
function substance(r: Report) {
  return {
    outcome: r.outcome,
    summary: r.summary,
    targets: r.targets?.map((t) => ({ name: t.name, target: t.target, scenario: t.scenario, outcome: t.outcome, summary: t.summary })),
    results: r.results.map((x) => [x.target, x.contract, x.status, x.probes, x.reason]),
    findings: r.findings.map((f) => [f.target, f.contract, f.check, f.severity, f.title, f.samples, f.of]),
  }
}

const SIX = `targets:
  - { name: br-acme, target: sim }
  - { name: de-lab, target: sim, scenario: media-chunked }
  - { name: in-shop, target: sim }
  - { name: mx-bank, target: sim, scenario: error-code-unknown }
  - { name: us-air, target: sim }
  - { name: za-mart, target: sim, scenario: media-file-size-string }
`

describe('check --targets, --shard and merge', () => {
  it('6 targets over 3 shards merge to the same report as one unsharded run', async () => {
    const d = tmp()
    writeFileSync(join(d, 'targets.yaml'), SIX)
    const whole = io()
    expect(await main(['check', '--targets', join(d, 'targets.yaml'), '--out', join(d, 'whole')], whole.io)).toBe(1)
    expect(whole.out.find((l) => l.startsWith('DRIFT'))).toMatch(/^DRIFT on 3 of 6 targets: 78 contracts/)
    const shardDirs: string[] = []
    for (const i of [1, 2, 3]) {
      const s = io()
      const out = join(d, `shard-${i}`)
      shardDirs.push(join(out, 'report.json'))
      await main(['check', '--targets', join(d, 'targets.yaml'), '--shard', `${i}/3`, '--out', out], s.io)
      expect(read(out).targets).toHaveLength(2)
      expect(read(out).shard).toEqual({ index: i, of: 3 })
    }
    const m = io()
    expect(await main(['merge', ...shardDirs, '--out', join(d, 'merged')], m.io)).toBe(1)
    expect(substance(read(join(d, 'merged')))).toEqual(substance(read(join(d, 'whole'))))
    const merged = read(join(d, 'merged'))
    expect(merged.targets!.map((t) => [t.name, t.outcome])).toEqual([
      ['br-acme', 'pass'],
      ['de-lab', 'drift'],
      ['in-shop', 'pass'],
      ['mx-bank', 'drift'],
      ['us-air', 'pass'],
      ['za-mart', 'drift'],
    ])
    const md = readFileSync(join(d, 'merged', 'report.md'), 'utf8')
    expect(md).toContain('# driftwatch: DRIFT on 3 of 6 targets')
    expect(md).toContain('## Targets: drift on 3 of 6')
    expect(md).toContain('`de-lab/media.retrieve-url`')
    expect(readFileSync(join(d, 'merged', 'junit.xml'), 'utf8')).toContain('classname="driftwatch.de-lab.media" name="de-lab/media.retrieve-url"')
  }, 120_000)

  it('refuses to merge two reports of one target', async () => {
    const d = tmp()
    writeFileSync(join(d, 't.yaml'), 'targets:\n  - { name: a, target: sim }\n')
    await main(['check', '--targets', join(d, 't.yaml'), '--out', join(d, 'x')], io().io)
    const m = io()
    expect(await main(['merge', join(d, 'x', 'report.json'), join(d, 'x', 'report.json'), '--out', join(d, 'm')], m.io)).toBe(2)
    expect(m.err.join('\n')).toContain('target a is in both')
  }, 60_000)

  it("gives each target its own credentials, and one target's missing variable is its own error", async () => {
    const sim = await startSimulator()
    sims.push(sim)
    const c = sim.credentials
    const d = tmp()
    writeFileSync(
      join(d, 't.yaml'),
      `targets:
  - name: good
    target: ${sim.url}
    env: { token: GOOD_TOKEN, phone_number_id: GOOD_PHONE, waba_id: GOOD_WABA }
  - name: unset
    target: ${sim.url}
    env: { token: UNSET_TOKEN, phone_number_id: GOOD_PHONE, waba_id: GOOD_WABA }
`,
    )
    // The standard variables hold a wrong token: a target must never fall back to them.
    const t = io({ GOOD_TOKEN: c.token, GOOD_PHONE: c.phoneNumberId, GOOD_WABA: c.wabaId, WHATSAPP_ACCESS_TOKEN: 'EAAwrongtokenwrongtoken' })
    const code = await main(['check', '--targets', join(d, 't.yaml'), '--out', join(d, 'r'), '--only', 'phone-numbers.get'], t.io)
    const r = read(join(d, 'r'))
    expect(r.targets!.map((x) => [x.name, x.outcome])).toEqual([
      ['good', 'pass'],
      ['unset', 'error'],
    ])
    expect(r.targets![1]!.error!.message).toBe('target unset: environment variable UNSET_TOKEN not set (the targets file names it for this target\'s credentials)')
    expect(code).toBe(2) // no drift, and a target could not run
    for (const f of readdirSync(join(d, 'r'))) expect(readFileSync(join(d, 'r', f), 'utf8')).not.toContain(c.token)
  }, 60_000)
})

describe('the targets file', () => {
  it('names every problem with its place and fix, all at once', () => {
    const d = tmp()
    writeFileSync(join(d, 'bad.yaml'), 'targets:\n  - { name: a, target: https://graph.facebook.com }\n  - { name: a, target: sim, colour: red }\n  - { name: "b c", target: ftp://x, scenario: nope }\n')
    expect(() => loadTargets(join(d, 'bad.yaml'), d)).toThrow(
      [
        'bad.yaml has 7 problems:',
        '  bad.yaml targets[0].env: missing: a live target needs env: {token, phone_number_id, waba_id} naming the environment variables that hold them',
        '  bad.yaml targets[1].colour: unknown field (fields: name, target, scenario, env)',
        `  bad.yaml targets[1].name: "a" is already targets[0]'s name; names must be unique`,
        '  bad.yaml targets[2].name: "b c" is not a name: letters, digits, . _ - (up to 64)',
        '  bad.yaml targets[2].target: "ftp://x" must be sim or a base URL such as https://graph.facebook.com (no path, no query)',
        '  bad.yaml targets[2].scenario: only for target: sim (scenarios are simulator behaviours)',
        '  bad.yaml targets[2].env: missing: a live target needs env: {token, phone_number_id, waba_id} naming the environment variables that hold them',
      ].join('\n'),
    )
  })

  it('shards round-robin over sorted names: balanced, disjoint, complete', () => {
    const targets = ['f', 'b', 'e', 'a', 'd', 'c', 'g'].map((name) => ({ name, target: 'sim' }))
    const shards = [1, 2, 3].map((i) => shardOf(targets, { index: i, of: 3 }).map((t) => t.name))
    expect(shards).toEqual([['a', 'd', 'g'], ['b', 'e'], ['c', 'f']])
    expect(() => parseShard('4/3')).toThrow('--shard must be i/n with 1 <= i <= n')
    expect(parseShard('2/5')).toEqual({ index: 2, of: 5 })
  })

  it('refuses --target with --targets, and --shard without it', async () => {
    const a = io()
    expect(await main(['check', '--targets', 'x.yaml', '--target', 'sim'], a.io)).toBe(2)
    expect(a.err.join('\n')).toContain('--targets replaces --target')
    const b = io()
    expect(await main(['check', '--shard', '1/2'], b.io)).toBe(2)
    expect(b.err.join('\n')).toContain('--shard only applies with --targets <file>')
  })
})
