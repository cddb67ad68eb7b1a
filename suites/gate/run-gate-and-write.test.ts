/**
 * `runGateAndWrite`, the gate command as a library call (the CLI only parses and prints): a failed
 * interaction gets its rerun (the gate over its pact file alone, with the arguments given), the
 * report is redacted with the environment's secrets, and gate.json and the formats are written.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runGateAndWrite } from '../../src/commands/gate.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

process.env.PACT_DO_NOT_TRACK = 'true'
const ROOT = join(import.meta.dirname, '..', '..')
const tmp = tempDirs('dw-gate-write-')
const SECRET = 'plainsecretvalue-4242-notatoken'

/** A pact whose one interaction no operation describes; its description quotes a token this environment holds. */
function strayPact(): string {
  const dir = join(tmp.dir(), 'pacts')
  mkdirSync(dir)
  const pact = {
    consumer: { name: 'stray-client' },
    provider: { name: 'whatsapp-cloud-api' },
    interactions: [{ type: 'Synchronous/HTTP', description: `calls a path no operation has (token ${SECRET})`, request: { method: 'GET', path: '/v23.0/no/such/edge', headers: { Authorization: ['Bearer t'] } }, response: { status: 200 } }],
    metadata: { pactSpecification: { version: '4.0' } },
  }
  writeFileSync(join(dir, 'stray.json'), JSON.stringify(pact))
  return dir
}

describe('runGateAndWrite', () => {
  it('fails the stray interaction with its rerun, redacts the secret and writes gate.json and gate.md', async () => {
    const pacts = strayPact()
    const out = join(tmp.dir(), 'out')
    const { report, files } = await runGateAndWrite({ pactsPath: pacts, recordingsDir: join(ROOT, 'recordings/meta'), contractsDir: 'contracts/meta', cwd: ROOT, outDir: out, formats: ['json', 'md'], env: { WHATSAPP_ACCESS_TOKEN: SECRET }, rerunArgs: ['--fail-on', 'breaking', '--out', 'reports/rerun'] })
    expect(report.outcome).toBe('fail')
    expect(report.interactions).toHaveLength(1)
    const i = report.interactions[0]!
    expect(i.status).toBe('failed')
    expect(i.rerun).toContain('--pacts')
    expect(i.rerun).toContain('--out reports/rerun')
    expect(JSON.stringify(report)).not.toContain(SECRET)
    expect(files.map((f) => f.replace(/^.*\//, ''))).toEqual(expect.arrayContaining(['gate.json', 'gate.md']))
    const written = readFileSync(join(out, 'gate.json'), 'utf8')
    expect(written).not.toContain(SECRET)
    expect(JSON.parse(written)).toMatchObject({ outcome: 'fail', summary: { interactions: 1, failed: 1 } })
  })

  it('refuses a missing pacts folder and writes nothing', async () => {
    const out = join(tmp.dir(), 'out')
    await expect(runGateAndWrite({ pactsPath: join(tmp.dir(), 'none'), recordingsDir: join(ROOT, 'recordings/meta'), contractsDir: 'contracts/meta', cwd: ROOT, outDir: out, formats: ['json'], env: {}, rerunArgs: [] })).rejects.toMatchObject({ code: 'DW_PACT_INVALID' })
    expect(existsSync(join(out, 'gate.json'))).toBe(false)
  })
})
