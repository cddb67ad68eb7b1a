/** Runs Pact's Verifier (in a child process, see pact-verifier-worker.mjs) and reads its JSON report. */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HarnessError } from '../util/errors.ts'

const WORKER = fileURLToPath(new URL('./pact-verifier-worker.mjs', import.meta.url))

/** One mismatch Pact found, located by its path (`$.file_size`, `status`, a header name). */
export interface PactMismatch {
  type: string
  path?: string
  mismatch: string
  expected?: string
  actual?: string
}

/** Pact's verdict per interaction description. */
export interface PactVerdict {
  ok: boolean
  /** Interaction description -> mismatches (empty when it verified). */
  mismatches: Map<string, PactMismatch[]>
  /** Pact's own report lines, ANSI stripped (for --verbose). */
  output: string[]
}

interface WorkerResult {
  ok: boolean
  json: string | null
  error?: string
}

/** Verifies pact files against a provider base URL. */
export async function verifyPacts(providerBaseUrl: string, pactUrls: readonly string[]): Promise<PactVerdict> {
  const dir = mkdtempSync(join(tmpdir(), 'driftwatch-gate-'))
  const out = join(dir, 'result.json')
  try {
    const stderr: string[] = []
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [WORKER, JSON.stringify({ providerBaseUrl, pactUrls }), out], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PACT_DO_NOT_TRACK: 'true' } })
      child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()))
      child.on('error', reject)
      child.on('close', resolve)
    })
    let result: WorkerResult
    try {
      result = JSON.parse(readFileSync(out, 'utf8')) as WorkerResult
    } catch {
      throw new HarnessError('DW_INTERNAL', `Pact's verifier did not run (exit ${code}): ${stderr.join('').trim().split('\n').slice(-3).join(' ')}`)
    }
    if (!result.json) throw new HarnessError('DW_INTERNAL', `Pact's verifier failed to run: ${result.error ?? 'no report'}`)
    return parseReport(result.ok, result.json)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

interface PactJsonReport {
  result?: boolean
  output?: string[]
  errors?: { interaction: string; mismatch?: { type?: string; message?: string; mismatches?: { type: string; path?: string; mismatch: string; expected?: unknown; actual?: unknown }[] } }[]
  interactionResults?: { description: string; result: string }[]
}

function parseReport(ok: boolean, text: string): PactVerdict {
  const r = JSON.parse(text) as PactJsonReport
  const mismatches = new Map<string, PactMismatch[]>()
  for (const ir of r.interactionResults ?? []) mismatches.set(ir.description, [])
  for (const e of r.errors ?? []) {
    // Pact names the interaction "Verifying a pact between A and B [Given s] - <description>".
    const description = [...mismatches.keys()].find((d) => e.interaction.endsWith(` - ${d}`)) ?? e.interaction
    const list = mismatches.get(description) ?? []
    if (e.mismatch?.mismatches?.length) {
      for (const m of e.mismatch.mismatches) list.push({ type: m.type, ...(m.path ? { path: m.path } : {}), mismatch: m.mismatch, ...(m.expected !== undefined ? { expected: String(m.expected) } : {}), ...(m.actual !== undefined ? { actual: String(m.actual) } : {}) })
    } else {
      list.push({ type: e.mismatch?.type ?? 'error', mismatch: e.mismatch?.message ?? 'verification failed' })
    }
    mismatches.set(description, list)
  }
  // eslint-disable-next-line no-control-regex
  const output = (r.output ?? []).join('\n').replace(/\u001b\[[0-9;]*m/g, '').split('\n')
  return { ok: ok && r.result !== false, mismatches, output }
}
