/**
 * Found by the verify fuzz once streaming verify landed: a JSON body that parses to a scalar
 * (`null`, a string) reached a WeakMap keyed by the body and ended verify with DW_INTERNAL. Each
 * scalar is judged like any body that breaks its schema; an object body stays quiet.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { runCli } from './cli-outcome.ts'

const dirs = tempDirs('dw-scalar-')
const FIXTURE = join(import.meta.dirname, '..', 'verify', 'fixtures', 'cloud-api-traffic.har')

function harWithBodies(text: string | undefined): string {
  const doc = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { log: { entries: { response: { content?: { mimeType?: string; text?: string } } }[] } }
  for (const e of doc.log.entries) {
    const c = e.response.content
    if (text !== undefined && c?.text && (c.mimeType ?? '').includes('json')) c.text = text
  }
  const file = join(dirs.dir(), 'traffic.har')
  writeFileSync(file, JSON.stringify(doc))
  return file
}

describe('verify with JSON bodies that are scalars', () => {
  it.each(['null', '"str"', '42', 'true'])('%s: judged as drift, not an internal error', async (text) => {
    const r = await runCli(['verify', harWithBodies(text), '--no-history', '--quiet'])
    expect(r.stderr).not.toContain('internal error')
    expect(r.code).toBe(1)
    const report = JSON.parse(readFileSync(join(r.out, 'report.json'), 'utf8')) as { findings: { check: string; severity: string }[] }
    expect(report.findings.some((f) => f.severity === 'breaking')).toBe(true)
  })
  it('the fixture as captured: no breaking finding', async () => {
    const r = await runCli(['verify', harWithBodies(undefined), '--no-history', '--quiet'])
    expect(r.code).toBe(0)
  })
})
