/**
 * The webhook contracts against real bodies collected from public sources (SDK fixtures, Meta's
 * docs and Postman samples, app repositories; suites/fixtures/webhooks/corpus, each cited in
 * SOURCES.md): they accept what Meta sent across versions (no breaking finding, at least 95% of
 * bodies attributed), and catch as breaking each change of a real body that would break an
 * application: a status without status, errors[].code as a string, entry as an object, a message
 * without from, a message without timestamp. Each mutation has its quiet twin: the body unchanged.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Finding } from '../../src/model/finding.ts'
import { WebhookJudge, type WebhookVerdict } from '../../src/webhooks/index.ts'
import { SINCE } from './helpers.ts'

const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'webhooks', 'corpus')

interface Indexed {
  file: string
  shape: 'body' | 'change'
  kinds: string[]
  placeholders?: boolean
}

type Json = Record<string, any>

function corpus(): { entry: Indexed; body: Json }[] {
  if (!existsSync(join(CORPUS, 'index.json'))) throw new Error(`the webhook corpus is missing: ${CORPUS}/index.json (branch wh-corpus)`)
  const index = JSON.parse(readFileSync(join(CORPUS, 'index.json'), 'utf8')) as Indexed[]
  return index.map((entry) => {
    const json = JSON.parse(readFileSync(join(CORPUS, entry.file), 'utf8')) as Json
    // A body stored as one change (what an app logged) is put back in its envelope.
    const body = entry.shape === 'change' ? { object: 'whatsapp_business_account', entry: [{ id: '0', changes: [json] }] } : json
    return { entry, body }
  })
}

async function judge(bodies: readonly { entry: Indexed; body: unknown }[]): Promise<WebhookVerdict> {
  const j = new WebhookJudge({ since: SINCE })
  for (const b of bodies) j.add(b.body, { where: b.entry.file, receivedAt: SINCE })
  return j.verdict()
}

const breaking = (fs: readonly Finding[]) => fs.filter((f) => f.severity === 'breaking').map((f) => `${f.contract}: ${f.title} (${f.evidence.request})`)

/** A real body (not a docs sample with placeholders) of a kind, and a deep copy to change. */
function real(all: ReturnType<typeof corpus>, kind: string, pred: (b: Json) => boolean = () => true): { entry: Indexed; body: Json } {
  const hit = all.find((b) => b.entry.kinds.includes(kind) && !b.entry.placeholders && b.entry.shape === 'body' && pred(b.body))
  if (!hit) throw new Error(`no real ${kind} body in the corpus`)
  return { entry: hit.entry, body: structuredClone(hit.body) }
}

describe('the webhook corpus', () => {
  const all = corpus()

  it('gives no breaking finding and attributes at least 95% of bodies', async () => {
    expect(all.length).toBeGreaterThanOrEqual(50)
    const v = await judge(all)
    expect(breaking(v.findings)).toEqual([])
    expect(v.counts.entries).toBe(all.length)
    expect(v.counts.attributed / v.counts.entries).toBeGreaterThanOrEqual(0.95)
  })

  const value = (b: Json) => b.entry[0].changes[0].value
  const mutations: [what: string, kind: string, pick: (b: Json) => boolean, change: (b: Json) => void, expected: string][] = [
    ['a status without status', 'statuses.sent', () => true, (b) => delete value(b).statuses[0].status, 'webhook.statuses.any: `$.statuses[*].status` is required by the contract and is now missing'],
    ['errors[].code as a string', 'statuses.failed', (b) => Array.isArray(value(b).statuses?.[0]?.errors), (b) => (value(b).statuses[0].errors[0].code = String(value(b).statuses[0].errors[0].code)), 'webhook.statuses.failed: `$.statuses[*].errors[*].code` was integer, is now string'],
    ['entry as an object', 'messages.text', () => true, (b) => (b.entry = b.entry[0]), 'webhook.envelope: `$.entry` was array, is now object'],
    ['a message without from', 'messages.text', () => true, (b) => delete value(b).messages[0].from, 'webhook.messages.text: `$.messages[*].from` is required by the contract and is now missing'],
    ['a message without timestamp', 'messages.text', () => true, (b) => delete value(b).messages[0].timestamp, 'webhook.messages.text: `$.messages[*].timestamp` is required by the contract and is now missing'],
  ]

  describe.each(mutations)('%s', (_what, kind, pick, change, expected) => {
    it('is breaking', async () => {
      const b = real(all, kind, pick)
      change(b.body)
      const v = await judge([b])
      expect(breaking(v.findings).map((l) => l.replace(/ \(webhook .*\)$/, ''))).toContain(expected)
    })

    it('is quiet on the body unchanged', async () => {
      const v = await judge([real(all, kind, pick)])
      expect(breaking(v.findings)).toEqual([])
      expect(v.counts.attributed).toBe(1)
    })
  })
})
