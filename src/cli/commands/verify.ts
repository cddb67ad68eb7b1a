import { resolve } from 'node:path'
import { term, untrusted as u, untrusting } from '../../render/index.ts'
import { HarnessError } from '../../util/errors.ts'
import { isDrift, NO_OPERATION, UNATTRIBUTED } from '../../model/finding.ts'
import { exitCodeOf, failsAt } from '../../model/report.ts'
import { finalLine, rerunLines, runSeconds } from '../lines.ts'
import { DEFAULTS, GLOBAL, HISTORY_OPTIONS, parseFailOn, parseFormats, reportOptions, str, type Command, JSON_OPTION } from '../options.ts'
import { goldenRecordings } from '../shipped.ts'
import { addToHistory, pastOf } from './check.ts'
import type { VerifyProgress } from '../../commands/verify.ts'

/** How often a progress line is shown on a terminal. */
const PROGRESS_MS = 2000

const MB = 1024 * 1024

/** `  read 125,503 entries, 180 of 200 MB (90%), 21,400 entries/s`. */
export function progressText(p: VerifyProgress): string {
  const bytes = p.totalBytes > 0 ? `, ${(p.bytesRead / MB).toFixed(0)} of ${(p.totalBytes / MB).toFixed(0)} MB (${Math.floor((p.bytesRead / p.totalBytes) * 100)}%)` : ''
  return `  read ${p.entries.toLocaleString('en-US')} entries${bytes}, ${Math.round(p.entriesPerSecond).toLocaleString('en-US')} entries/s`
}

export const verify: Command = {
  name: 'verify',
  summary: 'judge traffic you already have against the operations, offline.',
  usage: ['verify <file.har | cassette.yml | recordings-dir> [options]'],
  positionals: true,
  about: `A HAR 1.2 file (browsers, mitmproxy, Charles, proxies; base64 bodies), a VCR cassette (Ruby VCR or
Python vcrpy, as SDK and application test suites keep them), or a directory of driftwatch
recordings. Each exchange is attributed to the operation the traffic says it is (path, the node
each id names as learned from earlier answers or WHATSAPP_PHONE_NUMBER_ID / WHATSAPP_WABA_ID,
method, query, fields=, request body, then the answer's fit) and judged by the same checks as
\`check\`. An error the application asked for is a documented answer, not drift. An exchange the
traffic does not settle is reported as unattributed, with its candidates, and never judged on a
guess. A method the endpoint does not take (POST to a media id) is consumer drift. Webhooks (a HAR's
POSTs carrying a WhatsApp webhook body, or a .json / .jsonl file of bodies) are judged against
the webhook contracts (contracts/meta/webhooks) and counted with the entries.`,
  options: {
    contracts: { type: 'string', arg: '<dir>', help: `contract pack (default ${DEFAULTS.contracts})` },
    recordings: { type: 'string', arg: '<dir>', help: `golden recordings of the traffic's own origin to compare with, e.g. made\nfrom yesterday's traffic by driftwatch record --from (default ${DEFAULTS.recordings})` },
    ...reportOptions(DEFAULTS.verifyOut),
    ...HISTORY_OPTIONS,
    ...JSON_OPTION,
    ...GLOBAL,
  },
  notes: `Secrets (Authorization, cookies, access_token) and personal data in the traffic never reach the
reports. report.json's summary counts entries, attributed and unattributed. A HAR is read as a
stream, judged entry by entry, in flat memory whatever its size (on a terminal a progress line
shows entries, bytes and entries/s); a cassette is read whole, up to 64 MB. Ctrl-C stops reading:
the report covers the entries read, outcome interrupted, exit 130. Exit 2 also for an unreadable
or malformed file (the message names the entry), or nothing to verify; 3 when no entry had a
usable response.`,
  async run(v, positionals, io) {
    if (positionals.length !== 1) throw new HarnessError('DW_USAGE', `verify takes one HAR file, cassette or recordings directory (got ${positionals.length ? positionals.join(' ') : 'none'}; see driftwatch help verify)`)
    const failOn = parseFailOn(str(v, 'fail-on'))
    const formats = parseFormats(str(v, 'format'))
    const outDir = resolve(io.cwd, str(v, 'out') ?? DEFAULTS.verifyOut)
    // Read before anything else: --history with --no-history is refused here, before the capture is read.
    const past = await pastOf(v, outDir, io)
    const t0 = Date.now()
    const { runVerify } = await import('../../commands/verify.ts')
    const { flagArgs, rerunOutput } = await import('../../model/reproduce.ts')
    // On a terminal, a line at the first progress and then every PROGRESS_MS while a large capture is read; logs get the summary only.
    let shown = 0
    const onProgress = (p: VerifyProgress) => {
      if (p.done || Date.now() - shown < PROGRESS_MS) return
      shown = Date.now()
      io.stderr(progressText(p))
    }
    const { report, files, redactor, counts } = await runVerify({
      input: positionals[0]!,
      // A finding's rerun repeats what changes the verdict (the pack, the golden recordings, --fail-on), and writes elsewhere.
      rerunArgs: [...flagArgs(v, ['contracts', 'recordings', 'fail-on']), ...rerunOutput(v, outDir, io.cwd)],
      contractsDir: str(v, 'contracts') ?? DEFAULTS.contracts,
      recordingsDir: goldenRecordings(str(v, 'recordings'), io.cwd),
      outDir,
      formats,
      ...(past ? { past } : {}),
      failOn,
      env: io.env,
      cwd: io.cwd,
      ...(io.interrupt ? { signal: io.interrupt } : {}),
      ...(io.tty ? { onProgress } : {}),
    })
    if (report.outcome === 'interrupted') io.stderr(`Interrupted after ${counts.entries} entries: the report covers those, judged; the rest of ${report.target.replace(/^\w+:/, '')} was not read.`)
    io.stderr(`driftwatch verify: ${counts.entries} entries from ${String(term`${u(report.target)}`)}: ${counts.attributed} attributed to an operation, ${counts.unattributed} not${v.quiet ? '' : ' (each says why below)'}`)
    for (const r of report.results) {
      const own = report.findings.filter((f) => f.contract === r.contract && isDrift(f))
      const failing = own.some((f) => failsAt(f.severity, failOn))
      const mark = r.status === 'passed' ? (own.length ? '!' : '✓') : r.status === 'failed' ? '✗' : '?'
      if (v.quiet && !failing) continue
      io.stderr(redactor.text(String(term`  ${u(mark)} ${u(r.contract)}: ${u(r.reason ?? '')}${own.length ? term`; ${u(own.map((f) => f.title).join('; '))}` : undefined}`)))
    }
    // One rerun for the whole capture (verify judges it as a whole): said once, under the lines with drift.
    for (const line of rerunLines(untrusting(report.findings.filter((f) => isDrift(f))), '  ')) io.stderr(redactor.text(line))
    if (!v.quiet) {
      for (const f of report.findings.filter((x) => x.check === 'attribution' && (x.contract === UNATTRIBUTED || x.contract === NO_OPERATION))) io.stderr(redactor.text(String(term`  ? ${u(f.title)}${f.samples > 1 ? term` (${f.samples}×)` : undefined}`)))
    }
    io.stdout(redactor.text(finalLine(report, runSeconds(report), 'entries judged')))
    io.stdout(`Reports: ${files.join(', ')}`)
    await addToHistory(v, outDir, report, io, 'verify')
    return exitCodeOf(report)
  },
}
