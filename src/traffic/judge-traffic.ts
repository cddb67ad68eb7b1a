/**
 * Captured traffic, attributed and judged: the pipeline `verify`, `proxy` and `record --from`
 * share. Each entry is placed in traffic order (attribution learns ids as it goes): under an
 * operation, as a method the node does not take (consumer drift), as unattributed (with its
 * candidates), or as something no operation describes. Then each operation's exchanges are judged
 * together by the judge; unattributed exchanges only by what all their candidates agree on.
 *
 * Bounded in memory: each exchange is judged as it is placed (IncrementalJudge keeps per-identity
 * aggregates and excerpts, not observations), and what is said about unattributed and unmatched
 * exchanges is kept as the first exchange and a count. Attribution's learned ids and the writes
 * counted per path are kept for the most recent ones only (RecentMap, STATE_LIMITS, CHANGES_LIMIT).
 */
import { allChecks } from '../checks/index.ts'
import { operationExpectation, probeExpectation, rejectedMethodExpectation, type Expectation } from '../contracts/expectation.ts'
import type { ContractPack, Operation } from '../contracts/types.ts'
import { isDrift, type Finding } from '../model/finding.ts'
import { agreed, consumerMethod, foreignHost, judge, judgeAgreed, malformedUrl, MAX_DEPARTURE_KINDS, moreDepartures, noOperation, requestOffSchema, UNATTRIBUTED, unattributed, type Golden } from '../judge/index.ts'
import { sameRequest } from '../checks/sample-consistency.ts'
import { apiVersionIn, isVersionSegment } from '../graph/index.ts'
import { foldKey } from '../model/finding.ts'
import { outcomeOf, summarize, type ContractResult, type Report } from '../model/report.ts'
import type { Redactor } from '../transport/redact.ts'
import { attribute, learn, legacyOverride, mediaForDownload, segmentsOf, type TrafficState } from './attribute.ts'
import { parsedUrl } from './parsed-url.ts'
import { RecentMap } from './recent-map.ts'
import type { TrafficEntry } from './entry.ts'
import { Breather } from './breather.ts'
import { IdentityBudget, IncrementalJudge, keptSample } from './incremental-judge.ts'

/** Nodes and paths whose writes are counted (sample-consistency); past it the least recently written are forgotten. */
export const CHANGES_LIMIT = 50_000

/** What a change counts against, by URL (see asSample): the host and the first segment after the version, and the whole path. */
function nodeAndPath(href: string, url: URL): { node: string; path: string } {
  let known = nodeAndPathByUrl.get(href)
  if (!known) {
    const segments = segmentsOf(url.pathname).filter((s) => !isVersionSegment(s))
    known = { node: `${url.host}/${segments[0] ?? ''}`, path: `${url.host}/${segments.join('/')}` }
    if (href.length <= 2048) {
      if (nodeAndPathByUrl.size >= 1024) nodeAndPathByUrl.clear()
      nodeAndPathByUrl.set(href, known)
    }
  }
  return known
}
/** URLs nodeAndPath read lately, cleared when full: every send of a number asks the same URL. */
const nodeAndPathByUrl = new Map<string, { node: string; path: string }>()

/** What judging traffic needs. */
export interface TrafficJudgeOptions {
  pack: ContractPack
  state: TrafficState
  /** ISO time findings are first seen at. */
  since: string
  /** The pack's directory, as messages name it. */
  contractsDir: string
  /** Where the traffic came from, for result lines: `traffic.har`. */
  label: string
  /** Golden recordings by operation (or probe) id. */
  golden?: ReadonlyMap<string, Golden>
  /** Hosts that are the upstream besides Meta's own (the proxy's --upstream): what no operation describes there is listed request by request. */
  upstreamHosts?: readonly string[]
}

/** Where one entry went. */
export type Placement =
  | { kind: 'attributed'; exp: Expectation; basis: readonly string[]; findings?: readonly Finding[] }
  | { kind: 'wrong-method'; exp?: Expectation; finding: Finding }
  | { kind: 'unattributed'; candidates: readonly Operation[]; reason: string; basis: readonly string[] }
  | { kind: 'none'; reason: string }

/** Counts for report.json's summary: every entry is attributed or said why not. */
export interface TrafficCounts {
  entries: number
  attributed: number
  unattributed: number
}

interface Group {
  exp: Expectation
  op: Operation
  entries: number
  /** Entries with bodies, judged by every check; entries whose capture left the body out, by those that need none. */
  full?: IncrementalJudge
  bare?: IncrementalJudge
  /** Consumer findings, folded: one per title, samples counted. */
  consumer: Map<string, Finding>
}

interface Ambiguous {
  method: string
  candidates: readonly Operation[]
  first: TrafficEntry & { reason: string; basis: readonly string[] }
  entries: number
  /** One judge per candidate, for entries with and without bodies. */
  judges: Map<boolean, IncrementalJudge[]>
}

/** Exchanges no operation describes, per host: the first, how many, and the per-shape findings should the host turn out to be the upstream's. */
interface Unmatched {
  first: TrafficEntry
  entries: number
  shapes: Map<string, { finding: Finding; seq: number }>
}

/** At most this many request shapes per unmatched host, and unreadable URLs, are listed one by one; more are counted. */
const MAX_LISTED = 100

/** A list as long as `n` whose first element is `first`: what the consumer findings read of a list of exchanges (its length and its first). */
function firstOf<T>(first: T, n: number): readonly T[] {
  const list = new Array<T>(n)
  list[0] = first
  return list
}

/** Adds one to a folded finding, or keeps it as the first of its kind. */
function fold(into: Map<string, Finding>, f: Finding): void {
  const key = foldKey(f)
  const had = into.get(key)
  if (had) had.samples = had.of = had.samples + 1
  else into.set(key, f)
}

/** Hosts whose unmatched traffic is listed request by request (the upstream's own); others once per host. */
const META_HOSTS = /(^|\.)(facebook\.com|fbsbx\.com)$/

/**
 * Checks for exchanges judged by agreement: not graph-error (its "documented for <operation>" would
 * name a guess; the unattributed finding says what the exchange answered), and none that need a
 * body the capture left out.
 */
function agreedChecks(hasBody: boolean): typeof allChecks {
  return allChecks.filter((c) => c.id !== 'graph-error' && (hasBody || c.needs !== 'body'))
}

function hostOf(url: string): string {
  return parsedUrl(url)?.host ?? ''
}

/** Places entries as they come and judges them when asked. */
export class TrafficJudge {
  readonly counts: TrafficCounts = { entries: 0, attributed: 0, unattributed: 0 }
  /** When the traffic itself happened (capture time), first and last exchange: reported apart from the run's own times. */
  /** When the traffic happened, in ms since the epoch (dated as ISO once, in the report). */
  private captured: { from: number; to: number } | undefined
  private readonly groups = new Map<string, Group>()
  private readonly ambiguous = new Map<string, Ambiguous>()
  private readonly unmatched = new Map<string, Unmatched>()
  private readonly malformed: Finding[] = []
  /** Consumer findings about exchanges whose operation is not known (a legacy method override to an unknown id), folded. */
  private readonly consumerOnly = new Map<string, Finding>()
  private readonly seenHosts = new Set<string>()
  /** The first Graph version an entry asked for (the report names it). */
  private apiVersion: string | undefined
  /** Changes seen so far per node and per path (host and path without version): reads on either side of one are not samples of each other. */
  /**
   * Changes (writes) per node and per path, for sample-consistency: bounded, since every send
   * names a new path. A forgotten path reads as unchanged again, which could make a read after it
   * a sample of a read before its first write; but that read's identity would have to outlive
   * CHANGES_LIMIT later writes, and the identity budget keeps far fewer (LIMITS.identities), so
   * it is long gone (suites/traffic/recent-map.test.ts holds the two limits to that).
   */
  private readonly changes = new RecentMap<string, number>(CHANGES_LIMIT)
  /** Identities sample-consistency keeps, shared by every judge of this traffic. */
  private readonly budget = new IdentityBudget()
  /** Judging placed entries, in order; a failure surfaces in judgeAll. */
  private work: Promise<void> = Promise.resolve()

  constructor(private readonly opts: TrafficJudgeOptions) {
    for (const h of opts.upstreamHosts ?? []) this.seenHosts.add(h)
  }

  /** Attributes one entry (in traffic order), learns what it says, and files it for judging. */
  place(captured: TrafficEntry): Placement {
    const { pack, state } = this.opts
    const { entry, unique } = this.asSample(captured)
    const o = entry.observation
    this.counts.entries++
    this.noteCaptureTime(o.startedAt)
    this.apiVersion ??= apiVersionIn(o.request.url)
    const hinted = entry.hint ? this.hinted(entry.hint) : undefined
    if (hinted) {
      learn(hinted.op, o, entry.source, state)
      this.file(hinted.exp.id, hinted.exp, hinted.op, entry, unique)
      this.counts.attributed++
      this.seenHosts.add(hostOf(o.request.url))
      return { kind: 'attributed', exp: hinted.exp, basis: [`recorded as ${entry.hint}`] }
    }
    const a = attribute(pack, o, entry.requestBody, state)
    if (a.operation) {
      const exp = operationExpectation(a.operation)
      learn(a.operation, o, entry.source, state)
      const g = this.file(a.operation.id, exp, a.operation, entry, unique)
      // A body the docs do not describe: said once per path and reason under its operation, folded across exchanges.
      const findings = a.offSchema ? requestOffSchema(a.operation, a.offSchema, entry) : []
      for (const f of findings) fold(g.consumer, g.consumer.size < MAX_DEPARTURE_KINDS || g.consumer.has(foldKey(f)) ? f : moreDepartures(f))
      this.counts.attributed++
      this.seenHosts.add(hostOf(o.request.url))
      return { kind: 'attributed', exp, basis: a.basis, ...(findings.length > 0 ? { findings } : {}) }
    }
    if (a.wrongMethod) {
      const how = a.basis.length ? `The traffic said: ${a.basis.join('; ')}.` : ''
      this.seenHosts.add(hostOf(o.request.url))
      if (!a.wrongMethod.certain) {
        // The method is wrong whichever operation it was after; which one, the traffic does not say.
        const finding = consumerMethod(undefined, a.wrongMethod.accepts, entry, how)
        fold(this.consumerOnly, finding)
        this.counts.unattributed++
        return { kind: 'wrong-method', finding }
      }
      // Report under the operation that reads the node (GET), else the first one on it.
      const op = a.wrongMethod.operations.find((x) => x.request.method === 'GET') ?? a.wrongMethod.operations[0]!
      const method = o.request.method.toUpperCase() as Operation['request']['method']
      const exp = rejectedMethodExpectation(op, method, a.wrongMethod.accepts)
      const finding = consumerMethod(op, a.wrongMethod.accepts, entry, how)
      fold(this.file(`${op.id} ${method}`, exp, op, entry, unique).consumer, finding)
      this.counts.attributed++
      return { kind: 'wrong-method', exp, finding }
    }
    this.counts.unattributed++
    if (a.candidates.length > 1) {
      const key = `${o.request.method} ${a.candidates.map((c) => c.id).join(',')}`
      const reason = a.reason ?? 'ambiguous'
      let g = this.ambiguous.get(key)
      if (!g) {
        g = { method: o.request.method, candidates: a.candidates, first: { ...entry, observation: keptSample(o, false), reason, basis: a.basis }, entries: 0, judges: new Map() }
        this.ambiguous.set(key, g)
      }
      g.entries++
      let judges = g.judges.get(entry.hasBody)
      if (!judges) {
        const checks = agreedChecks(entry.hasBody)
        judges = a.candidates.map((c) => new IncrementalJudge(operationExpectation(c), { pack: this.opts.pack, since: this.opts.since, checks, budget: this.budget }))
        g.judges.set(entry.hasBody, judges)
      }
      for (const j of judges) this.enqueue(() => j.add(o, { unique }))
      return { kind: 'unattributed', candidates: a.candidates, reason, basis: a.basis }
    }
    const reason = a.reason ?? 'no operation describes it'
    this.keepUnmatched(entry, reason)
    return { kind: 'none', reason }
  }

  /** Resolves when every entry placed so far has been judged; rejects with what judging one threw. */
  settled(): Promise<void> {
    return this.work
  }

  private enqueue(job: () => Promise<void>): void {
    const next = this.work.then(job)
    // Surfaced by settled() and judgeAll(); not an unhandled rejection in between.
    next.catch(() => {})
    this.work = next
  }

  private keepUnmatched(entry: TrafficEntry, reason: string): void {
    const host = hostOf(entry.observation.request.url)
    if (!host) {
      const f = malformedUrl(entry)
      if (this.malformed.length < MAX_LISTED) this.malformed.push(f)
      else this.malformed[MAX_LISTED - 1]!.samples = this.malformed[MAX_LISTED - 1]!.of += 1
      return
    }
    let u = this.unmatched.get(host)
    if (!u) {
      u = { first: { ...entry, observation: keptSample(entry.observation, false) }, entries: 0, shapes: new Map() }
      this.unmatched.set(host, u)
    }
    u.entries++
    // Whether the host is the upstream's is known only at the end (a later entry may be attributed on it): both are kept.
    const f = noOperation(entry, this.opts.contractsDir, reason)
    const had = u.shapes.get(f.title)
    if (had) had.finding.samples = had.finding.of = had.finding.samples + 1
    else if (u.shapes.size < MAX_LISTED) u.shapes.set(f.title, { finding: f, seq: this.counts.entries })
  }

  /**
   * Says which earlier requests this one is a sample of (sample-consistency). Only reads are
   * samples: a request that changes something (POST, DELETE; a legacy `method=get` is a read) may
   * rightly be answered differently the second time ("created", then "already exists"), so it is a
   * sample of nothing. And a change on a node starts new samples of every read of that node and of
   * the changed path: a retrieve before a delete and the same retrieve after it are two questions.
   * Traffic does not say whether a change explains a new answer; a false "intermittent" on real
   * traffic costs more than a missed one, so the split errs that way.
   */
  private asSample(entry: TrafficEntry): { entry: TrafficEntry; unique: boolean } {
    const o = entry.observation
    const url = parsedUrl(o.request.url)
    if (!url) return { entry, unique: false }
    const { node, path } = nodeAndPath(o.request.url, url)
    const contentType = o.request.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1]
    const method = legacyOverride(o.request.method, url, entry.requestBody, contentType) ?? o.request.method.toUpperCase()
    let sampleOf: string
    const read = method === 'GET' || method === 'HEAD'
    if (read) {
      sampleOf = `${sameRequest(o)}\u0000after ${this.changes.get(node) ?? 0}/${this.changes.get(path) ?? 0} changes`
    } else {
      for (const k of node === path ? [node] : [node, path]) this.changes.set(k, (this.changes.get(k) ?? 0) + 1)
      sampleOf = `${sameRequest(o)}\u0000change ${this.counts.entries + 1}`
    }
    // Object.assign, not a spread: a spread and then a key its source lacks (sampleOf) takes V8's slow road (see attribute.ts's resolve).
    return { entry: { ...entry, observation: { ...o, request: Object.assign({}, o.request, { sampleOf }) } }, unique: !read }
  }

  private hinted(id: string): { exp: Expectation; op: Operation } | undefined {
    const { pack } = this.opts
    const probe = pack.probes.find((p) => p.id === id)
    if (probe) {
      const op = pack.operation(probe.operation)!
      return { exp: probeExpectation(probe, op), op }
    }
    const op = pack.operation(id)
    return op ? { exp: operationExpectation(op), op } : undefined
  }

  private file(key: string, exp: Expectation, op: Operation, entry: TrafficEntry, unique: boolean): Group {
    const g: Group = this.groups.get(key) ?? { exp, op, entries: 0, consumer: new Map() }
    this.groups.set(key, g)
    g.entries++
    const { pack, state, since } = this.opts
    let j: IncrementalJudge
    if (entry.hasBody) {
      const golden = this.opts.golden?.get(exp.id)
      j = g.full ??= new IncrementalJudge(exp, { pack, since, checks: allChecks, budget: this.budget, media: (o) => mediaForDownload(op, o, state), ...(golden ? { golden } : {}) })
    } else {
      j = g.bare ??= new IncrementalJudge(exp, { pack, since, checks: allChecks.filter((c) => c.needs !== 'body'), budget: this.budget })
    }
    const o = entry.observation
    this.enqueue(() => j.add(o, { unique }))
    return g
  }

  /** Judges one group: entries with bodies by every check, entries whose capture left the body out by those that need none. */
  private async judgeGroup(g: Group): Promise<{ findings: Finding[]; usable: number }> {
    const findings: Finding[] = [...g.consumer.values()]
    let usable = 0
    for (const j of [g.full, g.bare]) {
      if (!j) continue
      const v = await j.verdict()
      findings.push(...v.findings)
      usable += v.usable
    }
    return { findings, usable }
  }

  /**
   * Judges one entry as soon as it is placed (the proxy's live line): alone under its operation,
   * by agreement when unattributed, or as something no operation describes. The session's
   * judgeAll sees every exchange together (sample consistency across identical requests).
   */
  async judgeOne(entry: TrafficEntry, placement: Placement): Promise<Finding[]> {
    const { pack, since, state } = this.opts
    const o = entry.observation
    switch (placement.kind) {
      case 'attributed':
      case 'wrong-method': {
        if (!placement.exp) return placement.kind === 'wrong-method' ? [placement.finding] : []
        const op = placement.exp.operation
        const v = await judge(placement.exp, [o], { pack, since, media: (x) => mediaForDownload(op, x, state), ...(entry.hasBody ? {} : { checks: allChecks.filter((c) => c.needs !== 'body') }) })
        return placement.kind === 'wrong-method' ? [placement.finding, ...v.findings] : [...(placement.findings ?? []), ...v.findings]
      }
      case 'unattributed': {
        const agreed = await judgeAgreed(UNATTRIBUTED, placement.candidates.map((c) => operationExpectation(c)), [o], { pack, since, checks: agreedChecks(entry.hasBody) })
        return [unattributed(o.request.method, placement.candidates, [{ ...entry, reason: placement.reason, basis: placement.basis }]), ...agreed]
      }
      case 'none': {
        const host = hostOf(o.request.url)
        if (!host) return [malformedUrl(entry)]
        return [this.seenHosts.has(host) || META_HOSTS.test(host.replace(/:\d+$/, '')) ? noOperation(entry, this.opts.contractsDir, placement.reason) : foreignHost(host, [entry], this.opts.contractsDir)]
      }
    }
  }

  /** Judges everything placed so far: findings, and one result per operation (or probe) seen. */
  async judgeAll(): Promise<{ findings: Finding[]; results: ContractResult[] }> {
    await this.work
    const findings: Finding[] = []
    const byId = new Map<string, { exp: Expectation; entries: number; usable: number; failed: boolean }>()
    // Each verdict is promise callbacks only: a turn of the event loop between them lets Ctrl-C in.
    const breather = new Breather()
    for (const g of this.groups.values()) {
      await breather.breathe()
      const v = await this.judgeGroup(g)
      findings.push(...v.findings)
      const r = byId.get(g.exp.id) ?? { exp: g.exp, entries: 0, usable: 0, failed: false }
      r.entries += g.entries
      r.usable += v.usable
      r.failed ||= v.findings.some(isDrift)
      byId.set(g.exp.id, r)
    }
    for (const g of this.ambiguous.values()) {
      await breather.breathe()
      findings.push(unattributed(g.method, g.candidates, firstOf(g.first, g.entries)))
      for (const hasBody of [true, false]) {
        const judges = g.judges.get(hasBody)
        if (judges) findings.push(...agreed(UNATTRIBUTED, judges.map((j) => j.exp), await Promise.all(judges.map((j) => j.verdict()))))
      }
    }
    findings.push(...this.consumerOnly.values(), ...this.unmatchedFindings())
    const results: ContractResult[] = [...byId.values()].map(({ exp, entries, usable, failed }) => {
      const n = `${entries} entr${entries === 1 ? 'y' : 'ies'} from ${this.opts.label}`
      return {
        contract: exp.id,
        title: exp.title,
        file: exp.file,
        request: exp.request,
        status: failed ? 'failed' : usable > 0 ? 'passed' : 'inconclusive',
        reason: failed || usable > 0 ? n : `${n}, none with a usable response`,
        probes: entries,
        durationMs: 0,
      }
    })
    return { findings, results }
  }

  private noteCaptureTime(at: string): void {
    const t = Date.parse(at)
    if (!Number.isFinite(t)) return
    if (!this.captured) this.captured = { from: t, to: t }
    else if (t < this.captured.from) this.captured.from = t
    else if (t > this.captured.to) this.captured.to = t
  }

  /**
   * Judges everything placed and builds the report: `target` as report.json names it, summary with the
   * traffic counts. One time base: every time in the report is run time (a finding is new as of this
   * run; the history says since when), and when the traffic happened is said apart, as `captured`.
   */
  async report(target: string, redactor: Redactor): Promise<Report> {
    const { findings, results } = await this.judgeAll()
    const summary = { ...summarize(results, findings), ...this.counts }
    return {
      version: 1,
      target,
      apiVersion: this.apiVersion ?? 'unversioned',
      startedAt: this.opts.since,
      finishedAt: new Date().toISOString(),
      ...(this.captured ? { captured: { from: new Date(this.captured.from).toISOString(), to: new Date(this.captured.to).toISOString() } } : {}),
      outcome: outcomeOf(summary),
      summary,
      findings: findings.map((f) => redactor.deep({ ...f, since: this.opts.since })),
      results,
    }
  }

  /**
   * Exchanges no operation describes: one finding per request shape on the upstream's own hosts
   * (and hosts other entries were attributed on), one per host elsewhere (a browser HAR's fonts
   * and analytics are one line each, not hundreds).
   */
  private unmatchedFindings(): Finding[] {
    const upstream: { finding: Finding; seq: number }[] = []
    const foreign: Finding[] = []
    for (const [host, u] of this.unmatched) {
      if (this.seenHosts.has(host) || META_HOSTS.test(host.replace(/:\d+$/, ''))) upstream.push(...u.shapes.values())
      else foreign.push(foreignHost(host, firstOf(u.first, u.entries), this.opts.contractsDir))
    }
    return [...this.malformed, ...upstream.sort((a, b) => a.seq - b.seq).map((x) => x.finding), ...foreign]
  }
}
