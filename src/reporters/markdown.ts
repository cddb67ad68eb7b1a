/**
 * report.md: for a person, possibly at 3 a.m. The first screen is a summary table and the list of
 * what changed; details with evidence follow; the per-contract table closes. It lands in GitHub job
 * summaries and pull requests, so every value from the report is placed through src/render/markdown:
 * prose escaped, request lines in code spans, bodies and headers in fenced blocks. Nothing from the
 * wire becomes a link, an image, a heading or raw HTML.
 */
import type { Finding, Severity } from '../model/finding.ts'
import { contractLabel, resultsFailingFirst, sameContract, targetsPhrase, type Report } from '../model/report.ts'
import { block, cell, cellCode, cellWithCode, code, joinMd, link, md, text, textWithCode, untrusted, type Md, type Untrusted, type Untrusting } from '../render/index.ts'
import type { Reporter } from './reporter.ts'
import { noTraffic, clearedSummary, duration, errorCause, firstSeen, framingOf, groupFindings, groupSamples, groupTimes, isFramingFinding, lastGood, repositoryFileUrl, sinceText, TIME_BASE, topCause, topCauseMore, type Group } from './wording.ts'

type R = Untrusting<Report>
type F = Untrusting<Finding>

const ICON: Record<Severity, Md> = { breaking: md`🔴 breaking`, warning: md`🟠 warning`, info: md`🔵 info` }
const RESULT: Record<string, Md> = { passed: md`✅ passed`, failed: md`❌ drift`, skipped: md`⏭️ skipped`, inconclusive: md`❔ inconclusive` }

// Own keys only: a crafted value such as __proto__ must not reach Object.prototype.
const icon = (s: Severity): Md => (Object.hasOwn(ICON, s) ? ICON[s] : cell(untrusted(s)))
const label = (x: { contract: Untrusted; target?: Untrusted | undefined }): Untrusted => untrusted(contractLabel(x))
const plural = (n: number, one: string, many = `${one}s`) => (n === 1 ? one : many)

/** The worst cause and its endpoint, after a drifting headline: ` — `GET /{api_version}/{media_id}`: Framing changed… (breaking); and 2 more causes`. */
function headlineCause(r: R): Md | undefined {
  // An inconclusive run names its cause too (an expired token, Meta down).
  if (r.outcome !== 'drift' && r.outcome !== 'interrupted' && r.outcome !== 'inconclusive') return undefined
  const t = topCause(r)
  if (!t) return undefined
  const f = t.group.first
  return md` — ${t.request ? code(t.request) : code(label(f))}: ${textWithCode(f.title)} (${text(f.severity)})${text(topCauseMore(t))}`
}

/**
 * A contract file as a link to the repository at the commit run (CI), else its path as text: a
 * relative link means nothing where report.md is mostly read (job summaries, pull requests).
 */
function fileRef(file: Untrusted, r: R): Md {
  const url = repositoryFileUrl(r, file)
  return url ? link(file, url) : text(file)
}

/** The golden recording's framing beside this run's, for a framing finding whose evidence has both. */
function framingLine(f: F): Md | undefined {
  const g = f.evidence.golden
  if (!isFramingFinding(f) || !g?.headers || !f.evidence.headers) return undefined
  return md`Framing, golden vs now: the recording ${code(g.recording)} of ${text(g.recordedAt)}${g.status !== undefined ? md` (${g.status})` : undefined} had ${code(framingOf(g.headers))}; this run${f.evidence.status !== undefined ? md` (${f.evidence.status})` : undefined} has ${code(framingOf(f.evidence.headers))}`
}

/** Header names a finding talks about (its title, expectation or message names them). */
function namedHeaders(f: F): [Untrusted, Untrusted][] {
  const said = `${f.title}\n${f.expected}\n${f.actual}\n${f.message}`.toLowerCase()
  return (f.evidence.headers ?? []).filter(([n]) => said.includes(n.toLowerCase())).map(([n, v]) => [n, v])
}

/** Another contract's evidence for the same cause, compact: where, since when, the request and status, framing, and the headers the finding names. */
function otherEvidence(f: F, r: R): Md[] {
  const ev = f.evidence
  const res = r.results.find((c) => sameContract(c, f))
  const named = namedHeaders(f)
  const framing = framingLine(f)
  const out: Md[] = [
    md``,
    md`Evidence from ${code(label(f))}${res ? md` (${fileRef(res.file, r)})` : undefined}: ${ev.request ? code(ev.request) : md`no request recorded`}${ev.status !== undefined ? md` → ${ev.status}` : undefined}; first seen: ${text(firstSeen(f))}; last good: ${text(lastGood(f))}`,
  ]
  if (framing) out.push(md``, framing)
  if (named.length) out.push(md``, block(untrusted(named.map(([n, v]) => `${n}: ${v}`).join('\n')), 'http'))
  return out
}

function headline(r: R): Md {
  const s = r.summary
  const failOn = r.failOn ?? 'breaking'
  // Findings that do not fail at --fail-on are shown as what they are, not as drift.
  const below = [failOn === 'never' && s.breaking ? `${s.breaking} breaking` : '', (failOn === 'never' || failOn === 'breaking') && s.warning ? `${s.warning} warning` : ''].filter(Boolean).join(', ')
  switch (r.outcome) {
    case 'pass':
      if (noTraffic(r)) return md`PASS: no exchange passed through, so nothing was judged`
      return below ? md`PASS: no drift at --fail-on ${text(untrusted(failOn))} (${text(untrusted(below))} below it)` : md`PASS: no drift`
    case 'drift': {
      if (r.targets) return md`DRIFT${text(untrusted(targetsPhrase('drift', r.targets, r.shard)))}: ${s.breaking} breaking, ${s.warning} warning`
      const parts = [s.breaking && `${s.breaking} breaking`, s.warning && `${s.warning} warning`, failOn === 'info' && s.info && `${s.info} info`].filter(Boolean).join(', ')
      return md`DRIFT: ${text(untrusted(parts))}`
    }
    case 'interrupted':
      return md`INTERRUPTED: the report covers what ran before Ctrl-C (${s.breaking} breaking, ${s.warning} warning so far)`
    case 'inconclusive':
      if (s.entries !== undefined && s.attributed === 0) return md`INCONCLUSIVE: no exchange could be attributed to an operation`
      return md`INCONCLUSIVE: ${s.inconclusive} ${text(untrusted(plural(s.inconclusive, 'contract')))} could not be checked`
    case 'error': {
      // The cause, not only "failed": a target's unset credentials would otherwise be only in the Targets table.
      const c = errorCause(r)
      return c ? md`ERROR${text(c.where)}: ${text(c.message)}${text(c.more)}` : md`ERROR: the harness failed`
    }
  }
  return md`${text(untrusted(String(r.outcome)))}`
}

function contractsCell(g: Group): Md {
  const ids = g.all.map((f) => cellCode(label(f)))
  return ids.length <= 3 ? joinMd(ids, md`, `) : md`${joinMd(ids.slice(0, 2), md`, `)} and ${ids.length - 2} more`
}

function samplesCell(g: Group): Md {
  const { seen, of } = groupSamples(g)
  return md`${seen}/${of}`
}

function detail(g: Group, i: number, r: R): Md {
  const f = g.first
  const where = g.all.map((x) => {
    const res = r.results.find((c) => sameContract(c, x))
    return md`${code(label(x))}${res ? md` (${code(res.request)}, ${fileRef(res.file, r)})` : undefined}${g.all.length > 1 ? md`: ${x.samples} of ${x.of}` : undefined}`
  })
  const seen = g.all.length === 1 ? md`${f.samples} of ${f.of} ${text(untrusted(plural(f.of, 'sample')))}` : md`${samplesCell(g)} samples`
  const out: Md[] = [
    md`### ${i}. ${icon(f.severity)}: ${textWithCode(f.title)}`,
    md``,
    g.all.length === 1 ? md`- **Contract:** ${where[0]}` : md`- **Contracts (${g.all.length}):** ${joinMd(where, md`; `)}`,
    md`- **Check:** ${code(f.check)}, seen in ${seen}, ${text(sinceText(f))}`,
    md`- **First seen:** ${text(firstSeen(f))}; **last good:** ${text(lastGood(f))}${g.all.length > 1 ? md` (for ${code(label(f))})` : undefined}`,
    ...(g.all.some((x) => x.rerun) ? [md`- **Re-run:** ${joinMd([...new Set(g.all.flatMap((x) => (x.rerun ? [x.rerun] : [])))].map((x) => code(x)), md`; `)}`] : []),
    md`- **Expected:** ${cell(f.expected)}`,
    md`- **Actual:** ${cell(f.actual)}`,
    md``,
    block(f.message, 'text'),
  ]
  const ev = f.evidence
  if (ev.request || ev.status !== undefined) {
    out.push(md``, md`Evidence${g.all.length > 1 ? md` from ${code(label(f))}` : undefined}: ${code(ev.request ?? untrusted(''))}${ev.status !== undefined ? md` → ${ev.status}` : undefined}`)
    const framing = framingLine(f)
    if (framing) out.push(md``, framing)
    if (ev.headers?.length) out.push(md``, block(untrusted(ev.headers.map(([n, v]) => `${n}: ${v}`).join('\n')), 'http'))
    if (ev.bodyExcerpt) out.push(md``, block(ev.bodyExcerpt, ev.bodyExcerpt.trimStart().startsWith('{') ? 'json' : 'text'))
  }
  if (ev.curl) out.push(md``, md`Reproduce (export WHATSAPP_ACCESS_TOKEN first):`, md``, block(ev.curl, 'sh'))
  // The other contracts the cause names: each its own evidence, compact.
  for (const x of g.all.slice(1)) out.push(...otherEvidence(x, r))
  return joinMd(out, md`\n`)
}

/** Renders the report as Markdown. */
export const markdownReporter: Reporter = {
  id: 'md',
  fileName: 'report.md',
  render(r: R) {
    const s = r.summary
    const ms = Date.parse(r.finishedAt) - Date.parse(r.startedAt)
    const lines: Md[] = [
      md`# driftwatch: ${headline(r)}${headlineCause(r)}`,
      md``,
      md`| | |`,
      md`|---|---|`,
      md`| Target | ${cell(r.target)}${r.scenario ? md` (scenario ${cellCode(r.scenario)})` : undefined}${r.origin ? md` (traffic to ${cell(r.origin)})` : undefined} |`,
      md`| API version | ${cell(r.apiVersion)} |`,
      md`| Run | ${cell(r.startedAt)} (${cell(duration(ms))})${r.interrupted ? md`, **interrupted**` : undefined}; times in ${text(untrusted(TIME_BASE))}${r.captured ? md`, except "Traffic captured": capture time` : undefined}${r.ci ? md`; ${link(untrusted('CI run'), r.ci.run)}` : undefined} |`,
      ...(r.captured ? [md`| Traffic captured | ${cell(r.captured.from)} to ${cell(r.captured.to)} (capture time, by the capture's clock) |`] : []),
      md`| Contracts | ${s.contracts}: ${s.passed} passed, ${s.failed} with drift, ${s.skipped} skipped, ${s.inconclusive} inconclusive |`,
      s.entries !== undefined ? md`| Exchanges | ${s.entries} read: ${s.attributed} attributed to an operation, ${s.unattributed} not (each said why under "What changed") |` : md`| Requests sent | ${s.probes} |`,
      md`| Findings | ${s.breaking} breaking, ${s.warning} warning, ${s.info} info |`,
    ]
    if (r.cleared?.length) lines.push(md`| Cleared | ${cell(clearedSummary(r))}: see "Cleared in this run" |`)
    lines.push(md``)
    if (r.targets) {
      const drifting = r.targets.filter((t) => t.outcome === 'drift').length
      lines.push(md`## Targets: drift on ${drifting} of ${r.shard ? md`its ` : undefined}${r.targets.length}${r.shard ? md` (shard ${r.shard.index}/${r.shard.of})` : undefined}`, md``, md`| Target | Base URL | Outcome | Contracts | Findings |`, md`|---|---|---|---|---|`)
      for (const t of r.targets) {
        lines.push(md`| ${cell(t.name)} | ${cell(t.target)}${t.scenario ? md` (${cellCode(t.scenario)})` : undefined} | ${cell(t.outcome)}${t.error ? md`: ${cell(t.error.message)}` : undefined} | ${t.summary.passed} passed, ${t.summary.failed} with drift, ${t.summary.skipped + t.summary.inconclusive} not judged | ${t.summary.breaking} breaking, ${t.summary.warning} warning, ${t.summary.info} info |`)
      }
      lines.push(md``)
    }
    if (r.error) lines.push(md`**Harness error** ${code(r.error.code)}: ${text(r.error.message)}`, md``)
    // One row per cause: the same check, severity and title on several contracts is one thing to fix.
    const groups = groupFindings(r.findings)
    if (groups.length === 0) {
      lines.push(r.outcome === 'pass' ? (noTraffic(r) ? md`No traffic: no exchange passed through, so nothing was judged or recorded.` : md`No drift: every contract that ran matched.`) : md`No findings.`, md``)
    } else {
      lines.push(md`## What changed`, md``, md`| # | Severity | Finding | Contracts | Samples | First seen (run time) | Last good (run time) |`, md`|---|---|---|---|---|---|---|`)
      groups.forEach((g, i) => {
        const { since, good } = groupTimes(g)
        lines.push(md`| ${i + 1} | ${icon(g.first.severity)} | ${cellWithCode(g.first.title)} | ${contractsCell(g)} | ${samplesCell(g)} | ${cell(firstSeen(since))} | ${cell(lastGood(good))} |`)
      })
      lines.push(md``, md`## Details`, md``)
      groups.forEach((g, i) => lines.push(detail(g, i + 1, r), md``))
    }
    if (r.cleared?.length) {
      lines.push(md`## Cleared in this run`, md``, md`Open before this run, on contracts it judged again, and gone now.`, md``, md`| Severity | Finding | Contract | Check | Open since |`, md`|---|---|---|---|---|`)
      for (const c of r.cleared) lines.push(md`| ${icon(c.severity)} | ${cell(c.title)} | ${cellCode(label(c))} | ${cellCode(c.check)} | ${cell(c.since)} |`)
      lines.push(md``)
    }
    lines.push(md`## Contracts`, md``, md`| Contract | Request | Result | Requests | Time |`, md`|---|---|---|---|---|`)
    for (const c of resultsFailingFirst(r.results, r.findings)) {
      const below = c.status === 'passed' ? r.findings.filter((f) => sameContract(f, c) && f.severity !== 'info').length : 0
      const result = below ? md`✅ passed, ${below} ${text(untrusted(plural(below, 'warning')))} below --fail-on` : Object.hasOwn(RESULT, c.status) ? RESULT[c.status]! : cell(c.status)
      lines.push(md`| ${cellCode(label(c))} | ${cellCode(c.request)} | ${result}${c.reason ? md`: ${cell(c.reason)}` : undefined} | ${c.probes} | ${cell(duration(c.durationMs))} |`)
    }
    lines.push(md``)
    return joinMd(lines, md`\n`).toString()
  },
}
