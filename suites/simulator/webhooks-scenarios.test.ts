/**
 * Each webhook scenario changes exactly what it says, compared body by body with the baseline's
 * webhooks for the same sends (WEBHOOK_DRIVE): the drift ones make exactly the change their
 * `expects` names, in the webhook it names; the quiet ones keep every body valid in Meta's shape and
 * change only the order or the count. Judging these bodies is the webhook judge's job (its suite).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { SEVERITIES } from '../../src/model/finding.ts'
import { WEBHOOK_DRIVE } from '../../src/simulator/scenario.ts'
import { scenarios, webhookScenarioNames } from '../../src/simulator/scenarios/index.ts'
import { startSimulator, UNDELIVERABLE_RECIPIENT, type RunningSimulator } from '../../src/simulator/server.ts'
import { metaStatusProblems, sendText, startReceiver, statusOf, type Received, type Receiver } from './webhooks-receiver.ts'

const DRIFT = ['webhook-status-field-removed', 'webhook-type-change', 'webhook-errors-reshaped']
const QUIET = ['webhook-out-of-order', 'webhook-duplicates', 'webhook-delivered-then-failed']

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close()
})

interface Delivered {
  recipient: string
  /** Status webhooks of one send, in arrival order. */
  bodies: Received[]
}

/** Makes the sends of WEBHOOK_DRIVE in `scenario`; returns each send's webhooks in arrival order. */
async function drive(scenario: string): Promise<Delivered[]> {
  const r: Receiver = await startReceiver()
  open.push(r)
  const sim: RunningSimulator = await startSimulator({ scenario, webhooks: { url: r.url } })
  open.push(sim)
  const sends: { id: string; recipient: string }[] = []
  for (const d of WEBHOOK_DRIVE) {
    const recipient = d.to === 'undeliverable' ? UNDELIVERABLE_RECIPIENT : sim.credentials.testRecipient
    const res = await sendText(sim, recipient, d.type)
    expect(res.status).toBe(200)
    sends.push({ id: res.id!, recipient })
  }
  await sim.webhooks!.idle()
  return sends.map((s) => ({ recipient: s.recipient, bodies: r.received.filter((g) => statusOf(g.json).id === s.id) }))
}

const statuses = (d: Delivered): string[] => d.bodies.map((g) => String(statusOf(g.json).status))
const times = (d: Delivered, status: string): number[] => d.bodies.filter((g) => statusOf(g.json).status === status).map((g) => Number(statusOf(g.json).timestamp))

interface Difference {
  path: string
  change: string
}

function kind(v: unknown): string {
  return Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v
}

/** Where two bodies differ, as JSONPaths; times (which move between runs) compare by type only. */
function differences(a: unknown, b: unknown, path = '$'): Difference[] {
  if (kind(a) !== kind(b)) return [{ path, change: b === undefined ? 'removed' : a === undefined ? 'added' : `${kind(a)} -> ${kind(b)}` }]
  if (Array.isArray(a)) return Array.from({ length: Math.max(a.length, (b as unknown[]).length) }, (_, i) => differences(a[i], (b as unknown[])[i], `${path}[${i}]`)).flat()
  if (a !== null && typeof a === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b as object)])
    return [...keys].flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`))
  }
  if (/timestamp$/.test(path)) return []
  return a === b ? [] : [{ path, change: `${JSON.stringify(a)} -> ${JSON.stringify(b)}` }]
}

let baseline: Delivered[]
async function baselineBodies(): Promise<Delivered[]> {
  baseline ??= await drive('baseline')
  return baseline
}

describe('the webhook scenarios as registered', () => {
  it('are the six, each with a description, a source and its expected findings as data', () => {
    expect(webhookScenarioNames()).toEqual([...DRIFT, ...QUIET])
    for (const name of webhookScenarioNames()) {
      const s = scenarios[name]!()
      expect(s.name).toBe(name)
      expect(s.description.length).toBeGreaterThan(20)
      expect(s.source.length).toBeGreaterThan(10)
      for (const e of s.webhooks!.expects) {
        expect(e.contract).toMatch(/^webhook\.statuses\.[a-z*]+$/)
        expect(SEVERITIES).toContain(e.severity)
        expect(e.check).toMatch(/^[a-z-]+$/)
        expect(e.title.length).toBeGreaterThan(10)
      }
    }
  })

  it('drift declares a breaking finding at the changed path; quiet declares nothing above info', () => {
    for (const name of DRIFT) {
      const atPath = scenarios[name]!().webhooks!.expects.filter((e) => e.path !== undefined)
      expect(atPath.length, name).toBe(1)
      expect(atPath[0], name).toMatchObject({ severity: 'breaking', check: 'schema-drift', path: expect.stringMatching(/^\$\.entry\[0\]/), webhook: expect.any(String) })
    }
    for (const name of QUIET) expect(scenarios[name]!().webhooks!.expects.filter((e) => e.severity !== 'info'), name).toEqual([])
  })

  it('the baseline drive gives valid bodies: sent, delivered, read to the test recipient; failed to the undeliverable one', async () => {
    const [ok, undeliverable] = await baselineBodies()
    expect(statuses(ok!)).toEqual(['sent', 'delivered', 'read'])
    expect(statuses(undeliverable!)).toEqual(['failed'])
    for (const g of [...ok!.bodies, ...undeliverable!.bodies]) expect(metaStatusProblems(g.json)).toEqual([])
  })
})

describe.each(DRIFT)('drift scenario %s', (name) => {
  it('changes exactly the field its expected finding names, in the webhook it names, and nothing else', async () => {
    const base = await baselineBodies()
    const got = await drive(name)
    const changed: { webhook: string; path: string }[] = []
    got.forEach((d, i) => {
      // Same webhooks in the same order per send: drift changes content, not the sequence.
      expect(d.bodies).toHaveLength(base[i]!.bodies.length)
      d.bodies.forEach((g, j) => {
        const before = base[i]!.bodies[j]!.json
        const diff = differences(before, g.json)
        for (const x of diff) changed.push({ webhook: statusOf(before).status, path: x.path })
        // The changed body breaks Meta's shape; an unchanged one still has it.
        expect(metaStatusProblems(g.json).length > 0, `${statusOf(before).status}: ${JSON.stringify(diff)}`).toBe(diff.length > 0)
      })
    })
    const expects = scenarios[name]!().webhooks!.expects
    expect(changed).toEqual(expects.filter((e) => e.path !== undefined).map((e) => ({ webhook: e.webhook, path: e.path })))
  })
})

describe('quiet scenarios: every body valid, only order or count changes', () => {
  it('webhook-out-of-order: delivered arrives before sent; timestamps still say sent came first', async () => {
    const [ok, undeliverable] = await drive('webhook-out-of-order')
    expect(statuses(ok!)).toEqual(['delivered', 'sent', 'read'])
    expect(times(ok!, 'sent')[0]).toBeLessThan(times(ok!, 'delivered')[0]!)
    expect(times(ok!, 'delivered')[0]).toBeLessThan(times(ok!, 'read')[0]!)
    expect(statuses(undeliverable!)).toEqual(['failed'])
    const base = await baselineBodies()
    for (const g of ok!.bodies) {
      expect(metaStatusProblems(g.json)).toEqual([])
      const same = base[0]!.bodies.find((b) => statusOf(b.json).status === statusOf(g.json).status)!
      expect(differences(same.json, g.json)).toEqual([])
    }
  })

  it('webhook-duplicates: every status webhook arrives twice, byte for byte', async () => {
    const [ok, undeliverable] = await drive('webhook-duplicates')
    expect(statuses(ok!)).toEqual(['sent', 'sent', 'delivered', 'delivered', 'read', 'read'])
    expect(statuses(undeliverable!)).toEqual(['failed', 'failed'])
    for (const d of [ok!, undeliverable!]) {
      for (let i = 0; i < d.bodies.length; i += 2) {
        expect(d.bodies[i + 1]!.raw.equals(d.bodies[i]!.raw)).toBe(true)
        expect(d.bodies[i + 1]!.headers['x-hub-signature-256']).toBe(d.bodies[i]!.headers['x-hub-signature-256'])
        expect(metaStatusProblems(d.bodies[i]!.json)).toEqual([])
      }
    }
  })

  it('webhook-delivered-then-failed: sent, delivered, then failed with Meta\'s errors[] a second later; no read', async () => {
    const [ok, undeliverable] = await drive('webhook-delivered-then-failed')
    expect(statuses(ok!)).toEqual(['sent', 'delivered', 'failed'])
    expect(times(ok!, 'failed')[0]).toBeGreaterThan(times(ok!, 'delivered')[0]!)
    const failed = statusOf(ok!.bodies[2]!.json)
    expect(failed.errors.map((e: { code: number }) => e.code)).toEqual([131026])
    expect(failed.recipient_id).toBe(ok!.recipient)
    for (const g of [...ok!.bodies, ...undeliverable!.bodies]) expect(metaStatusProblems(g.json)).toEqual([])
    expect(statuses(undeliverable!)).toEqual(['failed'])
  })
})
