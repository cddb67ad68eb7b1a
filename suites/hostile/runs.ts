/**
 * Every command driftwatch has, run for real (child processes, real stdout and stderr bytes) on the
 * hostile inputs of inputs.ts, once per test file: what they write is then inspected for what got
 * through. Used by suites/hostile (Markdown, terminal, secrets) and browser/ (report.html, junit.xml
 * in Chromium).
 */
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Redactor } from '../../src/transport/redact.ts'
import { writeReports } from '../../src/commands/write-reports.ts'
import { APP_SECRET, payload, TOKEN } from '../helpers/hostile.ts'
import { hostileCassette, hostileHar, hostileReport, hostileShard, hostileUpstream } from './inputs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'driftwatch.js')

/** What one command printed, as bytes. */
export interface Printed {
  label: string
  code: number | null
  /** The exit codes this run may end with: a verdict (0, 1), or 2 where the input is refused on purpose. */
  expected: number[]
  stdout: Buffer
  stderr: Buffer
}

/** Everything the hostile runs produced. */
export interface HostileRuns {
  /** Folders a command wrote reports (and recordings, histories) into, by label. */
  outputs: { label: string; dir: string }[]
  printed: Printed[]
  /** Bodies driftwatch POSTed to alert webhooks. */
  webhooks: { format: 'json' | 'slack'; body: string }[]
}

const ENV = { ...process.env, WHATSAPP_ACCESS_TOKEN: TOKEN, WHATSAPP_APP_SECRET: APP_SECRET, WHATSAPP_PHONE_NUMBER_ID: '106540352242922', WHATSAPP_WABA_ID: '102290129340398', PACT_DO_NOT_TRACK: 'true', NO_COLOR: '' }

function run(label: string, args: string[], opts: { pty?: boolean; expected?: number[] } = {}): Promise<Printed> {
  const t0 = Date.now()
  // Under `script`, the command has a real terminal (progress lines on), and what it prints is what a terminal receives.
  const [cmd, argv] = opts.pty ? ['script', ['-qefc', [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' '), '/dev/null']] : [process.execPath, [BIN, ...args]]
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv as string[], { cwd: ROOT, env: ENV })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => err.push(d))
    child.on('error', reject)
    child.on('close', (code) => {
      if (process.env.DW_HOSTILE_TIMES) console.log(`${label}: exit ${code} in ${Date.now() - t0} ms`)
      resolve({ label, code, expected: opts.expected ?? [0, 1], stdout: Buffer.concat(out), stderr: Buffer.concat(err) })
    })
  })
}

/** Receives webhook POSTs on loopback. */
async function receiver(into: HostileRuns['webhooks'], format: 'json' | 'slack'): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      into.push({ format, body: Buffer.concat(chunks).toString('utf8') })
      res.end('ok')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, server }
}

/** Runs every command on hostile inputs in `dir`. */
export async function hostileRuns(dir: string): Promise<HostileRuns> {
  const runs: HostileRuns = { outputs: [], printed: [], webhooks: [] }
  const out = (label: string) => {
    const d = join(dir, label)
    runs.outputs.push({ label, dir: d })
    return d
  }
  const formats = ['--format', 'json,md,junit,html']

  // Every field of every format, straight through the writer every command uses.
  await writeReports(hostileReport(), { outDir: out('reporters'), formats: ['json', 'md', 'junit', 'html'], redactor: new Redactor({ secrets: [TOKEN, APP_SECRET] }) })

  // A crafted shard report, merged and diffed as CI does with artifacts.
  const shards = join(dir, 'shards')
  mkdirSync(shards, { recursive: true })
  writeFileSync(join(shards, 'a.json'), JSON.stringify(hostileShard('shard-a')))
  writeFileSync(join(shards, 'b.json'), JSON.stringify(hostileShard('shard-b')))
  const changed = hostileShard('shard-a')
  changed.findings = changed.findings.slice(1).map((f) => ({ ...f, severity: 'breaking' as const, title: `${f.title} changed` }))
  writeFileSync(join(shards, 'a-later.json'), JSON.stringify({ ...changed, startedAt: '2026-02-07T15:42:00.000Z', finishedAt: '2026-02-07T15:42:03.000Z' }))
  runs.printed.push(await run('merge', ['merge', join(shards, 'a.json'), join(shards, 'b.json'), '--out', out('merge'), ...formats]))
  runs.printed.push(await run('diff', ['diff', join(shards, 'a.json'), join(shards, 'a-later.json')]))
  runs.printed.push(await run('diff --json', ['diff', join(shards, 'a.json'), join(shards, 'a-later.json'), '--json']))
  // Refusals quote the reports too: another API version, another target, a target in two shards.
  writeFileSync(join(shards, 'other-version.json'), JSON.stringify({ ...hostileShard('shard-c'), apiVersion: payload('other apiVersion') }))
  runs.printed.push(await run('merge, versions differ', ['merge', join(shards, 'a.json'), join(shards, 'other-version.json'), '--out', join(dir, 'refused')], { expected: [2] }))
  runs.printed.push(await run('merge, a target twice', ['merge', join(shards, 'a.json'), join(shards, 'a-later.json'), '--out', join(dir, 'refused')], { expected: [2] }))
  runs.printed.push(await run('diff, targets differ', ['diff', join(shards, 'a.json'), join(shards, 'b.json')], { expected: [2] }))

  // A hostile upstream, probed; then the history of those runs, and watch with both webhook formats.
  const upstream = await hostileUpstream()
  const json = await receiver(runs.webhooks, 'json')
  const slack = await receiver(runs.webhooks, 'slack')
  try {
    const check = out('check')
    const history = ['--history', join(check, 'history.db')]
    runs.printed.push(await run('check', ['check', '--target', upstream.url, '--allow-host', '127.0.0.1', '--retry-budget', '0', '--out', check, ...history, ...formats]))
    runs.printed.push(await run('check (again, on a terminal)', ['check', '--target', upstream.url, '--allow-host', '127.0.0.1', '--retry-budget', '0', '--out', check, ...history, ...formats], { pty: true }))
    runs.printed.push(await run('history', ['history', '--history', join(check, 'history.db')]))
    runs.printed.push(await run('history --json', ['history', '--history', join(check, 'history.db'), '--json']))
    const state = join(out('watch'), 'state.db')
    runs.printed.push(await run('watch', ['watch', '--target', upstream.url, '--allow-host', '127.0.0.1', '--budget', '1000000/day', '--cycles', '4', '--state', state, '--alert-webhook', `json=${json.url}`, '--alert-webhook', `slack=${slack.url}`]))
    runs.printed.push(await run('record', ['record', '--target', upstream.url, '--allow-host', '127.0.0.1', '--retry-budget', '0', '--recordings', join(out('record'), 'recordings'), '--out', join(dir, 'record', 'reports')]))
  } finally {
    await upstream.close()
    json.server.close()
    slack.server.close()
  }

  // Captures: a HAR and a cassette, verified (the HAR also on a terminal, where progress lines show), and recorded from.
  const har = join(dir, 'hostile.har')
  const cassette = join(dir, 'hostile-cassette.json')
  writeFileSync(har, hostileHar())
  writeFileSync(cassette, hostileCassette())
  runs.printed.push(await run('verify har', ['verify', har, '--out', out('verify-har'), ...formats]))
  runs.printed.push(await run('verify har (on a terminal)', ['verify', har, '--out', out('verify-har-tty'), ...formats], { pty: true }))
  runs.printed.push(await run('verify cassette', ['verify', cassette, '--out', out('verify-cassette'), ...formats]))
  runs.printed.push(await run('record --from', ['record', '--from', har, '--recordings', join(out('record-from'), 'recordings')]))
  // A malformed capture is refused naming the entry and the field: the name it quotes is the capture's own.
  const broken = join(dir, 'broken.har')
  writeFileSync(broken, `{"log":{"entries":[{${JSON.stringify(payload('key'))}:${'['.repeat(300)}${']'.repeat(300)}}]}}`)
  runs.printed.push(await run('verify, a malformed HAR', ['verify', broken, '--out', join(dir, 'refused')], { expected: [2] }))
  const badEncoding = join(dir, 'bad-encoding.har')
  const entry = JSON.parse(hostileHar()) as { log: { entries: { response: { content: { encoding?: string } } }[] } }
  entry.log.entries[0]!.response.content.encoding = payload('encoding')
  writeFileSync(badEncoding, JSON.stringify(entry))
  runs.printed.push(await run('verify, a bad content.encoding', ['verify', badEncoding, '--out', join(dir, 'refused')], { expected: [2] }))
  const badCassette = join(dir, 'bad-cassette.json')
  writeFileSync(badCassette, JSON.stringify({ http_interactions: [{ request: { method: payload('cassette method'), uri: 5 } }] }))
  runs.printed.push(await run('verify, a malformed cassette', ['verify', badCassette, '--out', join(dir, 'refused')], { expected: [2] }))
  return runs
}

/** Every file under a folder, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
}
