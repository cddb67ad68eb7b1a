/**
 * `driftwatch webhook`: its flags and its lines. The receiver command itself (the receiver in front
 * of the app, judging, alerts, metrics) is a library call, commands/webhook.ts: it listens before
 * it touches the disk, so a busy port exits 2 with nothing left behind; here it stops on Ctrl-C or
 * SIGTERM and exits 0 with a summary.
 */
import { resolve } from 'node:path'
import { shownPath } from '../../util/paths.ts'
import { HarnessError } from '../../util/errors.ts'
import { exitCodeOf } from '../../model/report.ts'
import { term, untrusted as u } from '../../render/index.ts'
import { finalLine } from '../lines.ts'
import { DEFAULTS, GLOBAL, parseFailOn, parseFormats, str, wholeNumber, type Command } from '../options.ts'
import { untilInterrupted } from '../signals.ts'
import type { ReceiverCounts } from '../../commands/webhook.ts'

/** The receiver's defaults (next to the simulator's 8787 and the proxy's 8788). */
export const WEBHOOK_DEFAULTS = { port: 8789, out: 'reports/webhook', appTimeout: 10, alertAfter: 3 } as const

/** Where Meta's app secret is read from (never a flag: command lines end up in shell histories and `ps`). */
export const APP_SECRET_ENV = 'WHATSAPP_APP_SECRET'

export const webhook: Command = {
  name: 'webhook',
  summary: 'a receiver in front of your webhook endpoint: checks signatures, journals, forwards, never loses a delivery.',
  usage: ['webhook --forward <app-url> [options]'],
  about: `Point Meta's callback URL at the receiver (through your TLS front: Meta calls https only), and
--forward at the app's webhook URL. GET verification (hub.mode, hub.verify_token, hub.challenge) is
forwarded and Meta gets the app's answer. Each POST's X-Hub-Signature-256 is checked against the raw
body with the app secret from ${APP_SECRET_ENV}: missing gets 401, bad 403, neither is forwarded or
kept. A good one is journaled (redacted: numbers, names, what people wrote or shared) and fsynced to
<out>/.journal/ before it is forwarded byte-identical, headers in order; Meta gets the app's answer.
An app that is down, resets or does not answer within --app-timeout gets Meta a 502 or 504, an app's
own 5xx is passed on: either way Meta retries (for up to 7 days), and the journal keeps the body.`,
  options: {
    forward: { type: 'string', arg: '<url>', help: "the app's webhook URL, e.g. http://127.0.0.1:3000/webhook (required); the request's\npath (when not /) and query are appended to its path" },
    port: { type: 'string', arg: '<N>', help: `port to listen on (default ${WEBHOOK_DEFAULTS.port}; 0 picks a free one)` },
    host: { type: 'string', arg: '<addr>', help: 'address to bind (default 127.0.0.1; 0.0.0.0 in a container behind the TLS front)' },
    out: { type: 'string', arg: '<dir>', help: `where the session report goes at stop, and the journal in .journal/ (default ${WEBHOOK_DEFAULTS.out})` },
    format: { type: 'string', arg: '<list>', help: `reports to write at stop besides report.json: json,md,junit,html (default ${DEFAULTS.format})` },
    'fail-on': { type: 'string', arg: '<level>', help: `breaking | warning | info | never: the lowest severity that is drift: alerts, and exit 1 at stop\n(default ${DEFAULTS.failOn})` },
    contracts: { type: 'string', arg: '<dir>', help: `contract pack whose webhooks/ judge each delivery (default ${DEFAULTS.contracts})` },
    recordings: { type: 'string', arg: '<dir>', help: 'golden recordings of earlier webhook traffic (driftwatch record --from <capture>):\na field that appeared since is info naming it' },
    state: { type: 'string', arg: '<file>', help: `watch's state (its --state): a drift in the deliveries opens an incident there, one alert,\none recovery (default ${DEFAULTS.state} when --alert-webhook is given)` },
    'app-timeout': { type: 'string', arg: '<s>', help: `seconds the app has to answer before Meta gets a 504 (default ${WEBHOOK_DEFAULTS.appTimeout})` },
    'alert-webhook': { type: 'string', multiple: true, arg: '[json=|slack=]<url>', help: 'POST each alert as JSON, or as a Slack incoming-webhook message (slack= or a\nhooks.slack.com URL); alerts always go to stdout too' },
    'alert-after': { type: 'string', arg: '<N>', help: `deliveries in a row the app fails (or that fail the signature) before an alert\n(default ${WEBHOOK_DEFAULTS.alertAfter}); the next good one sends the recovery` },
    'metrics-port': { type: 'string', arg: '<N>', help: 'serve Prometheus /metrics and /healthz on this port (0 picks one)' },
    'metrics-host': { type: 'string', arg: '<addr>', help: 'address for --metrics-port (default 127.0.0.1)' },
    ...GLOBAL,
  },
  notes: `Lines: one per request on stderr (✓ delivered, ✗ not taken by the app, ! refused for its signature),
with the path, the answer and the webhook fields; never a body, a query (the verify token is in it) or
a signature. --quiet keeps only what needs attention. The journal holds one line per accepted
delivery (redacted body) and one per outcome (delivered / refused / failed, with the status Meta got).

Each accepted body is judged against the webhook contracts (--contracts) off the forwarding path: a
drift prints a line on stderr and, with --state or --alert-webhook, opens an incident in watch's state
(one alert per new drift, one recovery once deliveries are clean again, as the proxy's traffic).

Ctrl-C (or SIGTERM) stops it: no new connections, in-flight deliveries finish (within 30 s), the journal
is flushed, what was accepted is judged to the end (statuses per message id included) and the
session report written to --out, and a summary is printed (received / forwarded / rejected /
journaled, then judged). Exit codes: 0 stopped, no drift; 1 drift at --fail-on in what was delivered;
3 nothing was delivered to judge; 2 the secret is missing, a flag is wrong, the port is busy (nothing is left behind), or a delivery
could not be journaled; 130 a second Ctrl-C cut deliveries in flight (Meta retries them).`,
  async run(v, _positionals, io) {
    const forward = str(v, 'forward')
    if (!forward) throw new HarnessError('DW_USAGE', '--forward is required: the URL of your app\'s webhook endpoint, e.g. driftwatch webhook --forward http://127.0.0.1:3000/webhook')
    const secret = io.env[APP_SECRET_ENV]?.trim()
    if (!secret) throw new HarnessError('DW_USAGE', `${APP_SECRET_ENV} is not set: the receiver checks each delivery's X-Hub-Signature-256 with your app secret. Copy it from the Meta App Dashboard (App settings > Basic > App secret), then: export ${APP_SECRET_ENV}=<secret> and start again (it is never printed)`)
    const port = wholeNumber(str(v, 'port'), '--port', 0, 65535) ?? WEBHOOK_DEFAULTS.port
    const appTimeout = wholeNumber(str(v, 'app-timeout'), '--app-timeout', 1, 3600) ?? WEBHOOK_DEFAULTS.appTimeout
    const alertAfter = wholeNumber(str(v, 'alert-after'), '--alert-after', 1, 100_000) ?? WEBHOOK_DEFAULTS.alertAfter
    const metricsPort = wholeNumber(str(v, 'metrics-port'), '--metrics-port', 0, 65535)
    const { webhookSink, alertLine } = await import('../../commands/alerts.ts')
    const sinks = ((v['alert-webhook'] as string[] | undefined) ?? []).map((spec) => webhookSink(spec))
    const outDir = resolve(io.cwd, str(v, 'out') ?? WEBHOOK_DEFAULTS.out)
    const recordingsDir = str(v, 'recordings') !== undefined ? resolve(io.cwd, str(v, 'recordings')!) : undefined
    // Paths echo as the user would type them: inside the working directory relative, outside absolute.
    const rel = (p: string) => shownPath(io.cwd, p)

    const { startWebhookReceiver, total } = await import('../../commands/webhook.ts')
    const failOn = parseFailOn(str(v, 'fail-on'))
    const formats = parseFormats(str(v, 'format'))
    const contractsDir = str(v, 'contracts') ?? DEFAULTS.contracts
    const t0 = Date.now()
    // Drift incidents need a state: --state, or watch's default when alerts are asked for (as the proxy).
    const statePath = str(v, 'state') !== undefined || sinks.length ? resolve(io.cwd, str(v, 'state') ?? DEFAULTS.state) : undefined
    const receiver = await startWebhookReceiver({
      forward,
      appSecret: secret,
      ...(str(v, 'host') ? { host: str(v, 'host')! } : {}),
      port,
      outDir,
      contractsDir,
      cwd: io.cwd,
      ...(recordingsDir ? { recordingsDir } : {}),
      ...(statePath ? { state: statePath } : {}),
      sinks,
      failOn,
      formats,
      appTimeoutMs: appTimeout * 1000,
      alertAfter,
      ...(metricsPort !== undefined ? { metricsPort } : {}),
      ...(str(v, 'metrics-host') ? { metricsHost: str(v, 'metrics-host')! } : {}),
      onFindings: (findings, delivery) => {
        for (const f of findings) io.stderr(String(term`  ${u(f.severity)} ${u(f.contract)} (delivery #${u(String(delivery))}): ${u(f.title)}`))
      },
      onAlert: (a, delivery) => {
        io.stdout(`ALERT ${alertLine(a)}`)
        for (const d of delivery) if (!d.endsWith(': delivered')) io.stderr(`driftwatch: alert ${d}`)
      },
      onEvent: (e) => {
        if (e.kind === 'delivery') {
          const ok = e.outcome === 'delivered'
          if (v.quiet && ok && e.journaled) return
          const fields = e.fields.length ? term` (${u(e.fields.join(', '))})` : undefined
          const why = e.reason ? term`: ${u(e.reason)}` : undefined
          const kept = ok ? undefined : e.journaled ? term`; in the journal, Meta retries` : term`; NOT journaled, Meta retries`
          io.stderr(String(term`${u(ok ? '✓' : '✗')} POST ${u(e.path)} #${u(String(e.delivery))} ${u(String(e.bytes))} bytes${fields} → ${u(String(e.status))}${why}${kept}`))
        } else if (e.kind === 'rejected') {
          const what = e.reason === 'missing-signature' ? '401: no X-Hub-Signature-256' : e.reason === 'bad-signature' ? '403: X-Hub-Signature-256 does not match the body' : '413: body too large'
          io.stderr(String(term`! POST ${u(e.path)} ${u(String(e.bytes))} bytes → ${u(what)}; not forwarded, not kept`))
        } else if (e.kind === 'verification') {
          if (v.quiet && e.status < 500) return
          io.stderr(String(term`${u(e.status < 500 ? '✓' : '✗')} GET ${u(e.path)} (verification) → ${u(String(e.status))}${e.reason ? term`: ${u(e.reason)}` : undefined}`))
        } else if (e.kind === 'refused') {
          io.stderr(String(term`! ${u(e.method)} ${u(e.path)} → ${u(String(e.status))}: ${u(e.reason)}; not forwarded`))
        } else if (e.kind === 'method') {
          io.stderr(String(term`! ${u(e.method)} ${u(e.path)} → 405: only GET and POST are taken`))
        } else {
          io.stderr(String(term`✗ delivery #${u(String(e.delivery))} could not be journaled (${u(e.message)}); forwarded all the same, /healthz says 503`))
        }
      },
    })

    const judgingLabel = `against ${rel(resolve(io.cwd, contractsDir))}/webhooks${statePath ? `, incidents in ${rel(statePath)}` : ''}`
    io.stdout(`driftwatch webhook listening on ${receiver.url}, forwarding to ${receiver.target}`)
    const alertsTo = `alerts to stdout${sinks.length ? `, ${sinks.map((s) => s.label).join(', ')}` : ''} after ${alertAfter} failing deliveries in a row`
    io.stdout(`  journal ${rel(receiver.journal.file)} (created with the first delivery); judging ${judgingLabel}${recordingsDir ? ` with the goldens in ${rel(recordingsDir)}` : ''}; ${alertsTo}${statePath ? ', and one per new drift' : ''}${receiver.metricsUrl ? `; metrics on ${receiver.metricsUrl}/metrics, health on ${receiver.metricsUrl}/healthz` : ''}`)
    io.stdout(`Point Meta's callback URL at ${receiver.url} (through your https front); Ctrl-C to stop.`)

    await untilInterrupted(io)
    const { counts } = await receiver.stop(io.halt)
    const kept = receiver.journal.created && counts.journaled > 0 ? rel(receiver.journal.file) : undefined
    io.stdout(summary(counts, total, kept))
    const session = await receiver.finish()
    if (!session) {
      io.stderr('webhook stopped at once: deliveries in flight were cut; Meta retries them (each is in the journal)')
      return 130
    }
    const c = session.judged
    io.stdout(`judged: ${c.entries} deliver${c.entries === 1 ? 'y' : 'ies'} (${c.attributed} attributed to a webhook contract, ${c.unattributed} not)${session.skipped ? `, ${session.skipped} not judged (the judge was behind; they were forwarded)` : ''}${session.notJson ? `, ${session.notJson} not JSON` : ''}`)
    io.stdout(finalLine(session.report, ((Date.now() - t0) / 1000).toFixed(1), 'deliveries'))
    if (session.files.length) io.stdout(`Session report: ${session.files.map((f) => rel(f)).join(', ')}`)
    if (counts.journalFailed) {
      io.stderr(`driftwatch: ${counts.journalFailed} deliver${counts.journalFailed === 1 ? 'y' : 'ies'} could not be journaled (${receiver.journal.error?.message ?? 'see above'}); they were forwarded, and Meta retried those the app did not take. Fix --out and start again.`)
      return 2
    }
    // Nothing delivered is not all-clear: INCONCLUSIVE, exit 3, as the headline says.
    return exitCodeOf(session.report)
  },
}

/** The final line: received / forwarded / rejected / journaled, with what the app did with what it got. */
function summary(c: ReceiverCounts, total: (t: Record<string, number>) => number, journal: string | undefined): string {
  const rejected = total(c.rejected)
  const appErrors = total(c.appErrors)
  const why = (t: Record<string, number>) => Object.entries(t).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ')
  return [
    `webhook stopped: ${c.received} received, ${c.forwarded} forwarded (${c.delivered} taken by the app${appErrors ? `, ${appErrors} not: ${why(c.appErrors)}` : ''}), `,
    `${rejected} rejected${rejected ? ` (${why(c.rejected)})` : ''}, ${c.journaled} journaled${journal ? ` in ${journal}` : ''}`,
    c.verifications ? `, ${c.verifications} verification${c.verifications === 1 ? '' : 's'}` : '',
  ].join('')
}
