/**
 * The embedded Meta simulator: a real HTTP server on loopback. Writes headers in the exact order
 * the routes give, and frames bodies exactly as asked (Content-Length or chunked), so wire-level
 * checks are exercised over a real socket.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { HarnessError } from '../errors.ts'
import { graphErrorResponse, statusText, type SimResponse } from './graph.ts'
import { route, servedVersion, type SimRequest } from './routes.ts'
import { seededRandom, type Scenario } from './scenario.ts'
import { scenarioNames, scenarios } from './scenarios/index.ts'
import { SimulatorState, type SimulatorCredentials } from './state.ts'

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
}

/** A started simulator. */
export interface RunningSimulator {
  /** Base URL, e.g. `http://127.0.0.1:43210`. */
  url: string
  credentials: SimulatorCredentials
  scenario: Scenario
  state: SimulatorState
  /** Requests handled so far. */
  readonly requests: number
  close(): Promise<void>
}

/** Starts the simulator and resolves once it listens. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const requested = options.scenario ?? 'baseline'
  const scenario = typeof requested === 'string' ? scenarios[requested]?.() : requested
  if (!scenario) throw new HarnessError('DW_USAGE', `unknown scenario "${String(requested)}" (available: ${scenarioNames().join(', ')})`)
  const state = new SimulatorState()
  const random = seededRandom(options.seed ?? 20260120)
  const started = performance.now()
  let requests = 0
  let base = ''

  const server: Server = createServer((req, res) => {
    requests++
    const n = requests
    handle(req, res, async (simReq) => {
      const next = (override?: SimRequest) => route(override ?? simReq, state, base)
      return scenario.respond(simReq, next, { state, requestNumber: n, random, uptimeMs: () => performance.now() - started })
    }).catch(() => res.destroy())
  })
  server.keepAliveTimeout = 5_000

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new HarnessError('DW_SIMULATOR_FAILED', `simulator could not listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 0}: ${err.code ?? err.message}`, { code: err.code })),
    )
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  base = `http://${host}:${addr.port}`

  return {
    url: base,
    credentials: state.credentials,
    scenario,
    state,
    get requests() {
      return requests
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
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

async function handle(req: IncomingMessage, res: ServerResponse, respond: (r: SimRequest) => Promise<SimResponse>): Promise<void> {
  const body = await readBody(req)
  const url = new URL(req.url ?? '/', 'http://simulator.invalid')
  let out: SimResponse
  if (body === undefined) {
    out = { status: 413, statusText: statusText(413), headers: [['Content-Type', 'text/plain']], body: Buffer.from('request too large'), framing: 'content-length' }
  } else {
    try {
      out = await respond({ method: req.method ?? 'GET', url, headers: req.headers, body })
    } catch (err) {
      // A simulator bug must show up as a finding, not as a hang: answer like Graph's unknown error.
      const ids = { requestId: 'simulator-error', traceId: 'simulator', debug: '' }
      out = graphErrorResponse({ requested: 'v23.0', served: servedVersion('v23.0'), ids }, { status: 500, message: `An unknown error occurred (simulator: ${(err as Error).message})`, type: 'OAuthException', code: 1 })
    }
  }
  await write(res, out)
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
