/**
 * `driftwatch record` as a library call: run the contracts in a session and write what the
 * upstream did as golden recordings, one file per contract. The checks run too, so a recording
 * made while the upstream drifts says so before anyone commits it.
 */
import { runInSession, type CheckOptions } from './check.ts'
import type { Probe } from './contracts/types.ts'
import type { Observation } from './observation.ts'
import { PersonalDataRedactor } from './recordings/personal-data.ts'
import { prepareRecording, writeRecording, type Recording, type WriteStatus } from './recordings/store.ts'
import type { Report } from './report.ts'
import { openSession } from './session.ts'
import type { Redactor } from './transport/redact.ts'

/** Options of a record run. */
export interface RecordOptions extends Omit<CheckOptions, 'outDir' | 'formats' | 'recordingsDir'> {
  /** Recordings directory, e.g. `recordings/meta`. */
  recordingsDir: string
  /** File name (without .json); default `sim-<scenario>` for the simulator, `live` otherwise. */
  name?: string
}

/** What was recorded. */
export interface RecordResult {
  report: Report
  /** Every recording file, written or left as it was because nothing but volatile values changed. */
  files: { file: string; status: WriteStatus }[]
  redactor: Redactor
  /** Problems the run carried on past. */
  warnings: string[]
}

/** Largest binary body kept in a recording (media downloads replay from it). */
const KEEP_BINARY_BYTES = 16 * 1024 * 1024

/** Records every selected contract that ran; skipped contracts leave their old recordings alone. */
export async function runRecord(opts: RecordOptions): Promise<RecordResult> {
  // Compared with what is recorded there now: the run says what changed before it is overwritten.
  const session = await openSession({ ...opts, keepBinaryBytes: KEEP_BINARY_BYTES, recordingsDir: opts.recordingsDir, tolerateBadRecordings: true })
  try {
    const collected: [Probe, Observation[]][] = []
    const report = await runInSession(session, { ...opts, onObservations: (c, obs) => collected.push([c, [...obs]]) })
    const name = opts.name ?? (session.scenario ? `sim-${session.scenario}` : 'live')
    const files: RecordResult['files'] = []
    // One per run: placeholders are numbered in the order values first appear, the same every run.
    const personal = new PersonalDataRedactor()
    for (const [contract, observations] of collected) {
      if (observations.length === 0) continue
      const rec: Recording = {
        version: 1,
        contract: contract.id,
        name,
        target: session.label,
        ...(session.scenario ? { scenario: session.scenario } : {}),
        apiVersion: opts.apiVersion,
        recordedAt: observations[0]!.startedAt,
        observations,
      }
      files.push(await writeRecording(opts.recordingsDir, prepareRecording(rec, personal), session.redactor))
    }
    return { report, files, redactor: session.redactor, warnings: session.warnings }
  } finally {
    await session.close()
  }
}
