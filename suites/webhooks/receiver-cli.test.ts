/**
 * `driftwatch webhook` as a user runs it. No secret: exit 2 naming the variable. A busy port: exit 2,
 * nothing created (both refusals in process, as main returns them). The bin in a child process, a real
 * signal and a real exit code: SIGTERM:
 * in-flight deliveries finish, the journal is flushed, exit 0 with the summary line; and nothing
 * it printed holds personal data or the app secret.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { signBody } from '../../src/webhooks/receiver-signature.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { app, metaBodies, metaHeaders, PERSONAL, runWebhook, SECRET, send, spawnWebhook, until } from './receiver-helpers.ts'

const tmp = tempDirs('dw-wh-cli-')
const cleanup: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

const start = (args: string[], env: Record<string, string>) => spawnWebhook(args, env, cleanup)

describe('driftwatch webhook (the CLI)', () => {
  it('refuses to start without WHATSAPP_APP_SECRET: exit 2, the message names the variable and the fix', async () => {
    const err: string[] = []
    const code = await main(['webhook', '--forward', 'http://127.0.0.1:9/webhook', '--port', '0'], { stdout: () => undefined, stderr: (l) => err.push(l), env: {}, cwd: tmp.dir() })
    expect(code).toBe(2)
    expect(err.join('\n')).toMatch(/WHATSAPP_APP_SECRET is not set.*export WHATSAPP_APP_SECRET=/)
  })

  it('a busy port: exit 2 with the port and the fix, and nothing left on disk', async () => {
    const busy = createServer()
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()))
    cleanup.push(() => new Promise((r) => busy.close(r)))
    const port = (busy.address() as AddressInfo).port
    const dir = tmp.dir()
    // In process: the refusal comes before anything is served (the bin's own start and exit: the SIGTERM test below).
    const run = runWebhook(['--forward', 'http://127.0.0.1:9/webhook', '--port', String(port), '--out', join(dir, 'out'), '--recordings', join(dir, 'rec')], { WHATSAPP_APP_SECRET: SECRET }, cleanup)
    expect(await run.exited).toBe(2)
    expect(run.err()).toContain(`--port ${port}: cannot listen on 127.0.0.1:${port} (EADDRINUSE`)
    expect(run.err()).toContain('pick another --port, or 0 for a free one')
    expect(readdirSync(dir)).toEqual([])
  })

  it('SIGTERM: the delivery in flight finishes, the journal is flushed, exit 0 with the summary; nothing printed holds personal data or the secret', async () => {
    let hold = false
    let release: (() => void) | undefined
    const a = await app((_req, res) => {
      res.writeHead(200)
      if (hold) release = () => res.end('ok')
      else res.end('ok')
    })
    cleanup.push(() => a.close())
    const dir = tmp.dir()
    const run = start(['--forward', `${a.url}/webhook`, '--port', '0', '--out', join(dir, 'out'), '--metrics-port', '0'], { WHATSAPP_APP_SECRET: SECRET })
    await until(() => /Ctrl-C to stop/.test(run.out()) || run.child.exitCode !== null, 30_000, `the startup lines (stderr: ${run.err()})`)
    const url = /listening on (http:\/\/\S+),/.exec(run.out())?.[1]
    expect(url, run.out()).toBeDefined()
    expect(run.out()).toContain(`forwarding to ${a.url}/webhook`)
    expect(run.out()).toMatch(/health on http:\/\/127\.0\.0\.1:\d+\/healthz/)

    const bodies = metaBodies()
    const status = bodies.get('message_status/failed')!
    const text = bodies.get('message/chosen_location')!
    expect((await send(url!, 'POST', '/', metaHeaders(url!, status), status)).status).toBe(200)
    expect((await send(url!, 'POST', '/', metaHeaders(url!, text, signBody(text, 'wrong')), text)).status).toBe(403)
    expect((await send(url!, 'POST', '/', metaHeaders(url!, text, null), text)).status).toBe(401)
    // The app holds this one: SIGTERM lands while it is in flight.
    hold = true
    const held = send(url!, 'POST', '/', metaHeaders(url!, text), text)
    await until(() => release !== undefined, 10_000, 'the app to hold the delivery')
    run.child.kill('SIGTERM')
    await until(() => /stopping/.test(run.err()), 10_000, 'the stopping line')
    release!()
    expect((await held).status).toBe(200)
    expect(await run.exited).toBe(0)

    const summary = run.out().trim().split('\n').find((l) => l.startsWith('webhook stopped:'))!
    expect(summary).toMatch(/^webhook stopped: 4 received, 2 forwarded \(2 taken by the app\), 2 rejected \(1 missing-signature, 1 bad-signature\), 2 journaled in \S+\.jsonl$/)
    const journalDir = join(dir, 'out', '.journal')
    const [file] = readdirSync(journalDir)
    const journal = readFileSync(join(journalDir, file!), 'utf8')
    expect(journal.trim().split('\n')).toHaveLength(5) // header, 2 deliveries, 2 outcomes
    const printed = run.out() + run.err()
    expect(printed).toMatch(/! POST \/ \d+ bytes → 403: X-Hub-Signature-256 does not match the body; not forwarded, not kept/)
    expect(printed).toMatch(/! POST \/ \d+ bytes → 401: no X-Hub-Signature-256/)
    for (const p of PERSONAL) {
      expect(printed, p).not.toContain(p)
      expect(journal, p).not.toContain(p)
    }
    expect(printed + journal).not.toContain(SECRET)
    expect(existsSync(join(dir, 'out'))).toBe(true)
  }, 60_000)
})
