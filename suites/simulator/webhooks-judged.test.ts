/**
 * Every simulator webhook scenario gives exactly its expected findings when the webhook judge judges
 * what it delivered for WEBHOOK_DRIVE; the baseline (statuses and every inbound type) gives none.
 * The judge (src/webhooks, branch wh-core) lands separately: until it is in the tree this suite is
 * skipped, and it runs as soon as it is.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { WEBHOOK_DRIVE } from '../../src/simulator/scenario.ts'
import { scenarios, webhookScenarioNames } from '../../src/simulator/scenarios/index.ts'
import { startSimulator, UNDELIVERABLE_RECIPIENT } from '../../src/simulator/server.ts'
import { INBOUND_TYPES } from '../../src/simulator/webhooks.ts'
import { sendText, startReceiver } from './webhooks-receiver.ts'

const JUDGE = join(import.meta.dirname, '..', '..', 'src', 'webhooks', 'index.ts')

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close()
})

type Quad = [contract: string, check: string, severity: string, title: string]

/** Drives `scenario` (WEBHOOK_DRIVE, and every inbound type for the baseline) and judges what arrived. */
async function judged(scenario: string): Promise<{ findings: Quad[]; counts: { entries: number; attributed: number; unattributed: number } }> {
  const { WebhookJudge } = (await import(JUDGE)) as { WebhookJudge: new (o: { since: string }) => { add(b: unknown): void; verdict(): Promise<{ findings: { contract: string; check: string; severity: string; title: string }[]; counts: { entries: number; attributed: number; unattributed: number } }> } }
  const r = await startReceiver()
  open.push(r)
  const sim = await startSimulator({ scenario, webhooks: { url: r.url } })
  open.push(sim)
  for (const d of WEBHOOK_DRIVE) expect((await sendText(sim, d.to === 'undeliverable' ? UNDELIVERABLE_RECIPIENT : sim.credentials.testRecipient, d.type)).status).toBe(200)
  if (scenario === 'baseline') for (const type of INBOUND_TYPES) sim.sendInbound({ type, text: 'a caption' })
  await sim.webhooks!.idle()
  const judge = new WebhookJudge({ since: new Date().toISOString() })
  for (const g of r.received) judge.add(g.json)
  const v = await judge.verdict()
  return { findings: v.findings.map((f): Quad => [f.contract, f.check, f.severity, f.title]).sort(), counts: v.counts }
}

describe.skipIf(!existsSync(JUDGE))('simulator webhooks, judged', () => {
  it('the baseline: every status and inbound body attributed, no finding', async () => {
    const { findings, counts } = await judged('baseline')
    expect(findings).toEqual([])
    expect(counts).toEqual({ entries: 4 + INBOUND_TYPES.length, attributed: 4 + INBOUND_TYPES.length, unattributed: 0 })
  })

  it.each(webhookScenarioNames())('%s gives exactly its expected findings', async (name) => {
    const { findings } = await judged(name)
    const expects = scenarios[name]!().webhooks!.expects.map((e): Quad => [e.contract, e.check, e.severity, e.title]).sort()
    expect(findings).toEqual(expects)
  })
})
