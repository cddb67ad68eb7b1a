/**
 * `driftwatch sim --webhook-url`: the secret comes from WHATSAPP_APP_SECRET and is never printed;
 * without it the simulator says it signs with its public dev secret; a bad URL is a usage error.
 * In-process, with the interrupt signal the bin would wire to Ctrl-C.
 */
import { createHmac } from 'node:crypto'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { DEV_APP_SECRET } from '../../src/simulator/webhooks.ts'
import { postJson, startReceiver, statusOf, type Receiver } from './webhooks-receiver.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const SECRET = 'cli-app-secret-fedcba9876543210'

const receivers: Receiver[] = []
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close()
})

/** Starts `sim` in-process; resolves with what it printed once it serves, and a stop that returns the exit code and stderr. */
async function sim(args: string[], env: Record<string, string>) {
  const out: string[] = []
  const err: string[] = []
  const interrupt = new AbortController()
  let ready!: () => void
  const serving = new Promise<void>((resolve) => (ready = resolve))
  const errWaiters: { re: RegExp; resolve: (line: string) => void }[] = []
  const code = main(['sim', '--port', '0', ...args], {
    stdout: (l) => {
      out.push(l)
      if (l.includes('Ctrl-C')) ready()
    },
    stderr: (l) => {
      err.push(l)
      for (const w of errWaiters.filter((x) => x.re.test(l))) w.resolve(l)
    },
    env,
    cwd: ROOT,
    interrupt: interrupt.signal,
    // The retries' waits shortened (5 ms doubling, not 0.5 s): the same 5 attempts, 7.5 s less waiting.
    webhookRetry: { baseDelayMs: 5 },
  })
  await Promise.race([serving, code])
  const text = out.join('\n')
  return {
    text,
    url: text.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)?.[1],
    token: text.match(/WHATSAPP_ACCESS_TOKEN=(\S+)/)?.[1],
    phone: text.match(/WHATSAPP_PHONE_NUMBER_ID=(\d+)/)?.[1],
    recipient: text.match(/WHATSAPP_TEST_RECIPIENT=(\d+)/)?.[1],
    /** Resolves with the first stderr line that matches. */
    stderrLine: (re: RegExp) => new Promise<string>((resolve) => {
      const seen = err.find((l) => re.test(l))
      if (seen !== undefined) resolve(seen)
      else errWaiters.push({ re, resolve })
    }),
    stop: async () => {
      interrupt.abort()
      return { code: await code, err: err.join('\n') }
    },
  }
}

describe('driftwatch sim --webhook-url', () => {
  it('signs with WHATSAPP_APP_SECRET, never prints it, and sends statuses after a send and inbound messages on request', async () => {
    const r = await startReceiver()
    receivers.push(r)
    const s = await sim(['--webhook-url', r.url], { WHATSAPP_APP_SECRET: SECRET })
    expect(s.text).toContain(`Webhooks: POST to ${r.url}, X-Hub-Signature-256 signed with WHATSAPP_APP_SECRET.`)
    expect(s.text).not.toContain(SECRET)
    const send = await postJson(`${s.url}/v23.0/${s.phone}/messages`, { messaging_product: 'whatsapp', to: s.recipient, type: 'text', text: { body: 'hi' } }, s.token)
    expect(send.status).toBe(200)
    const inbound = s.text.match(/curl -X POST (\S+\/__sim\/webhooks\/inbound)/)![1]!
    expect((await postJson(inbound, { type: 'text', text: 'hello back' })).status).toBe(202)
    const got = await r.waitFor(4)
    for (const g of got) expect(g.headers['x-hub-signature-256']).toBe(`sha256=${createHmac('sha256', SECRET).update(g.raw).digest('hex')}`)
    expect(got.filter((g) => g.json.entry[0].changes[0].value.statuses).map((g) => statusOf(g.json).status)).toEqual(['sent', 'delivered', 'read'])
    expect(got.some((g) => g.json.entry[0].changes[0].value.messages?.[0]?.text?.body === 'hello back')).toBe(true)
    expect((await s.stop()).code).toBe(130)
  })

  it('says it signs with the public dev secret when WHATSAPP_APP_SECRET is not set', async () => {
    const r = await startReceiver()
    receivers.push(r)
    const s = await sim(['--webhook-url', r.url], {})
    expect(s.text).toContain(`signed with the simulator's public dev secret "${DEV_APP_SECRET}" (WHATSAPP_APP_SECRET is not set`)
    expect((await s.stop()).code).toBe(130)
  })

  it('without --webhook-url it says there are no webhooks', async () => {
    const s = await sim([], { WHATSAPP_APP_SECRET: SECRET })
    expect(s.text).toContain('No webhooks (start with --webhook-url <url>')
    expect((await s.stop()).code).toBe(130)
  })

  it('a URL that is not http(s) is a usage error (exit 2) before anything listens', async () => {
    const err: string[] = []
    const code = await main(['sim', '--port', '0', '--webhook-url', 'file:///etc/passwd'], { stdout: () => undefined, stderr: (l) => err.push(l), env: {}, cwd: ROOT })
    expect(code).toBe(2)
    expect(err.join('\n')).toContain('--webhook-url must be an http:// or https:// URL')
  })

  it('a delivery that gives up is reported on stderr, without the body', async () => {
    const r = await startReceiver(() => 500)
    receivers.push(r)
    const s = await sim(['--webhook-url', r.url], {})
    await postJson(s.text.match(/curl -X POST (\S+\/__sim\/webhooks\/inbound)/)![1]!, { type: 'text', text: 'secret order details' })
    // 5 attempts (5 + 10 + 20 + 40 ms apart here): wait on the line, not the clock.
    const line = await s.stderrLine(/not delivered/)
    expect(line).toMatch(/^webhook inbound:text for wamid\.\S+ not delivered after 5 attempts \(HTTP 500\)$/)
    expect(r.received).toHaveLength(5)
    const { err } = await s.stop()
    expect(err).not.toContain('secret order details')
  }, 20_000)
})
