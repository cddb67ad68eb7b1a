/**
 * `driftwatch verify`: traffic a team already has (a HAR export, a VCR cassette, driftwatch's own
 * recordings) judged offline against the operations, into the same report as `check`. Every entry
 * is attributed to the operation the traffic says it is, or reported as unattributed with why;
 * errors the application asked for are documented answers, not drift; a method the endpoint does
 * not take is consumer drift. With recordings of the same origin (`record --from` yesterday's
 * traffic), today's traffic is also compared with them.
 *
 * The input is judged as it is read (a HAR streams; see src/traffic/read.ts), so memory stays flat
 * whatever its size; a progress callback says how far it got, and an abort signal stops reading
 * with a report of what was judged, outcome `interrupted`.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { HarnessError } from '../util/errors.ts'
import { chooseGolden, loadRecordings } from '../recordings/store.ts'
import type { FailOn, Report } from '../model/report.ts'
import type { FormatId } from '../reporters/index.ts'
import type { Past } from '../history/since.ts'
import { trafficState } from '../traffic/attribute.ts'
import { TrafficJudge, type TrafficCounts } from '../traffic/judge-traffic.ts'
import type { TrafficEntry } from '../traffic/entry.ts'
import { openTrafficStream } from '../traffic/read.ts'
import { Breather } from '../traffic/breather.ts'
import type { Redactor } from '../transport/redact.ts'
import { assertWritable } from '../util/preflight.ts'
import { trafficRerun, withRerun } from '../model/reproduce.ts'
import { writeReports } from './write-reports.ts'
import { WebhookTraffic } from '../webhooks/traffic.ts'

/** Where a verify run stands: what the progress callback gets. */
export interface VerifyProgress {
  /** Entries read and placed so far. */
  entries: number
  /** Bytes of the input read, and its size (0 for a recordings directory). */
  bytesRead: number
  totalBytes: number
  entriesPerSecond: number
  /** Seconds since reading began. */
  seconds: number
  /** True on the last call, once every entry read has been judged. */
  done: boolean
}

/** Options of a verify run (the CLI flags, resolved). */
export interface VerifyOptions {
  /** A HAR file, a VCR cassette, or a recordings directory. */
  input: string
  contractsDir: string
  /** The run's past from the history (since when; report.html's timelines). */
  past?: Past
  /** Golden recordings to compare the traffic with (those of the traffic's own origin); default none. */
  recordingsDir?: string
  outDir: string
  formats: readonly FormatId[]
  /** The severity that is drift in every report format (default breaking). */
  failOn?: FailOn
  env: Readonly<Record<string, string | undefined>>
  cwd?: string
  /** Stops reading (Ctrl-C): what was read is judged, and the report says `interrupted`. */
  signal?: AbortSignal
  /** Called every `progressEvery` entries and once at the end. */
  onProgress?: (p: VerifyProgress) => void
  /** Entries between progress calls (default 1000). */
  progressEvery?: number
  /** Flags of this run a finding's rerun repeats, as argv words (`--contracts dir`); the rerun names the input itself. */
  rerunArgs?: readonly string[]
}

/** Entries the origin is told from, before judging starts (golden recordings are chosen by it). */
const ORIGIN_SAMPLE = 1000
/** ...or fewer, when their kept bodies reach this many characters: entries with 1 MB bodies are not held by the thousand. */
const ORIGIN_SAMPLE_CHARS = 64 * 1024 * 1024
/** Entries placed between waits for their judging: bounds the entries held while they wait. */
const SETTLE_EVERY = 8

/** The traffic's origin: the one most of its entries went to (a capture may hold fonts and analytics too). */
function originOf(urls: readonly string[]): string | undefined {
  const count = new Map<string, number>()
  for (const u of urls) {
    try {
      const o = new URL(u).origin
      // A webhook body (url `webhook:`) has no origin: URL says "null", which named the traffic "traffic null".
      if (o !== 'null') count.set(o, (count.get(o) ?? 0) + 1)
    } catch {}
  }
  return [...count].sort((a, b) => b[1] - a[1])[0]?.[0]
}

/** Runs verify end to end, entry by entry as the input is read, and writes the reports. */
export async function runVerify(opts: VerifyOptions): Promise<{ report: Report; files: string[]; redactor: Redactor; counts: TrafficCounts }> {
  const cwd = opts.cwd ?? process.cwd()
  await assertWritable(opts.outDir, '--out', cwd)
  const progress = { bytesRead: 0, totalBytes: 0 }
  const { rel, pack, redactor, kind, entries } = await openTrafficStream({ ...opts, cwd, progress, ...(opts.signal ? { signal: opts.signal } : {}) })
  const it = entries[Symbol.asyncIterator]()
  const t0 = performance.now()
  // Judging runs as promise callbacks between reads: a turn of the event loop now and then lets Ctrl-C in.
  const breather = new Breather()

  // The origin is told from the first entries, read before judging starts: the report and the history name it, and
  // yesterday's traffic (record --from) is the golden of today's: only recordings of the same origin, never the simulator's.
  const wantsGolden = kind !== 'recordings' && opts.recordingsDir !== undefined && existsSync(resolve(cwd, opts.recordingsDir))
  const head: TrafficEntry[] = []
  let held = 0
  while (head.length < ORIGIN_SAMPLE && held < ORIGIN_SAMPLE_CHARS && !opts.signal?.aborted) {
    const r = await it.next()
    if (r.done) break
    head.push(r.value)
    held += (r.value.observation.response?.body.text?.length ?? 0) + (r.value.requestBody?.length ?? 0)
    await breather.breathe()
  }
  const origin = originOf(head.map((e) => e.observation.request.url))
  const recordings = origin && wantsGolden ? chooseGolden(loadRecordings(resolve(cwd, opts.recordingsDir!), cwd), origin) : undefined

  const since = new Date().toISOString()
  const traffic = new TrafficJudge({
    pack,
    state: trafficState({ phoneNumberId: opts.env.WHATSAPP_PHONE_NUMBER_ID, wabaId: opts.env.WHATSAPP_WABA_ID }),
    since,
    contractsDir: opts.contractsDir,
    label: rel,
    ...(recordings?.size ? { golden: recordings } : {}),
  })
  const every = Math.max(1, opts.progressEvery ?? 1000)
  const tell = (done: boolean) => {
    const seconds = (performance.now() - t0) / 1000
    const n = traffic.counts.entries
    opts.onProgress?.({ entries: n, bytesRead: progress.bytesRead, totalBytes: progress.totalBytes, entriesPerSecond: seconds > 0 ? n / seconds : 0, seconds, done })
  }
  // Webhook POSTs in the capture (or a file of webhook bodies) go to the webhook contracts, not API attribution.
  const webhooks = new WebhookTraffic({ contractsDir: opts.contractsDir, cwd, since, ...(opts.recordingsDir ? { recordingsDir: opts.recordingsDir } : {}) })
  const place = async (e: TrafficEntry) => {
    if (!webhooks.take(e)) traffic.place(e)
    const n = traffic.counts.entries
    if (n % SETTLE_EVERY === 0) await traffic.settled()
    if (n % every === 0) tell(false)
    await breather.breathe()
  }
  try {
    for (const e of head.splice(0)) {
      await place(e)
      if (opts.signal?.aborted) break
    }
    for (let r = await it.next(); !r.done; r = await it.next()) {
      await place(r.value)
      if (opts.signal?.aborted) break
    }
  } finally {
    // Stopped early (Ctrl-C, an error): close the file now, not when the reader is collected.
    await it.return?.()
  }
  await traffic.settled()
  const interrupted = opts.signal?.aborted === true
  tell(true)
  if (traffic.counts.entries + webhooks.counts.entries === 0 && !interrupted) throw new HarnessError('DW_USAGE', `${rel} holds no ${kind === 'recordings' ? 'recordings' : kind === 'har' ? 'HAR entries' : kind === 'webhooks' ? 'webhook bodies' : 'interactions'}: nothing to verify`)
  const judged = await webhooks.merge(await traffic.report(`${kind}:${rel}`, redactor), redactor)
  // Every finding's rerun is verify on the same capture; its curl stays (the app's own request, not one this run made up).
  const rerun = trafficRerun(opts.input, opts.rerunArgs)
  const located: Report = { ...judged, findings: judged.findings.map((f) => withRerun(f, rerun, true)), ...(origin ? { origin } : {}) }
  const report: Report = interrupted ? { ...located, outcome: 'interrupted', interrupted: true } : located
  const written = await writeReports(report, { outDir: opts.outDir, formats: opts.formats, redactor, cwd, ...(opts.failOn ? { failOn: opts.failOn } : {}), ...(opts.past ? { past: opts.past } : {}) })
  const s = judged.summary
  return { ...written, redactor, counts: { entries: s.entries ?? 0, attributed: s.attributed ?? 0, unattributed: s.unattributed ?? 0 } }
}
