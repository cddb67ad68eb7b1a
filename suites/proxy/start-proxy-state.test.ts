/**
 * `startProxy` as the whole proxy command (the CLI only parses and prints): with `state` it opens
 * the incidents over watch's state, with `metricsPort` serves /metrics and /healthz, and both stop
 * with the proxy; a start that cannot listen closes them again.
 */
import { existsSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { startProxy } from '../../src/commands/proxy.ts'
import { startSimulator } from '../../src/simulator/server.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const tmp = tempDirs('dw-start-proxy-')
const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

describe('startProxy with state and metricsPort', () => {
  it('forwards one request, counts it in /metrics, and stops the metrics server with the proxy', async () => {
    const sim = await startSimulator()
    cleanup.push(() => sim.close())
    const dir = tmp.dir()
    const state = join(dir, 'watch.db')
    const proxy = await startProxy({ upstream: sim.url, port: 0, contractsDir: 'contracts/meta', cwd: ROOT, state, metricsPort: 0, reportDir: join(dir, 'out'), formats: ['json'] })
    expect(proxy.openBefore).toBe(0)
    expect(existsSync(state)).toBe(true)
    const res = await request(`${proxy.url}/v23.0/${sim.credentials.phoneNumberId}`, { headers: { authorization: `Bearer ${sim.credentials.token}` } })
    await res.body.arrayBuffer()
    expect(res.statusCode).toBe(200)
    await proxy.idle()
    const metrics = await request(`${proxy.metricsUrl!}/metrics`)
    expect(await metrics.body.text()).toMatch(/^driftwatch_proxy_forwarded_total 1$/m)
    const session = await proxy.close()
    expect(session.stats.exchanges).toBe(1)
    expect(session.counts.attributed).toBe(1)
    expect(session.report.outcome).toBe('pass')
    await expect(request(`${proxy.metricsUrl!}/healthz`)).rejects.toThrow()
  })

  it('a busy port fails the start after the metrics server started, and stops that server again', async () => {
    const busy = createServer()
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r))
    cleanup.push(() => new Promise<void>((r) => busy.close(() => r())))
    const metricsPort = await freePort()
    const start = startProxy({ upstream: 'http://127.0.0.1:9', port: (busy.address() as AddressInfo).port, contractsDir: 'contracts/meta', cwd: ROOT, state: join(tmp.dir(), 'watch.db'), metricsPort })
    await expect(start).rejects.toThrow()
    // The metrics port is free again: a new server can take it.
    const again = createServer()
    await new Promise<void>((r, j) => again.once('error', j).listen(metricsPort, '127.0.0.1', r))
    await new Promise<void>((r) => again.close(() => r()))
  })
})

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}
