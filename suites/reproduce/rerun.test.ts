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

/** Runs a rerun line in process (main with the shell's words), into its own --out; returns its report. */
async function rerunInProcess(line: string, env: Record<string, string> = {}, swap?: [string, string]): Promise<{ code: number; report: Report }> {
  const { argv } = await wordsOf(line)
  expect(argv[0]).toBe('driftwatch')
  const args = argv.slice(1).map((w) => (swap && w === swap[0] ? swap[1] : w))
  const out = tmp.dir()
  const code = await main([...args, '--out', out, '--no-history', '--format', 'json', '--quiet'], { stdout: () => {}, stderr: () => {}, env, cwd: ROOT })
  return { code, report: JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report }
}

/** A `driftwatch` on PATH that is this checkout's bin, so a printed line runs exactly as printed. */
function shimDir(): string {
  const dir = tmp.dir()
  const shim = join(dir, 'driftwatch')
  writeFileSync(shim, `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`)
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
        expect(f.rerun, `${f.contract} ${f.check}`).toBe(`driftwatch check --target sim --scenario ${scenario} --only ${f.contract}`)
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
    for (const f of webhook) expect(f.rerun).toBe(`driftwatch check --target sim --scenario ${scenario} --only messages.send-text --round-trip 1`)
    const again = await rerunInProcess(webhook[0]!.rerun!)
    for (const f of webhook) expect(again.report.findings.map(same)).toContainEqual(same(f))
  })

  it('the line check prints under a contract with drift runs as printed, through a shell, and shows the finding again', async () => {
    const first = await shell('driftwatch check --scenario media-post-intermittent', ['--out', tmp.dir(), '--no-history', '--format', 'json', '--quiet'])
    expect(first.code).toBe(1)
    const printed = [...first.stderr.matchAll(/^ {6}re-run: (.+)$/gm)].map((m) => m[1]!)
    expect(printed).toEqual(['driftwatch check --target sim --scenario media-post-intermittent --only media.post-method'])
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
    const { report } = await runCheck({ target: sim.url, only: ['phone-numbers.get', 'media.retrieve-url'], contractsDir: 'contracts/meta', apiVersion: 'v23.0', outDir: tmp.dir(), formats: ['json'], env, cwd: ROOT, retryBudgetSeconds: 0, rerunArgs: ['--retry-budget', '0'] })
    const byContract = new Map(report.findings.map((f) => [f.contract, f]))
    const phone = byContract.get('phone-numbers.get')!
    const media = byContract.get('media.retrieve-url')!
    expect(phone.rerun).toBe(`driftwatch check --target ${sim.url} --only phone-numbers.get --retry-budget 0`)
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
    expect(acme.rerun).toBe(`WHATSAPP_ACCESS_TOKEN="$ACME_TOKEN" WHATSAPP_PHONE_NUMBER_ID="$ACME_PHONE" WHATSAPP_WABA_ID="$ACME_WABA" WHATSAPP_TEST_RECIPIENT= driftwatch check --target ${sim.url} --only phone-numbers.get`)
    expect(lab.rerun).toBe('driftwatch check --target sim --scenario json-served-as-javascript --only phone-numbers.get')
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
    expect(err[lab + 1]).toBe('      re-run: driftwatch check --target sim --scenario media-chunked --only media.retrieve-url')
    expect(err.filter((l) => l.includes('re-run:'))).toHaveLength(1)
  })
})

describe('traffic', () => {
  it('a verify finding reruns as verify on the same capture, and keeps its curl (the application sent that request)', async () => {
    const input = 'suites/verify/fixtures/meta-media.har'
    const { report } = await runVerify({ input, contractsDir: 'contracts/meta', outDir: tmp.dir(), formats: ['json'], env: {}, cwd: ROOT, rerunArgs: ['--contracts', 'contracts/meta'] })
    const drift = report.findings.filter((f) => f.severity !== 'info')
    expect(drift.length).toBeGreaterThan(0)
    for (const f of report.findings) expect(f.rerun).toBe(`driftwatch verify ${input} --contracts contracts/meta`)
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
    expect(failed[0]!.rerun).toBe(`driftwatch gate --pacts ${join(pacts, 'legacy-override-client-whatsapp-cloud-api.json')}`)
    const passed = first.report.interactions.filter((i) => i.status === 'passed')
    expect(passed.length).toBeGreaterThan(0)
    for (const i of passed) expect(i.rerun).toBeUndefined()
    const { argv } = await wordsOf(failed[0]!.rerun!)
    const again = await gate(argv.slice(1))
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
    expect(argv).toEqual(['driftwatch', 'check', '--target', hostile, '--scenario', 'a b', '--only', 'c.d', '--contracts', "it's here"])
    // Only well-formed variable names are passed, and only by name.
    expect(Object.keys(assignments)).toEqual(['WHATSAPP_ACCESS_TOKEN'])
    expect(line.startsWith('WHATSAPP_ACCESS_TOKEN="$ACME_TOKEN" driftwatch check')).toBe(true)
    expect(existsSync(canary)).toBe(false)
    // A capture named like a flag stays a file.
    expect((await wordsOf(trafficRerun('-x.har'))).argv).toEqual(['driftwatch', 'verify', './-x.har'])
  })
})
