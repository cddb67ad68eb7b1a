import { relative, resolve } from 'node:path'
import { HarnessError } from '../../errors.ts'
import { isDrift } from '../../finding.ts'
import { failsAt } from '../../report.ts'
import { checkFileName, DEFAULTS, refuseRecordingsAsOut, GLOBAL, parseFailOn, parseFormats, reportOptions, str, wholeNumber, type Command } from '../options.ts'
import { untilInterrupted } from '../signals.ts'

export const proxy: Command = {
  name: 'proxy',
  summary: 'a recording proxy in front of the Graph API.',
  usage: ['proxy --upstream <url> [options]'],
  about: `Point your application's Graph API base URL (or curl) at the proxy. Each request is forwarded to
the upstream, the answer goes back to the application unchanged (framing included), and the
exchange is attributed to the operation it is (as verify does), judged, printed live, and
recorded (redacted: tokens, access_token, phone numbers, names) to <recordings>/<operation>/<name>.json;
unattributed exchanges are printed with their candidates and not recorded. A method the endpoint
does not take (POST to a media id) is flagged as consumer drift. WHATSAPP_PHONE_NUMBER_ID and
WHATSAPP_WABA_ID, when set, tell attribution which node an id is before the traffic does.
Responses are buffered to be checked: use it to record and review, not in production.`,
  options: {
    upstream: { type: 'string', arg: '<url>', help: 'where to forward, e.g. https://graph.facebook.com (required)' },
    port: { type: 'string', arg: '<N>', help: `port to listen on (default ${DEFAULTS.proxyPort}; 0 picks a free one)` },
    host: { type: 'string', arg: '<addr>', help: 'address to bind (default 127.0.0.1)' },
    contracts: { type: 'string', arg: '<dir>', help: `contract pack (default ${DEFAULTS.contracts})` },
    recordings: { type: 'string', arg: '<dir>', help: `where recordings are written (default ${DEFAULTS.recordings})` },
    name: { type: 'string', arg: '<name>', help: 'recording file name (default proxy)' },
    'no-record': { type: 'boolean', help: 'check and print only, write no recordings' },
    ...reportOptions(DEFAULTS.proxyOut),
    ...GLOBAL,
  },
  notes: `Ctrl-C (or SIGTERM) stops it: the whole session is judged (identical requests that got different
answers show there), the session report is written to --out and a summary printed. It exits 1 if
an exchange had drift at --fail-on, 2 if an exchange could not be recorded, 3 if no exchange got an
answer from the upstream (unreachable), and otherwise 130, as every command stopped by Ctrl-C.`,
  async run(v, _positionals, io) {
    const upstream = str(v, 'upstream')
    if (!upstream) throw new HarnessError('DW_USAGE', '--upstream is required, e.g. driftwatch proxy --upstream https://graph.facebook.com')
    const port = wholeNumber(str(v, 'port'), '--port', 0, 65535) ?? DEFAULTS.proxyPort
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
    let failing = 0
    let failures = 0
    const proxy = await startProxy({
      upstream,
      port,
      ...(str(v, 'host') ? { host: str(v, 'host')! } : {}),
      contractsDir: str(v, 'contracts') ?? DEFAULTS.contracts,
      ...(recordingsDir ? { recordingsDir } : {}),
      ...(str(v, 'name') ? { name: str(v, 'name')! } : {}),
      reportDir,
      formats,
      env: io.env,
      cwd: io.cwd,
      onExchange: (e) => {
        const bad = e.findings.filter(isDrift)
        const fails = e.findings.some((f) => failsAt(f.severity, failOn))
        if (fails) failing++
        if (v.quiet && bad.length === 0) return
        const what = e.contract ?? (e.attribution === 'unattributed' ? '(unattributed, not recorded)' : '(no operation)')
        io.stderr(`${fails || e.status === undefined ? '✗' : bad.length ? '!' : '✓'} ${e.method} ${e.path} → ${e.status ?? 'no response'} ${what}${e.recording ? ` [recorded: ${relative(io.cwd, e.recording)}]` : ''}`)
        for (const f of e.findings) io.stderr(`    ${f.severity}: ${f.title}`)
      },
      onError: (message) => {
        failures++
        io.stderr(`✗ ${message}`)
      },
    })
    io.stdout(`driftwatch proxy listening on ${proxy.url}, forwarding to ${upstream}`)
    io.stdout(recordingsDir ? `Recording to ${relative(io.cwd, recordingsDir) || '.'}/<contract>/${str(v, 'name') ?? 'proxy'}.json. Point your application's Graph API base URL at ${proxy.url}; Ctrl-C to stop.` : `Not recording. Point your application's Graph API base URL at ${proxy.url}; Ctrl-C to stop.`)
    await untilInterrupted(io)
    const session = await proxy.close()
    const c = session.counts
    const s = session.report.summary
    const answered = proxy.exchanges.filter((e) => e.status !== undefined).length
    failing = Math.max(failing, session.report.findings.filter((f) => failsAt(f.severity, failOn)).length)
    io.stdout(`proxy stopped: ${c.entries} exchange${c.entries === 1 ? '' : 's'} (${c.attributed} attributed, ${c.unattributed} not), ${answered} answered by the upstream, findings: ${s.breaking} breaking, ${s.warning} warning, ${s.info} info${failures ? `, ${failures} not recorded (see above)` : ''}`)
    if (session.files.length) io.stdout(`Session report: ${session.files.join(', ')}`)
    if (failing > 0) return 1
    if (failures > 0) return 2
    if (c.entries > 0 && answered === 0) return 3
    return 130
  },
}
