/**
 * No output of any command holds a secret in any spelling (issue 17, item 2). An upstream on
 * loopback echoes the access token and the app secret back in every spelling (plain, any case,
 * hex spaced or not, base64 and base64url at each alignment and wrapped, percent-, JSON- and
 * HTML-escaped) in headers, JSON bodies, error messages and binary media that start with a control
 * byte; a HAR and a cassette carry them the same way. Then every command runs as users run it (the
 * real bin, child processes): check (one target, and sharded targets), record, record --from,
 * verify (HAR, cassette, recordings), proxy, merge, diff, history, watch with a JSON and a Slack
 * webhook, gate. Every file written under the test's directory (reports in every format,
 * recordings, journals, history databases byte for byte), every line of stdout and stderr, and
 * every webhook body is grepped for every piece of both secrets (spellings.ts).
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Observation } from '../../src/model/observation.ts'
import { graphErrorResponse, type SimResponse } from '../../src/simulator/graph.ts'
import { LOOKASIDE_PREFIX } from '../../src/simulator/routes.ts'
import type { Scenario } from '../../src/simulator/scenario.ts'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'
import { SIM_CREDENTIALS } from '../../src/simulator/state.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { leaks, spell } from './spellings.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'driftwatch.js')
// Neither is Meta-shaped: what finds them must be the redactor knowing them, not the EAA pattern.
// Not alphanumeric only: its base64 holds + and / at every alignment, so base64url differs from base64.
const TOKEN = 'Zq7vK2pX?>~9mW4nR8sT1uY6bC3dF5gH0jL-w/x+y~?>'
const APP_SECRET = '3f2a9c1e5b7d4086a2c4e6f8b0d1c3e5'
const SECRETS = { 'the access token': TOKEN, 'the app secret': APP_SECRET }
const { phoneNumberId: PHONE, wabaId: WABA, testRecipient: RECIPIENT } = SIM_CREDENTIALS

/** Every spelling of both secrets, by name. */
const spelled: [string, string][] = Object.entries(SECRETS).flatMap(([who, s]) => Object.entries(spell(s)).map(([how, v]): [string, string] => [`${who} ${how}`, v]))
/** Header values cannot hold line breaks. */
const headerSafe = spelled.filter(([, v]) => !/[\r\n]/.test(v))
/** The token with every character JSON-escaped, as JSON source: a body that parses to the plain token. */
const jsonEscaped = [...TOKEN].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')
/** Binary media: a control byte, both secrets, then each in a few spellings, then noise. */
const media = Buffer.concat([Buffer.from([0x01]), Buffer.from(TOKEN), Buffer.from([0x00, 0xff]), Buffer.from(APP_SECRET), Buffer.from(spell(TOKEN)['base64 aligned 1']!), Buffer.from(spell(APP_SECRET)['hex spaced']!), Buffer.alloc(64, 0x89)])

/** A JSON body with every spelling first (evidence quotes the start of a body), a JSON-escaped token, and then the upstream's own fields. */
function echoJson(original: unknown): Buffer {
  const echo = Object.fromEntries(spelled)
  const body = original && typeof original === 'object' && !Array.isArray(original) ? { echo, escaped: '@@ESCAPED@@', ...original } : { echo, escaped: '@@ESCAPED@@', data: original }
  return Buffer.from(JSON.stringify(body).replace('"@@ESCAPED@@"', `"${jsonEscaped}"`))
}

/** The upstream: the simulator behind a scenario that takes the test's token and echoes both secrets everywhere. */
const echoing: Scenario = {
  name: 'echo-secrets',
  description: 'echoes the token and the app secret back in every spelling',
  source: 'test',
  async respond(req, next, ctx) {
    const ids = { requested: 'v23.0', served: 'v23.0', ids: ctx.state.nextRequestIds() }
    const echoHeaders = headerSafe.map(([how, v], i): [string, string] => [`X-Echo-${i}`, v]).concat([['X-Echo-Spellings', headerSafe.map(([how]) => how).join('; ')]])
    if (req.url.pathname.startsWith(LOOKASIDE_PREFIX)) {
      return { status: 200, headers: [['Content-Type', 'image/jpeg'], ...echoHeaders], body: media, framing: 'content-length' }
    }
    if (req.method === 'POST' && req.url.pathname.endsWith('/messages')) {
      const e = graphErrorResponse(ids, { status: 500, message: `rejected ${spelled.map(([, v]) => v).join(' | ')}`, type: 'OAuthException', code: 1 })
      return { ...e, headers: [...e.headers, ...echoHeaders] }
    }
    const auth = String(req.headers.authorization ?? '')
    // The simulator knows its own token only: the test's is swapped for it on the way in.
    const routed = auth.includes(TOKEN) ? { ...req, headers: { ...req.headers, authorization: `Bearer ${ctx.state.credentials.token}` } } : req
    const res: SimResponse = await next(routed)
    if (req.url.pathname.endsWith('/message_templates')) {
      // Bytes under a JSON content type: a control byte, then the token.
      return { ...res, headers: [...res.headers, ...echoHeaders], body: Buffer.concat([Buffer.from([0x01]), Buffer.from(TOKEN), Buffer.from(' not JSON')]) }
    }
    const isJson = res.headers.some(([n, v]) => n.toLowerCase() === 'content-type' && v.includes('json'))
    if (!isJson || !Buffer.isBuffer(res.body)) return { ...res, headers: [...res.headers, ...echoHeaders] }
    return { ...res, headers: [...res.headers, ...echoHeaders], body: echoJson(JSON.parse(res.body.toString('utf8'))) }
  },
}

/** A HAR and a VCR cassette (JSON-serialised) of traffic that carries both secrets the same ways. */
function captures(dir: string): { har: string; cassette: string } {
  const at = '2026-02-09T08:00:01.000Z'
  const echoHeaders = headerSafe.map(([, v], i) => ({ name: `X-Echo-${i}`, value: v }))
  const exchanges = [
    { method: 'GET', url: `https://graph.facebook.com/v23.0/${PHONE}?access_token=${encodeURIComponent(TOKEN)}`, status: 200, mime: 'application/json; charset=UTF-8', body: echoJson({ verified_name: 'Driftwatch Test', display_phone_number: '+1 555-010-4242', id: PHONE }) },
    { method: 'POST', url: `https://graph.facebook.com/v23.0/${PHONE}/messages`, post: JSON.stringify({ messaging_product: 'whatsapp', to: RECIPIENT, type: 'text', text: { body: `token ${TOKEN}` } }), status: 500, mime: 'application/json; charset=UTF-8', body: Buffer.from(JSON.stringify({ error: { message: `rejected ${spelled.map(([, v]) => v).join(' | ')}`, type: 'OAuthException', code: 1, fbtrace_id: 'AbCdEf' } })) },
    { method: 'GET', url: `https://lookaside.fbsbx.com${LOOKASIDE_PREFIX}?mid=1390000000007919&ext=1763807919&hash=ATs`, status: 200, mime: 'image/jpeg', body: media, binary: true },
    { method: 'GET', url: `https://graph.facebook.com/v23.0/${WABA}/message_templates`, status: 200, mime: 'application/json', body: Buffer.concat([Buffer.from([0x01]), Buffer.from(TOKEN), Buffer.from(' not JSON')]) },
  ]
  const har = {
    log: {
      version: '1.2',
      creator: { name: 'driftwatch redaction test', version: '1' },
      entries: exchanges.map((x) => ({
        startedDateTime: at,
        time: 10,
        request: { method: x.method, url: x.url, httpVersion: 'HTTP/1.1', cookies: [], headers: [{ name: 'Authorization', value: `Bearer ${TOKEN}` }, { name: 'X-App-Secret-Proof', value: APP_SECRET }], queryString: [], headersSize: -1, bodySize: x.post ? x.post.length : 0, ...(x.post ? { postData: { mimeType: 'application/json', text: x.post } } : {}) },
        response: {
          status: x.status,
          statusText: x.status === 200 ? 'OK' : 'Internal Server Error',
          httpVersion: 'HTTP/1.1',
          cookies: [],
          headers: [{ name: 'Content-Type', value: x.mime }, ...echoHeaders],
          // Binary as base64 wrapped at 76 characters, as MIME-minded exporters write it.
          content: x.binary ? { size: x.body.length, mimeType: x.mime, encoding: 'base64', text: x.body.toString('base64').replace(/(.{76})(?!$)/g, '$1\r\n') } : { size: x.body.length, mimeType: x.mime, text: x.body.toString('utf8') },
          redirectURL: '',
          headersSize: -1,
          bodySize: x.body.length,
        },
        cache: {},
        timings: { send: 0, wait: 10, receive: 0 },
      })),
    },
  }
  const cassette = {
    http_interactions: exchanges.map((x) => ({
      request: { method: x.method.toLowerCase(), uri: x.url, body: { encoding: 'UTF-8', string: x.post ?? '' }, headers: { Authorization: [`Bearer ${TOKEN}`] } },
      response: {
        status: { code: x.status, message: x.status === 200 ? 'OK' : 'Internal Server Error' },
        headers: { 'Content-Type': [x.mime], ...Object.fromEntries(echoHeaders.map((h) => [h.name, [h.value]])) },
        body: x.binary ? { encoding: 'ASCII-8BIT', base64_string: x.body.toString('base64') } : { encoding: 'UTF-8', string: x.body.toString('utf8') },
      },
      recorded_at: 'Mon, 09 Feb 2026 08:00:01 GMT',
    })),
    recorded_with: 'VCR 6.2.0',
  }
  const files = { har: join(dir, 'traffic.har'), cassette: join(dir, 'traffic.cassette.json') }
  writeFileSync(files.har, JSON.stringify(har, null, 1))
  writeFileSync(files.cassette, JSON.stringify(cassette, null, 1))
  return files
}

interface Ran {
  what: string
  code: number | null
  stdout: string
  stderr: string
}

const tmp = tempDirs('dw-every-output-')
let root: string
let sim: RunningSimulator
const hooks: { format: string; bodies: string[]; server: Server; url: string }[] = []
const ran: Ran[] = []
/** Files read while a command ran (they are gone when it ends). */
const snapshots: [string, string][] = []
let inputs: { har: string; cassette: string }

/** The bin with the test's environment (nothing of the caller's WHATSAPP_ variables), cwd the repository. */
function run(what: string, args: string[], env: Record<string, string> = {}, whileRunning?: (out: string, kill: (s: NodeJS.Signals) => void) => void): Promise<Ran> {
  return new Promise((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WHATSAPP_')))
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...clean, PACT_DO_NOT_TRACK: 'true', ...baseEnv(), ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('latin1')
      whileRunning?.(stdout, (s) => child.kill(s))
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')))
    child.on('close', (code) => {
      const r = { what, code, stdout, stderr }
      ran.push(r)
      resolve(r)
    })
  })
}

function baseEnv(): Record<string, string> {
  return { WHATSAPP_ACCESS_TOKEN: TOKEN, WHATSAPP_APP_SECRET: APP_SECRET, WHATSAPP_PHONE_NUMBER_ID: PHONE, WHATSAPP_WABA_ID: WABA, WHATSAPP_TEST_RECIPIENT: RECIPIENT }
}

async function hook(format: 'json' | 'slack'): Promise<(typeof hooks)[number]> {
  const bodies: string[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('latin1'))
      res.writeHead(200)
      res.end('ok')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const h = { format, bodies, server, url: `${format}=http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` }
  hooks.push(h)
  return h
}

/** Every file under `dir`, as bytes read as Latin-1 (history databases are SQLite: their text is in the bytes). */
function everyFile(dir: string): [string, string][] {
  return readdirSync(dir).flatMap((f): [string, string][] => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? everyFile(p) : [[p, readFileSync(p).toString('latin1')]]
  })
}

/** The run's exit codes that mean it ran to the end (drift, or inconclusive, or interrupted): not 2, a harness error with no outputs. */
const RAN = [0, 1, 3, 130]

beforeAll(async () => {
  root = tmp.dir()
  sim = await startSimulator({ scenario: echoing })
  inputs = captures(tmp.dir())
  const out = (name: string) => join(root, name)
  const formats = ['--format', 'json,md,junit,html']

  await run('check', ['check', '--target', sim.url, '--out', out('check'), ...formats])
  await run('check again', ['check', '--target', sim.url, '--only', 'phone-numbers.*,messages.*', '--out', out('check'), ...formats])
  await run('record', ['record', '--target', sim.url, '--recordings', out('recordings'), '--out', out('record'), ...formats])
  await run('verify HAR', ['verify', inputs.har, '--out', out('verify-har'), '--recordings', out('none'), ...formats])
  await run('verify cassette', ['verify', inputs.cassette, '--out', out('verify-cassette'), '--recordings', out('none'), ...formats])
  await run('verify recordings', ['verify', out('recordings'), '--out', out('verify-recordings'), ...formats])
  await run('record --from HAR', ['record', '--from', inputs.har, '--recordings', out('recordings-from'), '--out', out('record-from'), ...formats])
  await run('record --from cassette', ['record', '--from', inputs.cassette, '--recordings', out('recordings-from'), '--out', out('record-from-cassette'), ...formats])

  // Two targets in two shards (as a CI matrix runs them), merged.
  const targets = join(root, 'targets.yaml')
  writeFileSync(targets, `targets:\n  - { name: alpha, target: "${sim.url}", env: { token: ALPHA_TOKEN, phone_number_id: ALPHA_PHONE, waba_id: ALPHA_WABA } }\n  - { name: beta, target: "${sim.url}", env: { token: ALPHA_TOKEN, phone_number_id: ALPHA_PHONE, waba_id: ALPHA_WABA } }\n`)
  const alpha = { ALPHA_TOKEN: TOKEN, ALPHA_PHONE: PHONE, ALPHA_WABA: WABA }
  await run('check --targets shard 1/2', ['check', '--targets', targets, '--shard', '1/2', '--no-history', '--out', out('shard-1'), ...formats], alpha)
  await run('check --targets shard 2/2', ['check', '--targets', targets, '--shard', '2/2', '--no-history', '--out', out('shard-2'), ...formats], alpha)
  await run('merge', ['merge', out('shard-1/report.json'), out('shard-2/report.json'), '--out', out('merged'), ...formats])

  await run('diff', ['diff', out('shard-1/report.json'), out('shard-1/report.json')])
  await run('diff --json', ['diff', out('verify-har/report.json'), out('verify-har/report.json'), '--json'])
  for (const db of everyFile(root).map(([p]) => p).filter((p) => p.endsWith('.db'))) {
    await run(`history ${db}`, ['history', '--history', db])
    await run(`history --json ${db}`, ['history', '--history', db, '--json'])
  }

  // The proxy, with an application that sends the token as a bearer, in the query, and asks for media.
  let proxyUrl = ''
  let sent = false
  await run('proxy', ['proxy', '--upstream', sim.url, '--port', '0', '--recordings', out('proxy-recordings'), '--out', out('proxy'), '--compact-every', '0', ...formats], {}, (stdout, kill) => {
    const m = /listening on (http:\/\/\S+),/.exec(stdout)
    if (!m || sent) return
    sent = true
    proxyUrl = m[1]!
    const auth = { authorization: `Bearer ${TOKEN}` }
    void (async () => {
      await fetch(`${proxyUrl}/v23.0/${PHONE}`, { headers: auth }).then((r) => r.arrayBuffer())
      await fetch(`${proxyUrl}/v23.0/${PHONE}?access_token=${encodeURIComponent(TOKEN)}`).then((r) => r.arrayBuffer())
      await fetch(`${proxyUrl}/v23.0/${PHONE}/messages`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ messaging_product: 'whatsapp', to: RECIPIENT, type: 'text', text: { body: 'hello' } }) }).then((r) => r.arrayBuffer())
      const upload = new FormData()
      upload.set('messaging_product', 'whatsapp')
      upload.set('type', 'image/jpeg')
      upload.set('file', new Blob([Buffer.alloc(64, 7)], { type: 'image/jpeg' }), 'a.jpg')
      const id = ((await (await fetch(`${proxyUrl}/v23.0/${PHONE}/media`, { method: 'POST', headers: auth, body: upload })).json()) as { id?: string }).id
      const meta = (await (await fetch(`${proxyUrl}/v23.0/${id}`, { headers: auth })).json()) as { url?: string }
      const download = new URL(meta.url ?? `${sim.url}${LOOKASIDE_PREFIX}?mid=${id}`)
      await fetch(`${proxyUrl}${download.pathname}${download.search}`, { headers: auth }).then((r) => r.arrayBuffer())
      // The journal is compacted into recordings and removed at a clean stop: read it while it is there.
      await sleep(500)
      const journal = join(out('proxy-recordings'), '.journal', 'proxy.jsonl')
      if (existsSync(journal)) snapshots.push(['proxy journal (while running)', readFileSync(journal).toString('latin1')])
      kill('SIGINT')
    })().catch(() => kill('SIGINT'))
  })

  const json = await hook('json')
  const slack = await hook('slack')
  await run('watch', ['watch', '--target', sim.url, '--budget', '5000000/day', '--cycles', '14', '--state', out('watch.db'), '--alert-webhook', json.url, '--alert-webhook', slack.url])
  await run('gate', ['gate', '--recordings', out('recordings'), '--out', out('gate'), '--format', 'json,md,junit'])
}, 600_000)

afterAll(async () => {
  await sim?.close()
  for (const h of hooks) await new Promise<void>((r) => h.server.close(() => r()))
})

describe('every output of every command, grepped for both secrets in every spelling', () => {
  it('every command ran to the end', () => {
    for (const r of ran) expect(RAN, `${r.what} exited ${r.code}:\n${r.stdout}\n${r.stderr}`).toContain(r.code)
    expect(ran.map((r) => r.what)).toEqual(expect.arrayContaining(['check', 'record', 'verify HAR', 'verify cassette', 'record --from HAR', 'merge', 'diff', 'proxy', 'watch', 'gate']))
  })

  it('the inputs and the upstream do carry them: a test that finds nothing here could not fail', () => {
    for (const [who, secret] of Object.entries(SECRETS)) {
      for (const file of [inputs.har, inputs.cassette]) expect(leaks(readFileSync(file, 'utf8'), secret), `${file}: ${who}`).not.toEqual([])
    }
    // Every spelling the upstream sends is one: each, alone, shows its secret.
    for (const [how, v] of spelled) expect(leaks(v, how.startsWith('the app secret') ? APP_SECRET : TOKEN), how).not.toEqual([])
    expect(sim.requests, 'requests the upstream answered').toBeGreaterThan(50)
  })

  it('the outputs are there: reports in every format, recordings with binary bodies, journals, history databases, webhook bodies', () => {
    const files = everyFile(root).map(([p]) => p.slice(root.length + 1))
    for (const f of ['check/report.json', 'check/report.md', 'check/junit.xml', 'check/report.html', 'merged/report.html', 'verify-har/report.json', 'verify-cassette/report.json', 'proxy/report.json', 'gate/gate.json', 'watch.db']) expect(files).toContain(f)
    expect(files.some((f) => f.startsWith('recordings/media.download/'))).toBe(true)
    expect(files.some((f) => f.startsWith('recordings-from/'))).toBe(true)
    expect(files.some((f) => f.startsWith('proxy-recordings/media.download/'))).toBe(true)
    expect(snapshots.map(([what]) => what)).toEqual(['proxy journal (while running)'])
    expect(snapshots[0]![1].split('\n').filter(Boolean).length, 'journal lines').toBeGreaterThan(5)
    expect(files.some((f) => f.endsWith('history.db'))).toBe(true)
    for (const h of hooks) expect(h.bodies.length, `${h.format} webhook`).toBeGreaterThan(0)
    // Redaction happened, not silence: what was echoed shows as [REDACTED] in the reports.
    expect(readFileSync(join(root, 'check/report.json'), 'utf8')).toContain('[REDACTED]')
  })

  it('a binary body that holds a secret is kept as its size and sha256, in recordings from the probes and from the proxy', () => {
    const sha256 = createHash('sha256').update(media).digest('hex')
    for (const file of ['recordings/media.download/live.json', 'proxy-recordings/media.download/proxy.json']) {
      const bodies = (JSON.parse(readFileSync(join(root, file), 'utf8')) as { observations: Observation[] }).observations.map((o) => o.response!.body)
      expect(bodies, file).toContainEqual({ size: media.length, sha256, keptBytes: 0, truncated: true, hexPreview: '[REDACTED]' })
      expect(bodies.some((b) => b.base64 !== undefined || b.text !== undefined), file).toBe(false)
    }
    // And a report says why it shows no first bytes.
    expect(readFileSync(join(root, 'record/report.md'), 'utf8')).toContain(`sha256 ${sha256}; first bytes: withheld, they hold a secret`)
  })

  it('no file, line or webhook body holds a piece of either secret in any spelling', () => {
    const outputs: [string, string][] = [
      ...everyFile(root).map(([p, text]): [string, string] => [p.slice(root.length + 1), text]),
      ...ran.flatMap((r): [string, string][] => [[`${r.what}: stdout`, r.stdout], [`${r.what}: stderr`, r.stderr]]),
      ...hooks.flatMap((h) => h.bodies.map((b, i): [string, string] => [`${h.format} webhook body ${i + 1}`, b])),
      ...snapshots,
    ]
    const found: string[] = []
    for (const [where, text] of outputs) {
      for (const [who, secret] of Object.entries(SECRETS)) for (const l of leaks(text, secret)) found.push(`${where}: ${who}: ${l}`)
    }
    expect(found).toEqual([])
  })
})
