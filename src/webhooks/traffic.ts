/**
 * Webhook traffic in the commands that read captures (`verify`, `record --from`): HAR entries whose
 * request is a POST carrying a WhatsApp webhook body, and files of bodies (`.json`: one body or a
 * list of them; `.jsonl`: one body a line). Captured webhooks are diverted from API attribution
 * (they are Meta's requests to the application, not answers) to a WebhookJudge, and the report of
 * the API traffic gets their findings, contract results and counts.
 *
 * The hooks in verify, traffic/read and record call only what is here, so they stay a few lines.
 */
import { createReadStream, readFileSync } from 'node:fs'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { HarnessError } from '../util/errors.ts'
import type { Observation } from '../model/observation.ts'
import { chooseGolden, loadRecordings, type Recording } from '../recordings/store.ts'
import { outcomeOf, summarize, type Report } from '../model/report.ts'
import type { TrafficEntry } from '../traffic/entry.ts'
import type { Redactor } from '../transport/redact.ts'
import { isWebhookBody, WEBHOOK_OBJECT } from './body.ts'
import { WebhookJudge, type WebhookCounts } from './judge.ts'

/** Recordings of webhook traffic name this as their target (goldens are chosen by it, apart from any API origin). */
export const WEBHOOK_TARGET = 'webhook'

/** Whether the first bytes of a file are webhook bodies (JSON or JSONL), not a HAR or a cassette. */
export function looksLikeWebhookFile(head: string): boolean {
  return /^\s*[[{]/.test(head) && new RegExp(`"object"\\s*:\\s*"${WEBHOOK_OBJECT}"`).test(head) && !/"log"\s*:/.test(head) && !/"(http_)?interactions"\s*:/.test(head)
}

/** A placeholder observation for an entry read from a file of bodies (only its request body is read). */
function bodyEntry(source: string, text: string, receivedAt: string): TrafficEntry {
  const observation: Observation = { contract: '', sample: 1, startedAt: receivedAt, request: { method: 'POST', url: 'webhook:', headers: [], bodySize: Buffer.byteLength(text), tokenSent: false }, timings: { totalMs: 0 } }
  return { source, observation, hasBody: false, requestBody: text }
}

/** A file of webhook bodies as traffic entries: a JSON body or list of bodies (read whole), or JSONL (streamed a line at a time). */
export async function* streamWebhookFile(input: string, rel: string, opts: { signal?: AbortSignal; progress?: { bytesRead: number; totalBytes: number } } = {}): AsyncGenerator<TrafficEntry> {
  const receivedAt = new Date().toISOString()
  const text = readFileSync(input, 'utf8')
  let whole: unknown
  try {
    whole = JSON.parse(text)
  } catch {
    whole = undefined
  }
  if (whole !== undefined) {
    if (opts.progress) opts.progress.bytesRead = Buffer.byteLength(text)
    const list = Array.isArray(whole) ? whole : [whole]
    for (let i = 0; i < list.length; i++) {
      if (opts.signal?.aborted) return
      yield bodyEntry(Array.isArray(whole) ? `${rel} body ${i + 1}` : rel, JSON.stringify(list[i]), receivedAt)
    }
    return
  }
  const lines = createInterface({ input: createReadStream(input, 'utf8'), crlfDelay: Infinity })
  let n = 0
  for await (const line of lines) {
    n++
    if (opts.progress) opts.progress.bytesRead += Buffer.byteLength(line) + 1
    if (opts.signal?.aborted) return
    if (line.trim() === '') continue
    try {
      JSON.parse(line)
    } catch (err) {
      throw new HarnessError('DW_USAGE', `${rel} line ${n} is not JSON (${(err as Error).message}): a webhook capture is one JSON body, a JSON list of bodies, or JSONL (one body a line)`, { file: rel, line: n })
    }
    yield bodyEntry(`${rel} line ${n}`, line, receivedAt)
  }
}

/** The webhook body an entry carries: a POST whose request body is a WhatsApp webhook; else undefined. */
export function webhookBodyOf(e: TrafficEntry): unknown {
  if (e.observation.request.method.toUpperCase() !== 'POST' || !e.requestBody || !e.requestBody.includes(WEBHOOK_OBJECT)) return undefined
  try {
    const json: unknown = JSON.parse(e.requestBody)
    return isWebhookBody(json) ? json : undefined
  } catch {
    return undefined
  }
}

/** What a command reading captures needs to judge the webhooks among them. */
export interface WebhookTrafficOptions {
  contractsDir: string
  cwd: string
  since: string
  /** Golden recordings (record --from of earlier webhook traffic) are looked for here. */
  recordingsDir?: string
  /** Keep the judged observations (record --from writes them). */
  keep?: boolean
}

/** The webhooks of a capture: taken out of the entries as they are read, judged, and merged into the report. */
export class WebhookTraffic {
  private judge: WebhookJudge | undefined

  constructor(private readonly opts: WebhookTrafficOptions) {}

  /** Takes an entry if it carries a webhook body (true), judging it; leaves any other entry to API attribution (false). */
  take(e: TrafficEntry): boolean {
    const body = webhookBodyOf(e)
    if (body === undefined) return false
    // The webhook contracts are loaded on the first webhook only: a pack without webhooks/ verifies API traffic as before.
    this.judge ??= new WebhookJudge({ contractsDir: this.opts.contractsDir, cwd: this.opts.cwd, since: this.opts.since, keep: this.opts.keep === true, ...this.golden() })
    this.judge.add(body, { where: e.source, receivedAt: e.observation.startedAt })
    return true
  }

  private golden(): { golden?: ReadonlyMap<string, Recording> } {
    const dir = this.opts.recordingsDir && resolve(this.opts.cwd, this.opts.recordingsDir)
    if (!dir || !existsSync(dir)) return {}
    const chosen = chooseGolden(loadRecordings(dir, this.opts.cwd), WEBHOOK_TARGET)
    return chosen.size > 0 ? { golden: chosen } : {}
  }

  /** Bodies taken so far. */
  get counts(): WebhookCounts {
    return this.judge?.counts ?? { entries: 0, attributed: 0, unattributed: 0 }
  }

  /** The report with the webhooks' findings, contract results and counts added (nothing changes when there were none). */
  async merge(report: Report, redactor: Redactor): Promise<Report> {
    if (!this.judge) return report
    const v = await this.judge.verdict()
    const findings = [...report.findings, ...v.findings.map((f) => redactor.deep(f))]
    const results = [...report.results, ...v.contracts]
    const s = report.summary
    const summary = { ...summarize(results, findings), entries: (s.entries ?? 0) + v.counts.entries, attributed: (s.attributed ?? 0) + v.counts.attributed, unattributed: (s.unattributed ?? 0) + v.counts.unattributed }
    return { ...report, outcome: outcomeOf(summary), summary, findings, results }
  }

  /** Recordings of the judged webhooks, one per contract (record --from). */
  recordings(name: string): Recording[] {
    if (!this.judge) return []
    return [...this.judge.observations()].map(([contract, observations]) => ({ version: 1, contract, name, target: WEBHOOK_TARGET, apiVersion: 'unversioned', recordedAt: observations[0]!.startedAt, observations: [...observations] }))
  }
}
