/**
 * The promise every fuzz case checks: whatever the input, the CLI ends with exit 0, 1 or 3 and a
 * report.json whose outcome says the same, or with exit 2 and a stable DW_ code other than
 * DW_INTERNAL; never a stack trace, never "internal error".
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, onTestFinished } from 'vitest'
import { main, type CliIO } from '../../src/cli/main.ts'
import type { Report } from '../../src/model/report.ts'
import { hostileServer, type Reply } from './hostile-server.ts'

/** What one CLI run left behind. */
export interface CliRun {
  code: number
  stdout: string
  stderr: string
  out: string
}

/**
 * Runs `driftwatch <args> --out <tmp>` in-process with a captured io, inside a test. The report
 * directory goes when that test ends, unless DRIFTWATCH_FUZZ_KEEP asks to look at it. (Per test,
 * not per file: this module is loaded once per vitest worker, not once per test file.)
 */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const keep = Boolean(process.env.DRIFTWATCH_FUZZ_KEEP)
  const out = mkdtempSync(join(tmpdir(), keep ? 'dw-fuzz-kept-' : 'dw-fuzz-out-'))
  if (!keep) onTestFinished(() => rmSync(out, { recursive: true, force: true }))
  const stdout: string[] = []
  const stderr: string[] = []
  const io: CliIO = { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l), env, cwd: join(import.meta.dirname, '..', '..') }
  const code = await main([...args, '--out', out], io)
  if (process.env.DRIFTWATCH_FUZZ_KEEP) stderr.push(`(kept ${out})`)
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n'), out }
}

/** report.json parsed, or why it could not be. */
function readReport(file: string): { outcome?: string; error?: { code?: string } } | string {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { outcome?: string; error?: { code?: string } }
  } catch (err) {
    return `report.json is not valid JSON (${(err as Error).message})`
  }
}

const OUTCOME_CODE: Record<string, number> = { pass: 0, drift: 1, inconclusive: 3 }
const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|<anonymous>\)?)$/m

/** Why a run broke the promise, or undefined when it kept it. */
export function brokenPromise(r: CliRun): string | undefined {
  if (STACK_FRAME.test(r.stderr) || STACK_FRAME.test(r.stdout)) return 'a stack trace was printed'
  if (/DW_INTERNAL|internal error|Maximum call stack/i.test(r.stderr + r.stdout)) return 'an internal error was reported'
  const file = join(r.out, 'report.json')
  if (r.code === 2) {
    if (!/\[DW_[A-Z_]+\]/.test(r.stderr)) return 'exit 2 without a DW_ code on stderr'
    if (existsSync(file)) {
      const report = readReport(file)
      if (typeof report === 'string') return report
      if (report.error?.code === 'DW_INTERNAL') return 'report.json says DW_INTERNAL'
    }
    return undefined
  }
  if (![0, 1, 3].includes(r.code)) return `exit ${r.code}`
  if (!existsSync(file)) return `exit ${r.code} without report.json`
  const report = readReport(file)
  if (typeof report === 'string') return report
  if (OUTCOME_CODE[report.outcome ?? ''] !== r.code) return `exit ${r.code} but report.json says outcome ${report.outcome}`
  return undefined
}

/** The failure message: what broke, how to replay it, and what the run printed. */
export function explain(r: CliRun, why: string, seed: number, what: string): string {
  return [`${what}: ${why}`, `replay with DRIFTWATCH_FUZZ_SEED=${seed}`, `exit ${r.code}`, `stderr:\n${r.stderr.slice(0, 4000)}`, `stdout:\n${r.stdout.slice(0, 1000)}`].join('\n')
}

/** Credentials for a live-target run against a loopback server (fake, and shaped like Meta's). */
export const FUZZ_ENV = { WHATSAPP_ACCESS_TOKEN: 'EAAfuzz0token0not0real0fuzz0ZDZD', WHATSAPP_PHONE_NUMBER_ID: '106540352242922', WHATSAPP_WABA_ID: '102290129340398' }

/** A 200 answer with a JSON body. */
export function jsonReply(body: string): Reply {
  return { label: 'json', steps: [{ write: `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}` }] }
}

/** `check --only <only>` against a server answering `answer(head, base)`; asserts the promise, returns the exit code and report. */
export async function checkAgainst(only: string, answer: (head: string, base: string) => Reply): Promise<{ code: number; report: Report }> {
  const srv = await hostileServer(answer)
  try {
    const r = await runCli(['check', '--target', srv.url, '--only', only, '--recordings', 'suites/fuzz/none', '--retry-budget', '0'], FUZZ_ENV)
    expect(brokenPromise(r)).toBeUndefined()
    return { code: r.code, report: JSON.parse(readFileSync(join(r.out, 'report.json'), 'utf8')) as Report }
  } finally {
    await srv.close()
  }
}
