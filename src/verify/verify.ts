/**
 * `driftwatch verify`: traffic a team already has (a HAR export, or driftwatch's own recordings)
 * judged offline by the same checks as `check`, into the same report. Each entry is matched to a
 * contract by method and path template (then query, auth, ids seen earlier in the traffic, and
 * for successes whether the body fits the contract's schema); an entry no contract describes is
 * listed as an info finding, never dropped. A request our contracts say is wrong (a method the
 * endpoint rejects: the Feb 6 2026 POST with method=get) is consumer drift.
 */
import { existsSync, statSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { availabilityOf } from '../checks/check.ts'
import { allChecks } from '../checks/index.ts'
import { loadContracts } from '../contracts/load.ts'
import { apiVersionIn, matchObservation, mediaFromTraffic, pathFromRecordings } from '../contracts/match-traffic.ts'
import type { Contract, MediaExpectation } from '../contracts/types.ts'
import { HarnessError } from '../errors.ts'
import { evidenceFrom, type Finding } from '../finding.ts'
import type { Observation } from '../observation.ts'
import { PersonalDataRedactor } from '../recordings/personal-data.ts'
import { loadRecordings, type Recording } from '../recordings/store.ts'
import { outcomeOf, summarize, type ContractResult, type Report } from '../report.ts'
import type { FormatId } from '../reporters/index.ts'
import { requestTemplate } from '../runner/build-request.ts'
import { captureValues, judge, schemaDriftFor } from '../runner/run.ts'
import { Redactor } from '../transport/redact.ts'
import { writeReports } from '../write-reports.ts'
import { readHar } from './har.ts'

/** Options of a verify run (the CLI flags, resolved). */
export interface VerifyOptions {
  /** A HAR file or a recordings directory. */
  input: string
  contractsDir: string
  /** Recordings that give URL contracts (media download, next page) their path; default none. */
  recordingsDir?: string
  /** The API version the traffic used; read from the first versioned path when absent. */
  apiVersion?: string
  outDir: string
  formats: readonly FormatId[]
  env: Readonly<Record<string, string | undefined>>
  cwd?: string
}

/** One entry of the traffic, where it came from, and the contract it was matched to. */
interface Entry {
  source: string
  observation: Observation
  hasBody: boolean
  /** The contract a recording was made for. */
  hint?: string
}

/** Id used for findings about traffic no contract describes. */
export const UNMATCHED = '(no contract)'

/** Runs verify end to end and writes the reports. */
export async function runVerify(opts: VerifyOptions): Promise<{ report: Report; files: string[]; redactor: Redactor; entries: number; matched: Map<string, Observation[]> }> {
  const cwd = opts.cwd ?? process.cwd()
  const input = resolve(cwd, opts.input)
  const rel = relative(cwd, input) || input
  if (!existsSync(input)) throw new HarnessError('DW_USAGE', `${rel} does not exist: give a HAR file (exported from a browser, mitmproxy, Charles) or a recordings directory`)
  const pack = loadContracts(opts.contractsDir, { cwd })
  const redactor = new Redactor({ secrets: [opts.env.WHATSAPP_ACCESS_TOKEN], personal: [opts.env.WHATSAPP_TEST_RECIPIENT] })
  const personal = new PersonalDataRedactor()
  const isDir = statSync(input).isDirectory()
  const entries: Entry[] = isDir ? fromRecordings(loadRecordings(input, cwd), rel) : readHar(input, redactor, personal, cwd).map((h) => ({ source: `${rel} entry ${h.entry}`, observation: h.observation, hasBody: h.hasBody }))
  if (entries.length === 0) throw new HarnessError('DW_USAGE', `${rel} holds no ${isDir ? 'recordings' : 'HAR entries'}: nothing to verify`)
  const recorded = opts.recordingsDir && existsSync(resolve(cwd, opts.recordingsDir)) ? loadRecordings(resolve(cwd, opts.recordingsDir), cwd) : isDir ? loadRecordings(input, cwd) : new Map<string, Recording[]>()
  const startedAt = new Date().toISOString()
  const apiVersion = opts.apiVersion ?? entries.map((e) => apiVersionIn(e.observation.request.url)).find(Boolean) ?? 'v23.0'

  const vars: Record<string, string | undefined> = { phone_number_id: opts.env.WHATSAPP_PHONE_NUMBER_ID, waba_id: opts.env.WHATSAPP_WABA_ID, api_version: apiVersion }
  const byContract = new Map<string, { contract: Contract; items: { o: Observation; hasBody: boolean; media?: MediaExpectation }[] }>()
  const findings: Finding[] = []
  const unmatchedEntries: Entry[] = []
  const matchedHosts = new Set<string>()
  for (const e of entries) {
    const contract = (e.hint ? pack.contracts.find((x) => x.id === e.hint) : undefined) ?? matchObservation(pack, e.observation, vars, pathFromRecordings(recorded))
    if (!contract) {
      unmatchedEntries.push(e)
      continue
    }
    matchedHosts.add(hostOf(e.observation.request.url))
    const group = byContract.get(contract.id) ?? { contract, items: [] }
    const o: Observation = { ...e.observation, contract: contract.id, sample: group.items.length + 1 }
    // Media expectations from what the traffic said before this entry (the retrieve before the download).
    const media = contract.expect.media ? mediaFromTraffic(contract.expect.media, vars) : undefined
    group.items.push({ o, hasBody: e.hasBody, ...(media ? { media } : {}) })
    byContract.set(contract.id, group)
    captureValues(contract, [o], vars)
    // A recording of driftwatch's own rejection probe (media.post-method) sends the wrong method on purpose.
    if (!e.hint && contract.expect.methods?.rejects.includes(o.request.method as never)) findings.push(consumerMethod(contract, o, e.source))
  }

  findings.push(...unmatchedFindings(unmatchedEntries, matchedHosts, opts.contractsDir))

  const results: ContractResult[] = []
  for (const contract of pack.contracts) {
    const base = { contract: contract.id, title: contract.title, file: contract.file, request: requestTemplate(contract), durationMs: 0 }
    const group = byContract.get(contract.id)
    if (!group) {
      results.push({ ...base, status: 'skipped', reason: `not in the traffic of ${rel}`, probes: 0 })
      continue
    }
    const own: Finding[] = []
    const baseStatus = contract.variant ? results.find((r) => r.contract === contract.variant!.of)?.status : undefined
    const ctxFor = async (obs: Observation[], media?: MediaExpectation) => ({
      apiVersion,
      validateBody: pack.validateBody,
      ...(contract.variant ? { variant: { ...contract.variant, basePassed: baseStatus === 'passed' } } : {}),
      ...(media ? { media } : {}),
      ...(await schemaDriftFor(contract, obs, undefined, pack)),
    })
    const withBody = group.items.filter((i) => i.hasBody)
    const withoutBody = group.items.filter((i) => !i.hasBody).map((i) => i.o)
    if (contract.expect.media) {
      // Each download against the metadata that preceded it.
      for (const i of withBody) own.push(...judge(contract, [i.o], allChecks, await ctxFor([i.o], i.media), startedAt))
    } else if (withBody.length > 0) {
      const obs = withBody.map((i) => i.o)
      own.push(...judge(contract, obs, allChecks, await ctxFor(obs), startedAt))
    }
    // The exporter left these bodies out: status, headers and framing only.
    if (withoutBody.length > 0) own.push(...judge(contract, withoutBody, allChecks.filter((c) => c.needs !== 'body'), await ctxFor([]), startedAt))
    findings.push(...own)
    const failed = own.some((f) => f.severity !== 'info') || findings.some((f) => f.contract === contract.id && f.check === 'consumer-method')
    // Like check: a contract none of whose entries had a usable response (no answer, downtime, throttling) was not judged.
    const judged = group.items.some((i) => availabilityOf(i.o, contract) === 'ok')
    const n = `${group.items.length} entr${group.items.length === 1 ? 'y' : 'ies'} from ${rel}`
    results.push({ ...base, status: failed ? 'failed' : judged ? 'passed' : 'inconclusive', probes: group.items.length, reason: judged || failed ? n : `${n}, none with a usable response` })
  }

  const summary = summarize(results, findings)
  const report: Report = {
    version: 1,
    target: `${isDir ? 'recordings' : 'har'}:${rel}`,
    apiVersion,
    startedAt,
    finishedAt: new Date().toISOString(),
    outcome: outcomeOf(summary),
    summary,
    findings: findings.map((f) => redactor.deep(f)),
    results,
  }
  const written = await writeReports(report, { outDir: opts.outDir, formats: opts.formats, redactor, cwd })
  const matched = new Map([...byContract].map(([id, g]) => [id, g.items.map((i) => i.o)]))
  return { ...written, redactor, entries: entries.length, matched }
}

function fromRecordings(all: Map<string, Recording[]>, rel: string): Entry[] {
  const out: Entry[] = []
  for (const [contract, list] of all) {
    for (const rec of list) {
      rec.observations.forEach((o, i) => {
        const body = o.response?.body
        out.push({ source: `${rel}/${contract}/${rec.name}.json sample ${i + 1}`, observation: o, hasBody: !body || body.size === 0 || body.text !== undefined || body.base64 !== undefined, hint: contract })
      })
    }
  }
  // In the order the requests were made, so a download follows the retrieve that named its sha256.
  return out.sort((a, b) => a.observation.startedAt.localeCompare(b.observation.startedAt))
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return ''
  }
}

/**
 * Unmatched entries, listed: one finding per request on hosts the contracts do cover, and one per
 * host for hosts they do not touch at all (a browser HAR's fonts and analytics are one line each,
 * not hundreds).
 */
function unmatchedFindings(entries: readonly Entry[], matchedHosts: ReadonlySet<string>, contractsDir: string): Finding[] {
  const out: Finding[] = []
  const foreign = new Map<string, Entry[]>()
  for (const e of entries) {
    const host = hostOf(e.observation.request.url)
    if (matchedHosts.has(host) || /(^|\.)(facebook\.com|fbsbx\.com)$/.test(host.replace(/:\d+$/, ''))) out.push(unmatched(e, contractsDir))
    else foreign.set(host, [...(foreign.get(host) ?? []), e])
  }
  for (const [host, list] of foreign) {
    const first = unmatched(list[0]!, contractsDir)
    out.push({
      ...first,
      title: `No contract covers ${host || 'this host'} (${list.length} entr${list.length === 1 ? 'y' : 'ies'})`,
      message: `${list.length} entr${list.length === 1 ? 'y goes' : 'ies go'} to ${host}, which no contract in ${contractsDir} describes; first: ${list[0]!.source}, ${first.actual}.\nIf this host is part of the upstream you care about, add contracts for it; otherwise it is other traffic the capture picked up.`,
      actual: `${list.length} entries to ${host}`,
      samples: list.length,
      of: list.length,
    })
  }
  return out
}

export function unmatched(e: { source: string; observation: Observation }, contractsDir: string): Finding {
  const o = e.observation
  let path = o.request.url
  try {
    path = new URL(o.request.url).pathname
  } catch {}
  return {
    contract: UNMATCHED,
    check: 'contract-match',
    severity: 'info',
    title: `No contract describes ${o.request.method} ${path}`,
    message: `${e.source}: ${o.request.method} ${path} answered ${o.response?.status ?? 'nothing'}, and no contract in ${contractsDir} has this method and path.\nIf the application relies on it, add a contract (driftwatch import openapi can draft one from Meta's spec).`,
    expected: 'a contract for this request',
    actual: `${o.request.method} ${path}`,
    evidence: evidenceFrom(o),
    samples: 1,
    of: 1,
    since: o.startedAt,
    new: true,
  }
}

export function consumerMethod(contract: Contract, o: Observation, source: string): Finding {
  const accepts = contract.expect.methods?.accepts.join(' or ') ?? contract.request.method
  return {
    contract: contract.id,
    check: 'consumer-method',
    severity: 'breaking',
    title: `Our client sent ${o.request.method} where the endpoint takes ${accepts}`,
    message: `${source}: ${o.request.method} ${requestTemplate(contract).replace(/^\S+ /, '')}${o.request.bodyExcerpt ? ` with body ${o.request.bodyExcerpt.slice(0, 120)}` : ''}\nContract ${contract.file}: the endpoint accepts ${accepts} and rejects ${o.request.method}.\nThis is consumer drift: the Feb 6 2026 incident was a client sending POST with method=get, which some of Meta's servers answered 405 and others did not. Fix the client before it reaches production.`,
    expected: `${accepts} ${requestTemplate(contract).replace(/^\S+ /, '')}`,
    actual: `${o.request.method} (answered ${o.response?.status ?? 'nothing'})`,
    evidence: evidenceFrom(o),
    samples: 1,
    of: 1,
    since: o.startedAt,
    new: true,
  }
}
