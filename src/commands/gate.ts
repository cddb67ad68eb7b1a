/**
 * `driftwatch gate`: before deploying a client, check that every request its pact files describe
 * is something the upstream accepts, as contracted (method, path, required parameters, headers,
 * status) and as last recorded (Pact's own Verifier against a replay of the golden recordings).
 * Offline: no network beyond loopback. `runGateAndWrite` is the command whole (run, reruns, redaction, report
 * files); the CLI parses and prints.
 */
import { checks } from '../checks/index.ts'
import { operationExpectation } from '../contracts/expectation.ts'
import { loadContracts } from '../contracts/load.ts'
import { pathFits } from '../contracts/probes.ts'
import type { ContractPack, Operation, Probe } from '../contracts/types.ts'
import { HarnessError } from '../util/errors.ts'
import { isVersionSegment, pathSegments } from '../graph/paths.ts'
import { judge } from '../judge/index.ts'
import type { Observation } from '../model/observation.ts'
import { latestRecording, loadRecordings, type Recording } from '../recordings/store.ts'
import { attribute, attributeRequest, trafficState, type Attribution } from '../traffic/attribute.ts'
import { loadPacts, type PactInteraction, type PactRequest } from '../gate/pacts.ts'
import { startReplayServer, type RequestShape } from '../gate/replay-server.ts'
import { verifyPacts } from '../gate/pact-verifier.ts'
import { gateRerun } from '../model/reproduce.ts'
import type { FormatId } from '../reporters/index.ts'
import { Redactor, secretsFromEnv } from '../transport/redact.ts'
import { assertWritable } from '../util/preflight.ts'
import { writeGateReport } from './gate-report.ts'

/** Where the inputs are. */
export interface GateOptions {
  pactsPath: string
  recordingsDir: string
  contractsDir: string
  cwd?: string
}

/** A reason an interaction does not pass, and where it comes from. */
export interface GateProblem {
  /** `contract`: the contracts say the upstream would not accept it. `recording`: the last recorded upstream does not satisfy the pact. */
  source: 'contract' | 'recording'
  message: string
}

/** The gate's verdict on one interaction. */
export interface GateInteraction {
  pact: string
  description: string
  states: string[]
  /** `GET /v23.0/1390000000007919`. */
  request: string
  contract?: string
  contractFile?: string
  /** `media.retrieve-url/sim-baseline (2026-11-22T...)`: what the replay answered with. */
  replayedFrom?: string
  status: 'passed' | 'failed'
  problems: GateProblem[]
  /** A failed interaction's rerun: the gate over its own pact file and the same recordings and contracts. */
  rerun?: string
}

/** gate.json. */
export interface GateReport {
  version: 1
  startedAt: string
  finishedAt: string
  outcome: 'pass' | 'fail'
  pacts: string[]
  summary: { interactions: number; passed: number; failed: number }
  interactions: GateInteraction[]
}

function requestLine(r: PactRequest): string {
  const q = new URLSearchParams(Object.entries(r.query).flatMap(([k, vs]) => vs.map((v): [string, string] => [k, v]))).toString()
  return `${r.method} ${r.path}${q ? `?${q}` : ''}`
}

/** Key of a request as the verifier will send it: method, path, sorted query. */
function requestKey(r: Pick<RequestShape, 'method' | 'path' | 'query'>): string {
  const q = Object.keys(r.query).sort().map((k) => `${k}=${[...r.query[k]!].join(',')}`).join('&')
  return `${r.method} ${r.path.replace(/\/+$/, '')}?${q}`
}

function urlOf(r: Pick<RequestShape, 'path' | 'query'>): URL {
  const url = new URL(r.path, 'http://gate.invalid')
  for (const [k, vs] of Object.entries(r.query)) for (const v of vs) url.searchParams.append(k, v)
  return url
}

/** A pact interaction as an exchange: the request it sends, and the answer it expects. */
function observationOf(i: PactInteraction): { o: Observation; body?: string } {
  const body = i.request.body?.text ?? (i.request.body?.json !== undefined ? JSON.stringify(i.request.body.json) : undefined)
  const headers: [string, string][] = Object.entries(i.request.headers)
  if (i.request.body?.contentType && !i.request.headers['content-type']) headers.push(['content-type', i.request.body.contentType])
  const o: Observation = {
    contract: '',
    sample: 1,
    startedAt: new Date(0).toISOString(),
    request: { method: i.request.method, url: urlOf(i.request).toString(), headers, bodySize: body?.length ?? 0, tokenSent: /^bearer\s/i.test(i.request.headers.authorization ?? '') },
    response: {
      status: i.response.status,
      statusText: '',
      rawHeaders: [],
      framing: { kind: 'none', bytesRead: 0 },
      body: { size: 0, sha256: '', keptBytes: 0, truncated: false, ...(i.response.json !== undefined ? { json: i.response.json } : {}) },
    },
    timings: { totalMs: 0 },
  }
  return { o, ...(body !== undefined ? { body } : {}) }
}

/**
 * Problems of an interaction against the operation that describes it: the status it expects,
 * judged by the judge as any exchange of that operation would be (a pact's example body names
 * only what the client reads, so only the status is judged), then the request side.
 */
async function contractProblems(i: PactInteraction, o: Observation, op: Operation, pack: ContractPack): Promise<string[]> {
  const out: string[] = []
  const r = i.request
  const documented = op.responses.flatMap((x) => x.statuses as readonly number[])
  const { findings } = await judge(operationExpectation(op), [o], { pack, since: o.startedAt, checks: [checks['status-conformance']] })
  for (const f of findings) out.push(`expects ${i.response.status} (${f.title}): ${op.file} documents ${documented.join(' or ')}${op.error ? ' and Graph errors' : ''}`)
  for (const [k, q] of Object.entries(op.request.query)) if (q.required && !(k in r.query)) out.push(`lacks query parameter ${k}, which ${op.file} requires`)
  if (!/^bearer\s/i.test(r.headers.authorization ?? '') && !('access_token' in r.query)) out.push(`sends no bearer token; ${op.file} is called with Authorization: Bearer <token>`)
  const b = op.request.body
  if (b) {
    const ct = (r.headers['content-type'] ?? r.body?.contentType ?? '').toLowerCase()
    // Graph reads its parameters from a JSON body or a form alike; a file upload needs multipart.
    const want = b.type === 'multipart' ? ['multipart/form-data'] : ['application/json', 'application/x-www-form-urlencoded']
    if (!want.some((w) => ct.startsWith(w))) out.push(`sends ${ct || 'no'} content type; ${op.file} takes ${want.join(' or ')}`)
    if (b.type === 'json' && r.body?.json !== undefined) {
      const violations = pack.requestViolations(op, r.body.json)
      const missing = violations.filter((v) => v.keyword === 'required').map((v) => v.path.replace(/^\$\./, ''))
      if (missing.length) out.push(`request body lacks ${missing.join(', ')}, which ${op.file} requires`)
      for (const v of violations.filter((x) => x.keyword !== 'required')) out.push(`request body ${v.path} ${v.message} (${op.file})`)
    }
  }
  return out
}

/**
 * When the request alone does not tell its candidates apart, a probe that sends this very request
 * (same method, same literal path, the status the consumer expects) does: `graph.unknown-object`
 * says what `GET /v23.0/999999999999999` is. Only one operation may come out of it.
 */
function probedAs(pack: ContractPack, i: PactInteraction, candidates: readonly Operation[]): Operation | undefined {
  if (candidates.length < 2) return undefined
  const want = pathSegments(i.request.path)
  const sendsThis = (p: Probe) => {
    const have = p.request.path !== undefined ? pathSegments(p.request.path) : []
    return have.length === want.length && have.every((seg, k) => (seg === '{api_version}' ? isVersionSegment(want[k]!) : seg === want[k]))
  }
  const ops = new Set(pack.probes.filter((p) => p.request.method === i.request.method && p.expect.status.includes(i.response.status) && sendsThis(p) && candidates.some((c) => c.id === p.operation)).map((p) => p.operation))
  return ops.size === 1 ? candidates.find((c) => ops.has(c.id)) : undefined
}

/** The probe whose recording answers a request: one that sends this method on this path, preferring one that expects the status the consumer does. */
function replayProbe(pack: ContractPack, method: string, path: string, status: number, op?: Operation): Probe | undefined {
  const sends = pack.probes.filter((p) => p.request.method === method && (op ? p.operation === op.id : true) && (p.request.path !== undefined ? pathFits(p.request.path.replace(/\/\d{6,}(?=\/|$)/g, '/{id}'), path) : false))
  return sends.find((p) => p.expect.status.includes(status)) ?? sends[0]
}

/** Runs the gate; throws HarnessError when inputs are missing or malformed. */
export async function runGate(opts: GateOptions): Promise<GateReport> {
  const cwd = opts.cwd ?? process.cwd()
  const startedAt = new Date().toISOString()
  const pack: ContractPack = loadContracts(opts.contractsDir, { cwd })
  const recordings = loadRecordings(opts.recordingsDir, cwd)
  const { files, interactions } = loadPacts(opts.pactsPath, cwd)

  const routes = new Map<string, Recording>()
  const pending: { i: PactInteraction; result: GateInteraction; rec?: Recording }[] = []
  const missing = new Map<string, 'probe' | 'operation'>()
  for (const i of interactions) {
    const result: GateInteraction = { pact: i.file, description: i.description, states: i.states, request: requestLine(i.request), status: 'passed', problems: [] }
    const { o, body } = observationOf(i)
    // A consumer's pact names only the fields it reads, and may send an incomplete body: attribution forgives both, and the problems below say what is wrong.
    const a: Attribution = attribute(pack, o, body, trafficState(), { closestBody: true, partialResponse: true })
    const op = a.operation ?? (a.wrongMethod?.certain ? (a.wrongMethod.operations.find((x) => x.request.method === 'GET') ?? a.wrongMethod.operations[0]) : undefined) ?? probedAs(pack, i, a.candidates)
    if (!op) {
      result.problems.push({
        source: 'contract',
        message: a.wrongMethod
          ? `sends ${i.request.method} ${i.request.path} asking for ${a.wrongMethod.accepts.join(' or ')} in its body (Graph's legacy method override), which some of Meta's servers refuse (Feb 6 2026). Send ${a.wrongMethod.accepts[0]}.`
          : a.candidates.length > 1
            ? `${requestLine(i.request)} could be ${a.candidates.map((c) => c.id).join(' or ')} (${a.reason}): name the fields the client reads in the pact's response, so the gate can tell which operation it is`
            : `no operation describes ${requestLine(i.request)}: the upstream, as contracted, does not offer it. Fix the request, or add an operation for it in ${opts.contractsDir}/operations.`,
      })
      pending.push({ i, result })
      continue
    }
    result.contract = op.id
    result.contractFile = op.file
    // Replay what the upstream did with this method on this path: a probe's recording, else a recording of the operation (record --from).
    const probe = replayProbe(pack, i.request.method, i.request.path, i.response.status, a.wrongMethod ? undefined : op)
    const replayId = probe?.id ?? op.id
    const rec = latestRecording(recordings, replayId)
    if (!rec) missing.set(replayId, probe ? 'probe' : 'operation')
    else {
      routes.set(requestKey(i.request), rec)
      result.replayedFrom = `${rec.contract}/${rec.name} (recorded ${rec.recordedAt})`
    }
    if (a.wrongMethod) {
      const lastAnswer = rec ? `; as last recorded (${rec.contract}), ${i.request.method} gets ${rec.observations[0]?.response?.status ?? 'no answer'}` : ''
      result.problems.push({ source: 'contract', message: `sends ${i.request.method} ${i.request.path}, but ${op.file} says this endpoint takes ${a.wrongMethod.accepts.join(', ')}, not ${i.request.method}${lastAnswer}. Send ${a.wrongMethod.accepts[0]}.` })
    } else for (const message of await contractProblems(i, o, op, pack)) result.problems.push({ source: 'contract', message })
    pending.push({ i, result, ...(rec ? { rec } : {}) })
  }
  if (missing.size > 0) {
    const probes = [...missing].filter(([, k]) => k === 'probe').map(([id]) => id)
    const ops = [...missing].filter(([, k]) => k === 'operation').map(([id]) => id)
    const fix = [
      ...(probes.length ? [`record ${probes.join(', ')} with driftwatch record --only '${probes.join(',')}'`] : []),
      ...(ops.length ? [`record ${ops.join(', ')} from captured traffic with driftwatch record --from <traffic.har|cassette.yml> (no probe sends them)`] : []),
    ].join('; ')
    throw new HarnessError('DW_RECORDINGS_MISSING', `no golden recording for ${[...missing.keys()].join(', ')} in ${opts.recordingsDir}: ${fix}, review, and commit`, { contracts: [...missing.keys()] })
  }

  const server = await startReplayServer((shape) => {
    const hit = routes.get(requestKey(shape))
    if (hit) return hit
    // The Verifier sends what the pacts say; anything else is answered from the operation's probe recording, if any.
    const op = attributeRequest(pack, { method: shape.method, url: urlOf(shape) }, trafficState()).operation
    const probe = replayProbe(pack, shape.method, shape.path, 200, op)
    return latestRecording(recordings, probe?.id ?? op?.id ?? '')
  })
  try {
    const verdict = await verifyPacts(server.url, files.map((f) => (f.startsWith('/') ? f : `${cwd}/${f}`)))
    for (const { i, result, rec } of pending) {
      for (const m of verdict.mismatches.get(i.description) ?? []) {
        const where = m.path ? `${m.path}: ` : ''
        const asOf = rec ? `as last recorded (${rec.contract}/${rec.name}, ${rec.recordedAt})` : 'as replayed'
        result.problems.push({ source: 'recording', message: `${asOf}, ${where}${m.mismatch}` })
      }
    }
  } finally {
    await server.close()
  }

  const results = pending.map(({ result }) => ({ ...result, status: result.problems.length ? ('failed' as const) : ('passed' as const) }))
  const failed = results.filter((r) => r.status === 'failed').length
  return {
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    outcome: failed ? 'fail' : 'pass',
    pacts: files,
    summary: { interactions: results.length, passed: results.length - failed, failed },
    interactions: results,
  }
}

/** How to run the gate command: its inputs, where its reports go, and what a failed interaction's rerun repeats. */
export interface GateCommandOptions extends GateOptions {
  outDir: string
  formats: readonly FormatId[]
  /** Secrets this environment holds are redacted from what the gate writes. */
  env: Readonly<Record<string, string | undefined>>
  /** The rerun's arguments after `--pacts <file>` (the recordings, contracts and --fail-on given, and an --out elsewhere). */
  rerunArgs: readonly string[]
}

/**
 * `driftwatch gate` as a library call: runs the gate, gives each failed interaction its rerun (the
 * gate over its pact file alone), redacts and writes gate.json and the formats.
 */
export async function runGateAndWrite(opts: GateCommandOptions): Promise<{ report: GateReport; files: string[] }> {
  const cwd = opts.cwd ?? process.cwd()
  await assertWritable(opts.outDir, '--out', cwd)
  // The recordings replayed are files anyone may have edited: what the gate writes and prints is redacted like any report.
  const redactor = new Redactor({ secrets: secretsFromEnv(opts.env) })
  const unredacted = await runGate(opts)
  const report = redactor.deep({ ...unredacted, interactions: unredacted.interactions.map((i) => (i.status === 'failed' ? { ...i, rerun: gateRerun(['--pacts', i.pact, ...opts.rerunArgs]) } : i)) })
  const files = await writeGateReport(report, opts.outDir, cwd, opts.formats)
  return { report, files }
}
