/**
 * `driftwatch record` as a library call: run the probes in a session and write what the upstream
 * did as golden recordings, one file per probe; or (`--from`) turn captured traffic into
 * recordings, one file per operation. The checks run too, so a recording made while the upstream
 * drifts says so before anyone commits it.
 */
import { basename } from 'node:path'
import { runInSession, type CheckOptions } from './check.ts'
import type { Probe } from '../contracts/types.ts'
import { HarnessError } from '../util/errors.ts'
import { apiVersionIn } from '../graph/index.ts'
import type { Observation } from '../model/observation.ts'
import { PersonalDataRedactor } from '../recordings/personal-data.ts'
import { prepareRecording, writeRecording, type Recording, type WriteStatus } from '../recordings/store.ts'
import { settle, type Report } from '../model/report.ts'
import type { FormatId } from '../reporters/index.ts'
import { assertWritable } from '../util/preflight.ts'
import { trafficRerun, withRerun } from '../model/reproduce.ts'
import { writeReports } from './write-reports.ts'
import { openSession } from '../runner/session.ts'
import { trafficState } from '../traffic/attribute.ts'
import { TrafficJudge, type TrafficCounts } from '../traffic/judge-traffic.ts'
import { openTraffic } from '../traffic/read.ts'
import { Breather } from '../traffic/breather.ts'
import type { Redactor } from '../transport/redact.ts'
import { WebhookTraffic } from '../webhooks/traffic.ts'

/** Options of a record run. */
export interface RecordOptions extends Omit<CheckOptions, 'outDir' | 'formats' | 'recordingsDir'> {
  /** Recordings directory, e.g. `recordings/meta`. */
  recordingsDir: string
  /** Where the report of the recording run goes (what drifted while recording); none when undefined. */
  outDir?: string
  formats?: readonly FormatId[]
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
  /** Probes cut short by an interrupt: nothing of theirs was written. */
  notRecorded: string[]
  /** The report files written (when outDir was given). */
  reportFiles: string[]
}

/** Largest binary body kept in a recording (media downloads replay from it). */
const KEEP_BINARY_BYTES = 16 * 1024 * 1024

/** Records every selected contract that ran; skipped contracts leave their old recordings alone. */
export async function runRecord(opts: RecordOptions): Promise<RecordResult> {
  await assertWritable(opts.recordingsDir, '--recordings', opts.cwd)
  if (opts.outDir) await assertWritable(opts.outDir, '--out', opts.cwd)
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
    const notRecorded = report.results.filter((r) => r.status === 'skipped' && r.reason?.startsWith('interrupted after')).map((r) => r.contract)
    const written = opts.outDir ? await writeReports(report, { outDir: opts.outDir, formats: opts.formats ?? ['json', 'md'], redactor: session.redactor, failOn: opts.failOn ?? 'never', ...(opts.cwd ? { cwd: opts.cwd } : {}) }) : undefined
    return { report: written?.report ?? settle(report, opts.failOn ?? 'never'), files, redactor: session.redactor, warnings: [], notRecorded, reportFiles: written?.files ?? [] }
  } finally {
    await session.close()
  }
}

/** Options of `record --from`: captured traffic in, golden recordings out. */
export interface RecordFromOptions {
  /** A HAR file or a VCR cassette. */
  input: string
  contractsDir: string
  /** Recordings directory, e.g. `recordings/meta`. */
  recordingsDir: string
  /** File name (without .json); default the input's base name. */
  name?: string
  env: Readonly<Record<string, string | undefined>>
  cwd?: string
  /** Stops reading and judging (Ctrl-C): nothing is recorded, and the report says `interrupted`. */
  signal?: AbortSignal
  /** Flags a finding's rerun (`driftwatch verify <input>`) repeats, as argv words (`--contracts dir`). */
  rerunArgs?: readonly string[]
}

/** What `record --from` wrote, and what it could not record and why. */
export interface RecordFromResult {
  /** The traffic judged as verify would (drift in a baseline is said before anyone commits it). */
  report: Report
  files: { file: string; status: WriteStatus }[]
  counts: TrafficCounts
  /** Exchanges written into the recordings (attributed ones whose method the endpoint takes). */
  recorded: number
  /**
   * Why the others were not, one line per finding that explains them (its title and how many exchanges); `counts.entries -
   * recorded` in all, with a last line for any the findings do not name (it said "2 not recorded (listed above)" and listed one).
   */
  notRecorded: NotRecorded[]
  redactor: Redactor
}

/** Exchanges of one kind that were not recorded, and why. */
export interface NotRecorded {
  /** The operation, `(no operation)` or `(unattributed)`. */
  contract: string
  /** The finding's title: `No operation describes GET /{api_version}/me/businesses`. */
  title: string
  why: 'unattributed' | 'method' | 'other'
  exchanges: number
}

/** The findings that say why exchanges were not recorded, then what they leave unnamed of `total`. */
function notRecordedOf(report: Report, total: number): NotRecorded[] {
  const out: NotRecorded[] = []
  for (const f of report.findings) {
    if (f.check === 'attribution') out.push({ contract: f.contract, title: f.title, why: 'unattributed', exchanges: f.samples })
    else if (f.check === 'consumer-method') out.push({ contract: f.contract, title: f.title, why: 'method', exchanges: f.samples })
  }
  const named = out.reduce((n, x) => n + x.exchanges, 0)
  if (total > named) out.push({ contract: '(other)', title: `${total - named} more exchange${total - named === 1 ? '' : 's'} no recording takes (webhook bodies no contract settles, or exchanges the findings above fold together)`, why: 'other', exchanges: total - named })
  return out
}

/**
 * Turns captured traffic into golden recordings, one file per operation the traffic settles
 * (`<dir>/<operation>/<name>.json`), with the same redaction, placeholders and volatile values as
 * `record`. Yesterday's traffic becomes the baseline that `verify` compares today's with.
 * Unattributed exchanges are not recorded: a golden recording of a guess would be wrong twice.
 */
export async function runRecordFromTraffic(opts: RecordFromOptions): Promise<RecordFromResult> {
  const cwd = opts.cwd ?? process.cwd()
  await assertWritable(opts.recordingsDir, '--recordings', cwd)
  const { rel, pack, redactor, kind, entries } = await openTraffic({ ...opts, cwd })
  const interrupted = () => opts.signal?.aborted === true
  if (kind === 'recordings') throw new HarnessError('DW_USAGE', `${rel} is a recordings directory already; record --from takes a HAR file or a VCR cassette`)
  if (entries.length === 0 && !interrupted()) throw new HarnessError('DW_USAGE', `${rel} holds no exchanges: nothing to record`)
  const traffic = new TrafficJudge({ pack, state: trafficState({ phoneNumberId: opts.env.WHATSAPP_PHONE_NUMBER_ID, wabaId: opts.env.WHATSAPP_WABA_ID }), since: new Date().toISOString(), contractsDir: opts.contractsDir, label: rel })
  // Webhook POSTs (or a file of webhook bodies) are recorded per webhook contract, as goldens of target `webhook`.
  const webhooks = new WebhookTraffic({ contractsDir: opts.contractsDir, cwd, since: new Date().toISOString(), keep: true })
  const byOperation = new Map<string, Observation[]>()
  // Judging runs as promise callbacks: a turn of the event loop now and then lets Ctrl-C in.
  const breather = new Breather()
  for (const e of entries) {
    await breather.breathe()
    if (interrupted()) break
    if (webhooks.take(e)) continue
    const placed = traffic.place(e)
    if (placed.kind !== 'attributed') continue
    const list = byOperation.get(placed.exp.id) ?? []
    list.push({ ...e.observation, contract: placed.exp.id, sample: list.length + 1 })
    byOperation.set(placed.exp.id, list)
  }
  const judged = await webhooks.merge(await traffic.report(`${kind}:${rel}`, redactor), redactor)
  // A capture cut short is no baseline: nothing is recorded, the recordings on disk stay as they were.
  if (interrupted()) return { report: { ...judged, outcome: 'interrupted', interrupted: true }, files: [], counts: traffic.counts, recorded: 0, notRecorded: [], redactor }
  // The traffic's findings come back with verify on the same capture.
  const rerun = trafficRerun(opts.input, opts.rerunArgs)
  const report: Report = { ...judged, findings: judged.findings.map((f) => withRerun(f, rerun, true)) }

  const name = opts.name ?? basename(rel).replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9._-]+/g, '-')
  // One per run: placeholders are numbered in the order values first appear, the same every run.
  const personal = new PersonalDataRedactor()
  const files: RecordFromResult['files'] = []
  for (const [id, observations] of byOperation) {
    const first = observations[0]!
    const rec: Recording = {
      version: 1,
      contract: id,
      name,
      target: new URL(first.request.url).origin,
      apiVersion: observations.map((o) => apiVersionIn(o.request.url)).find(Boolean) ?? 'unversioned',
      recordedAt: first.startedAt,
      observations,
    }
    files.push(await writeRecording(opts.recordingsDir, prepareRecording(rec, personal), redactor))
  }
  let recorded = [...byOperation.values()].reduce((n, list) => n + list.length, 0)
  for (const rec of webhooks.recordings(name)) {
    files.push(await writeRecording(opts.recordingsDir, prepareRecording(rec, personal), redactor))
    recorded += rec.observations.length
  }
  const s = report.summary
  return { report, files, counts: { entries: s.entries ?? 0, attributed: s.attributed ?? 0, unattributed: s.unattributed ?? 0 }, recorded, notRecorded: notRecordedOf(report, (s.entries ?? 0) - recorded), redactor }
}
