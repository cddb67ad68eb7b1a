/**
 * A finding's `rerun` is the command an on-call engineer pastes at 3 a.m.: it must bring the same
 * finding back, and nothing else must be needed. For both seed incidents on the simulator (20 Jan
 * 2026, the media endpoint's chunked framing and its phone_number_id rejection; 6 Feb 2026, POST
 * with method=get honoured by some servers), every finding's rerun is read by a real POSIX shell
 * and run, and its report must hold the same finding (contract, check, title). The same rerun
 * against the baseline scenario stays quiet, so the rerun is what shows it, not the contract alone.
 */
import { execFile, spawn } from 'node:child_process'
import { chmodSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { runCheck } from '../../src/commands/check.ts'
import { runCheckTargets } from '../../src/commands/check-targets.ts'
import { main } from '../../src/cli/index.ts'
import type { Finding } from '../../src/model/finding.ts'
import type { GateReport } from '../../src/commands/gate.ts'
import type { Report } from '../../src/model/report.ts'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'
import { HistoryStore } from '../../src/history/store.ts'
import { runVerify } from '../../src/commands/verify.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'driftwatch.js')
const tmp = tempDirs('dw-rerun-')
const sims: RunningSimulator[] = []
afterAll(async () => {
  for (const s of sims.splice(0)) await s.close()
})

/** The environment a rerun sees: nobody's credentials or driftwatch settings but those a test gives. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !k.startsWith('WHATSAPP_') && !k.startsWith('DRIFTWATCH_'))) as Record<string, string>
  return { ...env, ...extra }
}

/** The words a POSIX shell makes of a command line (env assignments in front included), without running it. */
async function wordsOf(line: string): Promise<{ assignments: Record<string, string>; argv: string[] }> {
  const { stdout } = await promisify(execFile)('sh', ['-c', `set -- ${line}; printf '%s\\0' "$@"`], { env: cleanEnv() })
  const words = stdout.split('\0').slice(0, -1)
  const assignments: Record<string, string> = {}
  while (words[0] !== undefined && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
    const [k, ...v] = words.shift()!.split('=')
    assignments[k!] = v.join('=')
  }
  return { assignments, argv: words }
}

/** The driftwatch arguments of a rerun line: what follows its `npx driftwatch`. */
async function rerunArgv(line: string): Promise<string[]> {
  const { argv } = await wordsOf(line)
  expect(argv.slice(0, 2)).toEqual(['npx', 'driftwatch'])
  return argv.slice(2)
}

/** Runs a rerun line in process (main with the shell's words), into its own --out; returns its report. */
async function rerunInProcess(line: string, env: Record<string, string> = {}, swap?: [string, string]): Promise<{ code: number; report: Report }> {
  const args = (await rerunArgv(line)).map((w) => (swap && w === swap[0] ? swap[1] : w))
  const out = tmp.dir()
  const code = await main([...args, '--out', out, '--no-history', '--format', 'json', '--quiet'], { stdout: () => {}, stderr: () => {}, env, cwd: ROOT })
  return { code, report: JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report }
}

/**
 * An `npx` on PATH that does what npx does here (package.json's bin maps driftwatch to
 * bin/driftwatch.js) without npm: `npx driftwatch ...` runs this checkout's bin, so a printed
 * line runs exactly as printed; anything else is refused, so a line that needs more fails.
 */
function shimDir(): string {
  const dir = tmp.dir()
  const shim = join(dir, 'npx')
  writeFileSync(shim, `#!/bin/sh\nif [ "$1" = driftwatch ]; then shift; exec '${process.execPath}' '${BIN}' "$@"; fi\necho "fake npx: only driftwatch, not $1" >&2\nexit 127\n`)
  chmodSync(shim, 0o755)
  return dir
}

/** Runs a command line through `sh -c`, exactly as pasted, with the flags a test adds after it. */
function shell(line: string, extra: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const base = cleanEnv(env)
    const child = spawn('sh', ['-c', `${line} "$@"`, 'sh', ...extra], { cwd: ROOT, env: { ...base, PATH: `${shimDir()}:${base.PATH ?? ''}` } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const same = (f: Pick<Finding, 'contract' | 'check' | 'title'>) => ({ contract: f.contract, check: f.check, title: f.title })

async function checkSim(scenario: string): Promise<Report> {
  const { report } = await runCheck({ target: 'sim', scenario, contractsDir: 'contracts/meta', recordingsDir: join(ROOT, 'recordings/meta'), apiVersion: 'v23.0', outDir: tmp.dir(), formats: ['json'], env: {}, cwd: ROOT })
  return report
}

// Seed 000 (20 Jan 2026) is two scenarios, seed 001 (6 Feb 2026) one.
const SEEDS = ['media-chunked', 'media-phone-number-id-rejected', 'media-post-intermittent'] as const

describe('every finding of the seed incidents on the simulator comes back with its rerun', () => {
  for (const scenario of SEEDS) {
    it(scenario, async () => {
      const report = await checkSim(scenario)
      const drift = report.findings.filter((f) => f.severity !== 'info')
      expect(drift.length).toBeGreaterThan(0)
      const lines = new Map<string, Finding[]>()
      for (const f of report.findings) {
        expect(f.rerun, `${f.contract} ${f.check}`).toBe(`npx driftwatch check --target sim --scenario ${scenario} --only ${f.contract} --out reports/rerun --no-history`)
        // The simulator's port is gone after the run: no curl points at it.
        expect(f.evidence.curl).toBeUndefined()
        lines.set(f.rerun!, [...(lines.get(f.rerun!) ?? []), f])
      }
      for (const [line, findings] of lines) {
        const again = await rerunInProcess(line)
        expect(again.code, line).toBe(1)
        for (const f of findings) expect(again.report.findings.map(same), line).toContainEqual(same(f))
        // Just what the finding needs: the contract, and what it depends on (the upload before a media read), not the pack.
        expect(again.report.results.length).toBeLessThan(report.results.length)
      }
    })
  }

  it('the same rerun against the baseline scenario stays quiet: the contract passes, nothing is found', async () => {
    const [f] = (await checkSim('media-chunked')).findings
    const quiet = await rerunInProcess(f!.rerun!, {}, ['media-chunked', 'baseline'])
    expect(quiet.code).toBe(0)
    expect(quiet.report.outcome).toBe('pass')
    expect(quiet.report.findings.filter((x) => x.severity !== 'info')).toEqual([])
    expect(quiet.report.results.find((r) => r.contract === f!.contract)?.status).toBe('passed')
  })

  it("a round trip's findings rerun with the test message and the same wait, and come back", async () => {
    const scenario = 'webhook-status-field-removed'
    const { report } = await runCheck({ target: 'sim', scenario, roundTripSeconds: 1, contractsDir: 'contracts/meta', apiVersion: 'v23.0', outDir: tmp.dir(), formats: ['json'], env: {}, cwd: ROOT })
    const webhook = report.findings.filter((f) => f.contract.startsWith('webhook.'))
    expect(webhook.length).toBeGreaterThan(0)
    for (const f of webhook) expect(f.rerun).toBe(`npx driftwatch check --target sim --scenario ${scenario} --only messages.send-text --round-trip 1 --out reports/rerun --no-history`)
    const again = await rerunInProcess(webhook[0]!.rerun!)
    for (const f of webhook) expect(again.report.findings.map(same)).toContainEqual(same(f))
  })

  it('the line check prints under a contract with drift runs as printed, through a shell, and shows the finding again', async () => {
    // The first run in process (what it prints is the point); the line it prints runs for real, through sh and the bin.
    const stderr: string[] = []
    const first = await main(['check', '--scenario', 'media-post-intermittent', '--out', tmp.dir(), '--no-history', '--format', 'json', '--quiet'], { stdout: () => {}, stderr: (l) => stderr.push(l), env: {}, cwd: ROOT })
    expect(first).toBe(1)
    const printed = [...stderr.join('\n').matchAll(/^ {6}re-run: (.+)$/gm)].map((m) => m[1]!)
    expect(printed).toEqual(['npx driftwatch check --target sim --scenario media-post-intermittent --only media.post-method --out reports/rerun --no-history'])
    const out = tmp.dir()
    const again = await shell(printed[0]!, ['--out', out, '--no-history', '--format', 'json'])
    expect(again.code).toBe(1)
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report
    const titles = report.findings.map((f) => `${f.contract} ${f.check}: ${f.title}`)
    expect(titles).toContain('media.post-method method-conformance: POST was accepted (contract: rejected)')
    expect(titles).toContain('media.post-method sample-consistency: Inconsistent status across samples: 5× 200, 3× 405')
    // The rerun's own findings say the same line again.
    expect(new Set(report.findings.map((f) => f.rerun))).toEqual(new Set(printed))
  })
})

describe('a live target', () => {
  async function liveSim(scenario: string): Promise<RunningSimulator> {
    const sim = await startSimulator({ scenario })
    sims.push(sim)
    return sim
  }
  const credentials = (sim: RunningSimulator) => ({ WHATSAPP_ACCESS_TOKEN: sim.credentials.token, WHATSAPP_PHONE_NUMBER_ID: sim.credentials.phoneNumberId, WHATSAPP_WABA_ID: sim.credentials.wabaId })

  it('reruns against the same base URL with the token from the environment; a curl only where the request stands alone', async () => {
    const sim = await liveSim('json-served-as-javascript')
    const env = credentials(sim)
    const { report } = await runCheck({ target: sim.url, only: ['phone-numbers.get', 'media.retrieve-url'], contractsDir: 'contracts/meta', apiVersion: 'v23.0', outDir: tmp.dir(), formats: ['json'], env, cwd: ROOT, retryBudgetSeconds: 0, rerunArgs: ['--retry-budget', '0', '--out', 'reports/rerun', '--no-history'] })
    const byContract = new Map(report.findings.map((f) => [f.contract, f]))
    const phone = byContract.get('phone-numbers.get')!
    const media = byContract.get('media.retrieve-url')!
    expect(phone.rerun).toBe(`npx driftwatch check --target ${sim.url} --only phone-numbers.get --retry-budget 0 --out reports/rerun --no-history`)
    // phone-numbers.get sends only configuration: its curl reproduces on its own.
    expect(phone.evidence.curl).toContain(`${sim.url}/v23.0/${sim.credentials.phoneNumberId}`)
    expect(phone.evidence.curl).toContain('$WHATSAPP_ACCESS_TOKEN')
    // media.retrieve-url reads a media id this run uploaded (and deleted): its curl would 404 tomorrow.
    expect(media.evidence.curl).toBeUndefined()
    expect(media.evidence.request).toBeDefined()
    for (const f of [phone, media]) {
      expect(f.rerun).not.toContain(sim.credentials.token)
      const again = await rerunInProcess(f.rerun!, env)
      expect(again.report.findings.map(same)).toContainEqual(same(f))
    }
  })

  it("a targets-file entry's rerun passes its credentials by variable name, never by value, and reproduces", async () => {
    const sim = await liveSim('json-served-as-javascript')
    const dir = tmp.dir()
    const file = join(dir, 'targets.yaml')
    writeFileSync(file, `targets:\n  - name: acme\n    target: ${sim.url}\n    env:\n      token: ACME_TOKEN\n      phone_number_id: ACME_PHONE\n      waba_id: ACME_WABA\n  - name: lab\n    target: sim\n    scenario: json-served-as-javascript\n`)
    const env = { ACME_TOKEN: sim.credentials.token, ACME_PHONE: sim.credentials.phoneNumberId, ACME_WABA: sim.credentials.wabaId }
    const { report } = await runCheckTargets({ targetsFile: file, only: ['phone-numbers.get'], contractsDir: 'contracts/meta', apiVersion: 'v23.0', outDir: tmp.dir(), formats: ['json'], env, cwd: ROOT, retryBudgetSeconds: 0 })
    const acme = report.findings.find((f) => f.target === 'acme' && f.contract === 'phone-numbers.get')!
    const lab = report.findings.find((f) => f.target === 'lab')!
    expect(acme.rerun).toBe(`WHATSAPP_ACCESS_TOKEN="$ACME_TOKEN" WHATSAPP_PHONE_NUMBER_ID="$ACME_PHONE" WHATSAPP_WABA_ID="$ACME_WABA" WHATSAPP_TEST_RECIPIENT= npx driftwatch check --target ${sim.url} --only phone-numbers.get --out reports/rerun --no-history`)
    expect(lab.rerun).toBe('npx driftwatch check --target sim --scenario json-served-as-javascript --only phone-numbers.get --out reports/rerun --no-history')
    expect(JSON.stringify(report.findings)).not.toContain(sim.credentials.token)
    // Pasted where only the entry's variables are set (a stray WHATSAPP_ACCESS_TOKEN is not), it probes that account.
    const out = tmp.dir()
    const again = await shell(acme.rerun!, ['--out', out, '--no-history', '--format', 'json', '--retry-budget', '0'], { ...env, WHATSAPP_ACCESS_TOKEN: 'someone-else' })
    expect(again.code, again.stderr).toBe(1)
    const rerun = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report
    expect(rerun.findings.map(same)).toContainEqual(same(acme))
  })
})

describe('check --targets', () => {
  it('prints the reruns under the target that drifts, none under the one that passes', async () => {
    const file = join(tmp.dir(), 'targets.yaml')
    writeFileSync(file, 'targets:\n  - name: lab\n    target: sim\n    scenario: media-chunked\n  - name: steady\n    target: sim\n')
    const err: string[] = []
    const code = await main(['check', '--targets', file, '--only', 'media.retrieve-url', '--out', tmp.dir(), '--no-history', '--format', 'json'], { stdout: () => {}, stderr: (l) => err.push(...l.split('\n')), env: {}, cwd: ROOT })
    expect(code).toBe(1)
    const lab = err.findIndex((l) => /\] lab +DRIFT/.test(l))
    const steady = err.findIndex((l) => /\] steady +PASS/.test(l))
    expect(lab).toBeGreaterThanOrEqual(0)
    expect(steady).toBeGreaterThanOrEqual(0)
    expect(err[lab + 1]).toBe('      re-run: npx driftwatch check --target sim --scenario media-chunked --only media.retrieve-url --out reports/rerun --no-history')
    expect(err.filter((l) => l.includes('re-run:'))).toHaveLength(1)
  })
})

describe('traffic', () => {
  it('a verify finding reruns as verify on the same capture, and keeps its curl (the application sent that request)', async () => {
    const input = 'suites/verify/fixtures/meta-media.har'
    const { report } = await runVerify({ input, contractsDir: 'contracts/meta', outDir: tmp.dir(), formats: ['json'], env: {}, cwd: ROOT, rerunArgs: ['--contracts', 'contracts/meta'] })
    const drift = report.findings.filter((f) => f.severity !== 'info')
    expect(drift.length).toBeGreaterThan(0)
    for (const f of report.findings) expect(f.rerun).toBe(`npx driftwatch verify ${input} --contracts contracts/meta --out reports/rerun --no-history`)
    expect(drift.some((f) => f.evidence.curl !== undefined)).toBe(true)
    const again = await rerunInProcess(drift[0]!.rerun!)
    for (const f of drift) expect(again.report.findings.map(same)).toContainEqual(same(f))
  })
})

describe('gate', () => {
  it("a failed interaction's rerun is the gate over its own pact file, and fails the same way; a passing one has none", async () => {
    const pacts = tmp.dir()
    cpSync(join(ROOT, 'examples', 'legacy-pacts'), pacts, { recursive: true })
    cpSync(join(ROOT, 'pacts'), pacts, { recursive: true })
    const gate = async (args: string[]) => {
      const out = tmp.dir()
      const code = await main([...args, '--out', out, '--format', 'json'], { stdout: () => {}, stderr: () => {}, env: {}, cwd: ROOT })
      return { code, report: JSON.parse(readFileSync(join(out, 'gate.json'), 'utf8')) as GateReport }
    }
    const first = await gate(['gate', '--pacts', pacts])
    expect(first.code).toBe(1)
    const failed = first.report.interactions.filter((i) => i.status === 'failed')
    expect(failed.length).toBe(1)
    expect(failed[0]!.rerun).toBe(`npx driftwatch gate --pacts ${join(pacts, 'legacy-override-client-whatsapp-cloud-api.json')} --out reports/rerun`)
    const passed = first.report.interactions.filter((i) => i.status === 'passed')
    expect(passed.length).toBeGreaterThan(0)
    for (const i of passed) expect(i.rerun).toBeUndefined()
    const again = await gate(await rerunArgv(failed[0]!.rerun!))
    expect(again.code).toBe(1)
    expect(again.report.interactions.map((i) => [i.description, i.status])).toEqual([[failed[0]!.description, 'failed']])
  })
})

describe('quoting', () => {
  it('hostile text in a rerun stays one word each, and nothing in it runs', async () => {
    const { probeRerun, trafficRerun } = await import('../../src/model/reproduce.ts')
    const dir = tmp.dir()
    const canary = join(dir, 'ran')
    const hostile = `http://h/'; touch ${canary}; echo '$(touch ${canary})\`touch ${canary}\``
    const line = probeRerun({ target: hostile, scenario: 'a b', args: ['--contracts', "it's here"], env: { WHATSAPP_ACCESS_TOKEN: 'ACME_TOKEN', 'BAD;NAME': 'X', WHATSAPP_WABA_ID: '$(x)' } }, ['c.d'])
    const { assignments, argv } = await wordsOf(line)
    expect(argv).toEqual(['npx', 'driftwatch', 'check', '--target', hostile, '--scenario', 'a b', '--only', 'c.d', '--contracts', "it's here", '--out', 'reports/rerun', '--no-history'])
    // Only well-formed variable names are passed, and only by name.
    expect(Object.keys(assignments)).toEqual(['WHATSAPP_ACCESS_TOKEN'])
    expect(line.startsWith('WHATSAPP_ACCESS_TOKEN="$ACME_TOKEN" npx driftwatch check')).toBe(true)
    expect(existsSync(canary)).toBe(false)
    // A capture named like a flag stays a file.
    expect((await wordsOf(trafficRerun('-x.har'))).argv).toEqual(['npx', 'driftwatch', 'verify', './-x.har', '--out', 'reports/rerun', '--no-history'])
  })
})

/** Runs driftwatch in process in `cwd` with `env`: exit code and stdout lines. */
async function run(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string[] }> {
  const stdout: string[] = []
  const code = await main(args, { stdout: (l) => stdout.push(...l.split('\n')), stderr: () => {}, env, cwd })
  return { code, stdout }
}

const readReport = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Report
const apiVersionWarning = (r: Report) => r.findings.find((f) => f.check === 'api-version' && f.severity === 'warning')!

describe('a rerun gives the verdict the run gave', () => {
  it('repeats --fail-on from the command line: DRIFT exit 1, and the rerun too', async () => {
    const out = tmp.dir()
    const first = await run(['check', '--api-version', 'v21.0', '--fail-on', 'warning', '--samples', '2', '--connection', 'reuse', '--out', out, '--no-history', '--format', 'json'], ROOT)
    expect(first.code).toBe(1)
    const f = apiVersionWarning(readReport(join(out, 'report.json')))
    expect(f.rerun).toBe(`npx driftwatch check --target sim --scenario baseline --only ${f.contract} --api-version v21.0 --samples 2 --connection reuse --fail-on warning --out reports/rerun --no-history`)
    const again = await rerunInProcess(f.rerun!)
    expect(again.code).toBe(1)
    expect(again.report.findings.map(same)).toContainEqual(same(f))
  })

  it('repeats a --fail-on from driftwatch.config.yaml or DRIFTWATCH_FAIL_ON, so the line gives the same verdict where neither is set', async () => {
    const project = tmp.dir()
    writeFileSync(join(project, 'driftwatch.config.yaml'), 'check:\n  fail-on: warning\n')
    const fromFile = await run(['check', '--api-version', 'v21.0', '--only', 'phone-numbers.get', '--format', 'json'], project)
    const fromEnv = await run(['check', '--api-version', 'v21.0', '--only', 'phone-numbers.get', '--out', tmp.dir(), '--format', 'json'], ROOT, { DRIFTWATCH_FAIL_ON: 'warning' })
    expect([fromFile.code, fromEnv.code]).toEqual([1, 1])
    const envReport = readReport(fromEnv.stdout.find((l) => l.startsWith('Reports: '))!.slice('Reports: '.length).split(', ')[0]!)
    const lines = [apiVersionWarning(readReport(join(project, 'reports/latest/report.json'))).rerun!, apiVersionWarning(envReport).rerun!]
    for (const line of lines) {
      expect(line).toContain(' --fail-on warning ')
      // Pasted in this checkout, with no config file and no DRIFTWATCH_FAIL_ON: still drift, still exit 1.
      expect((await rerunInProcess(line)).code).toBe(1)
    }
  })

  it('says no --fail-on when the run used the default', async () => {
    const out = tmp.dir()
    expect((await run(['check', '--api-version', 'v21.0', '--only', 'phone-numbers.get', '--out', out, '--no-history', '--format', 'json'], ROOT)).code).toBe(0)
    const line = apiVersionWarning(readReport(join(out, 'report.json'))).rerun!
    expect(line).not.toContain('--fail-on')
    expect((await rerunInProcess(line)).code).toBe(0)
  })
})

describe('a rerun leaves the run it reproduces as it was', () => {
  /** A project as driftwatch init leaves it: check writes to reports/driftwatch, with its history there. */
  function project(config: string): string {
    const dir = tmp.dir()
    writeFileSync(join(dir, 'driftwatch.config.yaml'), config)
    return dir
  }
  const runsIn = (file: string) => {
    const store = new HistoryStore(file)
    try {
      return store.runsOf('sim')
    } finally {
      store.close()
    }
  }

  it('run as printed, it writes to reports/rerun and adds nothing to the history', async () => {
    const dir = project('check:\n  out: reports/driftwatch\n')
    expect((await run(['check', '--scenario', 'media-chunked', '--format', 'json'], dir)).code).toBe(1)
    const reportFile = join(dir, 'reports/driftwatch/report.json')
    const full = readFileSync(reportFile, 'utf8')
    const f = readReport(reportFile).findings.find((x) => x.contract === 'media.retrieve-url')!
    expect(runsIn(join(dir, 'reports/driftwatch/history.db'))).toBe(1)
    // Exactly as printed: no --out or --no-history added by the test.
    const again = await run(await rerunArgv(f.rerun!), dir)
    expect(again.code).toBe(1)
    expect(again.stdout.some((l) => l.startsWith('History:'))).toBe(false)
    expect(readFileSync(reportFile, 'utf8')).toBe(full)
    expect(runsIn(join(dir, 'reports/driftwatch/history.db'))).toBe(1)
    const rerun = readReport(join(dir, 'reports/rerun/report.json'))
    expect(rerun.findings.map(same)).toContainEqual(same(f))
    expect(rerun.results.length).toBeLessThan(readReport(reportFile).results.length)
    expect(existsSync(join(dir, 'reports/rerun/history.db'))).toBe(false)
  })

  it('with a history named in the config file (where --no-history would contradict it), the rerun keeps a history of its own', async () => {
    const dir = project('check:\n  out: reports/driftwatch\n  history: shared.db\n')
    expect((await run(['check', '--scenario', 'media-chunked', '--only', 'media.retrieve-url', '--format', 'json'], dir)).code).toBe(1)
    const f = readReport(join(dir, 'reports/driftwatch/report.json')).findings.find((x) => x.contract === 'media.retrieve-url')!
    expect(f.rerun).toContain(' --out reports/rerun --history reports/rerun/history.db')
    expect((await run(await rerunArgv(f.rerun!), dir)).code).toBe(1)
    expect(runsIn(join(dir, 'shared.db'))).toBe(1)
    expect(readReport(join(dir, 'reports/rerun/report.json')).findings.map(same)).toContainEqual(same(f))
  })

  it("a run that itself wrote to reports/rerun gets reruns that write beside it", async () => {
    const dir = project('check:\n  out: reports/rerun\n')
    await run(['check', '--scenario', 'media-chunked', '--only', 'media.retrieve-url', '--format', 'json'], dir)
    const f = readReport(join(dir, 'reports/rerun/report.json')).findings.find((x) => x.contract === 'media.retrieve-url')!
    expect(f.rerun).toContain(' --out reports/rerun-again --no-history')
  })
})

describe('a rerun against a live target leaves nothing behind', () => {
  it('--only media.retrieve-url (a rerun) pulls in the upload it reads and the delete that undoes it: the media store is empty after', async () => {
    const sim = await startSimulator({ scenario: 'media-chunked' })
    sims.push(sim)
    const env = { WHATSAPP_ACCESS_TOKEN: sim.credentials.token, WHATSAPP_PHONE_NUMBER_ID: sim.credentials.phoneNumberId, WHATSAPP_WABA_ID: sim.credentials.wabaId }
    const { report } = await runCheck({ target: sim.url, only: ['media.retrieve-url'], contractsDir: 'contracts/meta', apiVersion: 'v23.0', outDir: tmp.dir(), formats: ['json'], env, cwd: ROOT, retryBudgetSeconds: 0 })
    expect(report.results.map((r) => [r.contract, r.status])).toEqual([
      ['phone-numbers.get', 'passed'],
      ['media.upload', 'passed'],
      ['media.retrieve-url', 'failed'],
      ['media.delete', 'passed'],
    ])
    expect(sim.state.media.size).toBe(0)
  })

  it('a selection that creates nothing pulls in no cleanup', async () => {
    const out = tmp.dir()
    expect((await run(['check', '--only', 'phone-numbers.get', '--out', out, '--no-history', '--format', 'json'], ROOT)).code).toBe(0)
    expect(readReport(join(out, 'report.json')).results.map((r) => r.contract)).toEqual(['phone-numbers.get'])
  })

  it('check --target sim --only media.retrieve-url, the rerun as printed, runs media.delete too', async () => {
    const out = tmp.dir()
    await run(['check', '--target', 'sim', '--only', 'media.retrieve-url', '--out', out, '--no-history', '--format', 'json'], ROOT)
    expect(readReport(join(out, 'report.json')).results.map((r) => r.contract)).toContain('media.delete')
  })
})
