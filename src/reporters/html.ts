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
import { causeKey, worstFirst, type Finding, type Severity } from '../finding.ts'
import { contractLabel, historyTarget, sameContract, type ContractResult, type Report } from '../report.ts'
import { isPersonalKey } from '../recordings/personal-data.ts'
import { isVolatileKey } from '../recordings/volatile.ts'
import { clearedSummary, printable, sinceCell, sinceText } from './markdown.ts'
import type { HistoryPoint, RenderContext, Reporter } from './reporter.ts'

export type { HistoryPoint }
type HtmlContext = RenderContext

const esc = (s: string) => printable(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')

const HEADLINE: Record<Report['outcome'], string> = { pass: 'PASS', drift: 'DRIFT', inconclusive: 'INCONCLUSIVE', error: 'ERROR', interrupted: 'INTERRUPTED' }
const STATUS_CLASS: Record<string, string> = { passed: 'pass', failed: 'drift', skipped: 'none', inconclusive: 'none' }

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

interface Group {
  first: Finding
  all: Finding[]
}

function groups(findings: readonly Finding[]): Group[] {
  const m = new Map<string, Group>()
  for (const f of findings) {
    const g = m.get(causeKey(f))
    if (g) g.all.push(f)
    else m.set(causeKey(f), { first: f, all: [f] })
  }
  return [...m.values()].sort((a, b) => worstFirst(a.first, b.first))
}

/** Header names a finding talks about: highlighted in its evidence. */
function namedHeaders(f: Finding): Set<string> {
  const text = `${f.title}\n${f.expected}\n${f.actual}\n${f.message}`.toLowerCase()
  return new Set((f.evidence.headers ?? []).map(([n]) => n.toLowerCase()).filter((n) => text.includes(n)))
}

function evidence(f: Finding): string {
  const ev = f.evidence
  const named = namedHeaders(f)
  const out: string[] = []
  if (ev.request) out.push(`<p class="req"><code>${esc(ev.request)}</code>${ev.status !== undefined ? ` → <b>${ev.status}</b>` : ''}</p>`)
  if (ev.headers?.length) {
    const te = ev.headers.find(([n]) => n.toLowerCase() === 'transfer-encoding')?.[1]
    const cl = ev.headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1]
    out.push(`<p class="framing">Framing: ${te ? `<b>Transfer-Encoding: ${esc(te)}</b>` : cl !== undefined ? `Content-Length: ${esc(cl)}` : 'neither Content-Length nor Transfer-Encoding'}</p>`)
    out.push('<table class="headers"><caption>Response headers, in wire order</caption><tbody>')
    for (const [n, v] of ev.headers) out.push(`<tr${named.has(n.toLowerCase()) ? ' class="named" title="named by this finding"' : ''}><th>${esc(n)}</th><td>${esc(v)}</td></tr>`)
    out.push('</tbody></table>')
  }
  if (ev.golden?.bodyExcerpt && ev.bodyExcerpt) out.push(sideBySide(ev.golden, ev.bodyExcerpt))
  else if (ev.bodyExcerpt) out.push(`<pre class="body">${esc(ev.bodyExcerpt)}</pre>`)
  if (ev.curl) out.push(`<details><summary>Reproduce (export WHATSAPP_ACCESS_TOKEN first)</summary><pre>${esc(ev.curl)}</pre></details>`)
  return out.join('\n')
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
function sideBySide(golden: NonNullable<Finding['evidence']['golden']>, now: string): string {
  const rows = diffLines(lines(golden.bodyExcerpt!), lines(now)).map(([a, b]) => {
    const key = keyOf(a) ?? keyOf(b)
    const volatile = key !== undefined && (isVolatileKey(key) || isPersonalKey(key))
    const cls = volatile ? 'volatile' : a === undefined ? 'add' : b === undefined ? 'del' : a === b ? 'same' : 'change'
    return `<tr class="${cls}"><td>${a === undefined ? '' : esc(a)}</td><td>${b === undefined ? '' : esc(b)}</td></tr>`
  })
  return `<table class="diff"><caption>Body: the golden recording "${esc(golden.recording)}" of ${esc(golden.recordedAt)}${golden.status !== undefined ? ` (${golden.status})` : ''} beside this run; values that change every run, and personal data (placeholders), are dimmed</caption><thead><tr><th>golden</th><th>this run</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

/** Width of one run in the timeline and the latency chart (narrower for long histories). */
const cellWidth = (runs: number) => (runs > 30 ? 5 : runs > 15 ? 8 : 12)

/** A strip of past results (and this run's), one cell per run: green passed, red drift, grey not judged. */
function timeline(points: readonly HistoryPoint[]): string {
  if (points.length === 0) return ''
  const w = cellWidth(points.length)
  const width = points.length * w
  const cells = points.map((p, i) => `<rect x="${i * w}" y="0" width="${w - 1}" height="12" class="${STATUS_CLASS[p.status] ?? 'none'}"><title>${esc(p.at)}: ${esc(p.status)}, ${duration(p.durationMs)}</title></rect>`)
  return `<svg class="timeline" role="img" aria-label="${points.length} run${points.length === 1 ? '' : 's'}: ${points.filter((p) => p.status === 'failed').length} with drift" width="${width}" height="12" viewBox="0 0 ${width} 12">${cells.join('')}</svg>`
}

/** A run's time per request on a contract; none when it sent nothing or the history does not say. */
function perRequest(p: HistoryPoint): number | undefined {
  return p.requests && p.requests > 0 && p.status !== 'skipped' ? p.durationMs / p.requests : undefined
}

/**
 * Probe latency over the same runs as the timeline (one column per run, aligned with it): time per
 * request, the scale's top labelled, a dot per run with its value, gaps where a run sent nothing.
 */
function latencyChart(points: readonly HistoryPoint[]): string {
  const values = points.map(perRequest)
  const known = values.filter((v): v is number => v !== undefined)
  if (known.length === 0) return ''
  const w = cellWidth(points.length)
  const top = 12
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
  const lines = segments.filter((s) => s.length > 1).map((s) => `<polyline points="${s.join(' ')}"/>`)
  const dots = xy.flatMap((p) => (p ? [`<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="1.8"><title>${esc(p.at)}: ${duration(p.v)} per request</title></circle>`] : []))
  const width = Math.max(points.length * w, 200)
  const label = `max ${duration(max)} · median ${duration(median)}${now !== undefined ? ` · now ${duration(now)}` : ''}`
  return `<svg class="latency" role="img" aria-label="Latency per request over ${points.length} run${points.length === 1 ? '' : 's'}: ${label}" width="${width}" height="${top + h + 2}" viewBox="0 0 ${width} ${top + h + 2}"><text x="0" y="9">${label}</text><line x1="0" y1="${top + h + 0.5}" x2="${points.length * w}" y2="${top + h + 0.5}" class="axis"/>${lines.join('')}${dots.join('')}</svg>`
}

const STYLE = `
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
svg.timeline rect.pass{fill:#1f7a3a}svg.timeline rect.drift{fill:#b3261e}svg.timeline rect.none{fill:#bbb}\nsvg.latency{display:block;margin-top:3px}svg.latency polyline{fill:none;stroke:#335;stroke-width:1}svg.latency circle{fill:#335}svg.latency .axis{stroke:#ccc}svg.latency text{font-size:9px;fill:#555}
#filters{margin:12px 0;padding:8px;border:1px solid #ddd;background:#fff}
[hidden]{display:none!important}
`

const SCRIPT = `
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

/** Renders report.html. */
export function renderHtml(r: Report, ctx: HtmlContext = {}): string {
  const s = r.summary
  const ms = Date.parse(r.finishedAt) - Date.parse(r.startedAt)
  const gs = groups(r.findings)
  const labels = [...new Set(r.results.map((x) => contractLabel(x)))]
  const out: string[] = []
  out.push(
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    // No network, ever: the file is opened from artifacts and mail.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>driftwatch: ${HEADLINE[r.outcome]} ${esc(r.target)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<header class="band ${r.outcome}" id="summary"><h1>driftwatch: ${HEADLINE[r.outcome]}</h1><dl>`,
    `<div><dt>Target</dt><dd>${esc(r.target)}${r.scenario ? ` (scenario ${esc(r.scenario)})` : ''}${r.origin ? ` (traffic to ${esc(r.origin)})` : ''}</dd></div>`,
    `<div><dt>API version</dt><dd>${esc(r.apiVersion)}</dd></div>`,
    `<div><dt>Run</dt><dd>${esc(r.startedAt)} (${duration(ms)})</dd></div>`,
    `<div><dt>Contracts</dt><dd>${s.contracts}: ${s.passed} passed, ${s.failed} with drift, ${s.skipped} skipped, ${s.inconclusive} inconclusive</dd></div>`,
    `<div><dt>Findings</dt><dd>${s.breaking} breaking, ${s.warning} warning, ${s.info} info</dd></div>`,
    ...(r.cleared?.length ? [`<div><dt>Cleared</dt><dd><a href="#cleared">${esc(clearedSummary(r))}</a></dd></div>`] : []),
    '</dl></header><main>',
  )
  out.push(
    '<form id="filters" hidden><b>Show</b> ',
    ...(['breaking', 'warning', 'info'] as Severity[]).map((v) => `<label><input type="checkbox" name="severity" value="${v}" checked> ${v}</label> `),
    `<label>contract <select name="contract"><option value="">all</option>${labels.map((l) => `<option value="${esc(l)}">${esc(l)}</option>`).join('')}</select></label>`,
    '</form>',
  )
  if (gs.length === 0) out.push(`<p>${r.outcome === 'pass' ? 'No drift: every contract that ran matched.' : 'No findings.'}</p>`)
  else {
    out.push('<h2>What changed</h2><table class="causes"><thead><tr><th>#</th><th>Severity</th><th>Finding</th><th>Contracts</th><th>Samples</th><th>Since</th></tr></thead><tbody>')
    gs.forEach((g, i) => {
      const cs = g.all.map((f) => contractLabel(f))
      out.push(
        `<tr data-severity="${g.first.severity}" data-contracts="${esc(cs.join(' '))}"><td>${i + 1}</td><td class="sev ${g.first.severity}">${g.first.severity}</td><td><a href="#finding-${i + 1}">${esc(g.first.title)}</a></td><td>${cs.map((c) => `<a href="#${esc(c)}">${esc(c)}</a>`).join(', ')}</td><td>${g.all.reduce((n, f) => n + f.samples, 0)}/${g.all.reduce((n, f) => n + f.of, 0)}</td><td>${esc(sinceCell(g.first))}</td></tr>`,
      )
    })
    out.push('</tbody></table><h2>Evidence</h2>')
    gs.forEach((g, i) => {
      const f = g.first
      const cs = g.all.map((x) => contractLabel(x))
      out.push(
        `<section class="finding" id="finding-${i + 1}" data-severity="${f.severity}" data-contracts="${esc(cs.join(' '))}">`,
        `<h3><span class="sev ${f.severity}">${f.severity}</span> ${i + 1}. ${esc(f.title)}</h3>`,
        `<p>Check <code>${esc(f.check)}</code> on ${cs.map((c) => `<a href="#${esc(c)}">${esc(c)}</a>`).join(', ')}; seen in ${g.all.reduce((n, x) => n + x.samples, 0)} of ${g.all.reduce((n, x) => n + x.of, 0)} samples, ${esc(sinceText(f))}.</p>`,
        `<table><tr><th>Expected</th><td>${esc(f.expected)}</td></tr><tr><th>Actual</th><td>${esc(f.actual)}</td></tr></table>`,
        `<pre class="message">${esc(f.message)}</pre>`,
        evidence(f),
        '</section>',
      )
    })
  }
  if (r.cleared?.length) {
    out.push('<h2 id="cleared">Cleared in this run</h2><p>Open before this run, on contracts it judged again, and gone now.</p><table class="cleared"><thead><tr><th>Severity</th><th>Finding</th><th>Contract</th><th>Check</th><th>Open since</th></tr></thead><tbody>')
    for (const c of r.cleared) out.push(`<tr><td class="sev ${c.severity}">${c.severity}</td><td>${esc(c.title)}</td><td><a href="#${esc(contractLabel(c))}">${esc(contractLabel(c))}</a></td><td><code>${esc(c.check)}</code></td><td>${esc(c.since)}</td></tr>`)
    out.push('</tbody></table>')
  }
  out.push('<h2>Contracts</h2><table class="contracts"><thead><tr><th>Contract</th><th>Request</th><th>Result</th><th>Requests</th><th>Time</th><th>History (results; latency per request)</th></tr></thead><tbody>')
  for (const c of r.results) out.push(contractRow(c, r, ctx))
  out.push('</tbody></table></main>', `<script>${SCRIPT}</script>`, '</body></html>', '')
  return out.join('\n')
}

function contractRow(c: ContractResult, r: Report, ctx: HtmlContext): string {
  const label = contractLabel(c)
  // The history of this contract on this target, finished before this run (a merged report's shards may already be in it).
  const target = c.target ?? historyTarget(r)
  const past = (ctx.history ?? []).filter((p) => p.contract === c.contract && p.target === target && p.at < r.startedAt)
  const points: HistoryPoint[] = [...past, { at: r.startedAt, contract: c.contract, status: c.status, durationMs: c.durationMs, requests: c.probes }]
  const worst = r.findings.filter((f) => sameContract(f, c)).sort(worstFirst)[0]
  return `<tr id="${esc(label)}" data-contract="${esc(label)}"><td><a href="#${esc(label)}">${esc(label)}</a></td><td><code>${esc(c.request)}</code></td><td class="${STATUS_CLASS[c.status] ?? ''}">${esc(c.status)}${c.reason ? `: ${esc(c.reason)}` : ''}${worst ? ` <span class="sev ${worst.severity}">(${esc(worst.title)})</span>` : ''}</td><td>${c.probes}</td><td>${duration(c.durationMs)}</td><td>${timeline(points)}${latencyChart(points)}</td></tr>`
}

export const htmlReporter: Reporter = {
  id: 'html',
  fileName: 'report.html',
  render: (r, context) => renderHtml(r, context),
}
