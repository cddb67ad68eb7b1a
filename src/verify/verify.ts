/**
 * `driftwatch verify`: traffic a team already has (a HAR export, a VCR cassette, driftwatch's own
 * recordings) judged offline against the operations, into the same report as `check`. Every entry
 * is attributed to the operation the traffic says it is, or reported as unattributed with why;
 * errors the application asked for are documented answers, not drift; a method the endpoint does
 * not take is consumer drift. With recordings of the same origin (`record --from` yesterday's
 * traffic), today's traffic is also compared with them.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { HarnessError } from '../errors.ts'
import { chooseGolden, loadRecordings } from '../recordings/store.ts'
import type { FailOn, Report } from '../report.ts'
import type { FormatId } from '../reporters/index.ts'
import { trafficState } from '../traffic/attribute.ts'
import { TrafficJudge, type TrafficCounts } from '../traffic/judge-traffic.ts'
import { openTraffic } from '../traffic/read.ts'
import type { Redactor } from '../transport/redact.ts'
import { assertWritable } from '../preflight.ts'
import { writeReports } from '../write-reports.ts'

/** Options of a verify run (the CLI flags, resolved). */
export interface VerifyOptions {
  /** A HAR file, a VCR cassette, or a recordings directory. */
  input: string
  contractsDir: string
  /** Golden recordings to compare the traffic with (those of the traffic's own origin); default none. */
  recordingsDir?: string
  outDir: string
  formats: readonly FormatId[]
  /** The severity that is drift in every report format (default breaking). */
  failOn?: FailOn
  env: Readonly<Record<string, string | undefined>>
  cwd?: string
}

/** The traffic's origin: the one most of its entries went to (a capture may hold fonts and analytics too). */
function originOf(urls: readonly string[]): string | undefined {
  const count = new Map<string, number>()
  for (const u of urls) {
    try {
      const o = new URL(u).origin
      count.set(o, (count.get(o) ?? 0) + 1)
    } catch {}
  }
  return [...count].sort((a, b) => b[1] - a[1])[0]?.[0]
}

/** Runs verify end to end and writes the reports. */
export async function runVerify(opts: VerifyOptions): Promise<{ report: Report; files: string[]; redactor: Redactor; counts: TrafficCounts }> {
  const cwd = opts.cwd ?? process.cwd()
  await assertWritable(opts.outDir, '--out', cwd)
  const { rel, pack, redactor, kind, entries } = await openTraffic({ ...opts, cwd })
  if (entries.length === 0) throw new HarnessError('DW_USAGE', `${rel} holds no ${kind === 'recordings' ? 'recordings' : kind === 'har' ? 'HAR entries' : 'interactions'}: nothing to verify`)

  // Yesterday's traffic (record --from) as the golden of today's: only recordings of the same origin, never the simulator's.
  const origin = originOf(entries.map((e) => e.observation.request.url))
  const recordings = kind !== 'recordings' && origin && opts.recordingsDir && existsSync(resolve(cwd, opts.recordingsDir)) ? chooseGolden(loadRecordings(resolve(cwd, opts.recordingsDir), cwd), origin) : undefined

  const traffic = new TrafficJudge({
    pack,
    state: trafficState({ phoneNumberId: opts.env.WHATSAPP_PHONE_NUMBER_ID, wabaId: opts.env.WHATSAPP_WABA_ID }),
    since: new Date().toISOString(),
    contractsDir: opts.contractsDir,
    label: rel,
    ...(recordings?.size ? { golden: recordings } : {}),
  })
  for (const e of entries) traffic.place(e)
  const report = await traffic.report(`${kind}:${rel}`, redactor)
  const written = await writeReports(report, { outDir: opts.outDir, formats: opts.formats, redactor, cwd, ...(opts.failOn ? { failOn: opts.failOn } : {}) })
  return { ...written, redactor, counts: traffic.counts }
}
