/**
 * What the receiver's tests share: Meta-shaped bodies (pywa's, MIT, from the webhook corpus in
 * suites/fixtures/webhooks/corpus/pywa; SOURCES.md cites them), a little app on loopback that
 * records what reaches it, and a raw client that sends a delivery with its headers in an exact
 * order, as Meta's would.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { main } from '../../src/cli/index.ts'
import { signBody } from '../../src/webhooks/receiver-signature.ts'

export const ROOT = join(import.meta.dirname, '..', '..')
export const SECRET = 'app-secret-0123456789abcdef0123'

const PYWA = join(ROOT, 'suites', 'fixtures', 'webhooks', 'corpus', 'pywa')
/** pywa's file prefixes -> the fixture file they came from (message.json, message_status.json, system.json). */
const GROUPS: Record<string, string> = { message: 'message', status: 'message_status', system: 'system' }

/** pywa's inbound message, status and system bodies, by `file/name` (`message/text`, `message_status/failed`), as compact JSON bytes (how Meta sends them). */
export function metaBodies(): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  for (const f of readdirSync(PYWA).sort()) {
    const m = /^(message|status|system)-(.+)\.json$/.exec(f)
    if (!m) continue
    out.set(`${GROUPS[m[1]!]}/${m[2]}`, Buffer.from(JSON.stringify(JSON.parse(readFileSync(join(PYWA, f), 'utf8')))))
  }
  return out
}

/** The personal values the fixtures carry: none may reach a journal, a line or a report. */
export const PERSONAL = ['Test Name', '972987654321', '972912345678', '972123456789', 'Body Text', 'replied text', 'forwarded text', 'text forwarded many times', ':"caption"', 'filename.pdf', 'Chandler', 'Bing', 'Monica', '555-555-5555', '666-666-6666', 'Facebook HQ', '1 Hacker Way', '12.25089', '43.90539', '37.4611978', 'US.13491208655302741918', 'US.ENT.11815799212886844830', 'User A', 'lookaside.fbsbx.com', 'CTWA_CLID']

/** One request as the app received it. */
export interface Seen {
  method: string
  url: string
  rawHeaders: string[]
  body: Buffer
}

/** A little app on loopback: records every request, answers with `answer` (default 200 EVENT_RECEIVED). */
export async function app(answer?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<{ url: string; seen: Seen[]; close(): Promise<void>; answer: typeof answer }> {
  const seen: Seen[] = []
  const state = { answer }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      seen.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body })
      if (state.answer) state.answer(req, res, body)
      else {
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.end('EVENT_RECEIVED')
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    get answer() {
      return state.answer
    },
    set answer(a) {
      state.answer = a
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      }),
  }
}

/** A port nothing listens on (listened, then closed). */
export async function deadPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

/** What the client got back. */
export interface Answer {
  status: number
  statusMessage: string
  rawHeaders: string[]
  body: Buffer
}

/** Sends `method path` to `base` with `headers` (flat [name, value, ...], in this order) and `body`. */
export function send(base: string, method: string, path: string, headers: string[], body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(base)
    const req = request({ hostname: u.hostname, port: u.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, statusMessage: res.statusMessage ?? '', rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Meta's delivery headers for `body`, in Meta's order, signed with `secret` (or with `signature` as given; null: none). */
export function metaHeaders(base: string, body: Buffer, signature: string | null = signBody(body, SECRET)): string[] {
  const h = ['Host', new URL(base).host, 'User-Agent', 'facebookexternalua', 'Content-Length', String(body.length), 'Accept', '*/*', 'Content-Type', 'application/json']
  if (signature !== null) h.push('X-Hub-Signature', 'sha1=0000000000000000000000000000000000000000', 'X-Hub-Signature-256', signature)
  h.push('Connection', 'close')
  return h
}

/** Waits until `cond` holds (polling), or fails naming what it waited for. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Pairs of a flat header list, names lower-cased, without those named. */
export function pairs(raw: string[], without: readonly string[] = []): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i + 1 < raw.length; i += 2) if (!without.includes(raw[i]!.toLowerCase())) out.push([raw[i]!, raw[i + 1]!])
  return out
}

/** A `driftwatch webhook` child process: its output as it comes and its exit code. */
export interface WebhookChild {
  child: ChildProcessWithoutNullStreams
  out: () => string
  err: () => string
  exited: Promise<number | null>
}

/** `driftwatch webhook <args>` as a child process with `env` added (no app secret unless given); `cleanup` gets its kill. */
export function spawnWebhook(args: string[], env: Record<string, string>, cleanup: (() => unknown)[]): WebhookChild {
  const child = spawn(process.execPath, [join(ROOT, 'bin/driftwatch.js'), 'webhook', ...args], { cwd: ROOT, env: { ...process.env, WHATSAPP_APP_SECRET: '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d))
  child.stderr.on('data', (d: Buffer) => (err += d))
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  cleanup.push(() => child.exitCode === null && child.kill('SIGKILL'))
  return { child, out: () => out, err: () => err, exited }
}

/** `driftwatch webhook <args>` run in process (main, as the bin calls it): `stop()` is the Ctrl-C or SIGTERM the bin turns into io.interrupt. */
export interface WebhookRun {
  out: () => string
  err: () => string
  stop: () => void
  /** The exit code main returns (the bin's exit code); undefined while it runs. */
  code: () => number | undefined
  exited: Promise<number>
}

/**
 * `driftwatch webhook <args>` in process, with `env` as its environment: what it judges, prints and exits with,
 * without a child process's start (a real spawn and a real SIGTERM: receiver-cli.test.ts). `cleanup` stops it.
 */
export function runWebhook(args: string[], env: Record<string, string>, cleanup: (() => unknown)[]): WebhookRun {
  const out: string[] = []
  const err: string[] = []
  const interrupt = new AbortController()
  let code: number | undefined
  const exited = main(['webhook', ...args], { stdout: (s) => out.push(`${s}\n`), stderr: (s) => err.push(`${s}\n`), env, cwd: ROOT, interrupt: interrupt.signal }).then((c) => (code = c))
  cleanup.push(() => {
    interrupt.abort()
    return exited
  })
  return { out: () => out.join(''), err: () => err.join(''), stop: () => interrupt.abort(), code: () => code, exited }
}
