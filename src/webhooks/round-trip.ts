/**
 * The round trip (issue 19 item 6): `check --round-trip <s>` sends its test message as ever
 * (messages.send-text), then waits up to <s> seconds for that message's status webhooks. "sent,
 * then delivered within <s> s" is the contract `webhook.round-trip`; its absence is a warning, not
 * breaking: Meta's delivery is not instant and a phone can be off. Every status body that arrived
 * is judged against the webhook contracts as well, so a drift in them shows in the same report.
 *
 * Against the simulator, check starts a StatusCollector on loopback and the simulator signs and
 * posts its webhooks there; the collector checks each signature as the receiver does.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Finding } from '../model/finding.ts'
import type { ContractResult } from '../model/report.ts'
import type { Redactor } from '../transport/redact.ts'
import { WebhookJudge } from './judge.ts'
import { verifySignature } from './receiver-signature.ts'
import { messageIdHash, statusItems } from './status-index.ts'

/** The contract the round trip is judged as. */
export const ROUND_TRIP_CONTRACT = 'webhook.round-trip'
export const ROUND_TRIP_CHECK = 'round-trip'

/** A delivery the collector took: its body and when it arrived. */
export interface Collected {
  body: unknown
  receivedAt: number
}

/** A status webhook of one message, as it arrived. */
export interface StatusSeen {
  status: string
  /** Meta's timestamp (epoch seconds, as a string in the body), when it parses. */
  timestamp?: number
  receivedAt: number
  errors?: unknown
}

/** Where the round trip's statuses come from: the collector (simulator) or the receiver's journal (Meta). */
export interface StatusSource {
  /** What the source is, for messages. */
  readonly label: string
  /** The statuses of message `wamid` seen so far, in arrival order. */
  statusesOf(wamid: string): StatusSeen[]
  /** Bodies to judge against the webhook contracts. */
  bodiesFor(wamid: string): Collected[]
  /** Resolves when something may have arrived, or after `ms`. */
  next(ms: number): Promise<void>
}

/** Listens on loopback for signed webhook deliveries and keeps their bodies (the simulator's callback in a round trip). */
export class StatusCollector implements StatusSource {
  readonly label = 'the collector on loopback'
  readonly secret = randomBytes(24).toString('hex')
  readonly bodies: Collected[] = []
  /** Deliveries refused for their signature (the simulator signs with the secret it was given: none expected). */
  refused = 0
  private waiters: (() => void)[] = []

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<StatusCollector> {
    let self: StatusCollector | undefined
    const server = createServer((req, res) => {
      const parts: Buffer[] = []
      req.on('data', (c: Buffer) => parts.push(c))
      req.on('end', () => {
        const raw = Buffer.concat(parts)
        const header = req.headers['x-hub-signature-256']
        if (req.method !== 'POST' || verifySignature(raw, Array.isArray(header) ? header[0] : header, self!.secret) !== 'ok') {
          self!.refused++
          res.writeHead(req.method === 'POST' ? 403 : 405).end()
          return
        }
        let body: unknown
        try {
          body = JSON.parse(raw.toString('utf8'))
        } catch {
          body = undefined
        }
        self!.bodies.push({ body, receivedAt: Date.now() })
        for (const w of self!.waiters.splice(0)) w()
        res.writeHead(200).end()
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    self = new StatusCollector(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`)
    return self
  }

  /** Resolves at the next delivery, or after `ms`. */
  next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms)
      this.waiters.push(() => {
        clearTimeout(t)
        resolve()
      })
    })
  }

  statusesOf(wamid: string): StatusSeen[] {
    return statusesOf(this.bodies, wamid)
  }

  /** Every body the simulator posted (the run's only message and what it triggers). */
  bodiesFor(): Collected[] {
    return this.bodies
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections()
      this.server.close(() => resolve())
    })
  }
}

/** The statuses of message `wamid` among the collected bodies, in arrival order. */
export function statusesOf(bodies: readonly Collected[], wamid: string): StatusSeen[] {
  const seen: StatusSeen[] = []
  for (const b of bodies) {
    for (const s of statusItems(b.body)) {
      if (s.id !== wamid || typeof s.status !== 'string') continue
      const ts = Number(s.timestamp)
      seen.push({ status: s.status, ...(Number.isFinite(ts) ? { timestamp: ts } : {}), receivedAt: b.receivedAt, ...(s.errors !== undefined ? { errors: s.errors } : {}) })
    }
  }
  return seen
}

/**
 * The receiver's journal (`driftwatch webhook --out <dir>`) as a status source: its delivery lines
 * are read as they are appended; a status of the test message is found by `messageIdHash`, the
 * body it came in (redacted) is judged.
 */
export class JournalSource implements StatusSource {
  readonly label: string
  private readonly offsets = new Map<string, number>()
  private readonly lines: { receivedAt: number; body: unknown; statuses: { messageIdHash: string; status: string; timestamp?: string }[] }[] = []
  private readonly dir: string

  constructor(
    dir: string,
    /** Lines received before this (epoch ms) are an earlier session's: not read. */
    private readonly notBefore: number,
  ) {
    this.dir = dir
    this.label = `the receiver's journal in ${dir}`
  }

  /** Reads what was appended to every journal file since the last call. */
  private read(): void {
    // The receiver's --out (its journal appears in .journal/ with the first delivery), or that folder itself.
    const files: string[] = []
    for (const d of [join(this.dir, '.journal'), this.dir]) {
      try {
        for (const f of readdirSync(d)) if (f.startsWith('webhook-') && f.endsWith('.jsonl')) files.push(join(d, f))
      } catch {
        // Not there (yet).
      }
    }
    for (const file of files) {
      const from = this.offsets.get(file) ?? 0
      let size: number
      try {
        size = statSync(file).size
      } catch {
        continue
      }
      if (size <= from) continue
      const fd = openSync(file, 'r')
      let text: string
      try {
        const buf = Buffer.alloc(size - from)
        readSync(fd, buf, 0, buf.length, from)
        text = buf.toString('utf8')
      } finally {
        closeSync(fd)
      }
      // Only whole lines: a line being appended is read next time.
      const end = text.lastIndexOf('\n') + 1
      this.offsets.set(file, from + Buffer.byteLength(text.slice(0, end)))
      for (const line of text.slice(0, end).split('\n')) {
        if (!line) continue
        let d: { receivedAt?: unknown; body?: unknown; statuses?: unknown }
        try {
          d = JSON.parse(line) as typeof d
        } catch {
          continue
        }
        const at = typeof d.receivedAt === 'string' ? Date.parse(d.receivedAt) : NaN
        if (!Array.isArray(d.statuses) || !Number.isFinite(at) || at < this.notBefore) continue
        this.lines.push({ receivedAt: at, body: d.body, statuses: d.statuses as JournalSource['lines'][number]['statuses'] })
      }
    }
  }

  statusesOf(wamid: string): StatusSeen[] {
    this.read()
    const hash = messageIdHash(wamid)
    const seen: StatusSeen[] = []
    for (const l of this.lines) {
      // The redacted body's statuses line up with the index (both skip items without id or status).
      const items = statusItems(l.body).filter((s) => s.id !== undefined && typeof s.status === 'string')
      l.statuses.forEach((s, i) => {
        if (s.messageIdHash !== hash) return
        const ts = Number(s.timestamp)
        const errors = items[i]?.errors
        seen.push({ status: s.status, ...(Number.isFinite(ts) ? { timestamp: ts } : {}), receivedAt: l.receivedAt, ...(errors !== undefined ? { errors } : {}) })
      })
    }
    return seen
  }

  /** The bodies that carried the test message's statuses (other deliveries are the app's business). */
  bodiesFor(wamid: string): Collected[] {
    this.read()
    const hash = messageIdHash(wamid)
    return this.lines.filter((l) => l.statuses.some((s) => s.messageIdHash === hash)).map((l) => ({ body: l.body, receivedAt: l.receivedAt }))
  }

  next(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.min(ms, 500)))
  }
}

export interface RoundTripOptions {
  collector: StatusSource
  /** The test message: its id from the send's answer, and when the send was answered (epoch ms). */
  sent?: { wamid: string; at: number }
  /** How long to wait for `delivered`, in ms. */
  waitMs: number
  /** After `delivered`, how long to keep listening for `read` and late statuses (default 1.5 s), so the judged sequence is whole. */
  settleMs?: number
  signal?: AbortSignal
  contractsDir: string
  cwd: string
  since: string
  redactor: Redactor
}

/** Waits for the test message's statuses, then judges the round trip and every body that came. */
export async function roundTrip(opts: RoundTripOptions): Promise<{ results: ContractResult[]; findings: Finding[] }> {
  const t0 = Date.now()
  const base = { contract: ROUND_TRIP_CONTRACT, title: 'A sent message gets its sent and delivered status webhooks', file: 'contracts/meta/webhooks (round trip)', request: 'POST /{api_version}/{phone_number_id}/messages, then status webhooks', probes: 0 }
  if (!opts.sent) {
    return { results: [{ ...base, status: 'inconclusive', reason: 'no test message was sent (messages.send-text did not run or was not answered with a message id)', durationMs: 0 }], findings: [] }
  }
  const { wamid, at } = opts.sent
  const deadline = at + opts.waitMs
  const arrived = (s: string) => opts.collector.statusesOf(wamid).some((x) => x.status === s)
  while (!arrived('delivered') && !arrived('failed') && Date.now() < deadline && !opts.signal?.aborted) await opts.collector.next(Math.min(250, Math.max(1, deadline - Date.now())))
  // Late statuses (read, a duplicate, a failed after delivered) join the judged sequence.
  if (!opts.signal?.aborted && (arrived('delivered') || arrived('failed'))) {
    const settle = Date.now() + (opts.settleMs ?? 1500)
    while (Date.now() < settle && !opts.signal?.aborted) await opts.collector.next(settle - Date.now())
  }
  const seen = opts.collector.statusesOf(wamid)
  const findings: Finding[] = []
  const judge = new WebhookJudge({ contractsDir: opts.contractsDir, cwd: opts.cwd, since: opts.since })
  opts.collector.bodiesFor(wamid).forEach((b, i) => judge.add(b.body, { receivedAt: new Date(b.receivedAt).toISOString(), where: `round-trip delivery ${i + 1}` }))
  const verdict = await judge.verdict()
  findings.push(...verdict.findings.map((f) => opts.redactor.deep(f)))

  const after = (x: StatusSeen) => `${((x.receivedAt - at) / 1000).toFixed(1)} s`
  const timeline = seen.length ? seen.map((x) => `${x.status} after ${after(x)}`).join(', ') : 'none'
  const secs = Math.round(opts.waitMs / 1000)
  // A wamid encodes the recipient's number: the evidence names the message by its hash, as the receiver's journal does.
  const evidence = { request: `POST /{api_version}/{phone_number_id}/messages → message with id sha256 ${messageIdHash(wamid).slice(0, 12)}…`, bodyExcerpt: `status webhooks for it: ${timeline}` }
  const draft = (title: string, message: string, expected: string, actual: string): Finding => ({ contract: ROUND_TRIP_CONTRACT, check: ROUND_TRIP_CHECK, severity: 'warning', title, message, expected, actual, evidence, samples: 1, of: 1, since: opts.since, new: true })
  const delivered = seen.find((x) => x.status === 'delivered' && x.receivedAt <= deadline)
  const failed = seen.find((x) => x.status === 'failed')
  if (opts.signal?.aborted && !delivered) {
    return { results: [{ ...base, status: 'inconclusive', reason: 'interrupted while waiting for the status webhooks', durationMs: Date.now() - t0 }, ...verdict.contracts], findings }
  }
  if (failed) {
    findings.push(draft('The test message failed: a failed status webhook came for it', `Received: a failed status for the test message (${timeline})\nMeta could not deliver the message: the errors[] of the status say why (the recipient, the 24-hour window, a template). The round trip proves nothing about delivery until the test recipient can receive.`, 'sent, then delivered', timeline))
  } else if (!delivered) {
    const sent = seen.some((x) => x.status === 'sent')
    findings.push(
      draft(
        sent ? `No delivered status webhook within ${secs} s (sent came)` : `No status webhook within ${secs} s of the send`,
        `Received: ${timeline} for the test message in ${secs} s\n${sent ? 'Meta accepted the message but did not report it delivered in time: the phone may be off, or delivery slow; a warning, not a break: Meta does not promise a time.' : 'No status came at all: is the webhook subscription (field messages) on, and the callback reaching the receiver? Meta retries for days, so a late one may still come.'}`,
        `sent, then delivered within ${secs} s`,
        timeline,
      ),
    )
  }
  // The row is the round trip's own; drift in the status bodies is on their contracts' rows.
  const own = findings.some((f) => f.contract === ROUND_TRIP_CONTRACT && f.severity !== 'info')
  return { results: [{ ...base, status: own ? 'failed' : 'passed', durationMs: Date.now() - t0 }, ...verdict.contracts], findings }
}
