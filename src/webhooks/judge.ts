/**
 * Webhook bodies judged by the judge that judges operations (src/judge), so a severity means the
 * same whichever half of Meta's behaviour showed it. Each notification becomes an observation (the
 * change's value, redacted, as the "response body") and each webhook contract an expectation whose
 * one response is that body's schema; only the checks that make sense for a body run: body schema,
 * schema drift (contract and golden), golden diff. A missing field or a changed type is breaking,
 * a new field since the golden is info, as for an API answer.
 *
 * What the judge cannot know, this module adds: a message type or status value no contract names
 * (warning), a field no contract describes (info), and statuses per message id (sequences.ts).
 *
 * Incremental: bodies are added one by one (the receiver feeds them off its forwarding path), each
 * judged as it comes through an IncrementalJudge per contract, so memory does not grow with the
 * traffic but for the followed message ids.
 */
import { createHash } from 'node:crypto'
import { checks } from '../checks/index.ts'
import type { Expectation } from '../contracts/expectation.ts'
import type { Operation, ResponseExpectation } from '../contracts/types.ts'
import { foldKey, isDrift, type Finding } from '../model/finding.ts'
import type { Golden } from '../judge/index.ts'
import type { Observation } from '../model/observation.ts'
import { PersonalDataRedactor } from '../recordings/personal-data.ts'
import type { ContractResult } from '../model/report.ts'
import { IncrementalJudge } from '../traffic/incremental-judge.ts'
import { isWebhookBody, NO_ITEMS, notificationsOf, WEBHOOK_OBJECT, type Notification } from './body.ts'
import { loadWebhookContracts, type WebhookContract, type WebhookPack } from './contracts.ts'
import { redactWebhook } from './redact.ts'
import { failedStatusDrafts, StatusSequences, type SequenceDraft, type SequenceFigures } from './sequences.ts'

/** The checks that make sense for a webhook body: there is no status line, header or framing of Meta's to judge. */
export const WEBHOOK_CHECKS = [checks['body-schema-conformance'], checks['schema-drift'], checks['golden-diff']] as const

/** The check id of findings about what a notification is (a type, status value or field no contract names). */
export const KIND_CHECK = 'webhook-kind'
/** The check id of findings about statuses per message (sequences, failed without errors[], unknown codes). */
export const SEQUENCE_CHECK = 'webhook-sequence'

/** Options of a WebhookJudge. */
export interface WebhookJudgeOptions {
  /** The pack holding webhooks/ and schemas/ (default contracts/meta). */
  contractsDir?: string
  /** Base of a relative contractsDir (default process.cwd()). */
  cwd?: string
  /** ISO time findings are first seen at (the run's start). */
  since: string
  /** Golden recordings by webhook contract id (record --from of earlier webhook traffic). */
  golden?: ReadonlyMap<string, Golden>
  /** An already loaded pack (else loaded from contractsDir, cached). */
  pack?: WebhookPack
  /** Keep every judged observation per contract (record --from writes them as recordings). */
  keep?: boolean
}

/** Where a body came from and when. */
export interface WebhookBodyInfo {
  /** ISO time it was received; default now. */
  receivedAt?: string
  /** What messages name it by: `capture.har entry 3`, `bodies.jsonl line 12`. */
  where?: string
}

/** Counts for report.json's summary, like API traffic: bodies read, attributed to contracts, and not. */
export interface WebhookCounts {
  entries: number
  attributed: number
  unattributed: number
}

/** What judging every body added so far gives. */
export interface WebhookVerdict {
  findings: Finding[]
  /** One result per contract that judged a notification, as report.json lists them. */
  contracts: ContractResult[]
  counts: WebhookCounts
  sequences: SequenceFigures
}

const NO_HEADERS = { required: [], forbidden: [], patterns: [] }
const expectations = new WeakMap<WebhookContract, Expectation>()

/** A webhook contract as the judge takes it: one response (200, no headers pinned) whose body is the contract's schema. */
export function expectationOf(c: WebhookContract): Expectation {
  const hit = expectations.get(c)
  if (hit) return hit
  const response: ResponseExpectation = { statuses: [200], framing: 'any', headers: NO_HEADERS, bodySchema: c.id }
  const operation: Operation = {
    id: c.id,
    title: c.title,
    node: 'webhook',
    description: c.description,
    source: c.source,
    notes: c.notes,
    tags: ['webhook'],
    request: { method: 'POST', path: `/webhook/${c.field}`, query: {} },
    responses: [response],
    yields: [],
    file: c.file,
  }
  const exp: Expectation = { id: c.id, title: c.title, file: c.file, operation, request: requestLine(c), status: [200], anyError: false, responses: [response], framing: 'any', preflight: false }
  expectations.set(c, exp)
  return exp
}

function requestLine(c: WebhookContract): string {
  return c.field === '*' ? 'webhook body' : c.field === 'messages' ? `webhook messages ${c.kind}` : `webhook ${c.field}`
}

/** The prefix of an observation's URL: what follows is where the notification was. */
const AT = 'webhook:'

/** A notification's judged body as an observation: request and response are placeholders, the body is the redacted value. */
export function observationOf(contract: string, value: unknown, at: string, startedAt: string, sample: number): Observation {
  const text = JSON.stringify(value) ?? 'null'
  const size = Buffer.byteLength(text)
  return {
    contract,
    sample,
    startedAt,
    request: { method: 'POST', url: `${AT}${at}`, headers: [], bodySize: 0, tokenSent: false },
    response: {
      status: 200,
      statusText: 'OK',
      rawHeaders: [],
      framing: { kind: 'none', bytesRead: size },
      body: { size, sha256: createHash('sha256').update(text).digest('hex'), text, keptBytes: size, truncated: false, json: value },
    },
    timings: { totalMs: 0 },
  }
}

interface Judged {
  contract: WebhookContract
  judge: IncrementalJudge
  notifications: number
  kept?: Observation[]
}

/** Judges webhook bodies added one by one; verdict() says what judging them all gives. */
export class WebhookJudge {
  readonly pack: WebhookPack
  readonly counts: WebhookCounts = { entries: 0, attributed: 0, unattributed: 0 }
  private readonly personal = new PersonalDataRedactor()
  private readonly judged = new Map<string, Judged>()
  private readonly own = new Map<string, Finding>()
  private readonly sequences = new StatusSequences()
  private work: Promise<void> = Promise.resolve()
  private samples = 0

  constructor(private readonly opts: WebhookJudgeOptions) {
    this.pack = opts.pack ?? loadWebhookContracts(opts.contractsDir ?? 'contracts/meta', opts.cwd)
  }

  /** Adds one body (parsed JSON): judged as it comes, in the background; verdict() waits for it. */
  add(body: unknown, info: WebhookBodyInfo = {}): void {
    this.counts.entries++
    const where = info.where ?? `body ${this.counts.entries}`
    const at = info.receivedAt ?? new Date().toISOString()
    if (!isWebhookBody(body)) {
      this.counts.unattributed++
      this.note(KIND_CHECK, { contract: 'webhook.envelope', severity: 'info', title: 'Not a WhatsApp Business Account webhook body: not judged', message: `Received: a body whose object is not ${WEBHOOK_OBJECT} or that has no entry\nOnly WhatsApp Business Account webhooks are under contract.`, expected: 'object whatsapp_business_account with entry[]', actual: 'another body', at: where }, undefined)
      return
    }
    const envelope = this.pack.contract('envelope')
    if (envelope) this.judge(envelope, redactWebhook(body, this.personal), `${where} (whole body)`, at)
    const notifications = notificationsOf(body)
    let attributed = notifications.length > 0
    for (const n of notifications) if (!this.place(n, where, at)) attributed = false
    if (attributed) this.counts.attributed++
    else this.counts.unattributed++
  }

  /** Judges one notification under its contract; false when no contract names its kind. */
  private place(n: Notification, where: string, receivedAt: string): boolean {
    const at = `${where} ${n.path}`
    let contract = this.pack.contract(n.kind)
    let named = contract !== undefined
    const value = () => redactWebhook(n.value, this.personal)
    if (!contract) {
      const family = n.kind.startsWith('messages.') ? 'messages' : n.kind.startsWith('statuses.') ? 'statuses' : undefined
      const fallback = family && this.pack.contract(`${family}.*`)
      if (n.kind === NO_ITEMS || !family || !fallback) {
        const what = n.field === 'messages' ? 'A messages change with neither messages[] nor statuses[]' : `No contract for webhook field ${n.field}`
        this.note(KIND_CHECK, { contract: `webhook.${n.field}`, severity: n.field === 'messages' ? 'warning' : 'info', title: what, message: `Received: field ${n.field} at ${n.path}\n${n.field === 'messages' ? 'Meta sends inbound messages and statuses under this field; this change has neither, so nothing in it is judged.' : 'No webhook contract describes this field (contracts/meta/webhooks): it is counted as unattributed, not judged. Add a contract once the field is understood.'}`, expected: 'a field with a contract', actual: `field ${n.field}`, at }, value())
        return false
      }
      contract = fallback
      // A missing type or status is the schema's to say (breaking); an unknown value, a warning here.
      const raw = family === 'messages' ? n.item?.type : n.item?.status
      if (typeof raw === 'string') {
        const shown = n.kind.slice(family.length + 1)
        this.note(KIND_CHECK, { contract: fallback.id, severity: 'warning', title: family === 'messages' ? `Unknown message type ${shown}` : `Unknown status value ${shown}`, message: `Received: ${family === 'messages' ? `an inbound message of type ${shown}` : `a status ${shown}`} at ${n.path}\nNo webhook contract names it: judged against what every ${family === 'messages' ? 'message' : 'status'} carries (${fallback.file}). Applications that switch on it take their default path.`, expected: `a ${family === 'messages' ? 'message type' : 'status value'} a contract names`, actual: shown, at }, value())
      }
      named = false
    }
    const redacted = value()
    if (n.item && n.kind.startsWith('messages.') && n.item.type === undefined) {
      // Meta's own Postman sample of a contacts message has no type: a warning, and the kind told from the content.
      const told = named ? `told from its content: ${n.kind.slice('messages.'.length)}` : 'and no content that tells its type'
      this.note(KIND_CHECK, { contract: contract.id, severity: 'warning', title: 'Message without type', message: `Received: an inbound message without type at ${n.path}, ${told}\nEvery message Meta sends names its type; applications that switch on it take their default path.`, expected: 'type (a string)', actual: 'no type', at }, redacted)
    }
    this.judge(contract, redacted, at, receivedAt)
    if (n.kind.startsWith('statuses.') && n.item && n.messageId !== undefined && typeof n.item.status === 'string') {
      this.sequences.add({ messageId: n.messageId, status: n.item.status, ...(n.timestamp !== undefined ? { timestamp: n.timestamp } : {}), at, contract: contract.id })
      if (n.item.status === 'failed') for (const d of failedStatusDrafts(n.item, contract.id, at, this.pack.knownErrorCode)) this.note(SEQUENCE_CHECK, d, redacted)
    }
    return named
  }

  private judge(contract: WebhookContract, value: unknown, at: string, receivedAt: string): void {
    let j = this.judged.get(contract.id)
    if (!j) {
      // The envelope holds every notification: against a golden it would repeat each kind's news, so only kinds have one.
      const whole = contract.kind === 'envelope'
      const golden = whole ? undefined : this.opts.golden?.get(contract.id)
      j = {
        contract,
        judge: new IncrementalJudge(expectationOf(contract), { pack: { validateBody: this.pack.validateBody, projectedSchema: (s) => s }, since: this.opts.since, checks: WEBHOOK_CHECKS, ...(golden ? { golden } : {}) }),
        notifications: 0,
        ...(this.opts.keep && !whole ? { kept: [] } : {}),
      }
      this.judged.set(contract.id, j)
    }
    j.notifications++
    const o = observationOf(contract.id, value, at, receivedAt, ++this.samples)
    j.kept?.push({ ...o, sample: j.kept.length + 1 })
    const judge = j.judge
    const next = this.work.then(() => judge.add(o))
    next.catch(() => {})
    this.work = next
  }

  /** Folds one of this module's own findings (kind, sequence) by contract, check and title. */
  private note(check: typeof KIND_CHECK | typeof SEQUENCE_CHECK, d: SequenceDraft | (Omit<SequenceDraft, 'severity'> & { severity: Finding['severity'] }), value: unknown): void {
    const f: Finding = {
      contract: d.contract,
      check,
      severity: d.severity,
      title: d.title,
      message: d.message,
      expected: d.expected,
      actual: d.actual,
      evidence: evidenceAt(d.at, value),
      samples: 1,
      of: 1,
      since: this.opts.since,
      new: true,
    }
    const key = `${d.contract}\u0000${foldKey(f)}`
    const had = this.own.get(key)
    if (had) had.samples = had.of = had.samples + 1
    else this.own.set(key, f)
  }

  /** Resolves when every body added so far has been judged. */
  settled(): Promise<void> {
    return this.work
  }

  /** Observations judged per contract id (only with `keep`), for recordings. */
  observations(): ReadonlyMap<string, readonly Observation[]> {
    return new Map([...this.judged].filter(([, j]) => j.kept && j.kept.length > 0).map(([id, j]) => [id, j.kept!]))
  }

  /** The verdict over every body added so far (more may be added after). */
  async verdict(): Promise<WebhookVerdict> {
    await this.work
    const findings: Finding[] = []
    const contracts: ContractResult[] = []
    const { drafts, figures } = this.sequences.judge()
    const sequence = new Map<string, Finding>()
    for (const d of drafts) {
      const f: Finding = { contract: d.contract, check: SEQUENCE_CHECK, severity: d.severity, title: d.title, message: d.message, expected: d.expected, actual: d.actual, evidence: evidenceAt(d.at, undefined), samples: 1, of: 1, since: this.opts.since, new: true }
      const key = `${d.contract}\u0000${foldKey(f)}`
      const had = sequence.get(key)
      if (had) had.samples = had.of = had.samples + 1
      else sequence.set(key, f)
    }
    const own = [...this.own.values(), ...sequence.values()]
    for (const j of this.judged.values()) {
      const v = await j.judge.verdict()
      const mine = v.findings.map(located)
      findings.push(...mine)
      const failed = [...mine, ...own.filter((f) => f.contract === j.contract.id)].some(isDrift)
      // The envelope judges whole bodies that the other contracts judge notification by notification: counted once, by the notifications.
      const whole = j.contract.kind === 'envelope'
      const n = `${j.notifications} ${whole ? 'bod' : 'notification'}${j.notifications === 1 ? (whole ? 'y' : '') : whole ? 'ies' : 's'}`
      contracts.push({ contract: j.contract.id, title: j.contract.title, file: j.contract.file, request: requestLine(j.contract), status: failed ? 'failed' : 'passed', reason: n, probes: whole ? 0 : j.notifications, durationMs: 0 })
    }
    findings.push(...own)
    return { findings, contracts, counts: { ...this.counts }, sequences: figures }
  }
}

/** Evidence for a notification: where it was and its redacted body, no request to replay (Meta sent it). */
function evidenceAt(at: string, value: unknown): Finding['evidence'] {
  if (value === undefined) return { request: `webhook ${at}` }
  const text = JSON.stringify(value) ?? ''
  return { request: `webhook ${at}`, bodyExcerpt: text.length > 600 ? `${text.slice(0, 600)}… (${Buffer.byteLength(text)} bytes in all)` : text }
}

/**
 * schema-drift's words for a field only some recorded bodies had and none has today (schema/drift.ts).
 * An API answer to one request has the same fields every time; webhook bodies vary with what people
 * send (a reply has context, a plain message none): such a field is news, not drift.
 */
const SOMETIMES_SENT = /\) was sent in the recording of .*, and is no longer sent/

/** A judge finding as webhooks mean it: a field only sometimes recorded is info; the evidence says where the notification was and quotes its redacted body, no status line, headers or curl (nothing to replay). */
function located(f: Finding): Finding {
  const { request, bodyExcerpt, golden } = f.evidence
  const where = request?.startsWith(`POST ${AT}`) ? request.slice(`POST ${AT}`.length) : request
  const evidence = { ...(where ? { request: `webhook ${where}` } : {}), ...(bodyExcerpt !== undefined ? { bodyExcerpt } : {}), ...(golden ? { golden } : {}) }
  if (f.check === 'schema-drift' && f.severity === 'warning' && SOMETIMES_SENT.test(f.title)) {
    return { ...f, severity: 'info', message: `${f.message}\nOnly some recorded bodies had it: webhook bodies vary with what people send (a reply has context, a plain message none), so its absence is news, not drift.`, evidence }
  }
  return { ...f, evidence }
}
