/** The client side of the benchmarks (see run.ts). Prints one JSON object on stdout. */
import { createHash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { Client } from 'undici'
import { loadContracts } from '../src/contracts/load.ts'
import { runContracts } from '../src/runner/run.ts'
import { DEFAULT_TOKEN_HOSTS, HostPolicy } from '../src/transport/host-policy.ts'
import { Redactor } from '../src/transport/redact.ts'
import { Transport, type PreparedRequest } from '../src/transport/transport.ts'

const url = process.env.SIM_URL!
const token = process.env.SIM_TOKEN!
const variables = { phone_number_id: process.env.SIM_PHONE!, waba_id: process.env.SIM_WABA!, test_recipient: undefined }
const [mode, arg] = process.argv.slice(2)

function transport(maxBodyBytes?: number): Transport {
  return new Transport({ token, hostPolicy: new HostPolicy({ allowHosts: [...DEFAULT_TOKEN_HOSTS, new URL(url).host] }), redactor: new Redactor({ secrets: [token] }), ...(maxBodyBytes ? { maxBodyBytes } : {}) })
}

/** JS heap plus Buffer memory: what the process holds, unlike RSS, which the allocator returns to the OS lazily. */
function held(): number {
  const m = process.memoryUsage()
  return m.heapUsed + m.external + m.arrayBuffers
}

if (mode === 'throughput') {
  // Contracts whose requests can be replayed unchanged (no upload/delete state), so both loops send the same bytes.
  const only = ['phone-numbers.get', 'templates.list', 'templates.list.next-page', 'graph.unknown-object', 'auth.invalid-token']
  const pack = loadContracts('contracts/meta')
  const t = transport()
  const sent: PreparedRequest[] = []
  const recordingSend = t.send.bind(t)
  t.send = async (req, signal) => {
    sent.push(req)
    return recordingSend(req, signal)
  }
  const iterate = () => runContracts({ pack, target: 'sim', baseUrl: url, apiVersion: 'v23.0', variables, transport: t, only })
  const first = await iterate()
  if (first.findings.length) throw new Error(`baseline not clean: ${first.findings.map((f) => f.title).join('; ')}`)
  t.send = recordingSend
  const requests = sent.map((r) => ({ ...r, headers: [...r.headers, ['Authorization', `Bearer ${r.auth === 'invalid' ? 'INVALID' : token}`]] as [string, string][] }))

  const bare = new Client(new URL(url).origin, { pipelining: 1 })
  const bareIteration = async () => {
    for (const r of requests) {
      const u = new URL(r.url)
      const res = await bare.request({ method: r.method, path: u.pathname + u.search, headers: r.headers.flat() })
      await res.body.arrayBuffer()
    }
  }
  // The least any checking client does on top of bare HTTP: hash the bytes and parse the JSON.
  const parsingIteration = async () => {
    for (const r of requests) {
      const u = new URL(r.url)
      const res = await bare.request({ method: r.method, path: u.pathname + u.search, headers: r.headers.flat() })
      const bytes = Buffer.from(await res.body.arrayBuffer())
      createHash('sha256').update(bytes).digest('hex')
      JSON.parse(bytes.toString('utf8'))
    }
  }
  const timed = async (fn: () => Promise<unknown>, iterations: number) => {
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    for (let i = 0; i < iterations; i++) await fn()
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    const n = iterations * requests.length
    return { perSecond: (n / ms) * 1000, cpuUsPerRequest: (cpu.user + cpu.system) / n }
  }
  // Warm both paths well past JIT tiering, so the rounds compare steady states.
  for (let w = 0; w < 3; w++) {
    await timed(iterate, 100)
    await timed(bareIteration, 100)
    await timed(parsingIteration, 100)
  }
  const rounds = []
  for (let round = 0; round < 7; round++) {
    const h = await timed(iterate, 100)
    const b = await timed(bareIteration, 100)
    const p = await timed(parsingIteration, 100)
    rounds.push({ harness: h.perSecond, bare: b.perSecond, parsing: p.perSecond, harnessCpuUs: h.cpuUsPerRequest, bareCpuUs: b.cpuUsPerRequest, parsingCpuUs: p.cpuUsPerRequest })
  }
  await bare.close()
  await t.close()
  process.stdout.write(JSON.stringify({ requestsPerIteration: requests.length, rounds }))
} else if (mode === 'download') {
  // One media body through the harness transport, or through a bare undici client (arg2 = 'bare').
  const baseline = process.memoryUsage().rss
  globalThis.gc?.()
  const heldBefore = held()
  let size: number
  let ok: boolean
  let retainedMb: number
  if (process.argv[4] === 'bare') {
    const c = new Client(new URL(url).origin, { pipelining: 1 })
    const auth = { authorization: `Bearer ${token}` }
    const meta = (await (await c.request({ method: 'GET', path: `/v23.0/${arg}`, headers: auth })).body.json()) as { url: string; sha256: string; file_size: number }
    const u = new URL(meta.url)
    const res = await c.request({ method: 'GET', path: u.pathname + u.search, headers: auth })
    const h = createHash('sha256')
    size = 0
    for await (const chunk of res.body) {
      h.update(chunk as Buffer)
      size += (chunk as Buffer).length
    }
    ok = h.digest('hex') === meta.sha256 && size === meta.file_size
    globalThis.gc?.()
    retainedMb = (held() - heldBefore) / 1048576
    await c.close()
  } else {
    const t = transport(1024 * 1024 * 1024) // the default cap (128 MiB) would stop a 200 MB body, as it should in real runs
    const meta = await t.send({ contract: 'bench', sample: 1, method: 'GET', url: `${url}/v23.0/${arg}`, headers: [], auth: 'bearer' })
    const m = meta.response!.body.json as { url: string; sha256: string; file_size: number }
    const dl = await t.send({ contract: 'bench', sample: 1, method: 'GET', url: m.url, headers: [], auth: 'bearer' })
    size = dl.response!.body.size
    ok = dl.response!.body.sha256 === m.sha256 && size === m.file_size
    // What the harness keeps while the observation is still alive: the GC has run, the observation has not been dropped.
    globalThis.gc?.()
    retainedMb = (held() - heldBefore) / 1048576
    if (dl.response!.body.keptBytes !== 0) throw new Error('a binary body was kept in memory')
    await t.close()
  }
  const peakKb = process.resourceUsage().maxRSS
  process.stdout.write(JSON.stringify({ bytes: size, sha256ok: ok, baselineRssMb: baseline / 1048576, peakRssMb: peakKb / 1024, retainedMb }))
} else {
  throw new Error(`unknown bench mode ${mode}`)
}
