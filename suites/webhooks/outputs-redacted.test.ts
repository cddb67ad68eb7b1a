/**
 * What the receiver's journal removes, no other output keeps (newcomer review, issue 19): the
 * judge's evidence, the reports and the goldens `record --from` writes go through the same
 * webhook rules (usernames, a group participant's number, every business-scoped user id).
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const tmp = tempDirs('dw-wh-outputs-')
const ROOT = join(import.meta.dirname, '..', '..')
const PERSONAL = { username: '@grace_h', participant: '4915298765432', userId: 'US.777888', parentId: 'US.ENT.55566677', name: 'Grace Hopper' }

/** pywa's group status with real-looking values in place of its placeholders, and a drifted twin (no `status`). */
function groupStatus(drift: boolean): unknown {
  const status: Record<string, unknown> = { id: 'wamid.HBgLMTYzMTU1NTAxOTkVAgARGBI0', ...(drift ? {} : { status: 'read' }), timestamp: '1698266945', recipient_id: '120363041234567890@g.us', recipient_type: 'group', recipient_participant_id: PERSONAL.participant, recipient_participant_user_id: PERSONAL.userId, recipient_participant_parent_user_id: PERSONAL.parentId }
  return { object: 'whatsapp_business_account', entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '16315550142', phone_number_id: '106540352242922' }, contacts: [{ profile: { name: PERSONAL.name, username: PERSONAL.username }, wa_id: PERSONAL.participant, user_id: PERSONAL.userId, parent_user_id: PERSONAL.parentId }], statuses: [status] } }] }] }
}

function everything(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => {
    try {
      return readFileSync(join(dir, f), 'utf8')
    } catch {
      return ''
    }
  }).join('\n')
}

const run = (args: string[], cwd: string) => main(args, { stdout: () => undefined, stderr: () => undefined, env: {}, cwd })

describe('webhook outputs hold no personal data the journal would not', () => {
  it('record --from: the goldens keep no username, participant number or user id', async () => {
    const d = tmp.dir()
    writeFileSync(join(d, 'group.json'), JSON.stringify(groupStatus(false)))
    expect(await run(['record', '--from', 'group.json', '--recordings', 'goldens', '--contracts', join(ROOT, 'contracts/meta')], d)).toBe(0)
    const written = everything(join(d, 'goldens'))
    expect(written).toContain('statuses')
    for (const v of Object.values(PERSONAL)) expect(written, v).not.toContain(v)
  })

  it('verify of a drifted body: report.json and report.md keep none of them either, and the drift is there', async () => {
    const d = tmp.dir()
    writeFileSync(join(d, 'group.jsonl'), `${JSON.stringify(groupStatus(true))}\n`)
    expect(await run(['verify', 'group.jsonl', '--out', 'out', '--format', 'json,md,html', '--contracts', join(ROOT, 'contracts/meta'), '--no-history'], d)).toBe(1)
    const written = everything(join(d, 'out'))
    expect(written).toContain('is required by the contract and is now missing')
    for (const v of Object.values(PERSONAL)) expect(written, v).not.toContain(v)
  })
})

describe('hostile or odd webhook values stay bounded and named', () => {
  it('a 200 KB message type is cut to 64 characters in the kind, the title and the report', async () => {
    const d = tmp.dir()
    const type = 'x'.repeat(200_000)
    const body = { object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '16315550142', phone_number_id: '106540352242922' }, messages: [{ from: '16315550199', id: 'wamid.X', timestamp: '1698266945', type }] } }] }] }
    writeFileSync(join(d, 'long.jsonl'), `${JSON.stringify(body)}\n`)
    await run(['verify', 'long.jsonl', '--out', 'out', '--format', 'json,md', '--contracts', join(ROOT, 'contracts/meta'), '--no-history'], d)
    const md = readFileSync(join(d, 'out', 'report.md'), 'utf8')
    expect(md).toContain(`Unknown message type ${'x'.repeat(64)}…`)
    expect(md.length).toBeLessThan(50_000)
  })

  it('a capture of webhook bodies is named by its file, not "traffic null"', async () => {
    const d = tmp.dir()
    writeFileSync(join(d, 'group.jsonl'), `${JSON.stringify(groupStatus(false))}\n`)
    const out: string[] = []
    await main(['verify', 'group.jsonl', '--out', 'out', '--format', 'json,md', '--contracts', join(ROOT, 'contracts/meta')], { stdout: (l) => out.push(l), stderr: () => undefined, env: {}, cwd: d })
    expect(out.join('\n')).not.toContain('null')
    expect(readFileSync(join(d, 'out', 'report.md'), 'utf8')).not.toContain('traffic to null')
  })
})

describe('verify names what it takes when a webhook capture is wrong', () => {
  const said = async (file: string, content: string | undefined) => {
    const d = tmp.dir()
    if (content !== undefined) writeFileSync(join(d, file), content)
    const err: string[] = []
    const code = await main(['verify', file, '--out', 'out', '--contracts', join(ROOT, 'contracts/meta')], { stdout: () => undefined, stderr: (l) => err.push(l), env: {}, cwd: d })
    return { code, text: err.join('\n') }
  }

  it('a missing file names webhook bodies among what it takes', async () => {
    const r = await said('x.jsonl', undefined)
    expect(r.code).toBe(2)
    expect(r.text).toContain('x.jsonl does not exist: give a HAR file')
    expect(r.text).toContain('or a JSON or JSONL file of WhatsApp webhook bodies')
  })

  it('an empty file is empty, not "not a VCR cassette"', async () => {
    const r = await said('x.jsonl', '')
    expect(r.code).toBe(2)
    expect(r.text).toContain('x.jsonl is empty: nothing to verify')
    expect(r.text).not.toContain('is not a VCR cassette')
  })

  it('another product\'s webhook body says whose it is, not "log is missing"', async () => {
    const r = await said('page.json', JSON.stringify({ object: 'page', entry: [] }))
    expect(r.code).toBe(2)
    expect(r.text).toContain('page.json holds a webhook body whose object is "page", not whatsapp_business_account')
  })
})
