/**
 * Alerts: one when a drift opens, one when it clears. Sinks: stdout, a generic JSON webhook, and a
 * Slack-compatible incoming webhook. A sink that fails is retried twice; then the alert waits in
 * the state's outbox and is sent again later (Incidents.redeliver); it never stops the watch. Webhook URLs are secrets (a Slack hook URL is its own
 * credential): only their host is ever printed.
 */
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { HarnessError } from '../util/errors.ts'
import type { Finding, Severity } from '../model/finding.ts'
import { slack, slackBlock, slackCode, slackText, term, untrusted, untrusting, webhookJson } from '../render/index.ts'

/** What an alert says. Everything in it was already redacted by the run that produced the finding. */
export interface Alert {
  kind: 'drift' | 'recovery'
  /** `contract check`: the identity watch tracks. */
  key: string
  contract: string
  check: string
  severity: Severity
  title: string
  /** The finding's message (drift only). */
  message?: string
  /** The finding's evidence, short: request line, status, curl. */
  evidence?: Pick<NonNullable<Finding['evidence']>, 'request' | 'status' | 'curl'>
  /** The finding's rerun: one driftwatch command line that shows it again (probes only; traffic keeps no capture to re-read). */
  rerun?: string
  /** Who saw it: watch's `probes`, or live `traffic` through `driftwatch proxy`. */
  seenBy?: 'probes' | 'traffic'
  target: string
  /** When the drift was first seen, and (recovery) when it cleared. */
  since: string
  at: string
}

/** A place alerts go. */
export interface AlertSink {
  /** For logs: `stdout`, `webhook https://hooks.example.com`, never the full URL. */
  label: string
  /**
   * Names this destination in the state's outbox, where alerts it did not take wait to be sent
   * again: stable across restarts and processes, never the URL (a hash of it). A sink without
   * one is not retried after its own attempts.
   */
  id?: string
  send(alert: Alert): Promise<void>
}

/** The generic JSON body: the alert as is, with a schema marker (written by webhookJson: controls shown, markup characters as \u escapes). */
export function jsonPayload(a: Alert): Record<string, unknown> {
  return { source: 'driftwatch', version: 1, ...a }
}

/** One line, for stdout and chat; every value from the finding is shown on one line with its controls visible. */
export function alertLine(alert: Alert): string {
  const a = untrusting(alert)
  return String(
    a.kind === 'drift'
      ? term`DRIFT ${a.severity} on ${a.contract} (${a.target}): ${a.title} [${a.check}, since ${a.since}]`
      : term`RECOVERED ${a.contract} (${a.target}): ${a.title} no longer seen [${a.check}, drifting since ${a.since}, cleared ${a.at}]`,
  )
}

/** A Slack incoming-webhook body: `text` for notifications, blocks for the detail; every value placed through Slack's escaping. */
export function slackPayload(alert: Alert): Record<string, unknown> {
  const a = untrusting(alert)
  const icon = a.kind === 'recovery' ? slack`:white_check_mark:` : a.severity === 'breaking' ? slack`:rotating_light:` : slack`:warning:`
  const head = a.kind === 'drift' ? slack`Drift (${slackText(a.severity)})` : slack`Recovered`
  const blocks: Record<string, unknown>[] = [{ type: 'section', text: { type: 'mrkdwn', text: String(slack`${icon} *${head}* on ${slackCode(a.contract)}: ${slackText(a.title)}`) } }]
  if (a.kind === 'drift' && a.message) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: String(slackBlock(untrusted(a.message.slice(0, 2500)))) } })
  const when = a.kind === 'drift' ? slack`since ${slackText(a.since)}` : slack`drifting since ${slackText(a.since)}, cleared ${slackText(a.at)}`
  if (a.rerun) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: String(slack`Re-run: ${slackBlock(a.rerun)}`) } })
  if (a.evidence?.curl) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: String(slack`Reproduce: ${slackBlock(a.evidence.curl)}`) } })
  const seen = alert.seenBy === 'traffic' && slack` · seen in live traffic`
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: String(slack`check ${slackCode(a.check)} · target ${slackText(a.target)}${seen} · ${when}`) }] })
  return { text: String(slackText(untrusted(alertLine(alert)))), blocks }
}

/**
 * `--alert-webhook` values: `<url>` (JSON; Slack format when the host is hooks.slack.com),
 * `json=<url>` or `slack=<url>`.
 */
export function parseWebhook(spec: string): { url: URL; format: 'json' | 'slack' } {
  const m = /^(json|slack)=(.*)$/.exec(spec)
  const raw = m ? m[2]! : spec
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new HarnessError('DW_USAGE', `--alert-webhook needs an http(s) URL, optionally prefixed json= or slack=; got "${spec.replace(/\/\/.*/, '//…')}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HarnessError('DW_USAGE', `--alert-webhook needs an http(s) URL, not ${url.protocol}`)
  const format = (m?.[1] as 'json' | 'slack' | undefined) ?? (url.hostname === 'hooks.slack.com' ? 'slack' : 'json')
  return { url, format }
}

/** A webhook sink: POST JSON, 10 s deadline, two retries with backoff. */
export function webhookSink(spec: string, opts: { timeoutMs?: number; retryDelayMs?: number } = {}): AlertSink {
  const { url, format } = parseWebhook(spec)
  const timeoutMs = opts.timeoutMs ?? 10_000
  const retryDelayMs = opts.retryDelayMs ?? 1_000
  return {
    label: `${format} webhook ${url.protocol}//${url.host}`,
    id: `${format}:${createHash('sha256').update(url.href).digest('hex').slice(0, 16)}`,
    async send(alert) {
      const body = webhookJson(format === 'slack' ? slackPayload(alert) : jsonPayload(alert))
      let last = ''
      for (let attempt = 0; attempt < 3; attempt++) {
        if (attempt > 0) await sleep(retryDelayMs * 2 ** (attempt - 1))
        try {
          // fetch, not the transport: an alert is not a probe (no wire capture, no token policy), and undici stays the transport's.
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': `driftwatch-${alert.seenBy === 'traffic' ? 'proxy' : 'watch'}` }, body, signal: AbortSignal.timeout(timeoutMs) })
          await res.arrayBuffer().catch(() => undefined)
          if (res.status >= 200 && res.status < 300) return
          last = `HTTP ${res.status}`
          if (res.status < 500 && res.status !== 429) break // the hook refuses this payload: retrying will not help
        } catch (err) {
          const e = err as { name?: string; cause?: { code?: string }; message: string }
          last = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message)
        }
      }
      throw new Error(`not delivered (${last})`)
    },
  }
}

/** Sends to every sink; returns what happened per sink, for the log and the state. */
export async function deliver(alert: Alert, sinks: readonly AlertSink[]): Promise<string[]> {
  return Promise.all(
    sinks.map(async (s) => {
      try {
        await s.send(alert)
        return `${s.label}: delivered`
      } catch (err) {
        return `${s.label}: ${(err as Error).message}`
      }
    }),
  )
}
