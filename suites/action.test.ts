/**
 * action.yml (issue 20 item 3): parsed and checked here (actionlint checks workflows, not an
 * action's metadata). Inputs reach the shell through env only, secrets are
 * never inputs, and the step's script runs for real: check against the simulator and verify of a
 * webhook capture, from a folder that is not this repository, as a workflow's would.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { tempDirs } from './helpers/temp-dirs.ts'

const { dir: tempDir } = tempDirs('dw-action-')

const ROOT = join(import.meta.dirname, '..')
interface Step { uses?: string; run?: string; env?: Record<string, string>; shell?: string; id?: string }
const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as { name: string; inputs: Record<string, { default?: string }>; outputs: Record<string, { value: string }>; runs: { using: string; steps: Step[] } }
const script = action.runs.steps.find((s) => s.id === 'run')!

/** Runs the action's main step as the runner would: its env from the inputs' defaults and `given`, $GITHUB_ACTION_PATH this checkout. */
function runStep(given: Record<string, string>, cwd: string) {
  const inputs = Object.fromEntries(Object.entries(action.inputs).map(([k, v]) => [k, given[k] ?? v.default ?? '']))
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(script.env!)) env[k] = v.replace(/^\$\{\{ inputs\.([\w-]+) \}\}$/, (_m, name: string) => inputs[name]!)
  const output = join(cwd, 'github-output')
  writeFileSync(output, '')
  const r = spawnSync('bash', ['-c', script.run!], { cwd, env: { ...process.env, ...env, GITHUB_ACTION_PATH: ROOT, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: join(cwd, 'summary.md') }, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, outputs: Object.fromEntries(readFileSync(output, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split('=') as [string, string])) }
}

describe('action.yml', () => {
  it('is a composite action whose inputs reach the shell through env only', () => {
    expect(action.runs.using).toBe('composite')
    for (const step of action.runs.steps) if (step.run) expect(step.run, 'no ${{ }} inside run: (injection)').not.toContain('${{')
    for (const name of Object.keys(action.inputs)) expect(Object.values(script.env!), name).toContain(`\${{ inputs.${name} }}`)
    // Secrets are the workflow's env, by name: no input takes a token.
    expect(Object.keys(action.inputs).join(' ')).not.toMatch(/token|secret/i)
    expect(Object.keys(action.inputs)).toEqual(expect.arrayContaining(['command', 'target', 'fail-on', 'format']))
  })

  it('check on the simulator, from another folder: PASS, annotations on stdout, the summary written, outputs set', () => {
    const d = tempDir()
    const r = runStep({ args: '--only phone-numbers.get --no-history' }, d)
    expect(r.code, r.stderr).toBe(0)
    expect(r.outputs).toEqual({ outcome: 'pass', 'exit-code': '0' })
    expect(r.stdout).toMatch(/^::notice title=driftwatch%3A PASS::/m)
    expect(readFileSync(join(d, 'summary.md'), 'utf8')).toContain('# driftwatch: PASS')
  }, 60_000)

  it('check of a drifting simulator fails the step with exit 1 and an error annotation', () => {
    const d = tempDir()
    const r = runStep({ args: '--only media.retrieve-url --scenario media-chunked --no-history' }, d)
    expect(r.code).toBe(1)
    expect(r.outputs).toEqual({ outcome: 'drift', 'exit-code': '1' })
    expect(r.stdout).toMatch(/^::error title=driftwatch breaking%3A media\.retrieve-url \(framing-conformance\)/m)
    // The rerun line is one a person can type in their own checkout: no runner path of the action's pack.
    const rerun = (JSON.parse(readFileSync(join(d, 'reports/driftwatch/report.json'), 'utf8')) as { findings: { rerun: string }[] }).findings[0]!.rerun
    expect(rerun).toBe('npx driftwatch check --target sim --scenario media-chunked --only media.retrieve-url --fail-on breaking --out reports/rerun --no-history')
    expect(r.stdout).not.toContain(ROOT)
  }, 60_000)

  it("a run that fails at start reports outcome error, not the previous run's report.json still in the folder (restored from a cache)", () => {
    const d = tempDir()
    // The previous run's report as a cache restores it (a drift: what the step would say if it read it).
    mkdirSync(join(d, action.inputs.out!.default!), { recursive: true })
    writeFileSync(join(d, action.inputs.out!.default!, 'report.json'), JSON.stringify({ outcome: 'drift' }))
    const second = runStep({ args: '--no-such-flag' }, d)
    expect(second.code).toBe(2)
    expect(second.outputs).toEqual({ outcome: 'error', 'exit-code': '2' })
  }, 60_000)

  it('gate puts gate.md in the job summary (it writes no annotations)', () => {
    const d = tempDir()
    const r = runStep({ command: 'gate', args: `--pacts ${join(ROOT, 'pacts')}` }, d)
    expect(r.outputs['exit-code'], r.stderr).toBe(String(r.code))
    expect(readFileSync(join(d, 'summary.md'), 'utf8')).toMatch(/gate/i)
    expect(r.stdout).not.toContain('::error')
  }, 120_000)

  it('verify without an input is refused with an annotation (exit 2)', () => {
    const d = tempDir()
    const r = runStep({ command: 'verify' }, d)
    expect(r.code).toBe(2)
    expect(r.stdout).toContain('::error title=driftwatch::verify needs the input')
  })

  it('args are split on spaces but not globbed: --only phone-numbers.* reaches driftwatch as typed beside a phone-numbers.ts', () => {
    const d = tempDir()
    writeFileSync(join(d, 'phone-numbers.ts'), '')
    const r = runStep({ args: '--only phone-numbers.* --no-history' }, d)
    expect(r.code, r.stderr + r.stdout).toBe(0)
    expect(r.outputs).toEqual({ outcome: 'pass', 'exit-code': '0' })
  }, 60_000)

  it('an input cannot inject a command: a target with $(...) is a value, not a command', () => {
    const d = tempDir()
    const r = runStep({ target: '$(touch injected)' }, d)
    expect(r.code).toBe(2)
    expect(spawnSync('ls', [d], { encoding: 'utf8' }).stdout).not.toContain('injected')
  })
})
