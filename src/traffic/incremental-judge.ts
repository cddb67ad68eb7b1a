/**
 * One expectation judged over a stream of exchanges, in memory that does not grow with the
 * traffic: the verdict `judge(exp, everyObservation)` would give, without holding every
 * observation. A 1 GB HAR and a 100,000-request proxy session stay flat.
 *
 * Checks that judge each exchange on its own (status, framing, headers, body schema, ...) run on
 * each exchange as it comes, through the judge; their findings fold as the judge folds them (one
 * per check and title, samples counted, the first exchange's evidence). What remains of an
 * exchange is the finding's evidence, an excerpt.
 *
 * Checks that compare exchanges with each other keep aggregates instead of observations. Each
 * aggregate holds classes of exchanges that the check cannot tell apart, with a count and the
 * first exchange of the class as its sample (its body cut to the evidence excerpt); at the end
 * the check runs on the samples, each repeated by its count, which gives it the same answer as
 * the whole traffic would:
 *
 * - sample-consistency: per request identity, one class per (status, framing). Requests that
 *   change something are samples of nothing and are not kept. Policy: the most recently seen
 *   LIMITS.identities identities are kept, across every judge of the traffic (IdentityBudget);
 *   beyond that the least recently seen one that showed only one kind of answer is forgotten (a
 *   split is never forgotten), so a request that comes back after that many others starts afresh.
 * - golden-diff (with a golden recording): one class per status, framing, HTTP version, header
 *   names and the values of headers that are not volatile.
 * - schema-drift: one class per schema, inferred body shape and set of contract violations,
 *   bodies kept whole (they are what is compared).
 * - parameter-rejection and graph-error on token errors (190): the first success of each
 *   distinct request (the twin a token error is compared with; the last LIMITS.successes kept)
 *   and one class per request and error.
 *
 * Policy for every class list: at most LIMITS.classes classes; an exchange of a class beyond
 * that is counted (in `of`) but not compared. Real traffic has a handful per operation.
 *
 * Most exchanges are not judged at all: one whose judge key (every check's projection of it, see
 * judgeKey) was seen is counted into the findings its first got, which is all judging it would do.
 * At most LIMITS.judged keys per judge are kept (10,781 entries of small real-shaped traffic had 54
 * in all); an exchange with a key beyond that is judged.
 */
import { Breather } from './breather.ts'
import type { Check, CheckContext } from '../checks/check.ts'
import { expectedResponse } from '../checks/check.ts'
import { requestIdentity } from '../checks/sample-consistency.ts'
import type { Expectation } from '../contracts/expectation.ts'
import type { SchemaViolation } from '../contracts/types.ts'
import { foldKey, isDrift, type Finding } from '../model/finding.ts'
import { describeStatus, graphError } from '../graph/index.ts'
import { bodySchemaFor, checkContext, judge, judgeKey, viewsOf, type JudgeOptions, type Verdict } from '../judge/index.ts'
import type { Observation } from '../model/observation.ts'
import { isVolatileHeader } from '../recordings/volatile.ts'
import { inferSchema, jsonTypeOf } from '../schema/infer.ts'
import { MAX_WALK_DEPTH } from '../util/json.ts'
import { parsedUrl } from './parsed-url.ts'

/** How much a judge keeps (see the policy above); `judged`: exchanges' judge keys remembered, with what they gave. */
export const LIMITS = { identities: 4096, successes: 1024, classes: 1024, judged: 256 }

/**
 * Whether judges reuse what an exchange gave for a later one with the same judge key (on by
 * default). Off, every exchange is judged anew: the proof that both give the same reports
 * (suites/traffic/judge-memo.test.ts) and the bench's before and after. `reused` counts the
 * exchanges counted without judging, in this process.
 */
export const judgeMemo = { enabled: true, reused: 0 }

/** What judging one exchange gave, as a later one with the same key is counted: its findings' fold keys and samples, and whether it was usable. */
interface Judged {
  folds: readonly (readonly [string, number])[]
  usable: number
}

/** Body texts keepBody remembers the class of, per schema (cleared when full), and the longest it remembers. */
const CLASS_TEXTS_KEPT = 128
const CLASS_TEXT_CHARS = 2048

/** How much of a body text a kept sample holds: one character past the evidence excerpt, so the evidence reads the same. */
const KEPT_TEXT = 601

/** Checks that compare exchanges with each other. */
const ACROSS = new Set(['sample-consistency', 'golden-diff', 'schema-drift', 'parameter-rejection', 'graph-error'])
/** Of those, the ones a token error needs the whole traffic for (the twin may come later). */
const TWIN = new Set(['parameter-rejection', 'graph-error'])
/** Query parameters that carry the token, not the question (as parameter-rejection reads a request). */
const CREDENTIAL_PARAMS = new Set(['access_token', 'appsecret_proof'])

/** An observation as a kept sample: the body cut to what evidence quotes, parsed JSON only when a check reads it. */
export function keptSample(o: Observation, keepJson: boolean): Observation {
  const r = o.response
  if (!r) return o
  const { json, text, base64, ...body } = r.body
  // Object.assign, not spreads: keys added after a spread take V8's slow road (~1 µs an object), and a sample is kept
  // for most new request identities. The same keys in the same order.
  return {
    ...o,
    response: {
      ...r,
      body: Object.assign(
        body,
        text !== undefined ? { text: text.length > KEPT_TEXT ? text.slice(0, KEPT_TEXT) : text } : undefined,
        base64 !== undefined ? { base64: base64.slice(0, 64) } : undefined,
        keepJson && json !== undefined ? { json } : undefined,
      ),
    },
  }
}

/** Classes of exchanges a check cannot tell apart, in the order their first exchange came, each with a count. */
class Classes {
  readonly byKey = new Map<string, { sample: Observation; count: number }>()
  constructor(private readonly limit: number) {}

  add(key: string, sample: () => Observation): void {
    const c = this.byKey.get(key)
    if (c) c.count++
    else if (this.byKey.size < this.limit) this.byKey.set(key, { sample: sample(), count: 1 })
  }

  /** Each class's sample, repeated by its count (the same object: the list costs a reference per exchange). */
  expand(out: Observation[] = []): Observation[] {
    for (const { sample, count } of this.byKey.values()) for (let i = 0; i < count; i++) out.push(sample)
    return out
  }
}

/** One request identity's answers (sample-consistency). */
interface Identity {
  id: string
  first: number
  classes: Classes
  /** The judge's map it lives in, so the budget can forget it there. */
  owner: Map<string, Identity>
}

/**
 * Identities kept across every judge of one traffic, least recently seen first: a read is forgotten
 * when the total is over the limit and it showed only one kind of answer. One budget per traffic
 * keeps the total flat however many operations the traffic touches.
 */
export class IdentityBudget {
  private readonly lru = new Map<Identity, true>()
  constructor(readonly limit = LIMITS.identities) {}

  /** Marks an identity as just seen, and forgets the least recently seen ones over the limit. */
  touch(identity: Identity): void {
    this.lru.delete(identity)
    this.lru.set(identity, true)
    if (this.lru.size <= this.limit) return
    for (const old of this.lru.keys()) {
      if (old.classes.byKey.size > 1) continue
      this.lru.delete(old)
      old.owner.delete(old.id)
      return
    }
  }
}

/** How parameter-rejection tells requests apart: method, host, path and the query without credentials. */
function requestParts(o: Observation): { path: string; query: string } | undefined {
  const { method, url } = o.request
  // A method may hold a space (the HAR reader does not check it): the NUL keeps two requests from sharing a key.
  const key = `${method}\u0000${url}`
  const known = partsByRequest.get(key)
  if (known !== undefined) return known ?? undefined
  const u = parsedUrl(url)
  let parts: { path: string; query: string } | null = null
  if (u) {
    const pairs: string[] = []
    for (const [k, v] of u.searchParams) if (!CREDENTIAL_PARAMS.has(k)) pairs.push(`${k}=${v}`)
    parts = { path: `${method} ${u.host}${u.pathname}`, query: pairs.sort().join('&') }
  }
  if (url.length <= PARTS_CHARS) {
    if (partsByRequest.size >= PARTS_KEPT) partsByRequest.clear()
    partsByRequest.set(key, parts)
  }
  return parts ?? undefined
}

/** Requests requestParts read lately (null: the URL does not parse), cleared when full: every send of a number has the same method and URL. Read only. */
const partsByRequest = new Map<string, { path: string; query: string } | null>()
const PARTS_KEPT = 1024
/** Longer URLs are read each time, never kept. */
const PARTS_CHARS = 2048

/** What the judge needs, with the checks to run. */
export interface IncrementalJudgeOptions extends Omit<JudgeOptions, 'checks' | 'basePassed'> {
  checks: readonly Check[]
  /** Shared by every judge of one traffic (default: one of this judge's own). */
  budget?: IdentityBudget
}

/** Whether an exchange can be a sample of another (a change, `TrafficJudge` says, is a sample of nothing). */
export interface AddOptions {
  unique?: boolean
}

/** A folded finding and where it first came: the exchange's sequence and its place in that exchange's verdict. */
interface Folded {
  finding: Finding
  seq: number
  at: number
}

/** Judges one expectation over exchanges added one by one; `verdict()` says what judging them all at once would. */
export class IncrementalJudge {
  private readonly ids: Set<string>
  private readonly each: readonly Check[]
  private readonly eachWithoutTwin: readonly Check[]
  private readonly eachOpts: JudgeOptions
  private readonly eachWithoutTwinOpts: JudgeOptions
  private readonly views = { any: 0, headers: 0, body: 0 }
  private usable = 0
  private seq = 0
  private readonly folded = new Map<string, Folded>()
  private readonly identities = new Map<string, Identity>()
  private readonly budget: IdentityBudget
  private readonly golden: Classes | undefined
  private readonly bodies: Classes | undefined
  private readonly successes = new Map<string, Observation>()
  private readonly tokenErrors = new Classes(LIMITS.classes)
  /** Violations of each body sample, by schema: computed once, read again by the final judge. */
  private readonly violations = new WeakMap<object, Map<string, SchemaViolation[]>>()
  /**
   * Exchanges judged alone, by judge key (see judgeKey): a later exchange with the same key gets
   * findings of the same checks, severities and titles, as many, which fold into the first's
   * (its message and evidence stand for them all): counting them is all judging it would add.
   */
  private readonly judged: Map<string, Judged> | undefined
  /** The context the checks judge one exchange in, for its key (judge builds its own, the same). */
  private readonly ctx: CheckContext
  /**
   * schema-drift's class of a body and its violations, by schema and body text: every reader
   * parses the JSON from the text (redaction changes both alike), so equal texts have equal
   * classes. About half the bodies of real-shaped traffic repeat one seen lately (a profile, a
   * template list, an error), and skip validating and walking it again. Off with judgeMemo.
   */
  private readonly classOfText: Map<string, Map<string, { key: string; violations: SchemaViolation[] }>> | undefined

  constructor(
    readonly exp: Expectation,
    private readonly opts: IncrementalJudgeOptions,
  ) {
    this.ids = new Set(opts.checks.map((c) => c.id))
    this.budget = opts.budget ?? new IdentityBudget()
    const drift = this.ids.has('schema-drift') && exp.responses.some((r) => r.bodySchema)
    this.each = opts.checks.filter((c) => !ACROSS.has(c.id) || TWIN.has(c.id)).map((c) => (drift ? besideSchemaDrift(c) : c))
    this.eachWithoutTwin = this.each.filter((c) => !TWIN.has(c.id))
    // The judge's options for one exchange, made once (judge only reads them) rather than spread for every exchange.
    this.eachOpts = { ...opts, checks: this.each }
    this.eachWithoutTwinOpts = { ...opts, checks: this.eachWithoutTwin }
    this.golden = opts.golden && this.ids.has('golden-diff') ? new Classes(LIMITS.classes) : undefined
    this.bodies = this.ids.has('schema-drift') && exp.responses.some((r) => r.bodySchema) ? new Classes(LIMITS.classes) : undefined
    this.judged = judgeMemo.enabled ? new Map() : undefined
    this.classOfText = judgeMemo.enabled && this.bodies ? new Map() : undefined
    this.ctx = checkContext(exp, this.eachOpts)
  }

  /** Exchanges added. */
  get count(): number {
    return this.seq
  }

  /** Judges one exchange (in traffic order) and keeps what the checks across exchanges need. */
  async add(o: Observation, opts: AddOptions = {}): Promise<void> {
    const seq = this.seq++
    const v = viewsOf(this.exp, [o])
    this.views.any += v.any.length
    this.views.headers += v.headers.length
    this.views.body += v.body.length
    const twinWanted = v.body.length > 0 && this.isTokenError(o)
    const checks = twinWanted ? this.eachWithoutTwin : this.each
    const key = this.judged && judgeKey(this.exp, o, checks, this.ctx, v)
    const seen = key === undefined ? undefined : this.judged!.get(`${twinWanted ? 1 : 0}${key}`)
    if (seen) {
      judgeMemo.reused++
      this.usable += seen.usable
      // Every fold key is there: the first exchange with this judge key put it there.
      for (const [k, samples] of seen.folds) this.folded.get(k)!.finding.samples += samples
    } else {
      const verdict = await judge(this.exp, [o], twinWanted ? this.eachWithoutTwinOpts : this.eachOpts)
      this.usable += verdict.usable
      const folds: [string, number][] = []
      verdict.findings.forEach((f, at) => {
        const k = foldKey(f)
        folds.push([k, f.samples])
        const had = this.folded.get(k)
        if (had) had.finding.samples += f.samples
        else this.folded.set(k, { finding: f, seq, at })
      })
      if (key !== undefined && this.judged!.size < LIMITS.judged) this.judged!.set(`${twinWanted ? 1 : 0}${key}`, { folds, usable: verdict.usable })
    }
    let lean: Observation | undefined
    const sample = () => (lean ??= keptSample(o, false))
    if (v.headers.length > 0) {
      if (this.ids.has('sample-consistency') && !opts.unique) this.keepIdentity(o, seq, sample)
      if (this.golden) this.golden.add(this.goldenKey(o), sample)
    }
    if (v.body.length === 0) return
    if (this.bodies) this.keepBody(o)
    if (!this.ids.has('parameter-rejection') && !this.ids.has('graph-error')) return
    const r = o.response!
    if (twinWanted) {
      const parts = requestParts(o)
      const e = graphError(r.body.json)!
      this.tokenErrors.add(`${parts?.path}?${parts?.query}\u0000${describeStatus(r)}\u0000${e.type}\u0000${e.subcode}\u0000${e.message !== undefined}`, () => keptSample(o, true))
    } else if (r.status < 300) {
      const parts = requestParts(o)
      if (!parts) return
      const key = `${parts.path}?${parts.query}`
      if (this.successes.has(key)) return
      this.successes.set(key, twinOf(o))
      if (this.successes.size > LIMITS.successes) this.successes.delete(this.successes.keys().next().value!)
    }
  }

  /** The verdict over every exchange added so far (non-destructive: more may be added after). */
  async verdict(): Promise<Verdict> {
    const across = new Map<string, Finding[]>()
    const run = async (ids: string[], observations: Observation[], pack?: JudgeOptions['pack']) => {
      const checks = this.opts.checks.filter((c) => ids.includes(c.id))
      if (checks.length === 0 || observations.length === 0) return
      const v = await judge(this.exp, observations, { ...this.opts, ...(pack ? { pack } : {}), checks })
      for (const f of v.findings) {
        const list = across.get(f.check)
        if (list) list.push(f)
        else across.set(f.check, [f])
      }
    }
    const identities = [...this.identities.values()].sort((a, b) => a.first - b.first)
    // Each of these judges as many exchanges as the traffic had: a turn of the event loop between them lets Ctrl-C in.
    const breather = new Breather()
    await run(['sample-consistency'], identities.reduce<Observation[]>((out, i) => i.classes.expand(out), []))
    await breather.breathe()
    if (this.golden) await run(['golden-diff'], this.golden.expand())
    await breather.breathe()
    if (this.bodies) await run(['schema-drift'], this.bodies.expand(), { validateBody: (schema, body) => this.validate(schema, body), projectedSchema: (schema, fields) => this.opts.pack.projectedSchema(schema, fields) })
    await breather.breathe()
    await run(['parameter-rejection', 'graph-error'], [...this.successes.values(), ...this.tokenErrors.expand()])

    const byCheck = new Map<string, Folded[]>()
    for (const f of this.folded.values()) {
      const list = byCheck.get(f.finding.check)
      if (list) list.push(f)
      else byCheck.set(f.finding.check, [f])
    }
    const findings: Finding[] = []
    for (const c of this.opts.checks) {
      const mine = (byCheck.get(c.id) ?? []).sort((a, b) => a.seq - b.seq || a.at - b.at).map((f) => f.finding)
      for (const f of [...mine, ...(across.get(c.id) ?? [])]) findings.push({ ...f, of: this.views[c.needs] })
    }
    const status = findings.some(isDrift) ? 'failed' : this.usable === 0 ? 'inconclusive' : 'passed'
    return { findings, status, usable: this.usable }
  }

  private isTokenError(o: Observation): boolean {
    const r = o.response
    return (this.ids.has('parameter-rejection') || this.ids.has('graph-error')) && !!r && r.status >= 400 && graphError(r.body.json)?.code === 190
  }

  private keepIdentity(o: Observation, seq: number, sample: () => Observation): void {
    const id = requestIdentity(o)
    const r = o.response!
    let identity = this.identities.get(id)
    if (!identity) {
      identity = { id, first: seq, classes: new Classes(LIMITS.classes), owner: this.identities }
      this.identities.set(id, identity)
    }
    identity.classes.add(`${r.status}\u0000${r.framing.kind}`, sample)
    this.budget.touch(identity)
  }

  private goldenKey(o: Observation): string {
    const r = o.response!
    // Values of volatile headers are never compared with the recording, only their presence: leaving them out keeps the classes few.
    const headers = r.rawHeaders.map(([n, v]) => {
      const name = n.toLowerCase()
      return isVolatileHeader(name) || name.startsWith('x-fb-') ? name : `${name}: ${v}`
    })
    return [r.status, r.framing.kind, r.httpVersion ?? '', ...headers].join('\u0000')
  }

  private keepBody(o: Observation): void {
    const hit = expectedResponse(o, this.exp)
    const body = hit?.r.body
    const json = body?.json
    if (!hit || json === undefined || body!.truncated) return
    const schema = bodySchemaFor(this.opts.pack, o, hit.spec)
    if (!schema) return
    // A body's class and violations are its text's: a text seen lately under this schema is not validated and walked again.
    const text = body!.text
    const byText = this.classOfText && text !== undefined && text.length <= CLASS_TEXT_CHARS ? (this.classOfText.get(schema) ?? this.classOfText.set(schema, new Map()).get(schema)!) : undefined
    let known = byText?.get(text!)
    if (!known) {
      const violations = this.opts.pack.validateBody(schema, json)
      const broken = violations.length === 0 ? '' : [...new Set(violations.map((x) => `${x.path.replace(/\[\d+\]/g, '[*]')} ${x.keyword}`))].sort().join('\u0000')
      known = { key: `${schema}\u0000${inferredKey(json)}\u0000${broken}`, violations }
      if (byText) {
        if (byText.size >= CLASS_TEXTS_KEPT) byText.clear()
        byText.set(text!, known)
      }
    }
    const { violations } = known
    this.bodies!.add(known.key, () => {
      const sample = keptSample(o, true)
      // Only objects can key the cache; a body of null, a string or a number is validated again when asked.
      const kept = sample.response!.body.json
      if (kept !== null && typeof kept === 'object') this.violations.set(kept, new Map([[schema, violations]]))
      return sample
    })
  }

  private validate(schema: string, body: unknown): SchemaViolation[] {
    const known = body !== null && typeof body === 'object' ? this.violations.get(body) : undefined
    const hit = known?.get(schema)
    if (hit) return hit
    const found = this.opts.pack.validateBody(schema, body)
    if (known) known.set(schema, found)
    return found
  }
}

/**
 * A check as it runs when the judge computed schema deltas for the same exchanges: body-schema-conformance then
 * leaves schema violations to schema-drift (one cause, one finding). Judged one by one, the deltas come at the end.
 */
function besideSchemaDrift(c: Check): Check {
  if (c.id !== 'body-schema-conformance') return c
  // Object.assign, not a spread: ctx lacks schemaDrift when judged one by one, and a spread then a new key takes V8's slow road (see attribute.ts's resolve).
  const beside = (ctx: CheckContext): CheckContext => Object.assign({}, ctx, { schemaDrift: ctx.schemaDrift ?? { deltas: [], observationIndex: [] } })
  const project = c.project
  // A judge projects every exchange in one context: the last one's copy serves the next.
  let last: { ctx: CheckContext; beside: CheckContext } | undefined
  const besideOnce = (ctx: CheckContext): CheckContext => (last?.ctx === ctx ? last.beside : (last = { ctx, beside: beside(ctx) }).beside)
  return { ...c, run: (observations, exp, ctx) => c.run(observations, exp, beside(ctx)), ...(project ? { project: (o, exp, ctx) => project(o, exp, besideOnce(ctx)) } : {}) }
}

/**
 * JSON.stringify(inferSchema([v])), written out without building the schema: keepBody keys every
 * body by its shape. The same text, so the same classes: an object's keys sorted, each with its
 * shape (listed as JSON.stringify lists an object's keys: array indices first, ascending), and the
 * same keys as required (`__proto__` among them only: the schema's properties lose it); an array of
 * one item by that item's shape, of more by inferSchema itself (it merges their shapes).
 */
export function inferredKey(v: unknown, depth = 0): string {
  const type = jsonTypeOf(v)
  if (depth >= MAX_WALK_DEPTH || (type !== 'object' && type !== 'array')) return `{"type":"${type}"}`
  if (type === 'array') {
    const a = v as unknown[]
    if (a.length === 0) return '{"type":"array"}'
    return `{"type":"array","items":${a.length === 1 ? inferredKey(a[0], depth + 1) : JSON.stringify(inferSchema(a, depth + 1))}}`
  }
  const o = v as Record<string, unknown>
  let properties = ''
  let required = ''
  let indices: [number, string][] | undefined
  for (const k of Object.keys(o).sort()) {
    const name = JSON.stringify(k)
    required += `${required ? ',' : ''}${name}`
    if (k === '__proto__') continue
    const part = `${name}:${inferredKey(o[k], depth + 1)}`
    if (ARRAY_INDEX.test(k) && Number(k) <= MAX_ARRAY_INDEX) (indices ??= []).push([Number(k), part])
    else properties += `${properties ? ',' : ''}${part}`
  }
  if (indices) properties = [...indices.sort((a, b) => a[0] - b[0]).map(([, part]) => part), ...(properties ? [properties] : [])].join(',')
  return `{"type":"object","properties":{${properties}},"required":[${required}],"additionalProperties":false}`
}

/** Keys an object lists first, in numeric order: array indices. */
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/
const MAX_ARRAY_INDEX = 2 ** 32 - 2

/** A success as a token error's twin: what parameter-rejection reads of it (request, status, time), nothing more. */
function twinOf(o: Observation): Observation {
  const r = o.response!
  return {
    contract: o.contract,
    sample: o.sample,
    startedAt: o.startedAt,
    request: { method: o.request.method, url: o.request.url, headers: [], bodySize: 0, tokenSent: o.request.tokenSent },
    response: { status: r.status, statusText: r.statusText, rawHeaders: [], framing: r.framing, body: { size: 0, sha256: '', keptBytes: 0, truncated: false } },
    timings: o.timings,
  }
}
