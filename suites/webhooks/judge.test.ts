/**
 * Webhooks judged by the operations' judge, so severities mean the same: a required field gone or a
 * type changed is breaking, a field new since the golden is info naming it, a message type or status
 * value no contract names is a warning, a field no contract describes is info (unattributed). Each
 * case has its quiet twin. Evidence says where the notification was and quotes it redacted: no
 * number, name, text or caption of a person.
 */
import { describe, expect, it } from 'vitest'
import { WebhookJudge } from '../../src/webhooks/index.ts'
import { body, inbound, judgeBodies, lines, SINCE, status, statuses, text } from './helpers.ts'

const without = (o: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key))

describe('WebhookJudge: severities', () => {
  it.each([
    ['a text message as Meta sends it', body(inbound(text())), []],
    ['a message without from', body(inbound(without(text(), 'from'))), ['breaking schema-drift webhook.messages.text: `$.messages[*].from` is required by the contract and is now missing']],
    ['text.body as a number', body(inbound(text({ text: { body: 42 } }))), ['breaking schema-drift webhook.messages.text: `$.messages[*].text.body` was string, is now integer']],
    ['a message type no contract names', body(inbound(text({ type: 'hologram', hologram: {} }))), ['warning webhook-kind webhook.messages.any: Unknown message type hologram']],
    ['a status value no contract names', body(statuses(status('deleted', 5))), ['warning webhook-kind webhook.statuses.any: Unknown status value deleted']],
    ['a status without status', body(statuses(without(status('sent', 5), 'status'))), ['breaking schema-drift webhook.statuses.any: `$.statuses[*].status` is required by the contract and is now missing']],
    ['a field no contract describes', body({ field: 'smb_app_state_sync', value: { state: 'x' } }), ['info webhook-kind webhook.smb_app_state_sync: No contract for webhook field smb_app_state_sync']],
    ['a new field on a status (no golden: the contract allows it)', body(statuses(status('sent', 5, { recipient_locale: 'en_US' }))), []],
  ])('%s', async (_what, b, expected) => {
    const v = await judgeBodies([b])
    expect(lines(v.findings)).toEqual(expected)
  })

  it('reports an entry that is an object as breaking, and still judges its notifications', async () => {
    const b = { object: 'whatsapp_business_account', entry: { id: '1', changes: [inbound(without(text(), 'timestamp'))] } }
    const v = await judgeBodies([b])
    expect(lines(v.findings)).toEqual([
      'breaking schema-drift webhook.envelope: `$.entry` was array, is now object',
      'breaking schema-drift webhook.messages.text: `$.messages[*].timestamp` is required by the contract and is now missing',
    ])
  })

  it('counts bodies: attributed when every notification has a contract, unattributed otherwise', async () => {
    const v = await judgeBodies([body(inbound(text())), body(inbound(text({ type: 'hologram' }))), body({ field: 'flows', value: {} }), { object: 'page', entry: [] }])
    expect(v.counts).toEqual({ entries: 4, attributed: 1, unattributed: 3 })
    expect(v.contracts.map((c) => [c.contract, c.probes])).toEqual([
      ['webhook.envelope', 0],
      ['webhook.messages.text', 1],
      ['webhook.messages.any', 1],
    ])
  })
})

describe('WebhookJudge: goldens', () => {
  it('names a field that appeared since the golden as info, and says nothing when the body is as recorded', async () => {
    const recorder = new WebhookJudge({ since: SINCE, keep: true })
    recorder.add(body(statuses(status('delivered', 5))), { receivedAt: SINCE })
    await recorder.verdict()
    const golden = new Map([...recorder.observations()].map(([id, observations]) => [id, { name: 'yesterday', recordedAt: SINCE, observations }]))

    const same = await judgeBodies([body(statuses(status('delivered', 6)))], golden)
    expect(lines(same.findings)).toEqual([])
    const grown = await judgeBodies([body(statuses(status('delivered', 6, { pricing: { billable: true, pricing_model: 'PMP', category: 'utility', type: 'regular' } })))], golden)
    expect(lines(grown.findings)).toEqual(['info schema-drift webhook.statuses.delivered: `$.statuses[*].pricing` (object) is new since the recording of 2026-12-01; the contract allows it (widened since the recording)'])
  })
})

describe('WebhookJudge: goldens, what varies with what people send', () => {
  it('says a field only some recorded bodies had (a reply\'s context) as info, and one every recorded body had as a warning', async () => {
    const recorder = new WebhookJudge({ since: SINCE, keep: true })
    recorder.add(body(inbound(text({ context: { from: '16315550000', id: 'wamid.HBgLMTYzMTU1NTAwMDAVAgARGBI' } }))), { receivedAt: SINCE })
    recorder.add(body(inbound(text())), { receivedAt: SINCE })
    recorder.add(body(statuses(status('sent', 5, { conversation: { id: 'c1', origin: { type: 'utility' } } }))), { receivedAt: SINCE })
    await recorder.verdict()
    const golden = new Map([...recorder.observations()].map(([id, observations]) => [id, { name: 'yesterday', recordedAt: SINCE, observations }]))
    const v = await judgeBodies([body(inbound(text())), body(statuses(status('sent', 6)))], golden)
    expect(v.findings.map((f) => [f.severity, f.contract, f.title.replace(/ in the recording.*/, '')])).toEqual([
      ['info', 'webhook.messages.text', '`$.messages[*].context` (object) was sent'],
      ['warning', 'webhook.statuses.sent', '`$.statuses[*].conversation` (object) was in every sample'],
    ])
  })
})

describe('WebhookJudge: evidence', () => {
  it('says where the notification was and quotes it with people\'s numbers, names, text and captions replaced', async () => {
    const image = text({ type: 'image', image: { id: '1', mime_type: 'image/jpeg', sha256: 'x', caption: 'me at home' } })
    const v = await judgeBodies([body(inbound(without(text(), 'from'), without(image, 'from')))])
    const f = v.findings.find((x) => x.contract === 'webhook.messages.image')!
    expect(f.evidence.request).toBe('webhook body 1 entry[0].changes[0].value.messages[1]')
    const quoted = JSON.stringify(v.findings)
    for (const personal of ['16315551234', 'Kerry Fisher', '4111 1111', 'me at home', '14155550199']) expect(quoted).not.toContain(personal)
    expect(f.evidence.bodyExcerpt).toContain('"caption":"<caption>"')
    expect(f.evidence).not.toHaveProperty('curl')
  })
})
