/**
 * `--format github` (issue 20 item 3): one workflow-command annotation per finding, error at
 * --fail-on, warning below it, notice for info; hostile text stays inside its annotation (escaped
 * as the runner's toolkit escapes it); the CLI prints them on stdout and appends report.md to the
 * job summary.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.ts'
import type { Report } from '../../src/model/report.ts'
import { untrusting } from '../../src/render/index.ts'
import { escapeData, escapeProperty, githubReporter } from '../../src/reporters/github.ts'
import { sampleReport } from './sample-report.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const { dir: tempDir } = tempDirs('dw-github-')

const ROOT = join(import.meta.dirname, '..', '..')
const render = (r: Report) => githubReporter.render(untrusting(r)).trimEnd().split('\n')

describe('the github reporter', () => {
  it('one annotation per finding: error at --fail-on, warning below, notice for info; then the outcome', () => {
    const lines = render(sampleReport)
    const levels = lines.map((l) => /^::(\w+) /.exec(l)?.[1])
    expect(levels.slice(0, -1)).toEqual(sampleReport.findings.map((f) => (f.severity === 'breaking' ? 'error' : f.severity === 'info' ? 'notice' : 'warning')))
    expect(lines.at(-1)).toMatch(/^::notice title=driftwatch%3A DRIFT::4 contracts/)
  })

  it('at --fail-on warning a warning is an error annotation', () => {
    const lines = render({ ...sampleReport, failOn: 'warning' })
    expect(lines.filter((l) => l.startsWith('::error ')).length).toBe(sampleReport.findings.filter((f) => f.severity !== 'info').length)
  })

  it('a hostile title cannot end its annotation or start a command: newlines, % and :: are escaped', () => {
    const hostile = { ...sampleReport.findings[0]!, contract: 'a,b:c', title: 'x\n::add-mask::EAAsecret\r\n::error::forged 100%' }
    const lines = render({ ...sampleReport, findings: [hostile] })
    expect(lines).toHaveLength(2)
    expect(lines[0]).toContain('x%0A::add-mask::EAAsecret%0D%0A::error::forged 100%25')
    expect(lines[0]).toContain('title=driftwatch breaking%3A a%2Cb%3Ac (framing-conformance)')
    expect(lines.every((l) => l.startsWith('::error ') || l.startsWith('::notice ') || l.startsWith('::warning '))).toBe(true)
  })

  it('file= names a contract in the repository, and none outside it (the pack shipped with the action or package)', () => {
    const withFile = (file: string) => render({ ...sampleReport, results: sampleReport.results.map((r) => ({ ...r, file })) })[0]!
    expect(withFile('contracts/meta/media.retrieve-url.yaml')).toContain(',file=contracts/meta/media.retrieve-url.yaml::')
    for (const outside of ['/home/runner/work/_actions/o/driftwatch/v1/contracts/meta/media.retrieve-url.yaml', '../driftwatch/contracts/meta/x.yaml', 'C:\\a\\x.yaml', 'node_modules/driftwatch/contracts/meta/media.retrieve-url.yaml']) expect(withFile(outside), outside).not.toContain('file=')
  })

  it('escapes as @actions/core does', () => {
    expect(escapeData('50%\r\n')).toBe('50%25%0D%0A')
    expect(escapeProperty('a:b,c%')).toBe('a%3Ab%2Cc%25')
  })
})

describe('check --format github', () => {
  it('prints the annotations on stdout and appends report.md to $GITHUB_STEP_SUMMARY', async () => {
    const d = tempDir()
    const summary = join(d, 'summary.md')
    const out: string[] = []
    const code = await main(['check', '--scenario', 'media-chunked', '--out', join(d, 'out'), '--format', 'md,github', '--no-history', '--only', 'media.retrieve-url'], { stdout: (l) => out.push(l), stderr: () => undefined, env: { GITHUB_STEP_SUMMARY: summary }, cwd: ROOT })
    expect(code).toBe(1)
    expect(out.filter((l) => l.startsWith('::error ')).join('\n')).toMatch(/title=driftwatch breaking%3A media\.retrieve-url \(framing-conformance\),file=contracts\/meta\/media\.retrieve-url\.yaml::Framing changed to chunked/)
    expect(readFileSync(summary, 'utf8')).toContain('# driftwatch: DRIFT')
  }, 60_000)

  it("says so on stderr when $GITHUB_STEP_SUMMARY cannot be written, and keeps the run's exit code", async () => {
    const d = tempDir()
    const err: string[] = []
    const code = await main(['check', '--scenario', 'media-chunked', '--out', join(d, 'out'), '--format', 'md,github', '--no-history', '--only', 'media.retrieve-url'], { stdout: () => undefined, stderr: (l) => err.push(l), env: { GITHUB_STEP_SUMMARY: join(d, 'no-such-dir', 'summary.md') }, cwd: ROOT })
    expect(code).toBe(1)
    expect(err.join('\n')).toMatch(/cannot append report\.md to the job summary \$GITHUB_STEP_SUMMARY \(ENOENT\)/)
  }, 60_000)

  it('is refused with --json (both write stdout) and by gate (which has its own formats)', async () => {
    const err: string[] = []
    const io = { stdout: () => undefined, stderr: (l: string) => err.push(l), env: {}, cwd: ROOT }
    expect(await main(['check', '--format', 'github', '--json'], io)).toBe(2)
    expect(await main(['gate', '--format', 'github'], io)).toBe(2)
    expect(err.join('\n')).toContain('--json and --format github both write stdout')
    expect(err.join('\n')).toContain('--format github applies to check, verify and merge')
    // record and proxy have no findings to annotate: refused, not accepted and ignored.
    expect(await main(['record', '--format', 'github'], io)).toBe(2)
    expect(await main(['proxy', '--upstream', 'http://127.0.0.1:9', '--format', 'json,github'], io)).toBe(2)
    expect(err.join('\n')).toContain('record writes its findings to its reports only: drop github from --format')
    expect(err.join('\n')).toContain('proxy writes its findings to its reports only')
  })

  it('github alone writes report.md for the summary, and never appends an earlier run\'s report.md', async () => {
    const d = tempDir()
    const summary = join(d, 'summary.md')
    const io = (out: string[] = []) => ({ stdout: (l: string) => out.push(l), stderr: () => undefined, env: { GITHUB_STEP_SUMMARY: summary }, cwd: ROOT })
    // A drifting run leaves report.md; a passing run with github alone, right after, must append its own.
    await main(['check', '--scenario', 'media-chunked', '--out', join(d, 'out'), '--format', 'md', '--no-history', '--only', 'media.retrieve-url'], io())
    expect(await main(['check', '--out', join(d, 'out'), '--format', 'github', '--no-history', '--only', 'media.retrieve-url'], io())).toBe(0)
    const appended = readFileSync(summary, 'utf8')
    expect(appended).toContain('# driftwatch: PASS')
    expect(appended).not.toContain('DRIFT')
  }, 60_000)

  it('merge --format github prints the annotations and appends the summary too', async () => {
    const d = tempDir()
    const summary = join(d, 'summary.md')
    const quiet = { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: ROOT }
    await main(['check', '--scenario', 'media-chunked', '--out', join(d, 'shard'), '--no-history', '--only', 'media.retrieve-url'], quiet)
    const out: string[] = []
    const code = await main(['merge', join(d, 'shard', 'report.json'), '--out', join(d, 'merged'), '--format', 'github', '--no-history'], { ...quiet, stdout: (l: string) => out.push(l), env: { GITHUB_STEP_SUMMARY: summary } })
    expect(code).toBe(1)
    expect(out.some((l) => l.startsWith('::error ') && l.includes('framing-conformance'))).toBe(true)
    expect(readFileSync(summary, 'utf8')).toContain('DRIFT')
  }, 60_000)
})
