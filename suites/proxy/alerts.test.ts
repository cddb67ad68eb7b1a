/**
 * Issue 18, end to end: the production proxy in front of the simulator, its incidents on watch's
 * state and its alerts to a real webhook receiver on loopback. Clean traffic raises nothing; a
 * rollout on the upstream's side (the simulator switched to media-chunked, the 20 Jan 2026
 * incident) raises exactly one drift alert, within 10 s of the first drifting exchange, however
 * many exchanges show it; switching back raises exactly one recovery once the rule is met. /metrics
 * shows the drift open, then closed, and the state file holds one incident. Then the same through
 * the CLI (`bin/driftwatch.js proxy` with the flags the compose example uses).
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, relative } from 'node:path'
import { performance } from 'node:perf_hooks'
import Database from 'better-sqlite3'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.ts'
import { DEFAULTS } from '../../src/cli/options.ts'
import { loadContracts } from '../../src/contracts/load.ts'
import { operationOf, ProxyMetrics, serveProxyMetrics, TrafficIncidents } from '../../src/live/index.ts'
import { startProxy } from '../../src/commands/proxy.ts'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'
import { webhookSink } from '../../src/watch/alerts.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { webhookReceiver } from '../live/webhook-receiver.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const CONTRACTS = join(ROOT, 'contracts/meta')
const tmp = tempDirs('dw-proxy-alerts-')
/** The recovery rule's quiet time: long enough that six clean exchanges on a busy machine fit inside it. */
const QUIET_MS = 3_000
const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

/** The simulator with one stored media (the app's traffic: retrieve that media's URL, and read the phone number). */
async function simulator(): Promise<{ sim: RunningSimulator; media: string }> {
  const sim = await startSimulator()
  cleanup.push(() => sim.close())
  const media = sim.state.addMedia(Buffer.from('a small jpeg'), 'image/jpeg', 'a.jpg', sim.credentials.phoneNumberId).id
  return { sim, media }
}

/** What an application does: GETs of the media and the phone number, through `base`, with its token. */
async function appTraffic(base: string, sim: RunningSimulator, media: string, n: number): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < n; i++) {
    const path = i % 2 === 0 ? `/v23.0/${media}` : `/v23.0/${sim.credentials.phoneNumberId}`
    const res = await request(`${base}${path}`, { headers: { authorization: `Bearer ${sim.credentials.token}` } })
    await res.body.arrayBuffer()
    statuses.push(res.statusCode)
  }
  return statuses
}

/** A rollout on the upstream's side, through the simulator's control endpoint. */
async function switchScenario(sim: RunningSimulator, scenario: string): Promise<void> {
  const res = await request(`${sim.url}/__sim/scenario`, { method: 'POST', body: JSON.stringify({ scenario }) })
  expect(res.statusCode).toBe(200)
  await res.body.text()
}

/** The drifts_open series with a value, as `contract check` strings. */
async function driftsOpen(metricsUrl: string): Promise<string[]> {
  const text = await (await request(`${metricsUrl}/metrics`)).body.text()
  return [...text.matchAll(/^driftwatch_proxy_drifts_open\{contract="([^"]+)",check="([^"]+)",severity="[^"]+"\} (\d+)/gm)].filter((m) => m[3] !== '0').map((m) => `${m[1]} ${m[2]}`)
}

/** Resolves once `cond` holds, polling; rejects after `ms` with `what`. */
async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('the production proxy raises alerts from live traffic', () => {
  it('clean: none; a drift: exactly one within 10 s; cleared: exactly one recovery; metrics and the state agree', async () => {
    const { sim, media } = await simulator()
    const hook = await webhookReceiver()
    cleanup.push(() => hook.close())
    const state = join(tmp.dir(), 'state.db')
    const pack = loadContracts(CONTRACTS)
    const metrics = new ProxyMetrics({ operations: pack.operations.map((o) => o.id) })
    const incidents = new TrafficIncidents({ state, upstream: sim.url, recovery: { cleanRuns: 3, quietMs: QUIET_MS }, operationOf: operationOf(pack), sinks: [webhookSink(hook.url)], metrics })
    cleanup.push(() => incidents.close())
    const server = await serveProxyMetrics(metrics, 0)
    cleanup.push(() => server.close())
    const proxy = await startProxy({ upstream: sim.url, contractsDir: CONTRACTS, cwd: ROOT, mode: 'production', incidents, metrics, compactEveryMs: 0 })
    cleanup.push(() => proxy.abort())

    // Clean traffic: judged, and nothing raised.
    expect(await appTraffic(proxy.url, sim, media, 10)).toEqual(Array(10).fill(200))
    await proxy.idle()
    await incidents.settled()
    expect(proxy.stats()).toMatchObject({ exchanges: 10, answered: 10, captured: 10, judgedLive: 10 })
    expect(hook.got).toEqual([])
    expect(await driftsOpen(server.url)).toEqual([])

    // The upstream rolls out chunked media answers: the first drifting exchange is the clock's start.
    await switchScenario(sim, 'media-chunked')
    const first = performance.now()
    await appTraffic(proxy.url, sim, media, 1)
    await Promise.race([hook.received(1), new Promise((_, reject) => setTimeout(() => reject(new Error('no alert within 10 s of the first drifting exchange')), 10_000))])
    expect(performance.now() - first).toBeLessThan(10_000)
    // More drifting exchanges: still one incident, one alert.
    await appTraffic(proxy.url, sim, media, 9)
    await proxy.idle()
    await incidents.settled()
    expect(hook.got).toHaveLength(1)
    expect(hook.got[0]).toMatchObject({ source: 'driftwatch', kind: 'drift', contract: 'media.retrieve-url', severity: 'breaking', seenBy: 'traffic', target: `live traffic to ${sim.url}` })
    expect(JSON.stringify(hook.got)).not.toContain(sim.credentials.token)
    expect(await driftsOpen(server.url)).toEqual([`media.retrieve-url ${hook.got[0]!.check}`])

    // Rolled back: the rule (3 clean exchanges of the operation and QUIET_MS quiet) clears it, once.
    await switchScenario(sim, 'baseline')
    await appTraffic(proxy.url, sim, media, 6)
    await proxy.idle()
    await incidents.settled()
    expect(hook.got).toHaveLength(1) // clean exchanges, but not quiet long enough yet
    await new Promise((r) => setTimeout(r, QUIET_MS + 100))
    await until(async () => {
      await appTraffic(proxy.url, sim, media, 2)
      await proxy.idle()
      await incidents.settled()
      return hook.got.length > 1
    }, 10_000, 'the recovery alert')
    await appTraffic(proxy.url, sim, media, 6)
    await proxy.idle()
    await incidents.settled()
    expect(hook.got.map((a) => a.kind)).toEqual(['drift', 'recovery'])
    expect(hook.got[1]).toMatchObject({ contract: 'media.retrieve-url', check: hook.got[0]!.check })
    expect(await driftsOpen(server.url)).toEqual([])
    const text = await (await request(`${server.url}/metrics`)).body.text()
    expect(text).toMatch(/^driftwatch_proxy_alerts_total\{kind="drift"\} 1$/m)
    expect(text).toMatch(/^driftwatch_proxy_alerts_total\{kind="recovery"\} 1$/m)
    expect(text).toMatch(/^driftwatch_proxy_exchanges_total\{operation="media.retrieve-url",status="200"\} \d+$/m)

    await proxy.close()
    await incidents.close()
    const db = new Database(state, { readonly: true })
    cleanup.push(() => db.close())
    expect(db.prepare('SELECT contract, closed_at IS NOT NULL AS closed FROM incidents').all()).toEqual([{ contract: 'media.retrieve-url', closed: 1 }])
  }, 60_000)
})

describe('driftwatch proxy --state --alert-webhook --metrics-port (the CLI)', () => {
  it('says where alerts and metrics go (the webhook by its host only), is healthy, and alerts a drift on stdout and the webhook', async () => {
    const { sim, media } = await simulator()
    const hook = await webhookReceiver()
    cleanup.push(() => hook.close())
    const dir = tmp.dir()
    const child = spawn(process.execPath, [join(ROOT, 'bin/driftwatch.js'), 'proxy', '--upstream', sim.url, '--port', '0', '--no-record', '--out', join(dir, 'out'), '--state', join(dir, 'state.db'), '--alert-webhook', hook.url, '--metrics-port', '0', '--metrics-host', '127.0.0.1', '--quiet'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d))
    child.stderr.on('data', (d: Buffer) => (err += d))
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    cleanup.push(() => child.kill('SIGKILL'))
    await until(() => /health on \S+\/healthz/.test(out) || child.exitCode !== null, 30_000, `the startup lines (stderr: ${err})`)
    const url = /listening on (http:\/\/\S+),/.exec(out)?.[1]
    const metricsUrl = /metrics on (http:\/\/\S+)\/metrics/.exec(out)?.[1]
    expect(url, out).toBeDefined()
    expect(metricsUrl, out).toBeDefined()
    const hookHost = new URL(hook.url).host
    expect(out).toContain(`alerts to stdout, json webhook http://${hookHost}`)
    // Outside the working directory a path echoes absolute, as typed (issue 20).
    expect(out).toContain(`state ${join(dir, 'state.db')};`)
    expect(out).not.toContain(hook.url) // the path of a webhook URL is its secret

    const health = await request(`${metricsUrl}/healthz`)
    expect(health.statusCode).toBe(200)
    expect(await health.body.json()).toMatchObject({ status: 'ok', driftsOpen: 0 })

    await appTraffic(url!, sim, media, 4)
    await switchScenario(sim, 'media-chunked')
    await appTraffic(url!, sim, media, 4)
    await Promise.race([hook.received(1), new Promise((_, reject) => setTimeout(() => reject(new Error(`no alert within 10 s (stdout: ${out}, stderr: ${err})`)), 10_000))])
    await until(() => /ALERT DRIFT/.test(out), 10_000, 'the alert line on stdout')
    expect(out).toMatch(/ALERT DRIFT breaking on media\.retrieve-url \(live traffic to http:\/\/127\.0\.0\.1:\d+\)/)
    expect(hook.got).toEqual([expect.objectContaining({ kind: 'drift', contract: 'media.retrieve-url' })])
    expect((await (await request(`${metricsUrl}/healthz`)).body.json()) as Record<string, unknown>).toMatchObject({ status: 'ok', driftsOpen: 1 })

    child.kill('SIGTERM')
    expect(await exited).toBe(1) // the session saw drift
    expect(out).toMatch(/proxy stopped: 8 forwarded, 8 captured, 8 judged live, 0 skipped/)
    expect(err).not.toContain('sampling:') // nothing was skipped: nothing to say
  }, 60_000)

  it('says once, even under --quiet, when the observer falls behind and exchanges go unjudged', async () => {
    const { sim, media } = await simulator()
    const dir = tmp.dir()
    const out: string[] = []
    const err: string[] = []
    const stop = new AbortController()
    const run = main(['proxy', '--upstream', sim.url, '--port', '0', '--contracts', CONTRACTS, '--no-record', '--out', join(dir, 'out'), '--format', 'json', '--queue', '1', '--quiet'], { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: {}, cwd: dir, interrupt: stop.signal })
    await until(() => out.some((l) => l.startsWith('Not recording')), 30_000, 'the startup lines')
    const url = /listening on (http:\/\/\S+),/.exec(out.join('\n'))![1]!
    await Promise.all(Array.from({ length: 10 }, () => appTraffic(url, sim, media, 10)))
    stop.abort()
    await run
    const sampling = err.filter((l) => l.includes('sampling:'))
    expect(sampling).toHaveLength(1)
    expect(sampling[0]).toMatch(/\d+ forwarded, \d+ captured, \d+ judged live, [1-9]\d* skipped \([1-9]\d* queue-full\)/)
  }, 60_000)
})

describe('where the CLI keeps incidents', () => {
  /** Starts `driftwatch proxy <args>` in-process in `cwd`, returns its startup lines, and stops it. */
  async function startupLines(cwd: string, args: string[]): Promise<string[]> {
    const out: string[] = []
    const stop = new AbortController()
    const run = main(['proxy', '--upstream', 'http://127.0.0.1:9', '--port', '0', '--contracts', CONTRACTS, '--no-record', '--out', join(cwd, 'out'), '--format', 'json', ...args], { stdout: (l) => out.push(l), stderr: () => undefined, env: {}, cwd, interrupt: stop.signal })
    await until(() => out.some((l) => l.startsWith('Not recording')), 30_000, 'the startup lines')
    stop.abort()
    await run
    return out
  }

  it("--alert-webhook without --state keeps incidents in watch's default state, and says so", async () => {
    const hook = await webhookReceiver()
    cleanup.push(() => hook.close())
    const cwd = tmp.dir()
    const out = await startupLines(cwd, ['--alert-webhook', hook.url])
    expect(out[1]).toBe(`  state ${DEFAULTS.state} (watch's default: --alert-webhook needs a state; pass --state to choose); alerts to stdout, json webhook http://${new URL(hook.url).host}`)
    expect(existsSync(join(cwd, DEFAULTS.state))).toBe(true)
  })

  it('neither --state nor --alert-webhook: no state written, and the startup line says there are no alerts', async () => {
    const cwd = tmp.dir()
    const out = await startupLines(cwd, [])
    expect(out[1]).toBe('  no incident state (--state or --alert-webhook keeps one); no alerts')
    expect(existsSync(join(cwd, DEFAULTS.state))).toBe(false)
  })
})
