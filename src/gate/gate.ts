/**
 * `driftwatch gate`: before deploying a client, check that every request its pact files describe
 * is something the upstream accepts, as contracted (method, path, required parameters, headers,
 * status) and as last recorded (Pact's own Verifier against a replay of the golden recordings).
 * Offline: no network beyond loopback.
 */
import { candidates, type Candidate, type RequestShape } from '../contracts/match.ts'
import { loadContracts } from '../contracts/load.ts'
import type { Contract, ContractPack } from '../contracts/types.ts'
import { HarnessError } from '../errors.ts'
import { latestRecording, loadRecordings, type Recording } from '../recordings/store.ts'
import { loadPacts, type PactInteraction } from './pacts.ts'
import { startReplayServer } from './replay-server.ts'
import { verifyPacts } from './verify.ts'

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

function requestLine(r: RequestShape): string {
  const q = new URLSearchParams(Object.entries(r.query).flatMap(([k, vs]) => vs.map((v): [string, string] => [k, v]))).toString()
  return `${r.method} ${r.path}${q ? `?${q}` : ''}`
}

/** Key of a request as the verifier will send it: method, path, sorted query. */
function requestKey(r: RequestShape): string {
  const q = Object.keys(r.query).sort().map((k) => `${k}=${[...r.query[k]!].join(',')}`).join('&')
  return `${r.method} ${r.path.replace(/\/+$/, '')}?${q}`
}

/** Request-side problems of an interaction against the contract that describes it. */
function contractProblems(i: PactInteraction, c: Contract, replay: Contract | undefined, replayRec: Recording | undefined): string[] {
  const out: string[] = []
  const r = i.request
  const m = c.expect.methods
  const lastAnswer = replay && replayRec ? `; as last recorded (${replay.id}), ${r.method} gets ${replayRec.observations[0]?.response?.status ?? 'no answer'}` : ''
  if (r.method !== c.request.method) {
    if (m?.rejects.includes(r.method as never)) out.push(`sends ${r.method} ${r.path}, but ${c.file} says this endpoint rejects ${r.method} (it takes ${m.accepts.join(', ') || c.request.method})${lastAnswer}. Send ${c.request.method}.`)
    else out.push(`sends ${r.method}, but ${c.file} describes ${c.request.method} ${c.request.path ?? c.request.url}`)
  } else if (m?.rejects.includes(r.method as never) && !c.expect.status.includes(i.response.status)) {
    out.push(`sends ${r.method} ${r.path} expecting ${i.response.status}, but ${c.file} says this endpoint rejects ${r.method} (${c.expect.status.join(' or ')}; it takes ${m.accepts.join(', ')}). Send ${m.accepts[0] ?? 'another method'}.`)
  }
  if (!c.expect.status.includes(i.response.status) && !out.length) out.push(`expects ${i.response.status}, but ${c.file} allows ${c.expect.status.join(' or ')}`)
  for (const k of Object.keys(c.request.query)) if (!(k in r.query)) out.push(`lacks query parameter ${k}, which ${c.file} sends`)
  if (c.request.auth === 'bearer' && !/^bearer\s/i.test(r.headers.authorization ?? '')) out.push(`sends no bearer token; ${c.file} is called with Authorization: Bearer <token>`)
  const b = c.request.body
  if (b) {
    const ct = (r.headers['content-type'] ?? r.body?.contentType ?? '').toLowerCase()
    const want = b.kind === 'json' ? 'application/json' : b.kind === 'form' ? 'application/x-www-form-urlencoded' : 'multipart/form-data'
    if (!ct.startsWith(want)) out.push(`sends ${ct || 'no'} content type; ${c.file} sends ${want}`)
    if (b.kind === 'json' && b.json && typeof b.json === 'object' && r.body?.json && typeof r.body.json === 'object') {
      const missing = Object.keys(b.json).filter((k) => !(k in (r.body!.json as object)))
      if (missing.length) out.push(`request body lacks ${missing.join(', ')}, which ${c.file} sends`)
    }
  }
  return out
}

/** Runs the gate; throws HarnessError when inputs are missing or malformed. */
export async function runGate(opts: GateOptions): Promise<GateReport> {
  const cwd = opts.cwd ?? process.cwd()
  const startedAt = new Date().toISOString()
  const pack: ContractPack = loadContracts(opts.contractsDir, { cwd })
  const recordings = loadRecordings(opts.recordingsDir, cwd)
  const { files, interactions } = loadPacts(opts.pactsPath, cwd)
  const pathOf = (c: Contract): string | undefined => {
    if (c.request.path) return c.request.path
    const url = latestRecording(recordings, c.id)?.observations[0]?.request.url
    return url ? new URL(url).pathname : undefined
  }

  const routes = new Map<string, Recording>()
  const pending: { i: PactInteraction; result: GateInteraction; rec?: Recording }[] = []
  const missing = new Set<string>()
  for (const i of interactions) {
    const shape: RequestShape = i.request
    const ranked: Candidate[] = candidates(pack, shape, pathOf, i.response)
    const result: GateInteraction = { pact: i.file, description: i.description, states: i.states, request: requestLine(shape), status: 'passed', problems: [] }
    const best = ranked[0]?.contract
    if (!best) {
      result.problems.push({ source: 'contract', message: `no contract describes ${requestLine(shape)}: the upstream, as contracted, does not offer it. Fix the request, or add a contract for it in ${opts.contractsDir}.` })
      pending.push({ i, result })
      continue
    }
    result.contract = best.id
    result.contractFile = best.file
    // Replay what the upstream did with this method on this path: the exact-method contract if there is one.
    const replay = ranked.find((x) => x.contract.request.method === shape.method)?.contract ?? best
    const rec = latestRecording(recordings, replay.id)
    if (!rec) missing.add(replay.id)
    else {
      routes.set(requestKey(shape), rec)
      result.replayedFrom = `${rec.contract}/${rec.name} (recorded ${rec.recordedAt})`
    }
    for (const message of contractProblems(i, best, replay, rec)) result.problems.push({ source: 'contract', message })
    pending.push({ i, result, ...(rec ? { rec } : {}) })
  }
  if (missing.size > 0) {
    throw new HarnessError('DW_RECORDINGS_MISSING', `no golden recording for ${[...missing].join(', ')} in ${opts.recordingsDir}: record them with driftwatch record --only '${[...missing].join(',')}', review, and commit`, { contracts: [...missing] })
  }

  const server = await startReplayServer((shape) => {
    const hit = routes.get(requestKey(shape))
    if (hit) return hit
    const c = candidates(pack, shape, pathOf).find((x) => x.contract.request.method === shape.method)?.contract
    return c ? latestRecording(recordings, c.id) : undefined
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
