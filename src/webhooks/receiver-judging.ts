/**
 * What the receiver does with the deliveries it accepted, off the forwarding path: each body is
 * judged against the webhook contracts twice, once alone (its findings go to the incidents, so a
 * drift alerts within seconds and clears after clean deliveries, as the proxy's traffic does) and
 * once into the session (sequences per message id, duplicates, and the session report written at
 * stop, as `verify` writes it for a capture).
 *
 * The bodies reach this module as Meta sent them (the QueuedSink hands them over after Meta has
 * its answer); every finding leaves redacted (the judge quotes only redacted values).
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Finding } from '../model/finding.ts'
import type { IncidentSink } from '../proxy/exchange.ts'
import { chooseGolden, loadRecordings, type Recording } from '../recordings/store.ts'
import { outcomeOf, summarize, type FailOn, type Report } from '../model/report.ts'
import type { Redactor } from '../transport/redact.ts'
import { WebhookJudge } from './judge.ts'
import { loadWebhookContracts, type WebhookPack } from './contracts.ts'
import { WEBHOOK_TARGET } from './traffic.ts'

export interface ReceiverJudgingOptions {
  contractsDir: string
  cwd: string
  /** ISO time the receiver started: findings are first seen then. */
  since: string
  /** Golden recordings of earlier webhook traffic (record --from of a capture or journal). */
  recordingsDir?: string
  /** Redacts findings before they leave (secrets the process knows). */
  redactor: Redactor
  /** Each body's findings above info, for the receiver's lines. */
  onFindings?: (findings: readonly Finding[], delivery: number) => void
  failOn?: FailOn
}

/** Judges accepted deliveries: live per body, and over the session. */
export class ReceiverJudging {
  readonly pack: WebhookPack
  private readonly session: WebhookJudge
  private delivery = 0
  /** Incidents over watch's state (one alert per new drift, one recovery): each body's findings, per contract. Set once the receiver listens (a busy port leaves no state file). */
  incidents: IncidentSink | undefined
  /** Bodies that were not JSON (Meta signs what it sends: a signed non-JSON body is itself news). */
  notJson = 0

  constructor(private readonly opts: ReceiverJudgingOptions) {
    this.pack = loadWebhookContracts(opts.contractsDir, opts.cwd)
    const golden = this.golden()
    this.session = new WebhookJudge({ pack: this.pack, since: opts.since, ...(golden ? { golden } : {}) })
  }

  private golden(): ReadonlyMap<string, Recording> | undefined {
    const dir = this.opts.recordingsDir && resolve(this.opts.cwd, this.opts.recordingsDir)
    if (!dir || !existsSync(dir)) return undefined
    const chosen = chooseGolden(loadRecordings(dir, this.opts.cwd), WEBHOOK_TARGET)
    return chosen.size > 0 ? chosen : undefined
  }

  /** One accepted delivery (raw bytes as Meta signed them). Never throws for what the body holds. */
  async take(raw: Buffer, info: { receivedAt: string }): Promise<void> {
    const n = ++this.delivery
    let body: unknown
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch {
      this.notJson++
      body = undefined
    }
    const where = `delivery ${n}`
    this.session.add(body, { receivedAt: info.receivedAt, where })
    // The same body alone: its own findings, for incidents and the line printed now.
    const alone = new WebhookJudge({ pack: this.pack, since: this.opts.since })
    alone.add(body, { receivedAt: info.receivedAt, where })
    const v = await alone.verdict()
    const findings = v.findings.map((f) => this.opts.redactor.deep(f))
    const drift = findings.filter((f) => f.severity !== 'info')
    if (drift.length) this.opts.onFindings?.(drift, n)
    const incidents = this.incidents
    if (!incidents) return
    const at = Date.parse(info.receivedAt) || Date.now()
    const contracts = new Set([...v.contracts.map((c) => c.contract), ...findings.map((f) => f.contract)])
    for (const c of contracts) await incidents.judged(c, findings.filter((f) => f.contract === c), at)
  }

  /** Bodies judged so far. */
  get counts(): { entries: number; attributed: number; unattributed: number } {
    return this.session.counts
  }

  /** The session report (as verify's for a capture): every contract judged, its findings, the counts. */
  async report(target: string, startedAt: string): Promise<Report> {
    const v = await this.session.verdict()
    const findings = v.findings.map((f) => this.opts.redactor.deep(f))
    const results = v.contracts
    const summary = { ...summarize(results, findings), entries: v.counts.entries, attributed: v.counts.attributed, unattributed: v.counts.unattributed }
    const failOn = this.opts.failOn ?? 'breaking'
    return { version: 1, target, apiVersion: 'unversioned', startedAt, finishedAt: new Date().toISOString(), outcome: v.counts.entries === 0 ? 'inconclusive' : outcomeOf(summary, failOn), failOn, summary, findings, results }
  }
}
