/**
 * The top of an error run names its cause (a newcomer's review, issue 20 item 4): `check --targets`
 * where a target's credentials are not set, and `merge` of such a shard, said "ERROR: the harness
 * failed" while the real cause was only in the Targets table. The band names the first target that
 * could not run and how many could not; a run that could run everything names no error.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { micromark } from 'micromark'
import { gfm, gfmHtml } from 'micromark-extension-gfm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { settle, type Report, type TargetSection } from '../../src/model/report.ts'
import { renderHtml } from '../../src/reporters/html.ts'
import { markdownReporter } from '../../src/reporters/markdown.ts'
import { untrusting } from '../../src/render/index.ts'
import { sampleReport } from './sample-report.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const dir = mkdtempSync(join(tmpdir(), 'dw-error-band-'))
const io = { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: ROOT }
const UNSET = 'target main: environment variables WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_WABA_ID not set'
const h1 = (html: string) => /<h1>(.*?)<\/h1>/s.exec(html)![1]!
const read = (...p: string[]) => readFileSync(join(dir, ...p), 'utf8')

beforeAll(async () => {
  writeFileSync(
    join(dir, 'targets.yaml'),
    ['targets:', '  - name: main', '    target: https://graph.facebook.com', '    env:', '      token: WHATSAPP_ACCESS_TOKEN', '      phone_number_id: WHATSAPP_PHONE_NUMBER_ID', '      waba_id: WHATSAPP_WABA_ID', '  - name: lab', '    target: sim', ''].join('\n'),
  )
  writeFileSync(join(dir, 'lab.yaml'), ['targets:', '  - name: lab2', '    target: sim', ''].join('\n'))
  const check = (targets: string, out: string) => main(['check', '--targets', join(dir, targets), '--only', 'templates.list', '--out', join(dir, out), '--format', 'json,md,html', '--no-history', '--quiet'], io)
  expect(await check('targets.yaml', 'shard-1')).toBe(2)
  expect(await check('lab.yaml', 'shard-2')).toBe(0)
  expect(await main(['merge', join(dir, 'shard-1', 'report.json'), join(dir, 'shard-2', 'report.json'), '--out', join(dir, 'merged'), '--format', 'json,md,html', '--no-history', '--quiet'], io)).toBe(2)
}, 120_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('an error run names its cause at the top', () => {
  it('check --targets with a target whose credentials are not set: report.md and report.html say which, and on how many targets', () => {
    const md = read('shard-1', 'report.md').split('\n')[0]!
    expect(md).toMatch(new RegExp(`^# driftwatch: ERROR on 1 of 2 targets: ${UNSET.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
    expect(md).not.toContain('the harness failed')
    const band = h1(read('shard-1', 'report.html'))
    expect(band).toMatch(/^driftwatch: ERROR on 1 of 2 targets<span class="cause">target main: environment variables WHATSAPP_ACCESS_TOKEN, /)
  })
  it('merge of that shard with a passing one says the same', () => {
    expect(read('merged', 'report.md').split('\n')[0]).toMatch(/^# driftwatch: ERROR on 1 of 3 targets: target main: environment variables WHATSAPP_ACCESS_TOKEN, /)
    expect(h1(read('merged', 'report.html'))).toMatch(/^driftwatch: ERROR on 1 of 3 targets<span class="cause">target main: environment variables /)
  })
  it('a run whose targets all ran names no error', () => {
    expect(read('shard-2', 'report.md').split('\n')[0]).toMatch(/^# driftwatch: PASS/)
    expect(h1(read('shard-2', 'report.html'))).toBe('driftwatch: PASS')
  })
})

describe('the error band, rendered', () => {
  const section = (name: string, error?: string): TargetSection => ({ name, target: 'https://graph.facebook.com', outcome: error ? 'error' : 'pass', summary: sampleReport.summary, ...(error ? { error: { code: 'DW_CONFIG_MISSING_ENV', message: error } } : {}) })
  const errorRun = (targets: TargetSection[], extra: Partial<Report> = {}): Report => settle({ ...sampleReport, findings: [], results: [], outcome: 'error', targets, ...extra }, 'breaking')
  const md = (r: Report) => markdownReporter.render(untrusting(r)).split('\n')[0]!
  const html = (r: Report) => h1(renderHtml(untrusting(r)))
  it('names the first target that could not run and counts the others; a message that does not name its target is prefixed', () => {
    const r = errorRun([section('acme-br', 'token rejected'), section('acme-de', 'target acme-de: unreachable'), section('acme-fr')])
    expect(md(r)).toBe('# driftwatch: ERROR on 2 of 3 targets: target acme-br: token rejected; and 1 more target could not run')
    expect(html(r)).toBe('driftwatch: ERROR on 2 of 3 targets<span class="cause">target acme-br: token rejected<span class="more">; and 1 more target could not run</span></span>')
  })
  it('a single run with a harness error names it in report.html too, not only in report.md', () => {
    const r: Report = { ...sampleReport, findings: [], outcome: 'error', error: { code: 'DW_TARGET_UNREACHABLE', message: 'cannot reach https://graph.facebook.com: ECONNREFUSED' } }
    expect(md(r)).toBe('# driftwatch: ERROR: cannot reach https\\://graph.facebook.com: ECONNREFUSED')
    expect(html(r)).toBe('driftwatch: ERROR<span class="cause">cannot reach https://graph.facebook.com: ECONNREFUSED</span>')
  })
  it('an error with no cause recorded still says it failed', () => {
    const r: Report = { ...sampleReport, findings: [], outcome: 'error' }
    expect(md(r)).toBe('# driftwatch: ERROR: the harness failed')
    expect(html(r)).toBe('driftwatch: ERROR')
  })
  it("a target's error from a crafted report stays inert in both media", () => {
    const r = errorRun([section('x', '<img src=y onerror=alert(1)> [click](javascript:alert(2)) # heading')])
    expect(html(r)).toContain('target x: &lt;img src=y onerror=alert(1)&gt;')
    const rendered = micromark(markdownReporter.render(untrusting(r)), { allowDangerousHtml: true, extensions: [gfm()], htmlExtensions: [gfmHtml()] })
    expect(rendered).not.toMatch(/<img|<a /)
  })
})
