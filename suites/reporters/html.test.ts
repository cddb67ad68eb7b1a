/**
 * report.html: self-contained (no network), escaped, deep-linkable, filterable, and its timelines
 * are the history's. The browser tests (issue 11) will open it in Chromium; these read the file.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { renderHtml as render } from '../../src/reporters/html.ts'
import { markdownReporter } from '../../src/reporters/markdown.ts'
import { untrusting } from '../../src/render/index.ts'
import type { RenderContext } from '../../src/reporters/reporter.ts'
import { settle, type Report } from '../../src/model/report.ts'
import { sampleReport } from './sample-report.ts'

/** What writeReports does: the report goes in untrusted. */
const renderHtml = (r: Report, ctx: RenderContext = {}) => render(untrusting(r), untrusting(ctx))

const html = renderHtml(settle(sampleReport, 'breaking'))

describe('report.html', () => {
  it('runs only its own script and style: the CSP allows them by hash, never unsafe-inline, and no element has an event handler', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)![1]!
    expect(csp).not.toContain('unsafe-inline')
    const sha = (code: string) => createHash('sha256').update(code, 'utf8').digest('base64')
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!)
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!)
    expect(scripts).toHaveLength(1)
    expect(styles).toHaveLength(1)
    expect(csp).toContain(`script-src 'sha256-${sha(scripts[0]!)}'`)
    expect(csp).toContain(`style-src 'sha256-${sha(styles[0]!)}'`)
    expect(html).not.toMatch(/<[^>]+\son[a-z]+\s*=/i)
    expect(html).not.toMatch(/\sstyle\s*=/i)
  })

  it('loads nothing from anywhere: a CSP forbids it, and no src or href leaves the file', () => {
    expect(html).toContain(`content="default-src 'none'; style-src 'sha256-`)
    expect(html).toContain(`img-src data:; base-uri 'none'; form-action 'none'"`)
    for (const m of html.matchAll(/\b(?:src|href)="([^"]*)"/g)) expect(m[1]!.startsWith('#'), m[0]).toBe(true)
    expect(html).not.toMatch(/<link\b|@import|url\(/)
  })

  it('shows the findings worst first, one row per cause, each linked to its evidence', () => {
    const rows = [...html.matchAll(/<tr data-severity="(\w+)"[^>]*><td>(\d+)<\/td>/g)].map((m) => [m[2], m[1]])
    expect(rows).toEqual([
      ['1', 'breaking'],
      ['2', 'warning'],
      ['3', 'info'],
    ])
    expect(html).toContain('<a href="#finding-1">Framing changed to chunked (contract: content-length)</a>')
    expect(html).toContain('<section class="finding" id="finding-1" data-severity="breaking" data-contracts="media.retrieve-url">')
  })

  it('gives every contract a deep link, and the evidence its headers in wire order with the named ones highlighted', () => {
    expect(html).toContain('<tr id="media.retrieve-url" data-contract="media.retrieve-url">')
    expect(html).toMatch(/<tr><th>Content-Type<\/th><td>application\/json; charset=UTF-8<\/td><\/tr>\n<tr class="named" title="named by this finding"><th>Transfer-Encoding<\/th><td>chunked<\/td><\/tr>/)
    expect(html).toContain('Framing: <b>Transfer-Encoding: chunked</b>')
  })

  it('a history point whose status is not one it knows (even __proto__) is drawn grey, not looked up on Object.prototype', () => {
    const history = ['__proto__', 'constructor', 'failed'].map((status, i) => ({ at: `2026-11-0${i + 1}T00:00:00Z`, target: 'sim', contract: 'media.retrieve-url', status, durationMs: 10, requests: 1 }))
    const row = renderHtml(settle(sampleReport, 'breaking'), { history }).split('\n').find((l) => l.startsWith('<tr id="media.retrieve-url"'))!
    expect([...row.matchAll(/<rect [^>]*class="(\w+)"/g)].map((m) => m[1])).toEqual(['none', 'none', 'drift', 'drift'])
  })

  it('escapes what the upstream said: no markup gets through', () => {
    expect(html).toContain('Pipes | and &lt;tags&gt; &amp; ```fences``` survive')
    expect(html).not.toContain('<tags>')
    const hostile: Report = { ...sampleReport, target: '<script>alert(1)</script>', findings: [{ ...sampleReport.findings[0]!, title: '"><img src=x onerror=alert(1)>' }] }
    const out = renderHtml(settle(hostile, 'breaking'))
    expect(out).not.toContain('<script>alert(1)</script>')
    expect(out).not.toContain('<img src=x')
  })

  it('draws each contract\'s timeline from the history plus this run, failed runs in red', () => {
    const history = ['passed', 'failed', 'passed', 'failed'].map((status, i) => ({ at: `2026-11-0${i + 1}T00:00:00Z`, target: 'sim', contract: 'media.retrieve-url', status, durationMs: 10 + i, requests: 1 }))
    const out = renderHtml(settle(sampleReport, 'breaking'), { history })
    const row = out.split('\n').find((l) => l.startsWith('<tr id="media.retrieve-url"'))!
    expect(row).toContain('aria-label="5 runs: 3 with drift"')
    expect([...row.matchAll(/<rect [^>]*class="(\w+)"/g)].map((m) => m[1])).toEqual(['pass', 'drift', 'pass', 'drift', 'drift'])
    const other = out.split('\n').find((l) => l.startsWith('<tr id="media.upload"'))!
    expect(other).toContain('aria-label="1 run: 0 with drift"') // a warning below --fail-on is not drift
  })

  it("draws only this target's past, and only what finished before this run", () => {
    const point = { target: 'sim', contract: 'media.retrieve-url', status: 'failed', durationMs: 9, requests: 1 }
    const history = [
      { ...point, at: '2026-11-01T00:00:00Z', target: 'traffic https://graph.facebook.com' },
      { ...point, at: '2026-11-02T00:00:00Z', contract: 'media.upload' },
      { ...point, at: '2026-11-23T00:00:00Z' }, // after the sample report started: a merged shard, already in the history
      { ...point, at: '2026-11-03T00:00:00Z', status: 'passed' },
    ]
    const row = renderHtml(settle(sampleReport, 'breaking'), { history }).split('\n').find((l) => l.startsWith('<tr id="media.retrieve-url"'))!
    expect([...row.matchAll(/<rect [^>]*class="(\w+)"/g)].map((m) => m[1])).toEqual(['pass', 'drift'])
  })

  it('charts latency per request over the same runs, with gaps where a run sent nothing', () => {
    const history = [
      { at: '2026-11-01T00:00:00Z', status: 'passed', durationMs: 40, requests: 2 }, // 20 ms each
      { at: '2026-11-02T00:00:00Z', status: 'skipped', durationMs: 0, requests: 0 },
      { at: '2026-11-03T00:00:00Z', status: 'passed', durationMs: 120, requests: 3 }, // 40 ms
      { at: '2026-11-04T00:00:00Z', status: 'passed', durationMs: 30, requests: 1 },
    ].map((p) => ({ ...p, target: 'sim', contract: 'phone-numbers.get' }))
    const row = renderHtml(settle(sampleReport, 'breaking'), { history }).split('\n').find((l) => l.startsWith('<tr id="phone-numbers.get"'))!
    // This run: 1530 ms over 3 requests = 510 ms each, the highest.
    expect(row).toContain('aria-label="Latency per request over 5 runs: max 510 ms · median 30 ms · now 510 ms"')
    expect([...row.matchAll(/<circle [^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1])).toEqual([
      '2026-11-01T00:00:00Z: 20 ms per request',
      '2026-11-03T00:00:00Z: 40 ms per request',
      '2026-11-04T00:00:00Z: 30 ms per request',
      '2026-11-22T02:00:00.000Z: 510 ms per request',
    ])
    expect(row.match(/<polyline /g)).toHaveLength(1) // the skipped run breaks the line: the lone first point has no segment
  })

  it('draws no latency chart for a contract that never sent a request', () => {
    const row = renderHtml(settle(sampleReport, 'breaking')).split('\n').find((l) => l.startsWith('<tr id="messages.send-text"'))!
    expect(row).toContain('<svg class="timeline"')
    expect(row).not.toContain('<svg class="latency"')
  })
})

describe('report.html: a finding against the golden recording', () => {
  const base = sampleReport.findings[0]!
  const finding = {
    ...base,
    check: 'schema-drift',
    title: '`$.sha256` is required by the contract and is now missing',
    evidence: {
      ...base.evidence,
      bodyExcerpt: '{"url":"https://lookaside.fbsbx.com/b","mime_type":"image/png","file_size":463,"id":"2"}',
      golden: { recording: 'sim-baseline', recordedAt: '2026-11-24T06:39:34.727Z', status: 200, bodyExcerpt: '{"url":"https://lookaside.fbsbx.com/a","mime_type":"image/png","sha256":"bc98","file_size":463,"id":"1"}' },
    },
  }
  const out = renderHtml(settle({ ...sampleReport, findings: [finding] }, 'breaking'))
  const rows = [...out.matchAll(/<tr class="(\w+)"><td>([^<]*)<\/td><td>([^<]*)<\/td><\/tr>/g)].map((m) => [m[1], m[2]!.trim(), m[3]!.trim()])

  it('puts the golden body beside this run, line by line, the missing field flagged', () => {
    expect(out).toContain('Body: the golden recording "sim-baseline" of 2026-11-24T06:39:34.727Z (200) beside this run')
    expect(rows).toContainEqual(['del', '&quot;sha256&quot;: &quot;bc98&quot;,', ''])
    expect(rows).toContainEqual(['same', '&quot;mime_type&quot;: &quot;image/png&quot;,', '&quot;mime_type&quot;: &quot;image/png&quot;,'])
  })

  it('dims the values that change every run instead of flagging them', () => {
    const volatile = rows.filter((r) => r[0] === 'volatile').map((r) => r[1] || r[2] || '')
    expect(volatile.some((l) => l.startsWith('&quot;url&quot;'))).toBe(true)
    expect(volatile.some((l) => l.startsWith('&quot;id&quot;'))).toBe(true)
    expect(rows.filter((r) => r[0] === 'add' || r[0] === 'change')).toEqual([])
  })

  it('shows a changed value as one row, the golden value beside the new one', () => {
    const changed = { ...finding, evidence: { ...finding.evidence, bodyExcerpt: '{"mime_type":"image/png","file_size":"463"}', golden: { ...finding.evidence.golden, bodyExcerpt: '{"mime_type":"image/png","file_size":463}' } } }
    const out = renderHtml(settle({ ...sampleReport, findings: [changed] }, 'breaking'))
    const diff = [...out.matchAll(/<tr class="(\w+)"><td>([^<]*)<\/td><td>([^<]*)<\/td><\/tr>/g)].map((m) => [m[1], m[2]!.trim(), m[3]!.trim()])
    expect(diff.filter((r) => r[0] !== 'same')).toEqual([['change', '&quot;file_size&quot;: 463', '&quot;file_size&quot;: &quot;463&quot;']])
  })

  it('without a golden side, shows the body alone', () => {
    expect(html).not.toContain('<table class="diff">')
    expect(html).toContain('<pre class="body">')
  })
})

describe('since when, a finding that came back', () => {
  const base = sampleReport.findings[0]!
  const back = { ...base, new: true, recurring: { cleared: 2, lastClearedAt: '2026-11-20T02:00:00.000Z' } }
  const open = { ...base, new: false, since: '2026-11-21T02:00:00.000Z', recurring: { cleared: 1, lastClearedAt: '2026-11-19T02:00:00.000Z' } }

  it('says new, and that it is back, in the table and the evidence', () => {
    const out = renderHtml(settle({ ...sampleReport, findings: [back] }, 'breaking'))
    expect(out).toContain('<td>2026-11-22T02:00:00.000Z (new this run, back: 3rd time)</td>')
    expect(out).toContain('new this run; back after clearing 2× (last cleared 2026-11-20T02:00:00.000Z)')
    const md = markdownReporter.render(untrusting(settle({ ...sampleReport, findings: [back] }, 'breaking')))
    expect(md).toContain('| 2026-11-22T02:00:00.000Z (new this run, back: 3rd time) |')
    expect(md).toContain('new this run; back after clearing 2× (last cleared 2026-11-20T02:00:00.000Z)')
  })

  it('an open one says since when, and which time it is', () => {
    const out = renderHtml(settle({ ...sampleReport, findings: [open] }, 'breaking'))
    expect(out).toContain('<td>2026-11-21T02:00:00.000Z (2nd time)</td>')
    expect(out).toContain('since 2026-11-21T02:00:00.000Z; back after clearing 1×')
  })

  it('a finding with no past says new, and nothing more', () => {
    const out = renderHtml(settle({ ...sampleReport, findings: [{ ...base, new: true }] }, 'breaking'))
    expect(out).toContain('<td>2026-11-22T02:00:00.000Z (new this run)</td>')
    expect(out).toContain('<td>no earlier good run known</td>')
    expect(out).not.toContain('back after clearing')
  })
})
