/**
 * report.html: one self-contained file (no CDN, no network: a Content-Security-Policy forbids any
 * fetch), readable without JavaScript and better with it. It is opened from CI artifacts and mail
 * attachments by an on-call engineer who wants to see, at a glance, what broke, since when, on which
 * contracts, and what the wire said.
 *
 * - A summary band: outcome, counts, target, API version, duration.
 * - What changed: one row per cause, worst first (as report.md), each linking to its evidence.
 * - Evidence per cause: the request line, the status line, the raw response headers in wire order
 *   (those the finding names highlighted), framing, a body excerpt, and a curl to reproduce.
 * - Contracts: one row each with a deep link (`report.html#media.download`) and, given a history,
 *   a strip of its past results and, under it, a chart of its latency per request over the same runs.
 * - Filters by severity and contract (JavaScript; without it everything shows).
 *
 * Pure: no I/O. Everything is escaped; the writer's redaction pass runs over the file as over every
 * other format.
 */
import { worstFirst, type Finding, type Severity } from '../model/finding.ts'
import { contractLabel, historyTarget, resultsFailingFirst, sameContract, type ContractResult, type Report } from '../model/report.ts'
import { isPersonalKey } from '../recordings/personal-data.ts'
import { isVolatileKey } from '../recordings/volatile.ts'
import { cspHash, fileUrl, html, httpUrl, joinHtml, untrusted, withCode, type Html, type Untrusted, type Untrusting } from '../render/index.ts'
import type { HistoryPoint, RenderContext, Reporter } from './reporter.ts'
import { noTraffic, clearedSummary, duration, errorCause, firstSeen, groupFindings, groupSamples, groupTimes, isFramingFinding, lastGood, repositoryFileUrl, sinceText, TIME_BASE, topCause, topCauseMore } from './wording.ts'

export type { HistoryPoint }
type R = Untrusting<Report>
type F = Untrusting<Finding>
type Point = Untrusting<HistoryPoint>

const HEADLINE: Record<Report['outcome'], Html> = { pass: html`PASS`, drift: html`DRIFT`, inconclusive: html`INCONCLUSIVE`, error: html`ERROR`, interrupted: html`INTERRUPTED` }
const STATUS_CLASS: Record<string, Html> = { passed: html`pass`, failed: html`drift`, skipped: html`none`, inconclusive: html`none` }
const SEVERITY: readonly Severity[] = ['breaking', 'warning', 'info']

const label = (x: { contract: Untrusted; target?: Untrusted | undefined }): Untrusted => untrusted(contractLabel(x))
// Own keys only: a crafted value such as __proto__ must not reach Object.prototype.
const headline = (o: R['outcome']): Html => (Object.hasOwn(HEADLINE, o) ? HEADLINE[o as Report['outcome']] : html`${o}`)
const statusClass = (s: Untrusted): Html => (Object.hasOwn(STATUS_CLASS, s) ? STATUS_CLASS[s]! : html`none`)
/** A severity as a class name: one of three words, whatever a crafted report says. */
const sevClass = (s: Untrusted): Html => (SEVERITY.includes(s as Severity) ? html`${s}` : html`unknown`)

/** Header names a finding talks about: highlighted in its evidence. */
function namedHeaders(f: F): Set<string> {
  const text = `${f.title}\n${f.expected}\n${f.actual}\n${f.message}`.toLowerCase()
  return new Set((f.evidence.headers ?? []).map(([n]) => n.toLowerCase()).filter((n) => text.includes(n)))
}

function evidence(f: F): Html {
  const ev = f.evidence
  const named = namedHeaders(f)
  const out: Html[] = []
  // The request line and status are the summary of the <details> this sits in (contractEvidence).
  if (ev.headers?.length) {
    const te = ev.headers.find(([n]) => n.toLowerCase() === 'transfer-encoding')?.[1]
    const cl = ev.headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1]
    out.push(html`<p class="framing">Framing: ${te ? html`<b>Transfer-Encoding: ${te}</b>` : cl !== undefined ? html`Content-Length: ${cl}` : html`neither Content-Length nor Transfer-Encoding`}</p>`)
    // The golden's framing beside this run's comes before the full header list: for a framing finding it is the answer.
    const framing = framingView(f)
    if (framing) out.push(framing)
    const rows = ev.headers.map(([n, v]) => html`<tr${named.has(n.toLowerCase()) ? html` class="named" title="named by this finding"` : undefined}><th>${n}</th><td>${v}</td></tr>`)
    out.push(html`<table class="headers"><caption>Response headers, in wire order</caption><tbody>`, ...rows, html`</tbody></table>`)
  }
  if (ev.golden?.bodyExcerpt && ev.bodyExcerpt) out.push(sideBySide(ev.golden, ev.bodyExcerpt))
  else if (ev.bodyExcerpt) out.push(html`<pre class="body">${ev.bodyExcerpt}</pre>`)
  if (f.rerun) out.push(html`<p class="rerun-label">Re-run this finding:</p><pre class="rerun"><code>${f.rerun}</code></pre>`)
  if (ev.curl) out.push(html`<details><summary>Reproduce (export WHATSAPP_ACCESS_TOKEN first)</summary><pre>${ev.curl}</pre></details>`)
  return joinHtml(out, html`\n`)
}

/** The framing headers a response carried (all values of each), or absent. */
const FRAMING_HEADERS = ['Content-Length', 'Transfer-Encoding', 'Connection'] as const
function framingValue(headers: readonly (readonly [Untrusted, Untrusted])[], name: string): Untrusted | undefined {
  const vs = headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v)
  return vs.length ? untrusted(vs.join(', ')) : undefined
}

/**
 * Golden vs now for a framing finding (the Jan 20 2026 incident: Content-Length became chunked): the
 * recorded response's framing headers beside this run's. Nothing when the finding is about
 * something else or no recording's headers are in the evidence.
 */
function framingView(f: F): Html | undefined {
  const g = f.evidence.golden
  const now = f.evidence.headers
  if (!isFramingFinding(f) || !g?.headers || !now) return undefined
  const cell = (v: Untrusted | undefined) => (v === undefined ? html`<td class="absent">absent</td>` : html`<td>${v}</td>`)
  const rows = FRAMING_HEADERS.map((n) => {
    const a = framingValue(g.headers!, n)
    const b = framingValue(now, n)
    return html`<tr${a !== b ? html` class="change"` : undefined}><th>${untrusted(n)}</th>${cell(a)}${cell(b)}</tr>`
  })
  return html`<table class="framing-diff"><caption>Framing: the golden recording "${g.recording}" of ${g.recordedAt}${g.status !== undefined ? html` (${g.status})` : undefined} beside this run${f.evidence.status !== undefined ? html` (${f.evidence.status})` : undefined}</caption><thead><tr><th>Header</th><th>golden</th><th>this run</th></tr></thead><tbody>${rows}</tbody></table>`
}

/**
 * A contract file: a link to it in the repository at the commit the CI run ran (it still works when
 * report.html is downloaded as an artifact), else relative to the report, or its path as code.
 */
function fileLink(file: Untrusted, r: R, ctx: Untrusting<RenderContext>): Html {
  const url = repositoryFileUrl(r, file) ?? (ctx.fileBase !== undefined ? fileUrl(ctx.fileBase, file) : undefined)
  return url ? html`<a class="file" href="${url}">${file}</a>` : html`<code>${file}</code>`
}

/** One contract's evidence for a cause, collapsed but for the first: since when, where it is defined, and what the wire said. */
function contractEvidence(f: F, r: R, ctx: Untrusting<RenderContext>, open: boolean): Html {
  const id = label(f)
  const res = r.results.find((c) => sameContract(c, f))
  return html`<details class="evidence"${open ? html` open` : undefined}><summary>Evidence from <b>${id}</b>${f.evidence.request ? html`: <code>${f.evidence.request}</code>` : undefined}${f.evidence.status !== undefined ? html` → ${f.evidence.status}` : undefined}</summary>
<dl class="when"><div><dt>First seen</dt><dd>${firstSeen(f)}</dd></div><div><dt>Last good</dt><dd>${lastGood(f)}</dd></div><div><dt>Samples</dt><dd>${f.samples} of ${f.of}</dd></div>${res ? html`<div><dt>Contract file</dt><dd>${fileLink(res.file, r, ctx)}</dd></div>` : undefined}</dl>
${evidence(f)}
</details>`
}

/** A body as lines: pretty JSON when it parses (an excerpt cut short does not), else as sent. */
function lines(text: string): string[] {
  try {
    return JSON.stringify(JSON.parse(text), null, 2).split('\n')
  } catch {
    return text.split('\n')
  }
}

/** Line pairs of a longest-common-subsequence diff: [golden line, this run's line], either absent. */
function diffLines(a: readonly string[], b: readonly string[]): [string | undefined, string | undefined][] {
  const n = a.length
  const m = b.length
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0))
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!)
  const out: [string | undefined, string | undefined][] = []
  let i = 0
  let j = 0
  // Between two common lines, what the golden had and what this run has instead are paired line by
  // line (a changed value is one row, side by side); the longer side's rest stands alone.
  const gone: string[] = []
  const came: string[] = []
  const flush = () => {
    for (let k = 0; k < Math.max(gone.length, came.length); k++) out.push([gone[k], came[k]])
    gone.length = 0
    came.length = 0
  }
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      flush()
      out.push([a[i++], b[j++]])
    } else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) came.push(b[j++]!)
    else gone.push(a[i++]!)
  }
  flush()
  return out
}

const keyOf = (line: string | undefined) => (line ? /^\s*"([^"]+)":/.exec(line)?.[1] : undefined)

/** The golden recording's body beside this run's, line by line; values that change every run, and personal data (placeholders), are dimmed, not flagged. */
function sideBySide(golden: NonNullable<F['evidence']['golden']>, now: Untrusted): Html {
  const rows = diffLines(lines(golden.bodyExcerpt!), lines(now)).map(([a, b]) => {
    const key = keyOf(a) ?? keyOf(b)
    const volatile = key !== undefined && (isVolatileKey(key) || isPersonalKey(key))
    const cls = volatile ? html`volatile` : a === undefined ? html`add` : b === undefined ? html`del` : a === b ? html`same` : html`change`
    return html`<tr class="${cls}"><td>${a === undefined ? undefined : untrusted(a)}</td><td>${b === undefined ? undefined : untrusted(b)}</td></tr>`
  })
  return html`<table class="diff"><caption>Body: the golden recording "${golden.recording}" of ${golden.recordedAt}${golden.status !== undefined ? html` (${golden.status})` : undefined} beside this run; values that change every run, and personal data (placeholders), are dimmed</caption><thead><tr><th>golden</th><th>this run</th></tr></thead><tbody>${rows}</tbody></table>`
}

/** Width of the timeline and the latency chart: room for the axis labels (with seconds) under a short history. */
const CHART_WIDTH = 240

/**
 * Width of one run in the timeline and the latency chart: narrower for long histories, wider for
 * short ones so that the strip, its axis and the last run's label end at the same x.
 */
const cellWidth = (runs: number) => (runs < 2 ? 12 : Math.max(runs > 30 ? 5 : runs > 15 ? 8 : 12, Math.ceil(CHART_WIDTH / runs)))

/** Width of the timeline and the latency chart. */
const chartWidth = (runs: number) => Math.max(runs * cellWidth(runs), CHART_WIDTH)

/** Under this span the axis labels carry seconds: runs minutes apart would read the same `12-07 09:53`. */
const SECONDS_BELOW_MS = 10 * 60_000

/**
 * `12-05 06:46`, or `12-05 06:46:09` with seconds: a run's time on the axis (UTC, as every time in the
 * report; the year is in the cell titles).
 */
const axisTime = (at: Untrusted, seconds: boolean) => {
  const m = /^\d{4}-(\d\d-\d\d)T(\d\d:\d\d)(:\d\d)?/.exec(at)
  return untrusted(m ? `${m[1]} ${m[2]}${seconds ? (m[3] ?? '') : ''}` : at.slice(0, seconds ? 19 : 16))
}

/**
 * A strip of past results (and this run's), one cell per run: green passed, red drift, grey not
 * judged; under it an axis with tick marks and the first and last runs' times (UTC), at 11 px, with
 * seconds when the runs span less than ten minutes. The axis and the last label end where the strip does.
 */
function timeline(points: readonly Point[]): Html {
  if (points.length === 0) return html``
  const w = cellWidth(points.length)
  const width = chartWidth(points.length)
  const end = points.length * w
  const cells = points.map((p, i) => html`<rect x="${i * w}" y="0" width="${w - 1}" height="12" class="${statusClass(p.status)}"><title>${p.at}: ${p.status}, ${duration(p.durationMs)}</title></rect>`)
  const ticks = points.map((_, i) => html`<line class="tick" x1="${i * w + (w - 1) / 2}" y1="13" x2="${i * w + (w - 1) / 2}" y2="16"/>`)
  const first = points[0]!.at
  const last = points[points.length - 1]!.at
  const span = Math.abs(Date.parse(last) - Date.parse(first))
  const seconds = !(span >= SECONDS_BELOW_MS)
  // One run: its time alone; more: the first at the left, the last (this run) at the right end of the axis, in UTC.
  const labels =
    points.length === 1
      ? html`<text x="0" y="28">${axisTime(last, false)} UTC (this run)</text>`
      : html`<text x="0" y="28">${axisTime(first, seconds)}</text><text x="${end}" y="28" text-anchor="end">${axisTime(last, seconds)} UTC</text>`
  return html`<svg class="timeline" role="img" aria-label="${points.length} run${points.length === 1 ? undefined : html`s`}: ${points.filter((p) => p.status === 'failed').length} with drift" width="${width}" height="32" viewBox="0 0 ${width} 32">${cells}<line class="axis" x1="0" y1="13.5" x2="${end}" y2="13.5"/>${ticks}${labels}</svg>`
}

/** A run's time per request on a contract; none when it sent nothing or the history does not say. */
function perRequest(p: Point): number | undefined {
  return p.requests && p.requests > 0 && p.status !== 'skipped' ? p.durationMs / p.requests : undefined
}

/**
 * Probe latency over the same runs as the timeline (one column per run, aligned with it): time per
 * request, the scale's top labelled, a dot per run with its value, gaps where a run sent nothing.
 */
function latencyChart(points: readonly Point[]): Html {
  const values = points.map(perRequest)
  const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v))
  if (known.length === 0) return html``
  const w = cellWidth(points.length)
  const top = 14
  const h = 24
  const max = Math.max(1, ...known)
  const sorted = [...known].sort((a, b) => a - b)
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!
  const now = values[values.length - 1]
  const xy = values.map((v, i) => (v === undefined ? undefined : { x: i * w + w / 2, y: top + h - (v / max) * h, v, at: points[i]!.at }))
  const segments: string[][] = [[]]
  for (const p of xy) {
    if (p) segments[segments.length - 1]!.push(`${p.x.toFixed(1)},${p.y.toFixed(1)}`)
    else if (segments[segments.length - 1]!.length) segments.push([])
  }
  // Coordinates are numbers formatted here: the only strings in a polyline are ours.
  const polylines = segments.filter((s) => s.length > 1).map((s) => html`<polyline points="${untrusted(s.join(' '))}"/>`)
  const dots = xy.flatMap((p) => (p ? [html`<circle cx="${untrusted(p.x.toFixed(1))}" cy="${untrusted(p.y.toFixed(1))}" r="1.8"><title>${p.at}: ${duration(p.v)} per request</title></circle>`] : []))
  const width = chartWidth(points.length)
  const label = untrusted(`max ${duration(max)} · median ${duration(median)}${now !== undefined ? ` · now ${duration(now)}` : ''}`)
  return html`<svg class="latency" role="img" aria-label="Latency per request over ${points.length} run${points.length === 1 ? undefined : html`s`}: ${label}" width="${width}" height="${top + h + 2}" viewBox="0 0 ${width} ${top + h + 2}"><text x="0" y="11">${label}</text><line x1="0" y1="${top + h + 0.5}" x2="${points.length * w}" y2="${top + h + 0.5}" class="axis"/>${polylines}${dots}</svg>`
}

const STYLE = html`
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:0 16px 48px}
.band{padding:16px;color:#fff}.band.pass{background:#1f7a3a}.band.drift,.band.error{background:#b3261e}.band.inconclusive,.band.interrupted{background:#6b6b6b}
.band h1{margin:0 0 8px;font-size:22px}.band dl{display:flex;flex-wrap:wrap;gap:4px 24px;margin:0}.band dl>div{display:flex}.band dt{opacity:.8}.band dd{margin:0 0 0 6px;font-weight:600}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #ddd;vertical-align:top}
.sev{font-weight:700}.sev.breaking{color:#b3261e}.sev.warning{color:#8a5a00}.sev.info{color:#555}
section.finding{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 16px;margin:12px 0}
pre{background:#f3f3f3;padding:8px;overflow:auto;white-space:pre-wrap;word-break:break-all}
table.headers th{font-family:ui-monospace,monospace;white-space:nowrap}table.headers td{font-family:ui-monospace,monospace;word-break:break-all}
tr.named{background:#fff3c4;font-weight:600}
table.diff{table-layout:fixed;font-family:ui-monospace,monospace;font-size:12px}table.diff td{white-space:pre-wrap;word-break:break-all;border:none;padding:0 8px;width:50%}
table.diff tr.del td:first-child,table.diff tr.change td:first-child{background:#fde2e1}table.diff tr.add td:last-child,table.diff tr.change td:last-child{background:#dff5e3}table.diff tr.volatile{opacity:.45}
svg.timeline{display:block}svg.timeline rect.pass{fill:#1f7a3a}svg.timeline rect.drift{fill:#b3261e}svg.timeline rect.none{fill:#bbb}svg.timeline line{stroke:#888}svg.timeline text{font-size:11px;fill:#333}
svg.latency{display:block;margin-top:3px}svg.latency polyline{fill:none;stroke:#335;stroke-width:1}svg.latency circle{fill:#335}svg.latency .axis{stroke:#ccc}svg.latency text{font-size:11px;fill:#333}
.band h1 .cause{display:block;font-size:17px;font-weight:600;margin-top:4px}.band h1 code,.band a{color:#fff}.band .more{font-weight:400;opacity:.9}
code{font-family:ui-monospace,monospace;background:#f0f0f0;padding:0 2px;border-radius:3px}.band code{background:rgba(255,255,255,.18)}
details.evidence{border-top:1px solid #eee;padding:6px 0}details.evidence>summary{cursor:pointer;font-weight:600}
dl.when{display:flex;flex-wrap:wrap;gap:2px 20px;margin:6px 0}dl.when>div{display:flex}dl.when dt{color:#555}dl.when dd{margin:0 0 0 6px}
table.framing-diff{width:auto;font-family:ui-monospace,monospace}table.framing-diff caption{text-align:left;white-space:nowrap;font-family:system-ui,sans-serif;font-weight:600}table.framing-diff tr.change td{background:#fff3c4;font-weight:600}table.framing-diff td.absent{color:#888;font-style:italic}
pre.rerun{background:#eef3ff;user-select:all}
table.contracts code{word-break:break-all}table.contracts td:last-child{width:240px}
#filters{margin:12px 0;padding:8px;border:1px solid #ddd;background:#fff}
[hidden]{display:none!important}
`

const SCRIPT = html`
(function(){
  var f=document.getElementById('filters');f.hidden=false;
  function apply(){
    var sev={};f.querySelectorAll('input[name=severity]').forEach(function(i){sev[i.value]=i.checked});
    var c=f.querySelector('select[name=contract]').value;
    document.querySelectorAll('[data-severity]').forEach(function(el){
      var cs=(el.getAttribute('data-contracts')||'').split(' ');
      el.hidden=!(sev[el.getAttribute('data-severity')]&&(c===''||cs.indexOf(c)>=0));
    });
    document.querySelectorAll('tr[data-contract]').forEach(function(el){el.hidden=!(c===''||el.getAttribute('data-contract')===c)});
  }
  f.addEventListener('change',apply);apply();
})();
`

/**
 * No network, ever (the file is opened from artifacts and mail), and exactly the style and the
 * script this file was built with, by hash: no 'unsafe-inline', so an injected <script>, onerror=
 * or javascript: link could not run even if it got past escaping.
 */
const CSP = html`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-${cspHash(STYLE)}'; script-src 'sha256-${cspHash(SCRIPT)}'; img-src data:; base-uri 'none'; form-action 'none'">`

/** Renders report.html. */
export function renderHtml(r: R, ctx: Untrusting<RenderContext> = {}): string {
  const s = r.summary
  const ms = Date.parse(r.finishedAt) - Date.parse(r.startedAt)
  const gs = groupFindings(r.findings)
  const labels = [...new Set(r.results.map(label))]
  const links = (cs: readonly Untrusted[]) => joinHtml(cs.map((c) => html`<a href="#${c}">${c}</a>`), html`, `)
  const out: Html[] = []
  out.push(
    html`<!doctype html>`,
    html`<html lang="en"><head><meta charset="utf-8">`,
    CSP,
    html`<meta name="referrer" content="no-referrer">`,
    html`<meta name="viewport" content="width=device-width, initial-scale=1">`,
    html`<title>driftwatch: ${headline(r.outcome)} ${r.target}</title>`,
    html`<style>${STYLE}</style></head><body>`,
    html`<header class="band ${outcomeClass(r.outcome)}" id="summary"><h1>driftwatch: ${headline(r.outcome)}${bandCause(r)}</h1><dl>`,
    html`<div><dt>Target</dt><dd>${r.target}${r.scenario ? html` (scenario ${r.scenario})` : undefined}${r.origin ? html` (traffic to ${r.origin})` : undefined}</dd></div>`,
    html`<div><dt>API version</dt><dd>${r.apiVersion}</dd></div>`,
    html`<div><dt>Run</dt><dd>${r.startedAt} (${duration(ms)})</dd></div>`,
    html`<div><dt>Times</dt><dd>${untrusted(TIME_BASE)}${r.captured ? html`, except "Traffic captured": capture time` : undefined}</dd></div>`,
    ...(r.captured ? [html`<div><dt>Traffic captured</dt><dd>${r.captured.from} to ${r.captured.to} (capture time, by the capture's clock)</dd></div>`] : []),
    ...(ciLink(r) ? [html`<div><dt>CI run</dt><dd>${ciLink(r)}</dd></div>`] : []),
    html`<div><dt>Contracts</dt><dd>${s.contracts}: ${s.passed} passed, ${s.failed} with drift, ${s.skipped} skipped, ${s.inconclusive} inconclusive</dd></div>`,
    html`<div><dt>Findings</dt><dd>${s.breaking} breaking, ${s.warning} warning, ${s.info} info</dd></div>`,
    ...(r.cleared?.length ? [html`<div><dt>Cleared</dt><dd><a href="#cleared">${clearedSummary(r)}</a></dd></div>`] : []),
    html`</dl></header><main>`,
  )
  out.push(
    html`<form id="filters" hidden><b>Show</b> `,
    ...SEVERITY.map((v) => html`<label><input type="checkbox" name="severity" value="${untrusted(v)}" checked> ${untrusted(v)}</label> `),
    html`<label>contract <select name="contract"><option value="">all</option>${labels.map((l) => html`<option value="${l}">${l}</option>`)}</select></label>`,
    html`</form>`,
  )
  if (gs.length === 0) out.push(html`<p>${r.outcome === 'pass' ? (noTraffic(r) ? html`No traffic: no exchange passed through, so nothing was judged or recorded.` : html`No drift: every contract that ran matched.`) : html`No findings.`}</p>`)
  else {
    out.push(html`<h2>What changed</h2><table class="causes"><thead><tr><th>#</th><th>Severity</th><th>Finding</th><th>Contracts</th><th>Samples</th><th>First seen (run time)</th><th>Last good (run time)</th></tr></thead><tbody>`)
    gs.forEach((g, i) => {
      const cs = g.all.map(label)
      const { seen, of } = groupSamples(g)
      const sev = sevClass(g.first.severity)
      const { since, good } = groupTimes(g)
      out.push(html`<tr data-severity="${sev}" data-contracts="${untrusted(cs.join(' '))}"><td>${i + 1}</td><td class="sev ${sev}">${sev}</td><td><a href="#finding-${i + 1}">${withCode(g.first.title)}</a></td><td>${links(cs)}</td><td>${seen}/${of}</td><td>${firstSeen(since)}</td><td>${lastGood(good)}</td></tr>`)
    })
    out.push(html`</tbody></table><h2>Evidence</h2>`)
    gs.forEach((g, i) => {
      const f = g.first
      const cs = g.all.map(label)
      const { seen, of } = groupSamples(g)
      const sev = sevClass(f.severity)
      out.push(
        html`<section class="finding" id="finding-${i + 1}" data-severity="${sev}" data-contracts="${untrusted(cs.join(' '))}">`,
        html`<h3><span class="sev ${sev}">${sev}</span> ${i + 1}. ${withCode(f.title)}</h3>`,
        html`<p>Check <code>${f.check}</code> on ${links(cs)}; seen in ${seen} of ${of} samples, ${sinceText(f)}.</p>`,
        html`<table><tr><th>Expected</th><td>${withCode(f.expected)}</td></tr><tr><th>Actual</th><td>${withCode(f.actual)}</td></tr></table>`,
        html`<pre class="message">${withCode(f.message)}</pre>`,
        // Every contract the cause names, each with its own evidence (the first open).
        ...g.all.map((x, k) => contractEvidence(x, r, ctx, k === 0)),
        html`</section>`,
      )
    })
  }
  if (r.cleared?.length) {
    out.push(html`<h2 id="cleared">Cleared in this run</h2><p>Open before this run, on contracts it judged again, and gone now.</p><table class="cleared"><thead><tr><th>Severity</th><th>Finding</th><th>Contract</th><th>Check</th><th>Open since</th></tr></thead><tbody>`)
    for (const c of r.cleared) out.push(html`<tr><td class="sev ${sevClass(c.severity)}">${sevClass(c.severity)}</td><td>${c.title}</td><td>${links([label(c)])}</td><td><code>${c.check}</code></td><td>${c.since}</td></tr>`)
    out.push(html`</tbody></table>`)
  }
  out.push(html`<h2>Contracts</h2><table class="contracts"><thead><tr><th>Contract</th><th>Request</th><th>Result</th><th>Requests</th><th>Time</th><th>History, UTC (results; latency per request)</th></tr></thead><tbody>`)
  for (const c of resultsFailingFirst(r.results, r.findings)) out.push(contractRow(c, r, ctx))
  out.push(html`</tbody></table></main>`, html`<script>${SCRIPT}</script>`, html`</body></html>`, html``)
  return joinHtml(out, html`\n`).toString()
}

/** The CI run that wrote the report, as a link (http(s) only; anything else is shown as text). */
function ciLink(r: R): Html | undefined {
  if (!r.ci) return undefined
  const url = httpUrl(r.ci.run)
  return url ? html`<a href="${url}" rel="noopener noreferrer">${r.ci.run}</a>` : html`${r.ci.run}`
}

/**
 * The headline's cause, on its own line: `GET /{api_version}/{media_id}: Framing changed… (breaking); and
 * 2 more causes` for a run that drifted or could not conclude; for an error run, the harness error or
 * the first target that could not run (` on 1 of 2 targets`, then `target main: … not set`).
 */
function bandCause(r: R): Html | undefined {
  const e = errorCause(r)
  if (e) return html`${e.where}<span class="cause">${e.message}${e.more ? html`<span class="more">${e.more}</span>` : undefined}</span>`
  // An inconclusive run names its cause too (an expired token, Meta down): the band is what is read first.
  if (r.outcome !== 'drift' && r.outcome !== 'interrupted' && r.outcome !== 'inconclusive') return undefined
  const t = topCause(r)
  if (!t) return undefined
  const f = t.group.first
  const more = topCauseMore(t)
  // On a line of its own under the outcome (display: block): no leading dash.
  return html`<span class="cause">${t.request ? html`<code>${t.request}</code>: ` : html`${label(f)}: `}${withCode(f.title)} (${sevClass(f.severity)})${more ? html`<span class="more">${more}</span>` : undefined}</span>`
}

const OUTCOME_CLASS = new Set(['pass', 'drift', 'inconclusive', 'error', 'interrupted'])
const outcomeClass = (o: Untrusted): Html => (OUTCOME_CLASS.has(o) ? html`${o}` : html`error`)

function contractRow(c: Untrusting<ContractResult>, r: R, ctx: Untrusting<RenderContext>): Html {
  const id = label(c)
  // The history of this contract on this target, finished before this run (a merged report's shards may already be in it).
  const target = c.target ?? historyTarget(r)
  const past = (ctx.history ?? []).filter((p) => p.contract === c.contract && p.target === target && p.at < r.startedAt)
  const points: Point[] = [...past, { at: r.startedAt, contract: c.contract, status: c.status, durationMs: c.durationMs, requests: c.probes }]
  const worst = r.findings.filter((f) => sameContract(f, c)).sort(worstFirst)[0]
  return html`<tr id="${id}" data-contract="${id}"><td><a href="#${id}">${id}</a><br><small>${fileLink(c.file, r, ctx)}</small></td><td><code>${c.request}</code></td><td class="${statusClass(c.status)}">${c.status}${c.reason ? html`: ${c.reason}` : undefined}${worst ? html` <span class="sev ${sevClass(worst.severity)}">(${withCode(worst.title)})</span>` : undefined}</td><td>${c.probes}</td><td>${duration(c.durationMs)}</td><td>${timeline(points)}${latencyChart(points)}</td></tr>`
}

export const htmlReporter: Reporter = {
  id: 'html',
  fileName: 'report.html',
  render: (r, context) => renderHtml(r, context),
}
