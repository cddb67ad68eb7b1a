/**
 * The embedded Meta simulator: a real HTTP server on loopback. Writes headers in the exact order
 * the routes give, and frames bodies exactly as asked (Content-Length or chunked), so wire-level
 * checks are exercised over a real socket.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { HarnessError } from '../util/errors.ts'
import { graphErrorResponse, statusText, type SimResponse } from './graph.ts'
import { route, servedVersion, type SimRequest } from './routes.ts'
import { seededRandom, type Scenario } from './scenario.ts'
import { scenarioNames, scenarios, unknownScenario } from './scenarios/index.ts'
import { SimulatorState, type SimulatorCredentials } from './state.ts'
import { baselineStatuses, inboundBody, INBOUND_TYPES, WebhookSender, type InboundSpec, type WebhookOptions } from './webhooks.ts'

const MAX_REQUEST_BYTES = 110 * 1024 * 1024
const CHUNK = 16 * 1024

/** Where and how to run the simulator. */
export interface SimulatorOptions {
  host?: string
  /** 0 (default) picks a free port. */
  port?: number
  /** A scenario name from the registry, or a Scenario object (tests use one-off behaviours). */
  scenario?: string | Scenario
  /** Seed for scenarios that draw random numbers. */
  seed?: number
  /** Servers in the simulated fleet, pinned per connection round-robin (default 8). */
  fleetSize?: number
  /**
   * More loopback addresses to listen on, on the same port (e.g. `127.0.0.2`): a host that resolves
   * to several addresses, for fresh-connection sampling. The URL uses `host`.
   */
  alsoListenOn?: string[]
  /**
   * Send webhooks to this callback: status webhooks after each accepted send, inbound messages on
   * request (`sendInbound`, `POST /__sim/webhooks/inbound`). Without it nothing is sent.
   */
  webhooks?: WebhookOptions
}

/** The path of the simulator's control endpoint (never part of Graph's paths, which start with a version or an id). */
export const CONTROL_PATH = '/__sim/scenario'
/** The control path that makes the simulator send an inbound message webhook: `POST` an InboundSpec as JSON. */
export const INBOUND_PATH = '/__sim/webhooks/inbound'

export { UNDELIVERABLE_RECIPIENT } from './state.ts'
export { DEV_APP_SECRET } from './webhooks.ts'

/** A started simulator. */
export interface RunningSimulator {
  /** Base URL, e.g. `http://127.0.0.1:43210`. */
  url: string
  credentials: SimulatorCredentials
  /** The scenario answering now (it changes with setScenario or the control endpoint). */
  readonly scenario: Scenario
  state: SimulatorState
  /**
   * Switches the scenario while running, as a rollout on Meta's side would: requests that arrive
   * after the switch get the new behaviour. Also `POST /__sim/scenario` with `{"scenario": "<name>"}`.
   */
  setScenario(name: string): Scenario
  /** Every address:port it listens on. */
  readonly addresses: string[]
  /** Connections accepted so far (each pinned to one backend). */
  readonly connections: number
  /** Requests handled so far. */
  readonly requests: number
  /** The webhook sender, when a callback URL was given: `stats`, `idle()`, `appSecretSource`. */
  readonly webhooks: WebhookSender | undefined
  /**
   * Sends an inbound `messages` webhook (a customer writing, replying or reacting) and returns its
   * wamid; the delivery runs in the background. Throws DW_USAGE without a callback URL.
   */
  sendInbound(spec: InboundSpec): string
  close(): Promise<void>
}

/** Starts the simulator and resolves once it listens. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const requested = options.scenario ?? 'baseline'
  let scenario = typeof requested === 'string' ? build(requested) : requested
  const state = new SimulatorState()
  const random = seededRandom(options.seed ?? 20260120)
  const started = performance.now()
  const fleetSize = Math.max(1, options.fleetSize ?? 8)
  const backendOf = new WeakMap<Socket, number>()
  let connections = 0
  let requests = 0
  let base = ''
  const setScenario = (name: string): Scenario => (scenario = build(name))
  const webhooks = options.webhooks ? new WebhookSender(options.webhooks) : undefined
  const sendInbound = (spec: InboundSpec): string => {
    if (!webhooks) throw new HarnessError('DW_USAGE', 'the simulator has no webhook callback URL: start it with one (sim --webhook-url <url>)')
    if (!(INBOUND_TYPES as readonly string[]).includes(spec.type)) throw new HarnessError('DW_USAGE', `unknown inbound type "${String(spec.type)}" (one of ${INBOUND_TYPES.join(', ')})`)
    const notText = Object.entries(spec).find(([, v]) => typeof v !== 'string')
    if (notText) throw new HarnessError('DW_USAGE', `inbound message field "${notText[0]}" must be a string`)
    const { body, messageId } = inboundBody(state, spec, nowSeconds())
    webhooks.inbound(spec.type, messageId, body)
    return messageId
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url?.startsWith(INBOUND_PATH)) {
      inboundControl(req, res, webhooks !== undefined, sendInbound).catch(() => res.destroy())
      return
    }
    if (req.url?.startsWith(CONTROL_PATH)) {
      control(req, res, () => scenario, setScenario).catch(() => res.destroy())
      return
    }
    requests++
    const n = requests
    const backend = backendOf.get(req.socket) ?? 0
    // Bound now: a switch while this request is being read applies to the next one.
    const answering = scenario
    handle(req, res, async (simReq) => {
      const next = (override?: SimRequest) => route(override ?? simReq, state, base)
      return answering.respond(simReq, next, { state, requestNumber: n, random, uptimeMs: () => performance.now() - started, backend, fleetSize })
    }, webhooks ? (simReq, out) => afterSend(simReq, out, state, webhooks, answering) : undefined).catch(() => res.destroy())
  }
  const servers: Server[] = []
  const host = options.host ?? '127.0.0.1'
  let port = options.port ?? 0
  for (const address of [host, ...(options.alsoListenOn ?? [])]) {
    const server = createServer(listener)
    server.keepAliveTimeout = 5_000
    server.on('connection', (socket: Socket) => backendOf.set(socket, connections++ % fleetSize))
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new HarnessError('DW_SIMULATOR_FAILED', `simulator could not listen on ${address}:${port}: ${err.code ?? err.message}`, { code: err.code })),
      )
      server.listen(port, address, () => resolve())
    }).catch(async (err: unknown) => {
      await Promise.all(servers.map((s) => closeServer(s)))
      throw err
    })
    servers.push(server)
    port = (server.address() as AddressInfo).port
  }
  const urlOf = (s: Server) => {
    const addr = s.address() as AddressInfo
    return `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
  }
  base = `http://${urlOf(servers[0]!)}`

  return {
    url: base,
    credentials: state.credentials,
    get scenario() {
      return scenario
    },
    setScenario,
    state,
    addresses: servers.map(urlOf),
    get requests() {
      return requests
    },
    get connections() {
      return connections
    },
    webhooks,
    sendInbound,
    close: async () => {
      await Promise.all(servers.map((s) => closeServer(s)))
      await webhooks?.close()
    },
  }
}

function build(name: string): Scenario {
  const scenario = scenarios[name]?.()
  if (!scenario) throw new HarnessError('DW_USAGE', unknownScenario(name))
  return scenario
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

/** `GET /__sim/scenario`: which scenario answers; `POST` with `{"scenario": "<name>"}`: switch to another. */
async function control(req: IncomingMessage, res: ServerResponse, current: () => Scenario, set: (name: string) => Scenario): Promise<void> {
  const reply = (status: number, body: unknown) => replyJson(res, status, body)
  const body = await readBody(req)
  if (req.method === 'GET') return reply(200, { scenario: current().name, available: scenarioNames() })
  if (req.method !== 'POST') return reply(405, { error: `use GET to read the scenario or POST {"scenario": "<name>"} to switch; not ${req.method}` })
  let name: unknown
  try {
    name = (JSON.parse(body?.toString('utf8') ?? '') as { scenario?: unknown }).scenario
  } catch {
    name = undefined
  }
  if (typeof name !== 'string') return reply(400, { error: 'send {"scenario": "<name>"} as JSON', available: scenarioNames() })
  const previous = current().name
  try {
    set(name)
  } catch (err) {
    return reply(400, { error: (err as Error).message, available: scenarioNames() })
  }
  return reply(200, { scenario: name, previous, switchedAt: new Date().toISOString() })
}

function replyJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

/** After an accepted send (`POST /{phone-number-id}/messages` answered 200 with a wamid): queue its status webhooks. */
function afterSend(req: SimRequest, out: SimResponse, state: SimulatorState, webhooks: WebhookSender, scenario: Scenario): void {
  const c = state.credentials
  if (req.method !== 'POST' || out.status !== 200 || !Buffer.isBuffer(out.body)) return
  const m = req.url.pathname.match(/^\/v\d+\.\d+\/([^/]+)\/messages\/?$/)
  if (m?.[1] !== c.phoneNumberId) return
  let messageId: unknown
  let to: unknown
  let type: unknown
  try {
    messageId = (JSON.parse(out.body.toString('utf8')) as { messages?: { id?: unknown }[] }).messages?.[0]?.id
    ;({ to, type } = JSON.parse(req.body.toString('utf8')) as { to?: unknown; type?: unknown })
  } catch {
    return
  }
  if (typeof messageId !== 'string' || typeof to !== 'string') return
  const recipientId = to.replace(/\D/g, '')
  const send = { messageId, recipientId, messageType: typeof type === 'string' ? type : 'text', undeliverable: state.undeliverable.has(recipientId) }
  const planned = baselineStatuses(send, nowSeconds())
  const behaviour = scenario.webhooks
  webhooks.statuses(c, behaviour?.plan ? behaviour.plan(planned) : planned, behaviour?.edit?.bind(behaviour))
}

/** `POST /__sim/webhooks/inbound` with an InboundSpec (`{"type": "text", "text": "hi"}`): 202 and the message's wamid. */
async function inboundControl(req: IncomingMessage, res: ServerResponse, enabled: boolean, send: (spec: InboundSpec) => string): Promise<void> {
  const reply = (status: number, body: unknown) => replyJson(res, status, body)
  const body = await readBody(req)
  if (req.method !== 'POST') return reply(405, { error: `POST an inbound message as JSON, e.g. {"type": "text", "text": "hi"}; not ${req.method}`, types: INBOUND_TYPES })
  if (!enabled) return reply(409, { error: 'the simulator has no webhook callback URL: start it with one (sim --webhook-url <url>)' })
  let spec: InboundSpec
  try {
    spec = JSON.parse(body?.toString('utf8') ?? '') as InboundSpec
    if (typeof spec !== 'object' || spec === null) throw new TypeError('not an object')
  } catch {
    return reply(400, { error: 'send an inbound message as JSON, e.g. {"type": "text", "text": "hi"}', types: INBOUND_TYPES })
  }
  try {
    return reply(202, { id: send(spec) })
  } catch (err) {
    return reply(400, { error: (err as Error).message, types: INBOUND_TYPES })
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length
    if (size > MAX_REQUEST_BYTES) return undefined
    chunks.push(c)
  }
  return Buffer.concat(chunks)
}

async function handle(req: IncomingMessage, res: ServerResponse, respond: (r: SimRequest) => Promise<SimResponse>, after?: (r: SimRequest, out: SimResponse) => void): Promise<void> {
  const body = await readBody(req)
  const url = new URL(req.url ?? '/', 'http://simulator.invalid')
  let out: SimResponse
  let simReq: SimRequest | undefined
  if (body === undefined) {
    out = { status: 413, statusText: statusText(413), headers: [['Content-Type', 'text/plain']], body: Buffer.from('request too large'), framing: 'content-length' }
  } else {
    try {
      simReq = { method: req.method ?? 'GET', url, headers: req.headers, body }
      out = await respond(simReq)
    } catch (err) {
      // A simulator bug must show up as a finding, not as a hang: answer like Graph's unknown error.
      const ids = { requestId: 'simulator-error', traceId: 'simulator', debug: '' }
      out = graphErrorResponse({ requested: 'v23.0', served: servedVersion('v23.0'), ids }, { status: 500, message: `An unknown error occurred (simulator: ${(err as Error).message})`, type: 'OAuthException', code: 1 })
    }
  }
  await write(res, out)
  if (after && simReq) {
    try {
      after(simReq, out)
    } catch {
      // Webhooks never break the API they follow.
    }
  }
}

/** Writes headers in order and the body with the framing asked for, honouring backpressure. */
export async function write(res: ServerResponse, r: SimResponse): Promise<void> {
  const size = Buffer.isBuffer(r.body) ? r.body.length : r.body.size
  const headers = r.headers.filter(([n]) => !['content-length', 'transfer-encoding'].includes(n.toLowerCase()))
  headers.push(r.framing === 'chunked' ? ['Transfer-Encoding', 'chunked'] : ['Content-Length', String(size)])
  res.writeHead(r.status, r.statusText ?? statusText(r.status), headers.flat())
  const chunks: Iterable<Buffer> = Buffer.isBuffer(r.body) ? sliced(r.body, r.framing === 'chunked' ? CHUNK : Math.max(r.body.length, 1)) : r.body.chunks()
  for (const c of chunks) {
    if (c.length === 0) continue
    if (!res.write(c)) await drainOrClose(res)
    if (res.destroyed) return
  }
  res.end()
}

/** Resolves when the socket can take more, or when the client went away (then `drain` never comes). */
function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

function* sliced(b: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size)
}
