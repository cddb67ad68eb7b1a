/**
 * The round trip (issue 19 item 6): check sends its test message and waits for that message's
 * status webhooks. Against the simulator end to end (real sockets: the simulator signs and posts to
 * the collector check starts), and roundTrip() alone against a collector fed by hand for the
 * cases the simulator does not play: no delivered in time, a failed status, no test message.
 */
import { request } from 'node:http'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.ts'
import { runCheck } from '../../src/commands/check.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { startSimulator } from '../../src/simulator/server.ts'
import { startReceiver } from '../../src/webhooks/receiver.ts'
import { messageIdHash } from '../../src/webhooks/status-index.ts'
import { ROUND_TRIP_CONTRACT, roundTrip, StatusCollector } from '../../src/webhooks/round-trip.ts'
import { signBody } from '../../src/webhooks/receiver-signature.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const tmp = tempDirs('dw-round-trip-')
const CONTRACTS = 'contracts/meta'

// The simulator posts a send's statuses at once, read right after delivered: half a second of listening after delivered takes them all (1.5 s by default, for Meta).
function check(scenario: string, seconds = 10) {
  return runCheck({ target: 'sim', scenario, contractsDir: CONTRACTS, apiVersion: 'v23.0', env: {}, outDir: tmp.dir(), formats: ['json'], roundTripSeconds: seconds, roundTripSettleMs: 500 })
}

/** Posts a signed status webhook for `wamid` to the collector, as Meta would. */
function post(c: StatusCollector, wamid: string, status: string, extra: Record<string, unknown> = {}, secret = c.secret): Promise<number> {
  const body = Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '16315550142', phone_number_id: '106540352242922' }, statuses: [{ id: wamid, status, timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: '16315550199', ...extra }] } }] }] }))
  return new Promise((resolve, reject) => {
    const req = request(c.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, secret) } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode!))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function alone(feed: (c: StatusCollector, wamid: string) => Promise<unknown>, waitMs = 1500) {
  const c = await StatusCollector.start()
  try {
    const wamid = 'wamid.HBgLMTYzMTU1NTAxOTkVAgARGBI0'
    await feed(c, wamid)
    return await roundTrip({ collector: c, sent: { wamid, at: Date.now() }, waitMs, settleMs: 50, contractsDir: CONTRACTS, cwd: process.cwd(), since: new Date().toISOString(), redactor: new Redactor() })
  } finally {
    await c.close()
  }
}

describe('check --round-trip against the simulator', () => {
  it('sent, delivered and read come: the round trip passes, the status bodies are judged and quiet', async () => {
    const { report } = await check('baseline')
    const row = report.results.find((r) => r.contract === ROUND_TRIP_CONTRACT)
    expect(row?.status).toBe('passed')
    expect(report.results.map((r) => r.contract)).toEqual(expect.arrayContaining(['webhook.statuses.sent', 'webhook.statuses.delivered', 'webhook.statuses.read']))
    expect(report.findings.filter((f) => f.contract.startsWith('webhook.') && f.severity !== 'info')).toEqual([])
    expect(report.outcome).toBe('pass')
  }, 60_000)

  // Its delivered never comes, so its run waits the whole window (2 s; sent comes at once): two tests read one run.
  let removed: ReturnType<typeof check> | undefined
  const statusRemoved = () => (removed ??= check('webhook-status-field-removed', 2))

  it('a status without `status` (webhook-status-field-removed): breaking on the statuses contract, and no delivered seen (warning)', async () => {
    const { report } = await statusRemoved()
    expect(report.findings).toEqual(expect.arrayContaining([expect.objectContaining({ contract: 'webhook.statuses.any', severity: 'breaking', check: 'schema-drift' })]))
    expect(report.findings).toEqual(expect.arrayContaining([expect.objectContaining({ contract: ROUND_TRIP_CONTRACT, severity: 'warning', title: 'No delivered status webhook within 2 s (sent came)' })]))
    expect(report.outcome).toBe('drift')
  }, 60_000)

  it('the evidence names the test message by its hash: no wamid (it encodes the recipient\'s number) in the report', async () => {
    const { report } = await statusRemoved()
    const trip = report.findings.find((f) => f.contract === ROUND_TRIP_CONTRACT)!
    expect(trip.evidence.request).toMatch(/→ message with id sha256 [0-9a-f]{12}…$/)
    expect(JSON.stringify(report)).not.toMatch(/wamid\.HBg/)
  }, 60_000)

  it('a --webhook-journal that does not exist: exit 2 naming it and the fix, nothing sent', async () => {
    const err: string[] = []
    const code = await main(['check', '--target', 'https://graph.facebook.com', '--round-trip', '5', '--webhook-journal', '/tmp/no-such-receiver-out', '--out', tmp.dir()], { stdout: () => undefined, stderr: (l) => err.push(l), env: { WHATSAPP_ACCESS_TOKEN: 'EAAtest', WHATSAPP_PHONE_NUMBER_ID: '1', WHATSAPP_WABA_ID: '2' }, cwd: process.cwd() })
    expect(code).toBe(2)
    expect(err.join('\n')).toContain('--webhook-journal /tmp/no-such-receiver-out: no such folder')
  })

  it('duplicates (webhook-duplicates): info only, the run passes', async () => {
    const { report } = await check('webhook-duplicates')
    expect(report.findings.filter((f) => f.contract.startsWith('webhook.')).map((f) => f.severity)).not.toContain('breaking')
    expect(report.findings.some((f) => f.check === 'webhook-sequence' && f.severity === 'info')).toBe(true)
    expect(report.outcome).toBe('pass')
  }, 60_000)

  it('against a live base URL without --webhook-journal: refused before anything is sent (exit 2), naming the flag', async () => {
    const err: string[] = []
    const code = await main(['check', '--target', 'https://graph.facebook.com', '--round-trip', '5', '--out', tmp.dir()], { stdout: () => undefined, stderr: (l) => err.push(l), env: { WHATSAPP_ACCESS_TOKEN: 'EAAtest', WHATSAPP_PHONE_NUMBER_ID: '1', WHATSAPP_WABA_ID: '2' }, cwd: process.cwd() })
    expect(code).toBe(2)
    expect(err.join('\n')).toContain('--round-trip against Meta needs --webhook-journal <dir>')
  })
})

describe('check --round-trip --webhook-journal: the statuses at the receiver in front of the app', () => {
  it('the simulator as Meta posts to driftwatch webhook, which journals and forwards; check finds its message by hash and passes', async () => {
    const secret = 'round-trip-app-secret-0123456789'
    const app = createServer((req, res) => {
      req.resume()
      req.on('end', () => res.end('ok'))
    })
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r))
    const out = tmp.dir()
    const receiver = await startReceiver({ forward: `http://127.0.0.1:${(app.address() as AddressInfo).port}/webhook`, appSecret: secret, outDir: out })
    const sim = await startSimulator({ webhooks: { url: receiver.url, appSecret: secret } })
    try {
      const c = sim.credentials
      const env = { WHATSAPP_ACCESS_TOKEN: c.token, WHATSAPP_PHONE_NUMBER_ID: c.phoneNumberId, WHATSAPP_WABA_ID: c.wabaId, WHATSAPP_TEST_RECIPIENT: c.testRecipient }
      const { report } = await runCheck({ target: sim.url, contractsDir: CONTRACTS, apiVersion: 'v23.0', env, minIntervalMs: 0, outDir: tmp.dir(), formats: ['json'], roundTripSeconds: 10, webhookJournal: out, only: ['messages.send-text'] })
      expect(report.results.find((r) => r.contract === ROUND_TRIP_CONTRACT)?.status).toBe('passed')
      expect(report.results.map((r) => r.contract)).toEqual(expect.arrayContaining(['webhook.statuses.sent', 'webhook.statuses.delivered']))
      expect(report.findings.filter((f) => f.severity !== 'info')).toEqual([])
      // The journal names the message only by its hash: no wamid (it encodes the number) in the file.
      const dir = join(out, '.journal')
      const journal = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('')
      expect(journal).toContain('wamid.REDACTED')
      expect(journal).not.toMatch(/wamid\.HBg/)
      expect(journal).not.toContain(c.testRecipient)
      expect(journal).toMatch(/"messageIdHash":"[0-9a-f]{32}","status":"delivered"/)
    } finally {
      await sim.close()
      await receiver.close()
      await new Promise((r) => app.close(r))
    }
  }, 60_000)

  it('messageIdHash is one-way and stable: the same id the same hash, another id another', () => {
    expect(messageIdHash('wamid.A')).toBe(messageIdHash('wamid.A'))
    expect(messageIdHash('wamid.A')).not.toBe(messageIdHash('wamid.B'))
    expect(messageIdHash('wamid.A')).toMatch(/^[0-9a-f]{32}$/)
  })
})

describe('roundTrip() on a collector', () => {
  it('only sent within the wait: a warning naming what came', async () => {
    const { results, findings } = await alone((c, w) => post(c, w, 'sent'), 800)
    expect(results[0]).toMatchObject({ contract: ROUND_TRIP_CONTRACT, status: 'failed' })
    expect(findings).toEqual([expect.objectContaining({ contract: ROUND_TRIP_CONTRACT, severity: 'warning', title: 'No delivered status webhook within 1 s (sent came)' })])
    expect(findings[0]!.evidence.bodyExcerpt).toMatch(/^status webhooks for it: sent after -?\d/)
  })

  it('nothing at all: a warning that says no status came', async () => {
    const { findings } = await alone(async () => undefined, 600)
    expect(findings.map((f) => f.title)).toEqual(['No status webhook within 1 s of the send'])
  })

  it('sent then delivered: passes, no finding', async () => {
    const { results, findings } = await alone(async (c, w) => {
      await post(c, w, 'sent')
      await post(c, w, 'delivered')
    })
    expect(results[0]!.status).toBe('passed')
    expect(findings.filter((f) => f.severity !== 'info')).toEqual([])
  })

  it('a failed status: a warning that the test message failed', async () => {
    const { findings } = await alone((c, w) => post(c, w, 'failed', { errors: [{ code: 131026, title: 'Message undeliverable', message: 'Message undeliverable', error_data: { details: 'Message Undeliverable.' } }] }))
    expect(findings.map((f) => f.title)).toContain('The test message failed: a failed status webhook came for it')
  })

  it('a delivery signed with another secret is refused (403) and not counted', async () => {
    const c = await StatusCollector.start()
    try {
      expect(await post(c, 'wamid.x', 'delivered', {}, 'not-the-secret')).toBe(403)
      expect(c.bodies).toEqual([])
      expect(c.refused).toBe(1)
    } finally {
      await c.close()
    }
  })

  it('no test message sent: inconclusive, nothing waited for', async () => {
    const c = await StatusCollector.start()
    try {
      const { results, findings } = await roundTrip({ collector: c, waitMs: 60_000, contractsDir: CONTRACTS, cwd: process.cwd(), since: new Date().toISOString(), redactor: new Redactor() })
      expect(results).toEqual([expect.objectContaining({ status: 'inconclusive' })])
      expect(findings).toEqual([])
    } finally {
      await c.close()
    }
  })
})
