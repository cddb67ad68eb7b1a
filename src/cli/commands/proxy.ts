import { relative, resolve } from 'node:path'
import { term, untrusted as u } from '../../render/index.ts'
import { HarnessError } from '../../errors.ts'
import { isDrift } from '../../finding.ts'
import { exitCodeOf, failsAt } from '../../report.ts'
import { finalLine } from '../lines.ts'
import { checkFileName, DEFAULTS, refuseRecordingsAsOut, GLOBAL, parseFailOn, parseFormats, reportOptions, str, wholeNumber, type Command } from '../options.ts'
import { untilInterrupted } from '../signals.ts'
import type { ProxyStats } from '../../proxy/proxy.ts'

export const proxy: Command = {
  name: 'proxy',
  summary: 'a proxy in front of the Graph API that judges and records the traffic passing through.',
  usage: ['proxy --upstream <url> [options]'],
  about: `Point your application's Graph API base URL (or curl) at the proxy. Each request is forwarded to
the upstream, the answer goes back to the application unchanged (framing included), and the
exchange is attributed to the operation it is (as verify does), judged, printed live, and
recorded (redacted: tokens, access_token, phone numbers, names) to <recordings>/<operation>/<name>.json;
unattributed exchanges are printed with their candidates and not recorded. A method the endpoint
does not take (POST to a media id) is flagged as consumer drift. WHATSAPP_PHONE_NUMBER_ID and
WHATSAPP_WABA_ID, when set, tell attribution which node an id is before the traffic does.
--mode production (the default) never makes the application wait for judging or recording:
exchanges the observer cannot keep up with are forwarded, counted as skipped, and not judged.
--mode review captures every exchange completely: new requests wait when the observer is behind.`,
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
    'capture-bytes': { type: 'string', arg: '<N>', help: 'bytes of each body handed to the judge (default 1048576); past it a body is judged by its size and hash' },
    queue: { type: 'string', arg: '<n>', help: 'exchanges waiting to be judged at most (default 1024)' },
    ...reportOptions(DEFAULTS.proxyOut),
    ...GLOBAL,
  },
  notes: `Counts: every forwarded exchange is captured (taken by the observer) or skipped, with why:
queue-full (production: the observer was --queue behind; the application was served all the same),
stopping, or observer-failed. Captured exchanges are judged live; the live line and the summary
print forwarded / captured / judged / skipped.

Recording is append-only and bounded: the first 5 distinct shapes of each operation and status
(every exchange in review mode) are lines in <recordings>/.journal/<name>.jsonl, on disk (fsynced)
within milliseconds; later ones of a known shape are counted ("exchanges" in the recording); a body
over 64 KiB is recorded as its size and sha256. The journal rotates into numbered segments at 64 MB
and is compacted into the recording files every --compact-every seconds and when the proxy stops.
In review mode, when exchanges arrive faster than they can be recorded, new requests wait (the
application sees latency; nothing is dropped); when they arrive faster than they can be judged
live, their lines say "judged at stop" and the session report judges them. An upstream that does
not answer gets the application a 502 naming driftwatch.

Ctrl-C (or SIGTERM) stops it: no new requests, in-flight ones finish and are observed, the journal is
flushed and compacted, what was captured is judged together (identical requests that got different
answers show there; the report says how many of the forwarded exchanges it covers), the report is
written to --out and a summary printed. A second Ctrl-C stops at once: every answered exchange is
already in the journal, and the next proxy start with the same --recordings and --name compacts
it; no report is written. Exit codes: 1 drift at --fail-on; 2 answered exchanges could not be
recorded; 3 the upstream left exchanges unanswered (unreachable), or nothing was attributed;
otherwise 130, as every command stopped by Ctrl-C.`,
  async run(v, _positionals, io) {
    const upstream = str(v, 'upstream')
    if (!upstream) throw new HarnessError('DW_USAGE', '--upstream is required, e.g. driftwatch proxy --upstream https://graph.facebook.com')
    const port = wholeNumber(str(v, 'port'), '--port', 0, 65535) ?? DEFAULTS.proxyPort
    const compactEvery = wholeNumber(str(v, 'compact-every'), '--compact-every', 0) ?? 30
    const mode = str(v, 'mode') ?? 'production'
    if (mode !== 'production' && mode !== 'review') throw new HarnessError('DW_USAGE', `--mode must be production or review (got "${mode}")`)
    const captureBytes = wholeNumber(str(v, 'capture-bytes'), '--capture-bytes', 0)
    const queue = wholeNumber(str(v, 'queue'), '--queue', 1)
    checkFileName(str(v, 'name'))
    refuseRecordingsAsOut('proxy', str(v, 'out'), io.cwd)
    const failOn = parseFailOn(str(v, 'fail-on'))
    const formats = parseFormats(str(v, 'format'))
    const recordingsDir = v['no-record'] ? undefined : resolve(io.cwd, str(v, 'recordings') ?? DEFAULTS.recordings)
    const reportDir = resolve(io.cwd, str(v, 'out') ?? DEFAULTS.proxyOut)
    const { assertWritable } = await import('../../preflight.ts')
    await assertWritable(reportDir, '--out', io.cwd)
    if (recordingsDir) await assertWritable(recordingsDir, '--recordings', io.cwd)
    const { startProxy } = await import('../../proxy/proxy.ts')
    const rel = (p: string) => relative(io.cwd, p) || '.'
    const t0 = Date.now()
    let saidSkipped: number | undefined
    let proxy: Awaited<ReturnType<typeof startProxy>> | undefined
    proxy = await startProxy({
      upstream,
      port,
      ...(str(v, 'host') ? { host: str(v, 'host')! } : {}),
      contractsDir: str(v, 'contracts') ?? DEFAULTS.contracts,
      ...(recordingsDir ? { recordingsDir } : {}),
      ...(str(v, 'name') ? { name: str(v, 'name')! } : {}),
      reportDir,
      formats,
      failOn,
      compactEveryMs: compactEvery * 1000,
      mode,
      ...(captureBytes !== undefined ? { captureBytes } : {}),
      ...(queue !== undefined ? { queue } : {}),
      env: io.env,
      cwd: io.cwd,
      onExchange: (e) => {
        const bad = e.findings.filter(isDrift)
        const fails = e.findings.some((f) => failsAt(f.severity, failOn))
        if (v.quiet && bad.length === 0 && e.status !== undefined) return
        const mark = fails || e.status === undefined ? '✗' : !e.judged ? '·' : bad.length ? '!' : '✓'
        const what = e.contract ?? (e.attribution === 'unattributed' ? '(unattributed, not recorded)' : '(no operation)')
        const status = e.status ?? 'no answer from the upstream (502 to the application)'
        // Method and path are the application's request as sent: untrusted, one line each.
        io.stderr(String(term`${u(mark)} ${u(e.method)} ${u(e.path)} → ${u(String(status))} ${u(what)}${e.recording ? (e.counted ? term` [counted in: ${u(rel(e.recording))}]` : term` [recorded: ${u(rel(e.recording))}]`) : undefined}${e.judged ? undefined : term` (judged at stop)`}`))
        const st = proxy?.stats()
        const skipped = st ? Object.values(st.skipped).reduce((a, b) => a + b, 0) : 0
        if (st && skipped > (saidSkipped ?? 0)) {
          saidSkipped = skipped
          io.stderr(String(term`    ${u(counts(st))}`))
        }
        for (const f of e.findings) io.stderr(String(term`    ${u(f.severity)}: ${u(f.title)}`))
      },
      onError: (message) => io.stderr(String(term`✗ ${u(message)}`)),
    })
    const r = proxy.recovered
    if (r) io.stderr(`Recovered ${r.exchanges} exchange${r.exchanges === 1 ? '' : 's'} from ${rel(r.journal)}, left by an earlier session: ${r.recordings.map((x) => rel(x.file)).join(', ') || 'no recording'}`)
    for (const t of proxy.removedTemps) io.stderr(`Removed ${rel(t)}: a temp file an interrupted compaction left behind`)
    io.stdout(`driftwatch proxy listening on ${proxy.url}, forwarding to ${upstream} (${mode} mode)`)
    io.stdout(recordingsDir ? `Recording to ${rel(recordingsDir)}/<contract>/${str(v, 'name') ?? 'proxy'}.json (journal: ${rel(proxy.journal!)}). Point your application's Graph API base URL at ${proxy.url}; Ctrl-C to stop.` : `Not recording. Point your application's Graph API base URL at ${proxy.url}; Ctrl-C to stop.`)
    await untilInterrupted(io)
    const closing = proxy.close({ interrupted: true })
    closing.catch(() => undefined)
    const halted = new Promise<undefined>((done) => {
      if (io.halt?.aborted) done(undefined)
      io.halt?.addEventListener('abort', () => done(undefined), { once: true })
    })
    const session = await Promise.race([closing, halted])
    if (!session) {
      const a = await proxy.abort()
      const kept = a.journal ? `; ${a.stats.journaled} recorded exchange${a.stats.journaled === 1 ? ' is' : 's are'} in ${rel(a.journal)}, and the next proxy start with the same --recordings and --name turns ${a.stats.journaled === 1 ? 'it' : 'them'} into recordings` : ''
      io.stderr(`proxy stopped at once: ${a.stats.exchanges} exchange${a.stats.exchanges === 1 ? '' : 's'} answered${kept}. No session report was written.`)
      return 130
    }
    const st = session.stats
    const c = session.counts
    const comp = session.compaction
    io.stdout(`proxy stopped: ${counts(st)}`)
    io.stdout(`judged: ${c.entries} exchange${c.entries === 1 ? '' : 's'} (${c.attributed} attributed, ${c.unattributed} not), ${st.exchanges - st.unanswered} answered by the upstream${st.unanswered ? `, ${st.unanswered} not (502 to the application)` : ''}${comp ? `, ${comp.exchanges} recorded into ${comp.recordings.length} recording${comp.recordings.length === 1 ? '' : 's'}` : ''}${st.notRecorded ? `, ${st.notRecorded} not recorded (see above)` : ''}${st.judgedLive < st.captured ? `, ${st.captured - st.judgedLive} judged at stop only` : ''} (stop: compaction ${(session.timings.compactMs / 1000).toFixed(1)} s, judging ${(session.timings.judgeMs / 1000).toFixed(1)} s)`)
    if (session.journalKept) io.stderr(`The journal ${rel(session.journalKept)} is kept: it holds what could not be recorded; fix the cause above and start the proxy again to compact it.`)
    io.stdout(finalLine(session.report, ((Date.now() - t0) / 1000).toFixed(1), 'exchanges'))
    if (session.files.length) io.stdout(`Session report: ${session.files.join(', ')}`)
    return exitCodeOf(session.report)
  },
}

/** forwarded / captured / judged / skipped (why): what the proxy did with the traffic, in one line. */
function counts(st: ProxyStats): string {
  const why = Object.entries(st.skipped).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`)
  const skipped = Object.values(st.skipped).reduce((a, b) => a + b, 0)
  return `${st.exchanges} forwarded, ${st.captured} captured, ${st.judgedLive} judged live, ${skipped} skipped${why.length ? ` (${why.join(', ')})` : ''}`
}
