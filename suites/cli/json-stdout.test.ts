/**
 * `--json` (issue 20): check, verify and gate print the report they wrote on stdout and nothing
 * else, every line a person reads on stderr; a run that fails at start prints no older report.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const { dir: tempDir } = tempDirs('dw-json-')

const ROOT = join(import.meta.dirname, '..', '..')

async function run(args: string[], cwd = ROOT) {
  const out: string[] = []
  const err: string[] = []
  const code = await main(args, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: {}, cwd })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('--json', () => {
  it('check: stdout is report.json, as written; the headline goes to stderr', async () => {
    const d = tempDir()
    const r = await run(['check', '--only', 'phone-numbers.get', '--out', d, '--no-history', '--json'])
    expect(r.code).toBe(0)
    const printed = JSON.parse(r.out) as { outcome: string }
    expect(printed).toEqual(JSON.parse(readFileSync(join(d, 'report.json'), 'utf8')))
    expect(printed.outcome).toBe('pass')
    expect(r.err).toMatch(/^PASS: /m)
  }, 60_000)

  it('verify: the same, for a webhook capture', async () => {
    const d = tempDir()
    const body = { object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '16315550142', phone_number_id: '106540352242922' }, statuses: [{ id: 'wamid.X', status: 'sent', timestamp: '1698266945', recipient_id: '16315550199' }] } }] }] }
    writeFileSync(join(d, 'w.jsonl'), `${JSON.stringify(body)}\n`)
    const r = await run(['verify', 'w.jsonl', '--out', 'out', '--no-history', '--json', '--contracts', join(ROOT, 'contracts/meta')], d)
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toMatchObject({ outcome: 'pass', summary: { entries: 1 } })
  })

  it('a run that fails at start prints no report (not an older one), and says why on stderr', async () => {
    const d = tempDir()
    writeFileSync(join(d, 'report.json'), '{"stale":true}')
    const r = await run(['verify', 'missing.har', '--out', d, '--json', '--contracts', join(ROOT, 'contracts/meta')], d)
    expect(r.code).toBe(2)
    expect(r.out).toBe('')
    expect(r.err).toContain('missing.har does not exist')
  })
})
