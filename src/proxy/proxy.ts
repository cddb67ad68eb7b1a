/**
 * `driftwatch proxy`: a recording proxy. Point an application (or curl) at it instead of the Graph
 * API; it forwards each request to the upstream through driftwatch's transport (so the exchange is
 * captured as exactly as a probe's), answers the application with what the upstream said,
 * attributes the exchange to the operation it is (as verify does, learning ids as the session
 * goes), judges it, reports findings as they happen, and records it under that operation. When it
 * stops, the whole session is judged together and written as a report (entries, attributed,
 * unattributed): identical requests that got different answers show there.
 *
 * Consumer drift shows here first: a request with a method the endpoint does not take (the Feb 6
 * 2026 POST with method=get) is flagged whatever the upstream answered. Only exchanges of one known
 * operation are recorded: a wrong method or an unattributed exchange is never a golden.
 *
 * Each response is buffered (up to the body cap) so it can be checked and recorded before it is
 * passed on: a tool for recording and reviewing, not for production traffic. Framing is passed
 * through as the upstream chose it (chunked stays chunked) so the application sees the wire truth.
 * Recordings are rewritten atomically after every exchange: Ctrl-C loses nothing. Headers that
 * carry secrets (Set-Cookie, a token echoed back) reach the application redacted, as recorded.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { loadContracts } from '../contracts/load.ts'
import type { HttpMethod } from '../contracts/types.ts'
import { HarnessError } from '../errors.ts'
import type { Finding } from '../finding.ts'
import { apiVersionIn } from '../graph/index.ts'
import type { Observation, RawHeader } from '../observation.ts'
import { PersonalDataRedactor } from '../recordings/personal-data.ts'
import { prepareRecording, writeRecording, type Recording } from '../recordings/store.ts'
import type { Report } from '../report.ts'
import type { FormatId } from '../reporters/index.ts'
import { trafficState } from '../traffic/attribute.ts'
import { TrafficJudge, type TrafficCounts } from '../traffic/judge-traffic.ts'
import { HostPolicy } from '../transport/host-policy.ts'
import { Redactor } from '../transport/redact.ts'
import { Transport } from '../transport/transport.ts'
import { writeReports } from '../write-reports.ts'

/** How to run the proxy. */
export interface ProxyOptions {
  /** Base URL requests are forwarded to, e.g. https://graph.facebook.com. */
  upstream: string
  port?: number
  host?: string
  contractsDir: string
  /** Where recordings go (`<dir>/<contract>/<name>.json`); undefined records nothing. */
  recordingsDir?: string
  /** Recording file name without .json (default `proxy`). */
  name?: string
  /** Where the session report goes when the proxy stops (report.json and the formats); undefined writes none. */
  reportDir?: string
  formats?: readonly FormatId[]
  /** WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_WABA_ID say which node an id is before the traffic does. */
  env?: Readonly<Record<string, string | undefined>>
  /** Largest request or response body handled, in bytes. */
  maxBodyBytes?: number
  timeoutMs?: number
  cwd?: string
  /** Called after each exchange with what was found (already redacted). */
  onExchange?: (e: ProxyExchange) => void
  /** Called when checking or recording an exchange failed (e.g. the disk is full); the application was answered regardless. */
  onError?: (message: string) => void
}

/** One request through the proxy, as reported live. */
export interface ProxyExchange {
  index: number
  method: string
  /** Path and query, redacted. */
  path: string
  status?: number
  /** The operation it was attributed to (or whose node it called with the wrong method). */
  contract?: string
  /** How attribution placed it: under an operation, as a wrong method, unattributed, or no operation at all. */
  attribution: 'attributed' | 'wrong-method' | 'unattributed' | 'none'
  findings: Finding[]
  /** Recording file written for it, if any. */
  recording?: string
}

/** The session, judged whole when the proxy stops. */
export interface ProxySession {
  report: Report
  /** Report files written (none without reportDir). */
  files: string[]
  counts: TrafficCounts
}

/** A running proxy. */
export interface RunningProxy {
  url: string
  exchanges: ProxyExchange[]
  /** Resolves once every exchange answered so far has been checked and recorded (they are, just after the answer). */
  idle(): Promise<void>
  /** Stops listening, finishes checking and recording, judges the whole session and writes its report. */
  close(): Promise<ProxySession>
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length'])
/**
 * Request headers not forwarded besides hop-by-hop ones. Accept-Encoding: a compressed answer could
 * not be checked or recorded as JSON, so the upstream is asked for identity bodies; every HTTP
 * client must accept those.
 */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'accept-encoding'])
const DEFAULT_MAX = 64 * 1024 * 1024

/** Starts the proxy on loopback; resolves once it listens. */
export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  let upstream: URL
  try {
    upstream = new URL(opts.upstream)
  } catch {
    throw new HarnessError('DW_USAGE', `--upstream must be a URL such as https://graph.facebook.com (got "${opts.upstream}")`)
  }
  if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') throw new HarnessError('DW_USAGE', `--upstream must be http or https (got ${upstream.protocol})`)
  const cwd = opts.cwd ?? process.cwd()
  const pack = loadContracts(opts.contractsDir, { cwd })
  const max = opts.maxBodyBytes ?? DEFAULT_MAX
  // Tokens the application sends are learned as it sends them, so every later write scrubs them verbatim too.
  const secrets = new Set<string>()
  let redactor = new Redactor()
  const transport = new Transport({
    hostPolicy: new HostPolicy({ allowHosts: [upstream.host] }),
    redactor,
    maxBodyBytes: max,
    keepBytes: max,
    keepBinaryBytes: max,
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  })
  const personal = new PersonalDataRedactor()
  const startedAt = new Date().toISOString()
  const traffic = new TrafficJudge({
    pack,
    state: trafficState({ phoneNumberId: opts.env?.WHATSAPP_PHONE_NUMBER_ID, wabaId: opts.env?.WHATSAPP_WABA_ID }),
    since: startedAt,
    contractsDir: opts.contractsDir,
    label: `the proxy session to ${upstream.origin}`,
    upstreamHosts: [upstream.host],
  })
  const recorded = new Map<string, Observation[]>()
  const exchanges: ProxyExchange[] = []
  const name = opts.name ?? 'proxy'
  // One exchange judged and recorded at a time: recordings are rewritten whole, in order.
  let queue = Promise.resolve()

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req, max)
    if (body === undefined) {
      reply(res, 413, { error: { message: `driftwatch proxy: request body over ${max} bytes`, type: 'DriftwatchProxy', code: 413 } })
      return
    }
    const target = new URL(req.url ?? '/', upstream)
    const headers: RawHeader[] = []
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const n = req.rawHeaders[i]!
      if (!NOT_FORWARDED.has(n.toLowerCase())) headers.push([n, req.rawHeaders[i + 1]!])
      if (n.toLowerCase() === 'authorization') {
        const token = /^bearer\s+(\S+)/i.exec(req.rawHeaders[i + 1]!)?.[1]
        if (token && !secrets.has(token)) {
          secrets.add(token)
          redactor = new Redactor({ secrets: [...secrets] })
        }
      }
    }
    const tokenSent = headers.some(([n, v]) => n.toLowerCase() === 'authorization' && /^bearer\s/i.test(v)) || target.searchParams.has('access_token')
    const method = (req.method ?? 'GET').toUpperCase() as HttpMethod
    const contentType = headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? ''
    const { observation, body: bytes } = await transport.sendKeepingBody({
      contract: '',
      sample: exchanges.length + 1,
      method,
      url: target.toString(),
      headers,
      ...(body.length ? { body, ...(/json|x-www-form-urlencoded|text\//i.test(contentType) ? { bodyExcerpt: body.subarray(0, 500).toString('utf8') } : {}) } : {}),
      auth: 'none',
    })
    observation.request.tokenSent = tokenSent
    const r = observation.response
    if (!r || (observation.transportError && bytes.length < (r.body.size ?? 0))) {
      const why = observation.transportError ? `${observation.transportError.code}: ${observation.transportError.message}` : 'no response'
      if (!res.headersSent) reply(res, 502, { error: { message: `driftwatch proxy: the upstream failed (${why})`, type: 'DriftwatchProxy', code: 502 } })
    } else {
      // The upstream's headers, in its order and case; framing as it chose.
      const out: string[] = []
      for (const [n, v] of r.rawHeaders) if (!HOP_BY_HOP.has(n.toLowerCase())) out.push(n, v)
      if (r.framing.kind !== 'chunked') out.push('Content-Length', String(bytes.length))
      res.writeHead(r.status, r.statusText, out)
      res.end(bytes)
    }
    queue = queue
      .then(() => judgeAndRecord(observation, body))
      .catch((err: unknown) => opts.onError?.(redactor.text(`exchange ${exchanges.length + 1} (${observation.request.method} ${safePath(observation.request.url, redactor)}) was answered but not checked or recorded: ${(err as Error).message}`)))
    await queue
  }

  const judgeAndRecord = async (observation: Observation, requestBody: Buffer): Promise<void> => {
    const index = exchanges.length + 1
    const path = safePath(observation.request.url, redactor)
    const entry = { source: `proxy exchange ${index}`, observation, hasBody: true, ...(requestBody.length ? { requestBody: requestBody.toString('utf8') } : {}) }
    const placement = traffic.place(entry)
    const findings = await traffic.judgeOne(entry, placement)
    let file: string | undefined
    // Only exchanges of one known operation become recordings: a wrong method or a guess is not a golden.
    if (placement.kind === 'attributed') {
      const id = placement.exp.id
      const list = recorded.get(id) ?? []
      list.push({ ...observation, contract: id, sample: list.length + 1 })
      recorded.set(id, list)
      if (opts.recordingsDir) file = await record(id, list)
    }
    const contract = placement.kind === 'attributed' || placement.kind === 'wrong-method' ? placement.exp?.id : undefined
    const e: ProxyExchange = { index, method: observation.request.method, path, ...(observation.response ? { status: observation.response.status } : {}), ...(contract ? { contract } : {}), attribution: placement.kind, findings: findings.map((f) => redactor.deep(f)), ...(file ? { recording: file } : {}) }
    exchanges.push(e)
    opts.onExchange?.(e)
  }

  const record = async (id: string, list: Observation[]): Promise<string> => {
    const rec: Recording = { version: 1, contract: id, name, target: upstream.origin, apiVersion: apiVersionIn(list[0]!.request.url) ?? 'unversioned', recordedAt: list[0]!.startedAt, observations: list }
    const { file } = await writeRecording(opts.recordingsDir!, prepareRecording(rec, personal), redactor)
    return file
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, { error: { message: `driftwatch proxy: ${redactor.text((err as Error).message)}`, type: 'DriftwatchProxy', code: 500 } })
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new HarnessError('DW_USAGE', `cannot listen on ${opts.host ?? '127.0.0.1'}:${opts.port ?? 0} (${err.code ?? err.message}); pick another --port`)))
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve())
  })
  const addr = server.address() as AddressInfo
  return {
    url: `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`,
    exchanges,
    async idle() {
      // Handlers chain onto the queue as they finish; wait until it stops growing.
      for (let q = queue; ; q = queue) {
        await q
        await new Promise((r) => setImmediate(r))
        if (q === queue) return
      }
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await queue
      await transport.close()
      const report = await traffic.report(`proxy:${upstream.origin}`, redactor)
      const files = opts.reportDir ? (await writeReports(report, { outDir: opts.reportDir, formats: opts.formats ?? ['json', 'md'], redactor, cwd })).files : []
      return { report, files, counts: traffic.counts }
    },
  }
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    let size = 0
    let over = false
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > max) over = true
      else parts.push(c)
    })
    req.on('end', () => resolve(over ? undefined : Buffer.concat(parts)))
    req.on('error', reject)
  })
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

function safePath(url: string, redactor: Redactor): string {
  try {
    const u = new URL(url)
    return redactor.url(`${u.pathname}${u.search}`)
  } catch {
    return redactor.url(url)
  }
}

