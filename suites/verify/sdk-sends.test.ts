/**
 * `driftwatch verify` on sends as public SDKs put them on the wire (fixtures/sdk-sends.*, built by
 * sdk-sends.build.mjs): ruby_whatsapp_sdk's cassette sends `"to"` as a number on every kind of
 * message; a Python and a Node service send `preview_url` as "true" or 1, a media id as a number,
 * extra and missing optional fields, keys in their own order, a form; Meta took most and refused a
 * few. Each exchange is attributed to the operation a person says it is (expected.json, written next
 * to the exchange), each departure from the docs is one info finding per operation and reason,
 * naming the path and what Meta answered, and a body the docs describe gives none. None of it is
 * drift: verify exits 0.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import YAML from 'yaml'
import { main } from '../../src/cli/index.ts'
import { trafficState } from '../../src/traffic/attribute.ts'
import { openTraffic } from '../../src/traffic/read.ts'
import { TrafficJudge, type Placement } from '../../src/traffic/judge-traffic.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const FIXTURES = join(import.meta.dirname, 'fixtures')
interface Expected {
  entry: number
  request: string
  operation?: string
  unattributed?: string[]
  departures?: string[]
  why: string
}
const EXPECTED = JSON.parse(readFileSync(join(FIXTURES, 'sdk-sends.expected.json'), 'utf8')) as { configured: { WHATSAPP_PHONE_NUMBER_ID: string }; token: string; cassette: Expected[]; har: Expected[] }
const ENV = { ...EXPECTED.configured }
const { dir } = tempDirs('dw-sdk-sends-')

const MESSAGE_OPERATIONS = ['messages.mark-as-read', 'messages.send-contacts', 'messages.send-interactive', 'messages.send-location', 'messages.send-media-by-id', 'messages.send-media-by-link', 'messages.send-reaction', 'messages.send-template', 'messages.send-text', 'messages.typing-indicator']

function verdict(p: Placement): { operation?: string; unattributed?: string[]; departures?: string[] } {
  if (p.kind === 'attributed') return { operation: p.exp.operation.id, departures: (p.findings ?? []).map((f) => f.title) }
  if (p.kind === 'unattributed') return { unattributed: p.candidates.map((c) => c.id).sort() }
  return { operation: `(${p.kind})` }
}

describe.each([
  ["ruby_whatsapp_sdk's cassette", 'sdk-sends.cassette.yml', 'cassette' as const],
  ['a HAR of a Python and a Node service', 'sdk-sends.har', 'har' as const],
])('verify on sends as SDKs make them: %s', (_kind, file, key) => {
  const input = join(FIXTURES, file)
  const expected = EXPECTED[key]

  it('attributes every exchange to the operation a person says, with the departures a person sees', async () => {
    const { pack, entries } = await openTraffic({ input, contractsDir: 'contracts/meta', env: ENV, cwd: ROOT })
    expect(entries).toHaveLength(expected.length)
    const judge = new TrafficJudge({ pack, state: trafficState({ phoneNumberId: ENV.WHATSAPP_PHONE_NUMBER_ID }), since: '2026-03-02T00:00:00.000Z', contractsDir: 'contracts/meta', label: file })
    const got = entries.map((e, i) => ({ entry: i + 1, ...verdict(judge.place(e)) }))
    const want = expected.map(({ entry, operation, unattributed, departures }) => ({ entry, ...(operation ? { operation, departures } : { unattributed: [...unattributed!].sort() }) }))
    expect(got).toEqual(want)
  })

  it('says each departure once per operation and reason, as info, and exits 0', async () => {
    const out = dir()
    const lines: string[] = []
    const code = await main(['verify', input, '--out', out], { stdout: (s) => lines.push(s), stderr: (s) => lines.push(s), cwd: ROOT, env: ENV })
    expect(code, lines.join('')).toBe(0)
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { findings: { contract: string; check: string; severity: string; title: string; message: string; samples: number }[] }
    expect(report.findings.filter((f) => f.severity !== 'info').map((f) => `${f.contract} ${f.check}: ${f.title}`)).toEqual([])
    // What a person expects: each (operation, departure) once, counted over the exchanges that show it.
    const folded = new Map<string, number>()
    for (const e of expected) for (const d of e.departures ?? []) folded.set(`${e.operation}\u0000${d}`, (folded.get(`${e.operation}\u0000${d}`) ?? 0) + 1)
    const said = report.findings.filter((f) => f.check === 'request-schema')
    expect(said.map((f) => [f.contract, f.title, f.samples]).sort()).toEqual([...folded].map(([k, n]) => [...k.split('\u0000'), n]).sort())
    for (const f of said) {
      expect(f.message).toContain(`operations/${f.contract}.yaml`)
      expect(f.message).toMatch(f.title.includes('answered 200') ? /Meta took it: nothing broke and this is not drift/ : /Meta refused it/)
    }
    // The ambiguous image (both id and link) is said as such, with its two candidates.
    if (expected.some((e) => e.unattributed)) {
      const ambiguous = report.findings.filter((f) => f.check === 'attribution')
      expect(ambiguous.map((f) => f.title)).toEqual(['Unattributed: POST /{api_version}/{id}/messages could be messages.send-media-by-id or messages.send-media-by-link'])
      // Both act on messages: no id would settle it, and the finding does not send the reader after one.
      expect(ambiguous[0]!.message).toContain('The request itself does not say which it is')
      expect(ambiguous[0]!.message).not.toContain('WHATSAPP_WABA_ID')
    }
    for (const name of ['report.json', 'report.md']) expect(readFileSync(join(out, name), 'utf8')).not.toContain(EXPECTED.token)
  })
})

describe('verify on sends as SDKs make them', () => {
  it('covers every kind of message, mark-as-read and the typing indicator, in both fixtures together', () => {
    const met = new Set([...EXPECTED.cassette, ...EXPECTED.har].map((e) => e.operation))
    expect(MESSAGE_OPERATIONS.filter((id) => !met.has(id))).toEqual([])
    // Every send type by id and by link, and departures that Meta took as well as ones it refused.
    const cassette = YAML.parse(readFileSync(join(FIXTURES, 'sdk-sends.cassette.yml'), 'utf8')) as { http_interactions: { request: { body: { string: string } } }[] }
    const bodies = cassette.http_interactions.map((i) => JSON.parse(i.request.body.string) as Record<string, unknown>)
    for (const media of ['image', 'audio', 'video', 'document', 'sticker']) for (const by of ['id', 'link']) expect(bodies.some((b) => b.type === media && by in (b[media] as object)), `${media} by ${by}`).toBe(true)
    const departures = [...EXPECTED.cassette, ...EXPECTED.har].flatMap((e) => e.departures ?? [])
    expect(departures.some((d) => d.endsWith('answered 200'))).toBe(true)
    expect(departures.some((d) => /answered 4\d\d/.test(d))).toBe(true)
  })
})
