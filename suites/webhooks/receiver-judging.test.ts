/**
 * The receiver judges what it accepted, off the forwarding path (issue 19 item 4): a delivery whose
 * body drifted (a status without `status`) is forwarded all the same, then printed as breaking,
 * alerted once through watch's incidents, and in the session report written at stop (exit 1). A
 * session of real Meta bodies stays quiet: no alert, report pass, exit 0.
 */
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { app, metaBodies, metaHeaders, runWebhook, SECRET, send, until } from './receiver-helpers.ts'

const tmp = tempDirs('dw-wh-judge-')
const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

async function hook(): Promise<{ url: string; alerts: Record<string, unknown>[] }> {
  const alerts: Record<string, unknown>[] = []
  const server = createServer((req: IncomingMessage, res) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => {
      alerts.push(JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>)
      res.end('ok')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanup.push(() => new Promise((r) => server.close(r)))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, alerts }
}

async function receiver(dir: string, hookUrl: string) {
  const a = await app()
  cleanup.push(() => a.close())
  // In process: the outcome, the alert and the exit code main returns are what is judged here; the bin's own SIGTERM and exit are receiver-cli.test.ts's.
  const run = runWebhook(['--forward', `${a.url}/webhook`, '--port', '0', '--out', join(dir, 'out'), '--format', 'json,md', '--state', join(dir, 'state.db'), '--alert-webhook', hookUrl], { WHATSAPP_APP_SECRET: SECRET }, cleanup)
  const { out, err, exited, stop } = run
  await until(() => /Ctrl-C to stop/.test(out()) || run.code() !== undefined, 30_000, `the startup lines (stderr: ${err()})`)
  const url = /listening on (http:\/\/\S+),/.exec(out())![1]!
  return { a, stop, url, out, err, exited }
}

describe('driftwatch webhook judges what it accepted', () => {
  it('a status without `status`: forwarded, then breaking on stderr, one alert, the session report says so, exit 1', async () => {
    const dir = tmp.dir()
    const h = await hook()
    const r = await receiver(dir, h.url)
    const good = metaBodies().get('message_status/failed')!
    const body = JSON.parse(good.toString('utf8')) as { entry: { changes: { value: { statuses: Record<string, unknown>[] } }[] }[] }
    delete body.entry[0]!.changes[0]!.value.statuses[0]!.status
    const drifted = Buffer.from(JSON.stringify(body))
    expect((await send(r.url, 'POST', '/', metaHeaders(r.url, drifted), drifted)).status).toBe(200)
    expect(r.a.seen).toHaveLength(1)
    await until(() => h.alerts.length > 0, 20_000, `the drift alert (stderr: ${r.err()})`)
    expect(r.err()).toMatch(/ {2}breaking webhook\.statuses\.any \(delivery #1\): /)
    // The same drift again: still one incident, no second alert.
    expect((await send(r.url, 'POST', '/', metaHeaders(r.url, drifted), drifted)).status).toBe(200)
    await until(() => (r.err().match(/delivery #2\)/g) ?? []).length > 0, 20_000, 'the second delivery judged')
    r.stop()
    expect(await r.exited).toBe(1)
    expect(h.alerts).toHaveLength(1)
    expect(h.alerts[0]).toMatchObject({ kind: 'drift', contract: 'webhook.statuses.any' })
    // Without its status the kind is unknown: judged against what every status carries, and counted as not attributed.
    expect(r.out()).toMatch(/^judged: 2 deliveries \(0 attributed to a webhook contract, 2 not\)$/m)
    expect(r.out()).toMatch(/^DRIFT: .*, 2 deliveries, findings: [1-9]\d* breaking/m)
    const report = JSON.parse(readFileSync(join(dir, 'out', 'report.json'), 'utf8')) as { outcome: string; summary: { entries: number }; findings: { contract: string; severity: string }[] }
    expect(report.outcome).toBe('drift')
    expect(report.summary.entries).toBe(2)
    expect(report.findings.some((f) => f.contract === 'webhook.statuses.any' && f.severity === 'breaking')).toBe(true)
    expect(readFileSync(join(dir, 'out', 'report.md'), 'utf8')).toContain('webhook.statuses.any')
  }, 90_000)

  it('nothing delivered: INCONCLUSIVE and exit 3, as the headline says (it said INCONCLUSIVE and exited 0)', async () => {
    const dir = tmp.dir()
    const h = await hook()
    const r = await receiver(dir, h.url)
    r.stop()
    expect(await r.exited).toBe(3)
    expect(r.out()).toMatch(/^INCONCLUSIVE: /m)
  }, 60_000)

  it('real Meta bodies: no alert, no drift line, report pass, exit 0', async () => {
    const dir = tmp.dir()
    const h = await hook()
    const r = await receiver(dir, h.url)
    const bodies = metaBodies()
    const sent = ['message_status/failed', 'message/chosen_location'].map((k) => bodies.get(k)!)
    for (const b of sent) expect((await send(r.url, 'POST', '/', metaHeaders(r.url, b), b)).status).toBe(200)
    r.stop()
    expect(await r.exited).toBe(0)
    expect(h.alerts).toEqual([])
    expect(r.err()).not.toMatch(/ {2}(breaking|warning) webhook\./)
    expect(r.out()).toMatch(/^judged: 2 deliveries \(2 attributed to a webhook contract, 0 not\)$/m)
    expect(JSON.parse(readFileSync(join(dir, 'out', 'report.json'), 'utf8'))).toMatchObject({ outcome: 'pass', summary: { entries: 2, breaking: 0 } })
  }, 90_000)
})
