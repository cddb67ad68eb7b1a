/**
 * Safe to share and to run anywhere (issue 17): every command, fed hostile upstreams, captures and
 * crafted reports (inputs.ts: script, Markdown, escape sequences and the token in each encoding in
 * every field), writes nothing that acts where it lands:
 *
 * - on a terminal: no control character (ESC, CSI, BEL, a bare CR) in anything printed, on a pipe
 *   or on a real terminal (`script`);
 * - in report.md, rendered by a real GFM renderer (micromark with GitHub's extensions, raw HTML
 *   allowed, as the worst case): no element our Markdown does not make, no link, no image, and the
 *   structure the report has (one heading per cause, one row per contract);
 * - in alert webhooks: Slack text with no `<` (no links, no mentions), JSON with markup characters
 *   escaped, no control character in either;
 * - anywhere (files, history databases, journals, recordings, stdout, stderr, webhook bodies): the
 *   token or the app secret in no encoding.
 *
 * report.html and junit.xml are opened in Chromium by browser/hostile.test.ts, from the same runs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { micromark } from 'micromark'
import { gfm, gfmHtml } from 'micromark-extension-gfm'
import { parseFragment, type DefaultTreeAdapterMap } from 'parse5'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Report } from '../../src/model/report.ts'
import { groupFindings } from '../../src/reporters/wording.ts'
import { APP_SECRET, controlsIn, leaks, TOKEN } from '../helpers/hostile.ts'
import { filesUnder, hostileRuns, type HostileRuns } from './runs.ts'

const dir = mkdtempSync(join(tmpdir(), 'dw-hostile-'))
let runs: HostileRuns

beforeAll(async () => {
  runs = await hostileRuns(dir)
}, 300_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const files = () => runs.outputs.flatMap((o) => filesUnder(o.dir))
const reportsNamed = (name: string) => files().filter((f) => basename(f) === name)

describe('the hostile runs ran', () => {
  it('every command ran to its verdict (0 pass, 1 drift; 2 for what it must refuse), and the payloads reached its outputs, escaped', () => {
    for (const p of runs.printed) expect(p.expected, `${p.label}: ${p.stderr.toString().slice(-500)}`).toContain(p.code)
    // The refusals name what they refused, in the DW_ code of their kind.
    const said = (label: string) => runs.printed.find((p) => p.label === label)!.stderr.toString()
    expect(said('merge, versions differ')).toContain('[DW_USAGE]')
    expect(said('diff, targets differ')).toContain('[DW_USAGE]')
    expect(said('verify, a malformed HAR')).toContain('[DW_HAR_INVALID]')
    expect(said('verify, a bad content.encoding')).toContain('[DW_HAR_INVALID]')
    expect(said('verify, a malformed cassette')).toContain('[DW_CASSETTE_INVALID]')
    const md = (label: string) => readFileSync(join(runs.outputs.find((o) => o.label === label)!.dir, 'report.md'), 'utf8')
    // The markers say which field each payload was planted in: seen in the output, so it was rendered (escaped), not dropped.
    expect(md('reporters')).toContain('r.findings\\[0\\].title')
    expect(md('merge')).toContain('shard-a.findings\\[0\\].title')
    expect(md('check')).toMatch(/upstream\\?\[/)
    expect(md('verify-har')).toMatch(/har\\?\[1\\?\]/)
    expect(md('verify-cassette')).toMatch(/har\\?\[1\\?\]/)
    expect(runs.webhooks.length).toBeGreaterThan(0)
  })
})

describe('a terminal', () => {
  it('receives no control character from any command, piped or on a real terminal', () => {
    for (const p of runs.printed) {
      // A terminal (script's pty) turns each \n into \r\n: that CR is the terminal's, not ours.
      const text = (p.stdout.toString('utf8') + p.stderr.toString('utf8')).replace(/\r\n/g, '\n')
      const found = controlsIn(text)
      expect(found.map(([i, c]) => `0x${c.toString(16)} at ${i}: ${JSON.stringify(text.slice(Math.max(0, i - 30), i + 10))}`), p.label).toEqual([])
    }
  })
  it('gets no line it did not write: untrusted text stays on its own line, whatever newlines it holds', () => {
    // The payload's Markdown starts lines of its own after a newline; printed raw, these lines would appear.
    const forged = /^(# injected heading|- injected item|\| a \| b \||\| c \| d \||\|---\|---\|)/
    for (const p of runs.printed) {
      const lines = (p.stdout.toString('utf8') + p.stderr.toString('utf8')).replace(/\r\n/g, '\n').split('\n')
      expect(lines.filter((l) => forged.test(l)), p.label).toEqual([])
    }
  })
  it('shows what was there: the escape sequences appear as text', () => {
    const all = runs.printed.map((p) => p.stdout.toString() + p.stderr.toString()).join('\n')
    expect(all).toMatch(/\\u001b\]0;dw-title\\u0007|\\x1b\]0;dw-title\\x07/)
  })
})

describe('report.md in a real Markdown renderer', () => {
  type Node = DefaultTreeAdapterMap['childNode']
  const elements = (html: string) => {
    const out: { tag: string; attrs: string[]; text: string }[] = []
    const walk = (n: Node | DefaultTreeAdapterMap['documentFragment']) => {
      if ('tagName' in n) out.push({ tag: n.tagName, attrs: n.attrs.map((a) => a.name), text: '' })
      if ('childNodes' in n) for (const c of n.childNodes) walk(c)
    }
    walk(parseFragment(html))
    return out
  }
  // What report.md itself makes: headings, paragraphs, lists, tables, bold, code. Nothing else may appear.
  const OURS = new Set(['h1', 'h2', 'h3', 'p', 'ul', 'li', 'strong', 'code', 'pre', 'table', 'thead', 'tbody', 'tr', 'th', 'td'])

  it('every report.md renders to our elements only: no link, image, script, raw HTML or injected heading', () => {
    const mds = reportsNamed('report.md')
    expect(mds.length).toBeGreaterThanOrEqual(6)
    for (const f of mds) {
      const html = micromark(readFileSync(f, 'utf8'), { allowDangerousHtml: true, extensions: [gfm()], htmlExtensions: [gfmHtml()] })
      const els = elements(html)
      expect(els.filter((e) => !OURS.has(e.tag)).map((e) => e.tag), f).toEqual([])
      expect(els.filter((e) => e.attrs.some((a) => a !== 'class' && a !== 'align')).map((e) => `${e.tag} ${e.attrs}`), f).toEqual([])
      // The structure is the report's: one h1, one h3 per cause, one row per contract.
      const report = JSON.parse(readFileSync(join(dirname(f), 'report.json'), 'utf8')) as Report
      const count = (tag: string) => els.filter((e) => e.tag === tag).length
      expect(count('h1'), f).toBe(1)
      expect(count('h3'), f).toBe(groupFindings(report.findings).length)
      const groups = groupFindings(report.findings).length
      const table = (rows: number) => (rows > 0 ? rows + 1 : 0) // a header row, then one per row
      const summary = table(6 + (report.captured ? 1 : 0) + (report.cleared?.length ? 1 : 0))
      expect(count('tr'), f).toBe(summary + table(report.targets?.length ?? 0) + table(groups) + table(report.cleared?.length ?? 0) + table(report.results.length))
    }
  })
})

describe('alert webhooks', () => {
  it('Slack messages carry no link, mention or control character; JSON bodies escape markup characters', () => {
    for (const w of runs.webhooks) {
      const body = JSON.parse(w.body) as Record<string, unknown>
      const strings: string[] = []
      const walk = (v: unknown) => (typeof v === 'string' ? strings.push(v) : v && typeof v === 'object' ? Object.values(v).forEach(walk) : undefined)
      walk(body)
      for (const s of strings) expect(controlsIn(s), s).toEqual([])
      if (w.format === 'slack') for (const s of strings) expect(s, 'Slack reads <...> as a link or mention').not.toContain('<')
      else expect(w.body).not.toMatch(/[<>&]/)
    }
  })
})

describe('secrets', () => {
  it('no file, history, journal or recording holds the token or the app secret in any encoding', () => {
    const found: string[] = []
    for (const f of files()) {
      const bytes = readFileSync(f)
      for (const text of [bytes.toString('utf8'), bytes.toString('latin1')]) {
        for (const secret of [TOKEN, APP_SECRET]) for (const l of leaks(text, secret)) found.push(`${f.slice(dir.length)}: ${l}${secret === APP_SECRET ? ' (app secret)' : ''}`)
      }
    }
    expect([...new Set(found)]).toEqual([])
  })
  it('nothing printed, and no webhook body, holds them either', () => {
    const found: string[] = []
    for (const p of runs.printed) for (const secret of [TOKEN, APP_SECRET]) for (const l of leaks(p.stdout.toString() + p.stderr.toString(), secret)) found.push(`${p.label}: ${l}`)
    for (const w of runs.webhooks) for (const secret of [TOKEN, APP_SECRET]) for (const l of leaks(w.body, secret)) found.push(`${w.format} webhook: ${l}`)
    expect([...new Set(found)]).toEqual([])
  })
})
