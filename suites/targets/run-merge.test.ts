/**
 * `runMerge`, the merge command as a library call (the CLI only parses and prints): two shards'
 * reports become one report of both targets, settled at --fail-on, written with the formats, and
 * redacted again with the secrets this environment holds; the past is asked for at the merged
 * run's start.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runMerge } from '../../src/commands/merge.ts'
import type { Report } from '../../src/model/report.ts'
import { sampleReport } from '../reporters/sample-report.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const tmp = tempDirs('dw-run-merge-')
const SECRET = 'plainsecretvalue-7777-notatoken'

/** The sample report as one shard's run against `target`, its last finding quoting `quote`. */
function shard(dir: string, target: string, startedAt: string, quote = ''): string {
  const report: Report = { ...sampleReport, target, startedAt, findings: sampleReport.findings.map((f, i) => (i === 0 && quote ? { ...f, title: `${f.title} ${quote}` } : f)) }
  const file = join(dir, `${target}.json`)
  writeFileSync(file, JSON.stringify(report))
  return file
}

describe('runMerge', () => {
  it('joins two shards into one report of both targets, drift at breaking, the secret redacted, the past asked at the earliest start', async () => {
    const dir = tmp.dir()
    const files = [shard(dir, 'br-acme', '2026-11-22T02:00:05.000Z', SECRET), shard(dir, 'de-beta', '2026-11-22T02:00:00.000Z')]
    const out = join(dir, 'merged')
    const asked: string[] = []
    const { report, files: written } = await runMerge({ files, outDir: out, formats: ['json'], failOn: 'breaking', env: { WHATSAPP_ACCESS_TOKEN: SECRET }, cwd: dir, pastAt: (at) => (asked.push(at), undefined) })
    expect(report.targets!.map((t) => t.name)).toEqual(['br-acme', 'de-beta'])
    expect(report.outcome).toBe('drift')
    expect(asked).toEqual(['2026-11-22T02:00:00.000Z'])
    expect(written.some((f) => f.endsWith('report.json'))).toBe(true)
    const json = readFileSync(join(out, 'report.json'), 'utf8')
    expect(json).not.toContain(SECRET)
    expect((JSON.parse(json) as Report).targets).toHaveLength(2)
  })

  it('refuses two reports of one target', async () => {
    const dir = tmp.dir()
    const a = shard(dir, 'br-acme', '2026-11-22T02:00:00.000Z')
    const copy = join(dir, 'copy.json')
    writeFileSync(copy, readFileSync(a))
    await expect(runMerge({ files: [a, copy], outDir: join(dir, 'merged'), formats: ['json'], failOn: 'breaking', env: {}, cwd: dir })).rejects.toThrow(/is in both/)
  })
})
