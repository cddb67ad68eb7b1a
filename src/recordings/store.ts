/**
 * Golden recordings: what an upstream really did, one file per contract and name
 * (`recordings/meta/<contract-id>/<name>.json`). Observations are already redacted by the transport;
 * files get a last redaction pass and are written atomically. `gate` replays them as a provider.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { ensureDir, writeFileAtomic } from '../atomic-write.ts'
import { HarnessError } from '../errors.ts'
import type { Observation } from '../observation.ts'
import type { Redactor } from '../transport/redact.ts'

/** One recording file. */
export interface Recording {
  version: 1
  contract: string
  /** e.g. `sim-baseline` or `live`. */
  name: string
  /** `sim` or the base URL recorded. */
  target: string
  scenario?: string
  apiVersion: string
  recordedAt: string
  observations: Observation[]
}

/** Path of a recording inside a recordings directory. */
export function recordingPath(dir: string, contract: string, name: string): string {
  return join(dir, contract, `${name}.json`)
}

/** Writes a recording atomically, with a last redaction pass; returns its path. */
export async function writeRecording(dir: string, rec: Recording, redactor: Redactor): Promise<string> {
  const file = recordingPath(dir, rec.contract, rec.name)
  try {
    await ensureDir(join(dir, rec.contract))
    await writeFileAtomic(file, redactor.text(`${JSON.stringify(rec, null, 2)}\n`))
  } catch (err) {
    throw new HarnessError('DW_OUTPUT_FAILED', `cannot write recording ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  return file
}

/** Every recording in a directory, by contract id; a malformed file fails with its path and what is wrong. */
export function loadRecordings(dir: string, cwd: string = process.cwd()): Map<string, Recording[]> {
  const out = new Map<string, Recording[]>()
  if (!existsSync(dir)) return out
  for (const contract of readdirSync(dir).sort()) {
    const cdir = join(dir, contract)
    if (!statSync(cdir).isDirectory()) continue
    for (const f of readdirSync(cdir).filter((x) => x.endsWith('.json')).sort()) {
      const file = join(cdir, f)
      const rel = relative(cwd, file) || file
      let rec: Recording
      try {
        rec = JSON.parse(readFileSync(file, 'utf8')) as Recording
      } catch (err) {
        throw new HarnessError('DW_RECORDING_INVALID', `recording ${rel} is not valid JSON: ${(err as Error).message}`, { file: rel })
      }
      const problem =
        rec?.version !== 1 ? 'missing or unknown "version" (expected 1)'
        : rec.contract !== contract ? `"contract" is "${rec.contract}" but the file is in ${contract}/`
        : !Array.isArray(rec.observations) || rec.observations.length === 0 ? '"observations" must be a non-empty list'
        : undefined
      if (problem) throw new HarnessError('DW_RECORDING_INVALID', `recording ${rel}: ${problem}; re-record it with driftwatch record`, { file: rel })
      const list = out.get(contract) ?? []
      list.push(rec)
      out.set(contract, list)
    }
  }
  return out
}

/** The most recent recording of a contract (by recordedAt), or undefined. */
export function latestRecording(all: Map<string, Recording[]>, contract: string): Recording | undefined {
  return [...(all.get(contract) ?? [])].sort((a, b) => b.recordedAt.localeCompare(a.recordedAt))[0]
}
