/**
 * The webhook contracts as files: one per kind the issue names, each with its sources, loaded with
 * the operations' schema registry; a broken contract fails the load naming the file, as an operation
 * would; the pack's operation loader does not mistake them for probes; loading again is cached.
 */
import { cpSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadContracts } from '../../src/contracts/load.ts'
import { loadWebhookContracts } from '../../src/webhooks/index.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const { dir } = tempDirs('dw-webhook-contracts-')

const KINDS = [
  ...['text', 'image', 'audio', 'video', 'document', 'sticker', 'location', 'contacts', 'interactive.button_reply', 'interactive.list_reply', 'interactive.nfm_reply', 'button', 'reaction', 'order', 'system', 'referral', 'unsupported'].map((t) => `messages.${t}`),
  ...['sent', 'delivered', 'read', 'failed'].map((s) => `statuses.${s}`),
  'message_template_status_update',
  'template_category_update',
  'phone_number_quality_update',
  'phone_number_name_update',
  'account_update',
  'account_alerts',
  'business_capability_update',
]

describe('webhook contracts', () => {
  const pack = loadWebhookContracts('contracts/meta', ROOT)

  it.each(KINDS)('%s has a contract with its sources', (kind) => {
    const c = pack.contract(kind)
    expect(c, kind).toBeDefined()
    expect(c!.source.length).toBeGreaterThan(40)
    expect(c!.file).toMatch(/^contracts\/meta\/webhooks\/.+\.yaml$/)
  })

  it("knows Meta's catalogued error codes, and not others", () => {
    expect([131026, 131047, 131049, 131050, 131053, 132001, 470].every(pack.knownErrorCode)).toBe(true)
    expect(pack.knownErrorCode(999999)).toBe(false)
  })

  it('compiles every contract\'s schema, each rejecting a body that is not an object', () => {
    for (const c of pack.contracts) expect(pack.validateBody(c.id, 'not a value').length, c.id).toBeGreaterThan(0)
  })

  it('is cached while its files are unchanged, per working directory (its file names are relative to it)', () => {
    expect(loadWebhookContracts('contracts/meta', ROOT)).toBe(pack)
    const fromElsewhere = loadWebhookContracts(join(ROOT, 'contracts/meta'), join(ROOT, 'suites'))
    expect(fromElsewhere).not.toBe(pack)
    expect(fromElsewhere.contracts[0]!.file).toBe(join('..', pack.contracts[0]!.file))
    expect(loadWebhookContracts('contracts/meta', ROOT)).toBe(pack)
  })

  it('leaves the operations and probes of the pack as they were (webhooks/ is not probes)', () => {
    const ops = loadContracts('contracts/meta', { cwd: ROOT })
    expect(ops.probes.some((p) => p.file.includes('webhooks'))).toBe(false)
  })

  it('fails the load naming the file of a contract whose $defs entry does not exist, or with an unknown key', () => {
    const copyOf = () => {
      const copy = dir()
      cpSync(join(ROOT, 'contracts', 'meta', 'schemas'), join(copy, 'schemas'), { recursive: true })
      cpSync(join(ROOT, 'contracts', 'meta', 'webhooks'), join(copy, 'webhooks'), { recursive: true })
      return copy
    }
    expect(loadWebhookContracts(copyOf(), ROOT).contracts.length).toBeGreaterThanOrEqual(KINDS.length)
    // Another directory: a pack loaded a moment ago is not looked at again within a second.
    const copy = copyOf()
    writeFileSync(join(copy, 'webhooks', 'messages.text.yaml'), 'id: webhook.messages.text\ntitle: t\nfield: messages\nkind: messages.text\nschema: webhook-messages.json\ndef: nope\nsource: s\n')
    writeFileSync(join(copy, 'webhooks', 'messages.image.yaml'), 'id: webhook.messages.image\ntitle: t\nfield: messages\nkind: messages.image\nschema: webhook-messages.json\nsource: s\ncolour: blue\n')
    expect(() => loadWebhookContracts(copy, ROOT)).toThrow(/messages\.text\.yaml.*no \$defs entry nope[\s\S]*messages\.image\.yaml|messages\.image\.yaml[\s\S]*messages\.text\.yaml.*no \$defs entry nope/)
  })
})
