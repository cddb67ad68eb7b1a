/**
 * The CI workflows users copy must keep working as the CLI evolves: they parse, every
 * `npm run` script exists, every `npx driftwatch` command and flag exists, and the paths they
 * read are the ones the commands write.
 */
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { COMMAND_OPTIONS } from '../src/cli.ts'
import { ENV } from '../src/config.ts'
import { loadTargets } from '../src/targets.ts'

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> }

interface Step {
  name?: string
  run?: string
  uses?: string
  env?: Record<string, string>
  with?: Record<string, unknown>
}
interface Workflow {
  on: Record<string, unknown>
  env?: Record<string, string>
  jobs: Record<string, { steps: Step[]; env?: Record<string, string> }>
}

function load(file: string): { wf: Workflow; steps: Step[]; runs: string[] } {
  const wf = parse(readFileSync(file, 'utf8')) as Workflow
  const steps = Object.values(wf.jobs).flatMap((j) => j.steps)
  return { wf, steps, runs: steps.flatMap((s) => (s.run ? s.run.split('\n') : [])) }
}

/** Every `npx driftwatch ...` line: the command and its flags, validated against the CLI. */
function driftwatchCalls(runs: string[]): { command: string; flags: Map<string, string | true> }[] {
  return runs
    .map((l) => l.trim())
    .filter((l) => l.startsWith('npx driftwatch '))
    .map((l) => {
      const words = l.split(/\s+/).slice(2)
      const flags = new Map<string, string | true>()
      for (let i = 1; i < words.length; i++) {
        const w = words[i]!
        if (w.startsWith('--')) flags.set(w.slice(2), words[i + 1] && !words[i + 1]!.startsWith('--') ? words[++i]! : true)
      }
      return { command: words[0]!, flags }
    })
}

function expectValid(calls: ReturnType<typeof driftwatchCalls>): void {
  expect(pkg.bin.driftwatch).toBe('bin/driftwatch.js')
  for (const c of calls) {
    const options = COMMAND_OPTIONS[c.command as keyof typeof COMMAND_OPTIONS]
    expect(options, `driftwatch ${c.command} is a command`).toBeDefined()
    for (const flag of c.flags.keys()) expect(Object.keys(options ?? {}), `driftwatch ${c.command} --${flag}`).toContain(flag)
  }
}

function expectNpmScriptsExist(runs: string[]): void {
  for (const l of runs) {
    const m = l.trim().match(/^npm run ([\w:-]+)/)
    if (m) expect(Object.keys(pkg.scripts), `npm run ${m[1]}`).toContain(m[1])
  }
}

describe('.github/workflows/nightly-drift.yml', () => {
  const { wf, steps, runs } = load('.github/workflows/nightly-drift.yml')
  const calls = driftwatchCalls(runs)

  it('runs on a schedule and by hand', () => {
    expect((wf.on.schedule as { cron: string }[])[0]!.cron).toMatch(/^(\S+\s){4}\S+$/)
    expect(wf.on).toHaveProperty('workflow_dispatch')
  })

  it('runs check against the live API, failing on breaking drift, with commands that exist', () => {
    expect(calls).toHaveLength(1)
    const check = calls[0]!
    expect(check.command).toBe('check')
    expect(check.flags.get('target')).toBe('https://graph.facebook.com')
    expect(check.flags.get('fail-on')).toBe('breaking')
    expectValid(calls)
    expectNpmScriptsExist(runs)
    expect(runs.some((l) => l.trim() === 'npm ci')).toBe(true)
  })

  it('passes every credential from secrets, and the required ones are exactly what the CLI reads', () => {
    const probe = steps.find((s) => s.run?.includes('npx driftwatch check'))!
    for (const name of Object.values(ENV)) expect(probe.env?.[name], name).toBe(`\${{ secrets.${name} }}`)
  })

  it('publishes the report it wrote: job summary, artifact, and the caches that carry "since" and the history', () => {
    const out = String(calls[0]!.flags.get('out'))
    expect(runs.some((l) => l.includes(`cat ${out}/report.md >> "$GITHUB_STEP_SUMMARY"`))).toBe(true)
    expect(steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!.with!.path).toBe(`${out}/`)
    // report.html goes with the artifact: people would rather look than read.
    expect(String(calls[0]!.flags.get('format')).split(',')).toContain('html')
    // The history lives next to the --out folder (history.db in its parent): restored before, saved after.
    const history = `${out.split('/').slice(0, -1).join('/')}/history.db`
    expect(steps.filter((s) => s.uses?.startsWith('actions/cache/')).map((s) => s.with!.path)).toEqual([`${out}/report.json`, history, `${out}/report.json`, history])
  })

  it('maps every exit code: 1 fails, 3 warns unless the token was rejected, anything else fails', () => {
    const gate = steps.find((s) => s.name === 'Fail on breaking drift')!.run!
    expect(gate).toMatch(/1\) .*exit 1/)
    expect(gate).toMatch(/"check": "credentials"/)
    expect(gate).toMatch(/\*\) .*exit 1/)
  })
})

describe('.github/workflows/pre-deploy-gate.yml', () => {
  const { wf, runs } = load('.github/workflows/pre-deploy-gate.yml')
  const calls = driftwatchCalls(runs)

  it('runs on pull requests, writes pacts with the consumer tests, then gates them', () => {
    expect(wf.on).toHaveProperty('pull_request')
    expectNpmScriptsExist(runs)
    expect(runs.map((l) => l.trim())).toContain('npm run test:consumer')
    expect(pkg.scripts['test:consumer']).toContain('suites/consumer')
    expect(calls.map((c) => c.command)).toEqual(['gate'])
    expectValid(calls)
    const consumer = runs.findIndex((l) => l.includes('npm run test:consumer'))
    const gate = runs.findIndex((l) => l.includes('npx driftwatch gate'))
    expect(consumer).toBeLessThan(gate)
  })

  it('turns off Pact telemetry and shows the gate report it wrote', () => {
    expect(wf.env?.PACT_DO_NOT_TRACK).toBe('true')
    const out = String(calls[0]!.flags.get('out'))
    expect(runs.some((l) => l.includes(`cat ${out}/gate.md >> "$GITHUB_STEP_SUMMARY"`))).toBe(true)
  })
})

describe('.github/workflows/nightly-accounts.yml', () => {
  const { wf, runs } = load('.github/workflows/nightly-accounts.yml')
  const calls = driftwatchCalls(runs)
  const jobs = wf.jobs as Record<string, { steps: Step[]; needs?: string; strategy?: { matrix: { shard: number[] } } }>

  it('runs one shard per matrix entry and merges every shard the matrix makes', () => {
    const shards = jobs.shard!.strategy!.matrix.shard
    expect(shards).toEqual([1, 2, 3])
    const check = calls.find((c) => c.command === 'check')!
    expect(check.flags.get('targets')).toBe('targets.yaml')
    expect(runs.find((l) => l.includes('npx driftwatch check'))).toContain(`--shard \${{ matrix.shard }}/${shards.length} `)
    const merge = runs.find((l) => l.includes('npx driftwatch merge'))!
    for (const i of shards) expect(merge).toContain(`shards/shard-${i}/report.json`)
    expect(jobs.merge!.needs).toBe('shard')
    expectValid(calls)
  })

  it('publishes the merged report it wrote', () => {
    const merge = calls.find((c) => c.command === 'merge')!
    const out = String(merge.flags.get('out'))
    expect(runs.some((l) => l.includes(`cat ${out}/report.md >> "$GITHUB_STEP_SUMMARY"`))).toBe(true)
  })

  it('keeps the history with the merge job: shards add nothing, the merge job restores it before and saves it after', () => {
    expect(calls.find((c) => c.command === 'check')!.flags.get('no-history')).toBe(true)
    const merge = calls.find((c) => c.command === 'merge')!
    expect(merge.flags.has('no-history')).toBe(false)
    expect(String(merge.flags.get('format')).split(',')).toContain('html')
    const history = `${String(merge.flags.get('out')).split('/').slice(0, -1).join('/')}/history.db`
    const caches = jobs.merge!.steps.filter((s) => s.uses?.startsWith('actions/cache/'))
    expect(caches.map((s) => [s.uses!.split('@')[0], s.with!.path])).toEqual([
      ['actions/cache/restore', history],
      ['actions/cache/save', history],
    ])
    expect(jobs.shard!.steps.some((s) => s.uses?.startsWith('actions/cache/'))).toBe(false)
  })

  it('its example targets file loads', () => {
    expect(loadTargets('examples/targets.yaml').map((t) => t.name)).toEqual(['acme-br', 'acme-de', 'lab-baseline', 'lab-chunked'])
  })
})
