/**
 * report.html and report.md answer the 3am questions (issue 20 item 4): since when (first seen, last
 * good, one time base), every contract's evidence for a cause, golden-vs-now framing, failing rows
 * first, the cause and endpoint in the headline, links to the CI run and the contract file, a
 * timeline axis, inline code, and the re-run command. Each is shown where it applies and absent where
 * it does not; hostile text stays inert in both formats.
 */
import { micromark } from 'micromark'
import { gfm, gfmHtml } from 'micromark-extension-gfm'
import { describe, expect, it } from 'vitest'
import type { Finding } from '../../src/model/finding.ts'
import { renderHtml as render } from '../../src/reporters/html.ts'
import { markdownReporter } from '../../src/reporters/markdown.ts'
import type { RenderContext } from '../../src/reporters/reporter.ts'
import { untrusting } from '../../src/render/index.ts'
import { settle, type Report } from '../../src/model/report.ts'
import { sampleReport } from './sample-report.ts'

const renderHtml = (r: Report, ctx: RenderContext = {}) => render(untrusting(settle(r, 'breaking')), untrusting(ctx))
const renderMd = (r: Report) => markdownReporter.render(untrusting(settle(r, 'breaking')))
const framing = sampleReport.findings[0]!
const withFindings = (...findings: Finding[]): Report => ({ ...sampleReport, findings })
/** The framing finding seen on a second contract too: one cause, two contracts. */
const onTwo = (): Report =>
  withFindings(framing, { ...framing, contract: 'media.upload', since: '2026-11-21T02:00:00.000Z', new: false, lastGood: '2026-11-20T02:00:03.000Z', evidence: { request: 'POST http://127.0.0.1:40000/v23.0/106540352242922/media', status: 201, headers: [['Transfer-Encoding', 'chunked'], ['X-Other', 'only-here']] } })
/** The cause's section of report.md, from its heading to the next. */
const mdSection = (md: string, n: number) => md.split(/^### /m)[n]!

describe('since when', () => {
  it('shows first seen and last good, in the table and per contract, under one stated time base', () => {
    const r = withFindings({ ...framing, new: false, since: '2026-11-21T02:00:00.000Z', lastGood: '2026-11-20T02:00:03.250Z' })
    const html = renderHtml(r)
    expect(html).toContain('<th>First seen (run time)</th><th>Last good (run time)</th>')
    expect(html).toContain('<td>2026-11-21T02:00:00.000Z</td><td>2026-11-20T02:00:03.250Z</td>')
    expect(html).toContain('<dt>Last good</dt><dd>2026-11-20T02:00:03.250Z</dd>')
    expect(html).toContain('<dt>Times</dt><dd>UTC (ISO 8601); run time: when the run started</dd>')
    expect(html).not.toMatch(/Times<\/dt><dd>times/i) // said once, not "Times times are UTC"
    const md = renderMd(r)
    expect(md).toContain('| 2026-11-21T02:00:00.000Z | 2026-11-20T02:00:03.250Z |')
    expect(md).toContain('- **First seen:** 2026-11-21T02:00:00.000Z; **last good:** 2026-11-20T02:00:03.250Z')
    expect(md).toContain('times in UTC (ISO 8601); run time: when the run started |')
  })
  it('says when no earlier good run is known, rather than leaving it blank', () => {
    const r = withFindings(framing)
    expect(renderHtml(r)).toContain('<dt>Last good</dt><dd>no earlier good run known</dd>')
    expect(renderMd(r)).toContain('**last good:** no earlier good run known')
    expect(renderMd(r)).not.toMatch(/last good:\*\* 20\d\d-/)
  })
})

describe('evidence for every contract a row names', () => {
  it('report.html: one collapsible block per contract, the first open, each with its own request, status, times and headers', () => {
    const html = renderHtml(onTwo())
    const section = html.slice(html.indexOf('<section class="finding" id="finding-1"'), html.indexOf('</section>', html.indexOf('id="finding-1"')))
    expect(section.match(/<details class="evidence"/g)).toHaveLength(2)
    expect(section).toContain('<details class="evidence" open><summary>Evidence from <b>media.retrieve-url</b>: <code>GET http://127.0.0.1:40000/v23.0/1390000000007919</code> → 200</summary>')
    expect(section).toContain('<details class="evidence"><summary>Evidence from <b>media.upload</b>: <code>POST http://127.0.0.1:40000/v23.0/106540352242922/media</code> → 201</summary>')
    expect(section).toContain('<th>X-Other</th><td>only-here</td>')
    expect(section).toContain('<dt>Last good</dt><dd>2026-11-20T02:00:03.000Z</dd>')
  })
  it('report.md: the first contract in full, every other one compact, with the headers the finding names', () => {
    const section = mdSection(renderMd(onTwo()), 1)
    expect(section).toContain('Evidence from `media.retrieve-url`: `GET http://127.0.0.1:40000/v23.0/1390000000007919` → 200')
    expect(section).toContain('Evidence from `media.upload` (contracts/meta/media.upload.yaml): `POST http://127.0.0.1:40000/v23.0/106540352242922/media` → 201; first seen: 2026-11-21T02:00:00.000Z; last good: 2026-11-20T02:00:03.000Z')
    expect(section).toContain('```http\nTransfer-Encoding: chunked\n```')
    expect(section).not.toContain('X-Other') // compact: only the headers the finding talks about
  })
  it('a row naming one contract has one evidence block and no "from"', () => {
    const html = renderHtml(withFindings(framing))
    expect(html.match(/<details class="evidence"/g)).toHaveLength(1)
    expect(mdSection(renderMd(withFindings(framing)), 1)).not.toContain('Evidence from')
  })
})

describe('golden vs now, for framing', () => {
  const golden = { recording: 'sim-baseline', recordedAt: '2026-11-24T06:39:34.727Z', status: 200, headers: [['Content-Type', 'application/json'], ['Content-Length', '336'], ['Connection', 'keep-alive']] as [string, string][] }
  const withGolden = { ...framing, evidence: { ...framing.evidence, golden } }
  it("puts the recorded golden's framing headers beside this run's", () => {
    const html = renderHtml(withFindings(withGolden))
    expect(html).toContain('<table class="framing-diff"><caption>Framing: the golden recording "sim-baseline" of 2026-11-24T06:39:34.727Z (200) beside this run (200)</caption>')
    expect(html).toContain('<tr class="change"><th>Content-Length</th><td>336</td><td class="absent">absent</td></tr>')
    expect(html).toContain('<tr class="change"><th>Transfer-Encoding</th><td class="absent">absent</td><td>chunked</td></tr>')
    expect(renderMd(withFindings(withGolden))).toContain('Framing, golden vs now: the recording `sim-baseline` of 2026-11-24T06:39:34.727Z (200) had `Content-Length: 336`; this run (200) has `Transfer-Encoding: chunked`')
  })
  it('is absent without a recording, and for findings about something else', () => {
    const other = { ...withGolden, check: 'api-version', title: 'Requested v21.0, served v22.0 (auto-upgraded)' }
    for (const r of [withFindings(framing), withFindings(other)]) {
      expect(renderHtml(r)).not.toContain('<table class="framing-diff"')
      expect(renderMd(r)).not.toContain('golden vs now')
    }
  })
})

describe('failing rows first', () => {
  const rows = (html: string) => [...html.matchAll(/<tr id="([^"]+)" data-contract=/g)].map((m) => m[1])
  it('orders the contracts table breaking, warning, then the rest, in both reports', () => {
    // The sample lists media.upload (warning) before media.retrieve-url (breaking).
    expect(rows(renderHtml(sampleReport))).toEqual(['media.retrieve-url', 'media.upload', 'phone-numbers.get', 'messages.send-text'])
    const md = renderMd(sampleReport).split('## Contracts')[1]!
    expect(md.indexOf('`media.retrieve-url`')).toBeLessThan(md.indexOf('`media.upload`'))
  })
  it('keeps the report order when nothing failed', () => {
    const clean: Report = { ...sampleReport, findings: [], results: sampleReport.results.map((r) => ({ ...r, status: 'passed' as const })) }
    expect(rows(renderHtml(clean))).toEqual(sampleReport.results.map((r) => r.contract))
  })
})

describe('the headline names the cause and the endpoint', () => {
  it('a drifting run: the worst cause, its endpoint and severity, and how much more there is', () => {
    const html = renderHtml(sampleReport)
    expect(html).toContain('<h1>driftwatch: DRIFT<span class="cause"><code>GET /{api_version}/{media_id}</code>: Framing changed to chunked (contract: content-length) (breaking)<span class="more">; and 2 more causes</span></span></h1>')
    expect(renderMd(sampleReport).split('\n')[0]).toBe('# driftwatch: DRIFT: 1 breaking, 2 warning — `GET /{api_version}/{media_id}`: Framing changed to chunked (contract: content-length) (breaking); and 2 more causes')
  })
  it('counts the other endpoints one cause was seen on', () => {
    expect(renderMd(onTwo()).split('\n')[0]).toContain('(breaking), and on 1 more endpoint')
  })
  it('an inconclusive run names its cause too (the token expired), on a line of its own with no dangling dash', () => {
    const inconclusive: Report = { ...sampleReport, outcome: 'inconclusive', results: sampleReport.results.map((x) => ({ ...x, status: 'inconclusive' as const })), findings: [{ ...framing, check: 'credentials', severity: 'info', title: 'Access token rejected: Graph error 190/463 (the token expired)' }] }
    const html = renderHtml(inconclusive)
    expect(html).toMatch(/<h1>driftwatch: INCONCLUSIVE<span class="cause"><code>GET [^<]+<\/code>: Access token rejected: Graph error 190\/463 \(the token expired\) \(info\)/)
    expect(renderMd(inconclusive).split('\n')[0]).toContain('Access token rejected')
  })
  it('a passing run names no cause', () => {
    const pass: Report = { ...sampleReport, findings: [{ ...framing, severity: 'info' }] }
    expect(renderHtml(pass)).toContain('<h1>driftwatch: PASS</h1>')
    expect(renderMd(pass).split('\n')[0]).toBe('# driftwatch: PASS: no drift')
  })
})

describe('links to the CI run and the contract file', () => {
  const ci = { run: 'https://github.com/acme/app/actions/runs/9', files: 'https://github.com/acme/app/blob/abc1234' }
  it('links the run and each contract file when the report says where it ran', () => {
    const html = renderHtml({ ...sampleReport, ci })
    expect(html).toContain('<dt>CI run</dt><dd><a href="https://github.com/acme/app/actions/runs/9" rel="noopener noreferrer">https://github.com/acme/app/actions/runs/9</a></dd>')
    expect(html).toContain('<a class="file" href="https://github.com/acme/app/blob/abc1234/contracts/meta/media.retrieve-url.yaml">contracts/meta/media.retrieve-url.yaml</a>')
    const md = renderMd({ ...sampleReport, ci })
    expect(md).toContain('; [CI run](https://github.com/acme/app/actions/runs/9) |')
    expect(md).toContain('[contracts/meta/media.retrieve-url.yaml](https://github.com/acme/app/blob/abc1234/contracts/meta/media.retrieve-url.yaml)')
  })
  it('links a contract file to the repository only when its path is inside it: not absolute, not ../, not node_modules/', () => {
    const paths = ['node_modules/driftwatch/contracts/meta/media.retrieve-url.yaml', '../elsewhere/media.retrieve-url.yaml', '/abs/contracts/media.retrieve-url.yaml', 'a/node_modules/b.yaml']
    for (const file of paths) {
      const r: Report = { ...sampleReport, ci, results: sampleReport.results.map((x, i) => (i === 0 ? { ...x, file } : x)) }
      expect(renderMd(r), file).not.toContain(`/blob/abc1234/${file.replace(/^\//, '')}`)
      expect(renderMd(r), file).not.toMatch(/\[[^\]]*node_modules|\(https:[^)]*(node_modules|\.\.)/)
      const html = renderHtml(r, { fileBase: '../..' })
      expect(html, file).not.toMatch(/href="https:[^"]*(node_modules|\.\.|\/abs\/)/)
      // Where it can still be followed from the working copy: relative to the report, as without CI.
      if (!file.startsWith('/')) expect(html, file).toContain(`<a class="file" href="../../${file}">`)
    }
    // A repository path next to them still links to the commit.
    expect(renderMd({ ...sampleReport, ci })).toContain('(https://github.com/acme/app/blob/abc1234/contracts/meta/media.upload.yaml)')
  })
  it('links contract files relative to report.html when it knows where the working directory is', () => {
    expect(renderHtml(sampleReport, { fileBase: '../..' })).toContain('<a class="file" href="../../contracts/meta/media.retrieve-url.yaml">')
  })
  it('links nothing outside the file when neither is known', () => {
    const html = renderHtml(sampleReport)
    for (const m of html.matchAll(/\bhref="([^"]*)"/g)) expect(m[1]!.startsWith('#'), m[0]).toBe(true)
    expect(html).toContain('<code>contracts/meta/media.retrieve-url.yaml</code>')
    expect(renderMd(sampleReport)).not.toMatch(/\]\(/)
  })
  it('a crafted report cannot make a link go anywhere but http(s) or a relative path', () => {
    const crafted: Report = {
      ...sampleReport,
      ci: { run: 'javascript:alert(1)', files: 'javascript:alert(2)' },
      results: sampleReport.results.map((r, i) => (i === 0 ? { ...r, file: 'javascript:alert(3)' } : i === 1 ? { ...r, file: '../x)"><script>y</script>.yaml' } : r)),
    }
    const html = renderHtml(crafted, { fileBase: '..' })
    expect(html).not.toMatch(/href="javascript:/i)
    expect(html).toContain('href="../javascript%3Aalert(3)"')
    expect(html).not.toContain('<script>y')
    expect(html).toContain('<dt>CI run</dt><dd>javascript:alert(1)</dd>')
    const rendered = micromark(renderMd(crafted), { extensions: [gfm()], htmlExtensions: [gfmHtml()] })
    expect(rendered).not.toMatch(/<a |<script/)
  })
})

describe('the timeline has a labelled axis', () => {
  const history = ['passed', 'failed', 'passed'].map((status, i) => ({ at: `2026-11-0${i + 1}T03:0${i}:00Z`, target: 'sim', contract: 'media.retrieve-url', status, durationMs: 10, requests: 1 }))
  const row = (html: string, id: string) => html.split('\n').find((l) => l.startsWith(`<tr id="${id}"`))!
  it('labels the first and the last run (UTC) under the strip, with a tick per run, at 11 px or more', () => {
    const html = renderHtml(sampleReport, { history })
    const tr = row(html, 'media.retrieve-url')
    // Runs days apart: minutes are enough.
    expect(tr).toContain('<text x="0" y="28">11-01 03:00</text><text x="240" y="28" text-anchor="end">11-22 02:00 UTC</text>')
    expect(tr.match(/<line class="tick"/g)).toHaveLength(4)
    const sizes = [...html.matchAll(/svg\.\w+ text\{font-size:(\d+)px/g)].map((m) => Number(m[1]))
    expect(sizes.length).toBeGreaterThanOrEqual(2)
    for (const px of sizes) expect(px).toBeGreaterThanOrEqual(11)
  })
  it('the strip, its axis line and the last label end at the same x (the label does not sit past the data)', () => {
    for (const n of [1, 2, 5, 20, 59]) {
      const past = Array.from({ length: n }, (_, i) => ({ at: new Date(Date.UTC(2026, 10, 1) + i * 86_400_000).toISOString(), target: 'sim', contract: 'media.retrieve-url', status: 'passed', durationMs: 10, requests: 1 }))
      const svg = /<svg class="timeline".*?<\/svg>/.exec(row(renderHtml(sampleReport, { history: past }), 'media.retrieve-url'))![0]
      const rects = [...svg.matchAll(/<rect x="(\d+)" y="0" width="(\d+)"/g)].map((m) => Number(m[1]) + Number(m[2]) + 1)
      const strip = Math.max(...rects)
      expect(Number(/<line class="axis" x1="0" y1="13.5" x2="(\d+)"/.exec(svg)![1]), `${n} runs`).toBe(strip)
      expect(Number(/<text x="(\d+)" y="28" text-anchor="end">/.exec(svg)![1]), `${n} runs`).toBe(strip)
      // Room for both labels: the strip is never narrower than the chart.
      expect(strip, `${n} runs`).toBeGreaterThanOrEqual(240)
      expect(Number(/width="(\d+)"/.exec(svg)![1])).toBeGreaterThanOrEqual(strip)
    }
  })
  it('runs within a few minutes of each other are labelled with seconds, so the two labels differ', () => {
    const close = ['passed', 'failed'].map((status, i) => ({ at: `2026-11-22T01:59:${i ? '41' : '20'}.500Z`, target: 'sim', contract: 'media.retrieve-url', status, durationMs: 10, requests: 1 }))
    const tr = row(renderHtml(sampleReport, { history: close }), 'media.retrieve-url')
    expect(tr).toContain('<text x="0" y="28">11-22 01:59:20</text><text x="240" y="28" text-anchor="end">11-22 02:00:00 UTC</text>')
  })
  it('a contract with no past shows its one run, labelled as this run', () => {
    const tr = row(renderHtml(sampleReport, { history }), 'media.upload')
    expect(tr).toContain('<text x="0" y="28">11-22 02:00 UTC (this run)</text>')
    expect(tr).not.toContain('text-anchor="end"')
  })
})

describe('inline code in titles', () => {
  const schema = { ...framing, check: 'schema-drift', title: '`$.sha256` is required by the contract and is now missing' }
  it('renders `x` as code, not as backticks, in report.html and report.md', () => {
    const html = renderHtml(withFindings(schema))
    expect(html).toContain('<a href="#finding-1"><code>$.sha256</code> is required by the contract and is now missing</a>')
    expect(html).not.toContain('`$.sha256`')
    const md = renderMd(withFindings(schema))
    expect(md).toContain('| `$.sha256` is required by the contract and is now missing |')
    expect(md).toContain('### 1. 🔴 breaking: `$.sha256` is required by the contract and is now missing')
  })
  it('leaves text without a code span as prose (a run of three backticks is no span)', () => {
    const html = renderHtml(sampleReport)
    expect(html).toContain('Pipes | and &lt;tags&gt; &amp; ```fences``` survive')
    expect(html).not.toContain('<code>fences</code>')
  })
})

describe('the re-run command', () => {
  const rerun = 'driftwatch check --target sim --scenario media-chunked --contract media.retrieve-url'
  it('report.html shows it per finding, as code to copy', () => {
    expect(renderHtml(withFindings({ ...framing, rerun }))).toContain(`<p class="rerun-label">Re-run this finding:</p><pre class="rerun"><code>${rerun}</code></pre>`)
  })
  it('is absent when the finding has none; report.md shows it once, on its own Re-run line', () => {
    expect(renderHtml(withFindings(framing))).not.toContain('class="rerun"')
    expect(renderMd(withFindings(framing))).not.toContain('**Re-run:**')
    const md = renderMd(withFindings({ ...framing, rerun }))
    expect(md.split(rerun).length - 1).toBe(1)
    expect(md).toContain(`- **Re-run:** \`${rerun}\``)
  })
})

describe('hostile text stays inert in both reports', () => {
  const evil = '<script>alert(1)</script> `x</code><img src=y>` [click](javascript:alert(2)) ![i](http://e/x.png) \u001b]0;pwned\u0007 \u001b[31m'
  const r: Report = {
    ...sampleReport,
    findings: [{ ...framing, contract: evil, title: evil, rerun: evil, lastGood: '2026-11-20T02:00:00.000Z' }, { ...framing, contract: 'media.upload', title: evil }],
    results: [...sampleReport.results, { ...sampleReport.results[0]!, contract: evil, file: evil, request: evil }],
  }
  it('report.html: no script, image or link of theirs, no raw escape character', () => {
    const html = renderHtml(r, { fileBase: '..' })
    expect(html).not.toContain('<script>alert')
    expect(html).not.toMatch(/<img|href="javascript/i)
    expect(html).not.toContain('\u001b')
    expect(html).toContain('\\x1b]0;pwned\\x07')
    expect(html).toContain('<code>x&lt;/code&gt;&lt;img src=y&gt;</code>') // the code span is code, escaped
  })
  it('report.md: rendered by a GFM renderer with raw HTML allowed, no element of theirs and no raw escape character', () => {
    const md = renderMd(r)
    expect(md).not.toContain('\u001b')
    const rendered = micromark(md, { allowDangerousHtml: true, extensions: [gfm()], htmlExtensions: [gfmHtml()] })
    expect(rendered).not.toMatch(/<script|<img|<a /)
    expect(rendered).toContain('<code>x&lt;/code&gt;&lt;img src=y&gt;</code>')
  })
})
