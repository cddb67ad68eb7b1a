/**
 * The CLI as users and CI jobs call it: the real bin in a child process, real exit codes, real
 * files. Parsing-only cases call main() in-process to stay fast.
 */
import { spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { graphErrorResponse } from '../../src/simulator/graph.ts'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'
import { closedPort } from '../helpers/raw-server.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'driftwatch.js')
const tmp: string[] = []
const sims: RunningSimulator[] = []
afterEach(async () => {
  for (const s of sims.splice(0)) await s.close()
})
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })))

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dw-cli-'))
  tmp.push(d)
  return d
}

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the bin; `onStderr` may act on output as it arrives (e.g. send SIGINT). */
function cli(args: string[], env: Record<string, string> = {}, onStderr?: (text: string, kill: (sig: NodeJS.Signals) => void) => void): Promise<Ran> {
  return new Promise((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WHATSAPP_')))
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...clean, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => {
      stderr += d
      onStderr?.(stderr, (sig) => child.kill(sig))
    })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

function simEnv(sim: RunningSimulator): Record<string, string> {
  const c = sim.credentials
  return { WHATSAPP_ACCESS_TOKEN: c.token, WHATSAPP_PHONE_NUMBER_ID: c.phoneNumberId, WHATSAPP_WABA_ID: c.wabaId, WHATSAPP_TEST_RECIPIENT: c.testRecipient }
}

function readAll(dir: string): string {
  return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n')
}

describe('driftwatch check', () => {
  it('keeps its exit code and reports when the reader closes stdout early (| head -1)', async () => {
    const out = tempDir()
    const r = await new Promise<Ran>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'check', '--quiet', '--out', out], { cwd: ROOT })
      let stderr = ''
      child.stdout.destroy() // nobody reads: every write to stdout meets a closed pipe
      child.stderr.on('data', (d: Buffer) => (stderr += d))
      child.on('close', (code) => resolve({ code, stdout: '', stderr }))
    })
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled/)
    expect(r.code).toBe(0)
    expect(readdirSync(out).sort()).toEqual(['history.db', 'junit.xml', 'report.json', 'report.md'])
  })

  it('against the embedded simulator: exit 0, progress on stderr, summary and report paths on stdout', async () => {
    const out = tempDir()
    const r = await cli(['check', '--out', out])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/driftwatch check: \d+ contracts against the simulator \(http:\/\/127\.0\.0\.1:\d+, scenario baseline\), API v23\.0; compared with golden recordings of 13 contracts \(oldest \d{4}-\d{2}-\d{2}\)/)
    expect(r.stderr).toMatch(/\[ 1\/\d+\] ✓ /)
    expect(r.stdout).toMatch(/^PASS: \d+ contracts \(\d+ passed, 0 with drift, 0 skipped, 0 inconclusive\)/)
    expect(readdirSync(out).sort()).toEqual(['history.db', 'junit.xml', 'report.json', 'report.md'])
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'))
    expect(report).toMatchObject({ version: 1, target: 'sim', apiVersion: 'v23.0', outcome: 'pass', findings: [] })
    expect(Object.keys(report.summary)).toEqual(expect.arrayContaining(['contracts', 'probes', 'passed', 'skipped', 'breaking', 'warning', 'info']))
  })

  it('drift exits 1, and --fail-on never turns it into 0 with the same report', async () => {
    const contracts = tempDir()
    cpSync(join(ROOT, 'contracts', 'meta'), contracts, { recursive: true })
    const f = join(contracts, 'phone-numbers.get.yaml')
    // The probe narrows its operation's framing to chunked; the simulator answers with a Content-Length.
    writeFileSync(f, readFileSync(f, 'utf8').replace('expect:\n  status: 200\n', 'expect:\n  status: 200\n  framing: chunked\n'))
    const out = tempDir()
    const r = await cli(['check', '--contracts', contracts, '--only', 'phone-numbers.*', '--out', out, '--format', 'md'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('✗ phone-numbers.get')
    expect(r.stderr).toContain('breaking: Framing changed to content-length (contract: chunked)')
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('# driftwatch: DRIFT: 1 breaking')
    const never = await cli(['check', '--contracts', contracts, '--only', 'phone-numbers.*', '--out', out, '--fail-on', 'never', '--quiet'])
    expect(never.code).toBe(0)
    expect(never.stderr).not.toContain('✗')
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).findings[0]).toMatchObject({ new: false })
  })

  it('a live target without credentials exits 2 naming every missing variable, before any request', async () => {
    const r = await cli(['check', '--target', 'https://graph.facebook.com'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('missing environment variables WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_WABA_ID')
    expect(r.stderr).toContain('[DW_CONFIG_MISSING_ENV]')
  })

  it('an unreachable target exits 3 (inconclusive), not 1', async () => {
    const port = await closedPort()
    const out = tempDir()
    const env = { WHATSAPP_ACCESS_TOKEN: 'EAAunreachable0000000000000000', WHATSAPP_PHONE_NUMBER_ID: '1', WHATSAPP_WABA_ID: '2' }
    const r = await cli(['check', '--target', `http://127.0.0.1:${port}`, '--only', 'phone-numbers.get', '--out', out], env)
    expect(r.code).toBe(3)
    expect(r.stdout).toMatch(/^INCONCLUSIVE/)
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).outcome).toBe('inconclusive')
  })

  it('invalid contracts exit 2 with file:line and nothing probed', async () => {
    const contracts = tempDir()
    writeFileSync(join(contracts, 'x.y.yaml'), 'id: x.y\ntitle: X\nrequest: { method: GET, path: / }\nexpect: { status: 200, framing: chunky }\n')
    const r = await cli(['check', '--contracts', contracts])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/x\.y\.yaml:4:\d+ at \/expect\/framing: must be one of content-length, chunked, any \(got "chunky"\); did you mean "chunked"\?/)
    expect(r.stderr).toContain('nothing was probed')
  })

  it('an output directory that cannot exist fails fast with exit 2 (not a hang, even under /proc)', async () => {
    const file = join(tempDir(), 'a-file')
    writeFileSync(file, 'x')
    const r = await cli(['check', '--only', 'phone-numbers.get', '--out', join(file, 'sub'), '--quiet'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/cannot create output directory .*a-file\/sub \(ENOTDIR\); pass --out with a writable directory\. driftwatch stopped before doing anything\. \[DW_OUTPUT_FAILED\]/)
    // Found before the run starts, not after a live upload, send and delete.
    expect(r.stderr).not.toContain('contracts against')
    if (process.platform === 'linux') {
      // Node's own recursive mkdir spins forever here (procfs answers ENOENT); ours must not.
      const p = await cli(['check', '--only', 'phone-numbers.get', '--out', '/proc/driftwatch-test/out', '--quiet'])
      expect(p.code).toBe(2)
      expect(p.stderr).toContain('[DW_OUTPUT_FAILED]')
    }
  })

  it('an unwritable --out or --recordings stops check, record, verify and proxy before a single request', async () => {
    const sim = await startSimulator()
    sims.push(sim)
    const file = join(tempDir(), 'a-file')
    writeFileSync(file, 'x')
    const bad = join(file, 'sub')
    const runs: [string[], string][] = [
      [['check', '--target', sim.url, '--out', bad], '--out'],
      [['record', '--target', sim.url, '--recordings', bad], '--recordings'],
      [['record', '--target', sim.url, '--recordings', tempDir(), '--out', bad], '--out'],
      [['verify', 'suites/verify/fixtures/cloud-api-traffic.har', '--out', bad], '--out'],
      [['proxy', '--upstream', sim.url, '--port', '0', '--out', bad], '--out'],
      [['gate', '--out', bad], '--out'],
    ]
    for (const [args, flag] of runs) {
      const err: string[] = []
      const code = await main(args, { stdout: () => undefined, stderr: (l) => err.push(l), env: simEnv(sim), cwd: ROOT })
      expect(code, args.join(' ')).toBe(2)
      expect(err.join('\n'), args.join(' ')).toContain(`pass ${flag} with a writable directory. driftwatch stopped before doing anything. [DW_OUTPUT_FAILED]`)
    }
    expect(sim.requests).toBe(0)
  })

  it('--only that matches nothing is a usage error before anything starts', async () => {
    const r = await cli(['check', '--only', 'nope.*'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--only nope.* matches no probe')
    expect(r.stderr).not.toContain('against the simulator')
  })

  it('never writes the token or the test recipient anywhere, even when the upstream echoes them', async () => {
    const sim = await startSimulator({
      scenario: {
        name: 'echo',
        description: 'echoes credentials back',
        source: 'test',
        async respond(req, next, ctx) {
          const res = await next()
          if (req.url.pathname.endsWith('/messages')) {
            // a drifting send: 500 whose body and headers quote the request's credentials and recipient
            const e = graphErrorResponse({ requested: 'v23.0', served: 'v23.0', ids: ctx.state.nextRequestIds() }, { status: 500, message: `rejected ${req.headers.authorization} for ${req.body.toString()}`, type: 'OAuthException', code: 1 })
            return { ...e, headers: [...e.headers, ['X-Echo', String(req.headers.authorization)]] }
          }
          return res
        },
      },
    })
    sims.push(sim)
    const out = tempDir()
    const env = simEnv(sim)
    const r = await cli(['check', '--target', sim.url, '--out', out], env)
    expect(r.code).toBe(1)
    const everything = [r.stdout, r.stderr, readAll(out)].join('\n')
    expect(everything).toContain('[REDACTED]')
    expect(everything).not.toContain(env.WHATSAPP_ACCESS_TOKEN)
    expect(everything).not.toContain(env.WHATSAPP_TEST_RECIPIENT)
  })

  it('a named scenario replays an incident: downtime longer than --retry-budget is inconclusive (exit 3)', async () => {
    const out = tempDir()
    const r = await cli(['check', '--scenario', 'api-update-downtime', '--retry-budget', '1', '--out', out])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/↻ phone-numbers\.get: upstream in downtime, 503 Service Unavailable \(OAuthException 2: \(#2\) Service temporarily unavailable\); retrying in 1\.0 s/)
    expect(r.stdout).toMatch(/^INCONCLUSIVE/)
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).scenario).toBe('api-update-downtime')
  })

  it('Ctrl-C stops after the request in flight, writes a partial report and exits 130', async () => {
    const sim = await startSimulator({
      scenario: { name: 'slow', description: 'slow', source: 'test', respond: async (_req, next) => new Promise((res) => setTimeout(() => res(next()), 250)) },
    })
    sims.push(sim)
    const out = tempDir()
    let sent = false
    const r = await cli(['check', '--target', sim.url, '--out', out], simEnv(sim), (text, kill) => {
      if (!sent && text.includes('[ 1/')) {
        sent = true
        kill('SIGINT')
      }
    })
    expect(r.code).toBe(130)
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'))
    expect(report.interrupted).toBe(true)
    expect(report.results.some((x: { reason?: string }) => x.reason === 'run interrupted before this contract')).toBe(true)
  })
})

describe('driftwatch sim', () => {
  it('prints its URL and serves the Graph API until interrupted', async () => {
    let url = ''
    const child = spawn(process.execPath, [BIN, 'sim', '--port', '0'], { cwd: ROOT })
    const stdout = await new Promise<string>((resolve) => {
      let s = ''
      child.stdout.on('data', (d: Buffer) => {
        s += d
        if (s.includes('Ctrl-C')) resolve(s)
      })
    })
    url = stdout.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)![1]!
    const token = stdout.match(/WHATSAPP_ACCESS_TOKEN=(\S+)/)![1]!
    const phone = stdout.match(/WHATSAPP_PHONE_NUMBER_ID=(\d+)/)![1]!
    const res = await fetch(`${url}/v23.0/${phone}`, { headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('facebook-api-version')).toBe('v23.0')
    const code = await new Promise<number | null>((resolve) => {
      child.on('close', resolve)
      child.kill('SIGINT')
    })
    expect(code).toBe(130)
  })
})

describe('arguments (in-process)', () => {
  async function run(args: string[]) {
    const out: string[] = []
    const err: string[] = []
    const code = await main(args, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: {}, cwd: ROOT })
    return { code, out: out.join('\n'), err: err.join('\n') }
  }

  it('--help lists every command; check --help lists every flag', async () => {
    const top = await run(['--help'])
    expect(top.code).toBe(0)
    expect(top.out).toContain('driftwatch check')
    expect(top.out).toContain('driftwatch sim')
    const check = await run(['check', '--help'])
    for (const flag of ['--target', '--contracts', '--only', '--samples', '--api-version', '--out', '--format', '--fail-on', '--scenario', '--allow-host', '--timeout', '--retry-budget', '--quiet', '--debug', '--help']) expect(check.out).toContain(flag)
    const sim = await run(['sim', '--help'])
    for (const flag of ['--port', '--host', '--scenario', '--help']) expect(sim.out).toContain(flag)
  })

  it('every command answers `help <command>` and `<command> --help` alike, with the same exit-code section', async () => {
    const { COMMANDS } = await import('../../src/cli/index.ts')
    const codes = (await run(['--help'])).out.slice((await run(['--help'])).out.indexOf('Exit codes'))
    expect(codes).toMatch(/^Exit codes \(every command\):\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}3 .*\n {2}130 /)
    for (const c of COMMANDS) {
      const viaHelp = await run(['help', c.name])
      const viaFlag = await run([c.name, '--help'])
      expect(viaHelp.code, c.name).toBe(0)
      expect(viaHelp.out, c.name).toBe(viaFlag.out)
      expect(viaHelp.out, c.name).toMatch(new RegExp(`^driftwatch ${c.name}: `))
      expect(viaHelp.out.endsWith(codes), `${c.name} --help ends with the shared exit codes`).toBe(true)
      // Global options: one meaning, one wording, in every command.
      for (const g of ['--quiet', '--debug', '--help']) expect(viaHelp.out, `${c.name} ${g}`).toContain(g)
    }
    expect((await run(['help', 'chek'])).err).toContain('did you mean "check"?')
  })

  it('every command that writes a report takes --out, --format and --fail-on, with one wording', async () => {
    const { COMMAND_OPTIONS } = await import('../../src/cli/index.ts')
    for (const name of ['check', 'record', 'verify', 'gate', 'proxy']) {
      const o = COMMAND_OPTIONS[name]!
      expect(Object.keys(o), name).toEqual(expect.arrayContaining(['out', 'format', 'fail-on', 'quiet', 'debug', 'help']))
      expect(o['format']!.help, name).toBe(COMMAND_OPTIONS['check']!['format']!.help)
      expect(o.out!.help, name).toMatch(/^where the reports go/)
    }
  })

  it.each([
    [['check', '--bogus'], 'unknown option "--bogus" for check (see driftwatch help check)'],
    [['check', '--sample', '3'], 'unknown option "--sample" for check; did you mean "--samples"?'],
    [['verify', 'x.har', '--fail-one', 'warning'], 'did you mean "--fail-on"?'],
    [['chek'], 'unknown command "chek"; did you mean "check"?'],
    [['check', '--samples', '-1'], '--samples must be a whole number from 1 to 100 (got "-1")'],
    [['check', '--timeout', '-5'], '--timeout must be a whole number from 100 up (got "-5")'],
    [['sim', '--port', '-1'], '--port must be a whole number from 0 to 65535 (got "-1")'],
    [['proxy', '--upstream', 'http://x', '--report-dir', 'r'], '--report-dir is now --out (reports)'],
    [['record', '--out', 'recordings/meta'], "--out is where record's reports go, and recordings/meta holds recordings: pass the recordings directory as --recordings recordings/meta"],
    [['check', '--fail-on', 'warn'], 'did you mean "warning"?'],
    [['check', '--samples', 'x'], '--samples must be a whole number'],
    [['check', '--fail-on', 'sometimes'], '--fail-on must be breaking, warning, info or never'],
    [['check', '--format', 'md,pdf'], '--format takes a comma-separated list of json, md, junit'],
    [['check', '--api-version', '23'], '--api-version must look like v23.0'],
    [['check', '--scenario', 'nope'], 'unknown scenario "nope" (available: baseline, media-chunked,'],
    [['check', '--scenario', 'media-chunkd'], 'unknown scenario "media-chunkd"; did you mean "media-chunked"?'],
    [['check', '--connection', 'fersh'], '--connection must be fresh or reuse, not "fersh"; did you mean "fresh"?'],
    [['check', '--target', 'ftp://x'], '--target must be an http(s) URL'],
    [['check', '--target', 'https://graph.facebook.com/v23.0'], 'should not contain the API version'],
    [['frobnicate'], 'unknown command "frobnicate"'],
  ])('%j is a usage error (exit 2): %s', async (args, message) => {
    const r = await run(args)
    expect(r.code).toBe(2)
    expect(r.err).toContain(message)
  })

  it('checks live credentials for shape before probing', async () => {
    const out: string[] = []
    const code = await main(['check', '--target', 'https://graph.facebook.com'], {
      stdout: () => undefined,
      stderr: (l) => out.push(l),
      env: { WHATSAPP_ACCESS_TOKEN: 'x'.repeat(20), WHATSAPP_PHONE_NUMBER_ID: '+1 631 555 0142', WHATSAPP_WABA_ID: '1' },
      cwd: ROOT,
    })
    expect(code).toBe(2)
    expect(out.join('\n')).toContain('WHATSAPP_PHONE_NUMBER_ID must be a numeric Graph object ID (this looks like the phone number itself')
  })
})
