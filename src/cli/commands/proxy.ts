import { dirname, resolve } from 'node:path'
import { shownPath } from '../../util/paths.ts'
import { term, untrusted as u } from '../../render/index.ts'
import { HarnessError } from '../../util/errors.ts'
import { isDrift } from '../../model/finding.ts'
import { exitCodeOf, failsAt } from '../../model/report.ts'
import { finalLine, runSeconds } from '../lines.ts'
import { checkFileName, DEFAULTS, refuseRecordingsAsOut, GLOBAL, parseFailOn, parseFormats, reportOptions, str, wholeNumber, type Command } from '../options.ts'
import { untilInterrupted } from '../signals.ts'
import { TRAFFIC_RECOVERY, type Alert } from '../../commands/alerts.ts'
import type { ProxyStats } from '../../commands/proxy.ts'

export const proxy: Command = {
  name: 'proxy',
  summary: 'a proxy in front of the Graph API that judges and records the traffic passing through.',
  usage: ['proxy --upstream <url> [options]'],
  about: `Point your application's Graph API base URL (or curl) at the proxy. Each request is forwarded to
the upstream, the answer streams back to the application unchanged (framing included), and the
exchange is attributed to the operation it is (as verify does), judged, printed live, and
recorded (redacted: tokens, access_token, phone numbers, names) to <recordings>/<operation>/<name>.json;
unattributed exchanges are printed with their candidates and not recorded. A method the endpoint
does not take (POST to a media id) is flagged as consumer drift. WHATSAPP_PHONE_NUMBER_ID and
WHATSAPP_WABA_ID, when set, tell attribution which node an id is before the traffic does.
--mode production (the default) never makes the application wait for judging or recording: the
observer judges one exchange per turn, with up to half the main thread when forwarding leaves it
idle and a twentieth when forwarding keeps it busy; exchanges it cannot keep up with are forwarded,
counted as skipped, and not judged, except the first of a new kind (method, path, status, framing,
media type) in 10 s, which is always taken.
--mode review captures every exchange completely: new requests wait when the observer is behind.
With --state (or --alert-webhook), a drift in the traffic opens an incident in the state \`watch\`
keeps: one alert when it opens, one recovery when it clears (--recover-after clean exchanges and
--recover-quiet seconds), shared with a watch on the same file (one drift, one alert, whoever saw it),
and watch spends its probes on what the traffic does not cover. --metrics-port serves Prometheus
/metrics and /healthz.`,
  options: {
    upstream: { type: 'string', arg: '<url>', help: 'where to forward, e.g. https://graph.facebook.com (required)' },
    port: { type: 'string', arg: '<N>', help: `port to listen on (default ${DEFAULTS.proxyPort}; 0 picks a free one)` },
    host: { type: 'string', arg: '<addr>', help: 'address to bind (default 127.0.0.1)' },
    contracts: { type: 'string', arg: '<dir>', help: `contract pack (default ${DEFAULTS.contracts})` },
    recordings: { type: 'string', arg: '<dir>', help: `where recordings are written (default ${DEFAULTS.recordings})` },
    name: { type: 'string', arg: '<name>', help: 'recording file name (default proxy)' },
    'no-record': { type: 'boolean', help: 'check and print only, write no recordings' },
    'compact-every': { type: 'string', arg: '<s>', help: 'compact the journal into the recording files every <s> seconds (default 30; 0: only at stop)' },
    mode: { type: 'string', arg: '<mode>', help: 'production (default: never delays the application; skips and counts what it cannot observe) or review (captures everything; requests wait)' },
    observer: { type: 'string', arg: '<where>', help: 'inline (default: on the main thread, its share adapting to the load), thread (a worker thread: the main thread keeps only\nthe request path; it judges more of the traffic but, on a 2-core machine shared with the application,\nadds latency: the bench measured it worse at p99, so inline stays the default) or auto (a thread when a\nsecond core is there)' },
    'capture-bytes': { type: 'string', arg: '<N>', help: 'bytes of each body handed to the judge (default 1048576); past it a body is judged by its size and hash' },
    queue: { type: 'string', arg: '<n>', help: 'exchanges waiting to be judged at most (default 128 in production, 1024 in review; and 64 MB of kept bodies)' },
    state: { type: 'string', arg: '<file>', help: `watch's state (its --state): drifts in the traffic open and clear incidents there\n(default ${DEFAULTS.state} when --alert-webhook is given; without either, none)` },
    'alert-webhook': { type: 'string', multiple: true, arg: '[json=|slack=]<url>', help: 'POST each alert as JSON, or as a Slack incoming-webhook message\n(slack= or a hooks.slack.com URL); alerts always go to stdout too' },
    'recover-after': { type: 'string', arg: '<N>', help: `clean exchanges of the operation in a row before a drift clears (default ${TRAFFIC_RECOVERY.cleanRuns})` },
    'recover-quiet': { type: 'string', arg: '<s>', help: `and seconds since the traffic last showed the drift, both before it clears (default ${TRAFFIC_RECOVERY.quietMs / 1000})` },
    'metrics-port': { type: 'string', arg: '<N>', help: 'serve Prometheus /metrics and /healthz on this port (0 picks one)' },
    'metrics-host': { type: 'string', arg: '<addr>', help: 'address for --metrics-port (default 127.0.0.1; 0.0.0.0 in a container)' },
    ...reportOptions(DEFAULTS.proxyOut),
    ...GLOBAL,
  },
  notes: `Counts: every forwarded exchange is captured (taken by the observer) or skipped, with why:
queue-full (production: the observer was --queue behind; the application was served all the same;
the first exchange of a new kind in 10 s goes past the bound, into a reserve of 64, and is captured),
stopping, or observer-failed. Captured exchanges are judged live; the live line and the summary
print forwarded / captured / judged / skipped.

Recording is append-only and bounded: the first 5 distinct shapes of each operation and status
(every exchange in review mode) are lines in <recordings>/.journal/<name>.jsonl, on disk (fsynced)
within milliseconds; later ones of a known shape are counted ("exchanges" in the recording); a body
over 64 KiB is recorded as its size and sha256. The journal rotates into numbered segments at 64 MB
and is compacted into the recording files every --compact-every seconds and when the proxy stops.
In review mode, when exchanges arrive faster than they can be recorded, new requests wait (the
application sees latency; nothing is dropped); when they arrive faster than they can be judged
live, their lines say "judged at stop" and the session report judges them.

Failures pass through as failures: an upstream that cannot be reached gets the application a 502
naming driftwatch (no response head within 30 s: a 504); one that resets or truncates its answer
cuts the application's connection at the same point, never a clean answer. When the proxy itself
is down, the application's requests fail: run it with a restart policy (examples/proxy/compose.yaml).

Ctrl-C (or SIGTERM) stops it: no new requests, in-flight ones finish (within 30 s) and are observed, the journal is
flushed and compacted, what was captured is judged together (identical requests that got different
answers show there; the report says how many of the forwarded exchanges it covers), the report is
written to --out and a summary printed. A second Ctrl-C stops at once: every answered exchange is
already in the journal, and the next proxy start with the same --recordings and --name compacts
it; no report is written. Exit codes: 1 drift at --fail-on; 2 answered exchanges could not be
recorded; 3 the upstream left exchanges unanswered (unreachable, reset or cut), or traffic came and
none of it was attributed; otherwise 0: Ctrl-C or SIGTERM is how a proxy ends, so a clean session
stops PASS, and so does one no exchange passed through ("PASS: no exchange passed through the
proxy"; its report is written, and no recordings folder is left for recordings never written).
130 only after a second Ctrl-C (stopped at once, no report).`,
  async run(v, _positionals, io) {
    const upstream = str(v, 'upstream')
    if (!upstream) throw new HarnessError('DW_USAGE', '--upstream is required, e.g. driftwatch proxy --upstream https://graph.facebook.com')
    const port = wholeNumber(str(v, 'port'), '--port', 0, 65535) ?? DEFAULTS.proxyPort
    const compactEvery = wholeNumber(str(v, 'compact-every'), '--compact-every', 0) ?? 30
    const mode = str(v, 'mode') ?? 'production'
    if (mode !== 'production' && mode !== 'review') throw new HarnessError('DW_USAGE', `--mode must be production or review (got "${mode}")`)
    const observer = str(v, 'observer') ?? 'inline'
    if (observer !== 'inline' && observer !== 'thread' && observer !== 'auto') throw new HarnessError('DW_USAGE', `--observer must be inline, thread or auto (got "${observer}")`)
    const captureBytes = wholeNumber(str(v, 'capture-bytes'), '--capture-bytes', 0)
    const queue = wholeNumber(str(v, 'queue'), '--queue', 1)
    const recoverAfter = wholeNumber(str(v, 'recover-after'), '--recover-after', 1, 100_000) ?? TRAFFIC_RECOVERY.cleanRuns
    const recoverQuiet = wholeNumber(str(v, 'recover-quiet'), '--recover-quiet', 0, 7 * 86_400)
    const metricsPort = wholeNumber(str(v, 'metrics-port'), '--metrics-port', 0, 65535)
    const { webhookSink, alertLine } = await import('../../commands/alerts.ts')
    const sinks = ((v['alert-webhook'] as string[] | undefined) ?? []).map((spec) => webhookSink(spec))
    // Incidents need a state: --state, or watch's default when alerts are asked for without one (the startup line says which).
    const statePath = str(v, 'state') !== undefined || sinks.length ? resolve(io.cwd, str(v, 'state') ?? DEFAULTS.state) : undefined
    checkFileName(str(v, 'name'))
    refuseRecordingsAsOut('proxy', str(v, 'out'), io.cwd)
    const failOn = parseFailOn(str(v, 'fail-on'))
    const formats = parseFormats(str(v, 'format'))
    const recordingsDir = v['no-record'] ? undefined : resolve(io.cwd, str(v, 'recordings') ?? DEFAULTS.recordings)
    const reportDir = resolve(io.cwd, str(v, 'out') ?? DEFAULTS.proxyOut)
    const { assertWritable } = await import('../../util/preflight.ts')
    await assertWritable(reportDir, '--out', io.cwd)
    if (recordingsDir) await assertWritable(recordingsDir, '--recordings', io.cwd)
    if (statePath) await assertWritable(dirname(statePath), '--state', io.cwd)
    const { startProxy } = await import('../../commands/proxy.ts')
    const contractsDir = str(v, 'contracts') ?? DEFAULTS.contracts
    // Paths echo as the user would type them: inside the working directory relative, outside absolute.
    const rel = (p: string) => shownPath(io.cwd, p)
    let saidSkipped: number | undefined
    let saidSkippedAt = 0
    let proxy: Awaited<ReturnType<typeof startProxy>> | undefined
    const redact = (line: string) => (proxy ? proxy.redactor.text(line) : line)
    proxy = await startProxy({
      upstream,
      port,
      ...(str(v, 'host') ? { host: str(v, 'host')! } : {}),
      contractsDir,
      ...(statePath
        ? {
            state: statePath,
            sinks,
            recovery: { cleanRuns: recoverAfter, quietMs: (recoverQuiet ?? TRAFFIC_RECOVERY.quietMs / 1000) * 1000 },
            onAlert: (a: Alert, delivery: string[]) => {
              io.stdout(redact(`ALERT ${alertLine(a)}`))
              for (const d of delivery) if (!d.endsWith(': delivered')) io.stderr(`driftwatch: alert ${d}`)
            },
          }
        : {}),
      ...(metricsPort !== undefined ? { metricsPort } : {}),
      ...(str(v, 'metrics-host') ? { metricsHost: str(v, 'metrics-host')! } : {}),
      ...(recordingsDir ? { recordingsDir } : {}),
      ...(str(v, 'name') ? { name: str(v, 'name')! } : {}),
      reportDir,
      formats,
      failOn,
      compactEveryMs: compactEvery * 1000,
      mode,
      observer,
      ...(captureBytes !== undefined ? { captureBytes } : {}),
      ...(queue !== undefined ? { queue } : {}),
      env: io.env,
      cwd: io.cwd,
      onExchange: (e) => {
        // Sampling needs attention even under --quiet: said when it starts, then at most every 10 s.
        const st = proxy?.stats()
        const skipped = st ? Object.values(st.skipped).reduce((a, b) => a + b, 0) : 0
        if (st && skipped > (saidSkipped ?? 0) && (saidSkipped === undefined || Date.now() - saidSkippedAt >= 10_000)) {
          saidSkipped = skipped
          saidSkippedAt = Date.now()
          io.stderr(String(term`· sampling: the observer is behind, so some exchanges are forwarded unjudged: ${u(counts(st))}`))
        }
        const bad = e.findings.filter(isDrift)
        const fails = e.findings.some((f) => failsAt(f.severity, failOn))
        if (v.quiet && bad.length === 0 && e.status !== undefined && !e.cut) return
        // A cut answer is a failure the application saw, attributed or not.
        const mark = fails || e.status === undefined || e.cut ? '✗' : !e.judged ? '·' : bad.length ? '!' : '✓'
        const what = e.contract ?? (e.attribution === 'unattributed' ? '(unattributed, not recorded)' : '(no operation)')
        const status = e.status === undefined ? 'no answer from the upstream (the application saw the same failure)' : e.cut ? `${e.status}, cut mid-body by the upstream (the application's connection was cut too)` : e.status
        // Method and path are the application's request as sent: untrusted, one line each.
        io.stderr(String(term`${u(mark)} ${u(e.method)} ${u(e.path)} → ${u(String(status))} ${u(what)}${e.recording ? (e.counted ? term` [counted in: ${u(rel(e.recording))}]` : term` [recorded: ${u(rel(e.recording))}]`) : undefined}${e.judged ? undefined : term` (judged at stop)`}`))
        for (const f of e.findings) io.stderr(String(term`    ${u(f.severity)}: ${u(f.title)}`))
      },
      onError: (message) => io.stderr(String(term`✗ ${u(message)}`)),
    })
    const r = proxy.recovered
    if (r) io.stderr(`Recovered ${r.exchanges} exchange${r.exchanges === 1 ? '' : 's'} from ${rel(r.journal)}, left by an earlier session: ${r.recordings.map((x) => rel(x.file)).join(', ') || 'no recording'}`)
    for (const t of proxy.removedTemps) io.stderr(`Removed ${rel(t)}: a temp file an interrupted compaction left behind`)
    io.stdout(`driftwatch proxy listening on ${proxy.url}, forwarding to ${upstream} (${mode} mode)`)
    const open = proxy.openBefore
    const state = statePath ? `state ${rel(statePath)}${str(v, 'state') === undefined ? ` (watch's default: --alert-webhook needs a state; pass --state to choose)` : ''}${open ? `: ${open} drift${open === 1 ? '' : 's'} open from before, not alerted again` : ''}` : 'no incident state (--state or --alert-webhook keeps one)'
    // Webhook URLs are secrets: the sinks' labels carry their host only.
    const alerts = statePath ? `alerts to stdout${sinks.length ? `, ${sinks.map((s) => s.label).join(', ')}` : ''}` : 'no alerts'
    const metricsUrl = proxy.metricsUrl
    io.stdout(`  ${state}; ${alerts}${metricsUrl ? `; metrics on ${metricsUrl}/metrics, health on ${metricsUrl}/healthz` : ''}`)
    // Listening on every address (--host 0.0.0.0 in a container): 0.0.0.0 is no address an application can call.
    const reach = proxy.url.replace(/^http:\/\/(?:0\.0\.0\.0|\[::\])(?=:)/, "http://<this host's name or address>")
    io.stdout(recordingsDir ? `Recording to ${rel(recordingsDir)}/<contract>/${str(v, 'name') ?? 'proxy'}.json (journal: ${rel(proxy.journal!)}). Point your application's Graph API base URL at ${reach}; Ctrl-C to stop.` : `Not recording. Point your application's Graph API base URL at ${reach}; Ctrl-C to stop.`)
    await untilInterrupted(io)
    // Ctrl-C or SIGTERM is how a proxy session ends, not a cut-short run: a clean session is PASS, exit 0.
    const closing = proxy.close()
    closing.catch(() => undefined)
    const halted = new Promise<undefined>((done) => {
      if (io.halt?.aborted) done(undefined)
      io.halt?.addEventListener('abort', () => done(undefined), { once: true })
    })
    const session = await Promise.race([closing, halted])
    if (!session) {
      const a = await proxy.abort()
      const kept = a.journal ? `; ${a.stats.journaled} recorded exchange${a.stats.journaled === 1 ? ' is' : 's are'} in ${rel(a.journal)}, and the next proxy start with the same --recordings and --name turns ${a.stats.journaled === 1 ? 'it' : 'them'} into recordings` : ''
      io.stderr(`proxy stopped at once: ${a.stats.answered} exchange${a.stats.answered === 1 ? '' : 's'} answered${kept}. No session report was written.`)
      return 130
    }
    const st = session.stats
    const c = session.counts
    const comp = session.compaction
    io.stdout(`proxy stopped: ${counts(st)}`)
    io.stdout(`judged: ${c.entries} exchange${c.entries === 1 ? '' : 's'} (${c.attributed} attributed, ${c.unattributed} not), ${st.answered} answered whole by the upstream${failedUpstream(st) ? `, ${failedUpstream(st)} not (${st.failedBeforeAnswer} before an answer, ${st.abortedMidBody} cut mid-body: the application saw the same failure)` : ''}${st.appAborted ? `, ${st.appAborted} given up by the application` : ''}${comp ? `, ${comp.exchanges} recorded into ${comp.recordings.length} recording${comp.recordings.length === 1 ? '' : 's'}` : ''}${st.notRecorded ? `, ${st.notRecorded} not recorded (see above)` : ''}${st.judgedLive < st.captured ? `, ${st.captured - st.judgedLive} judged at stop only` : ''} (stop: compaction ${(session.timings.compactMs / 1000).toFixed(1)} s, judging ${(session.timings.judgeMs / 1000).toFixed(1)} s)`)
    if (session.journalKept) io.stderr(`The journal ${rel(session.journalKept)} is kept: it holds what could not be recorded; fix the cause above and start the proxy again to compact it.`)
    // The seconds are the session's as its report states them (started to stopped and judged), as report.md says.
    io.stdout(st.exchanges === 0 && session.report.outcome === 'pass' ? `PASS: no exchange passed through the proxy, so nothing was judged or recorded (${runSeconds(session.report)} s)` : finalLine(session.report, runSeconds(session.report), 'exchanges'))
    if (session.files.length) io.stdout(`Session report: ${session.files.join(', ')}`)
    return exitCodeOf(session.report)
  },
}

/** Exchanges the upstream failed: no answer, or one cut mid-body. */
function failedUpstream(st: ProxyStats): number {
  return st.failedBeforeAnswer + st.abortedMidBody
}

/** forwarded / captured / judged / skipped (why): what the proxy did with the traffic, in one line. */
function counts(st: ProxyStats): string {
  const why = Object.entries(st.skipped).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`)
  const skipped = Object.values(st.skipped).reduce((a, b) => a + b, 0)
  const fresh = st.newKinds ? ` (${st.newKinds} past the queue bound, each the first of its kind in 10 s)` : ''
  return `${st.exchanges} forwarded, ${st.captured} captured${fresh}, ${st.judgedLive} judged live, ${skipped} skipped${why.length ? ` (${why.join(', ')})` : ''}`
}
