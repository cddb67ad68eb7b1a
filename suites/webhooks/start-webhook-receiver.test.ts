/**
 * `startWebhookReceiver`, the webhook command as a library call (the CLI only parses and prints):
 * a signed delivery is forwarded and judged, `stop` says what the receiver did and `finish` judges
 * the session and writes its report; a stop cut at `halt` writes none.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startWebhookReceiver } from '../../src/commands/webhook.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { body, inbound, text } from './helpers.ts'
import { app, metaHeaders, ROOT, SECRET, send } from './receiver-helpers.ts'

const tmp = tempDirs('dw-start-webhook-')
const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

describe('startWebhookReceiver', () => {
  it('forwards a signed delivery, counts it on stop, and judges it into the session report on finish', async () => {
    const theApp = await app()
    cleanup.push(() => theApp.close())
    const out = join(tmp.dir(), 'out')
    const events: string[] = []
    const receiver = await startWebhookReceiver({ forward: `${theApp.url}/webhook`, appSecret: SECRET, port: 0, outDir: out, contractsDir: 'contracts/meta', cwd: ROOT, formats: ['json'], metricsPort: 0, onEvent: (e) => events.push(e.kind) })
    expect(receiver.target).toBe(`${theApp.url}/webhook`)
    const delivery = Buffer.from(JSON.stringify(body(inbound(text()))))
    const answer = await send(receiver.url, 'POST', '/', metaHeaders(receiver.url, delivery), delivery)
    expect(answer.status).toBe(200)
    expect(theApp.seen).toHaveLength(1)
    expect(events).toEqual(['delivery'])
    const stopped = await receiver.stop()
    expect(stopped.graceful).toBe(true)
    expect(stopped.counts).toMatchObject({ received: 1, forwarded: 1, delivered: 1, journaled: 1 })
    const session = await receiver.finish()
    expect(session!.judged).toEqual({ entries: 1, attributed: 1, unattributed: 0 })
    expect(session!.report.outcome).toBe('pass')
    expect(session!.files.some((f) => f.endsWith('report.json'))).toBe(true)
    expect(existsSync(join(out, 'report.json'))).toBe(true)
  })

  it('a stop cut at halt writes no session report', async () => {
    const theApp = await app()
    cleanup.push(() => theApp.close())
    const out = join(tmp.dir(), 'out')
    const receiver = await startWebhookReceiver({ forward: `${theApp.url}/webhook`, appSecret: SECRET, port: 0, outDir: out, contractsDir: 'contracts/meta', cwd: ROOT })
    const halt = new AbortController()
    halt.abort()
    const stopped = await receiver.stop(halt.signal)
    expect(stopped.graceful).toBe(false)
    expect(await receiver.finish()).toBeUndefined()
    expect(existsSync(join(out, 'report.json'))).toBe(false)
  })
})
