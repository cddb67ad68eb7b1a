/**
 * `sample-consistency`: every sample of one request got the same kind of answer (status, framing).
 * Feb 6 2026: Meta's servers treated POST with `method=get` differently, some honouring it and some
 * answering 405, so the failure was intermittent and took two days to find. One sample would have
 * shown either "fine" or "broken"; several show the split.
 *
 * Samples are identical requests: same method, URL and body. Different requests to one operation
 * (another id, another `fields=`, an error the application asked for) are never "inconsistent".
 * In captured traffic an identical request is not always a sample: a create sent twice is answered
 * "created", then "already exists", and a read after a delete finds nothing. The traffic judge says
 * which requests are samples (ObservedRequest.sampleOf).
 * Different error codes within one status are not judged here: Meta reorders its validation, and
 * error-code-conformance owns codes.
 */
import type { Expectation } from '../contracts/expectation.ts'
import type { FindingDraft } from '../model/finding.ts'
import { headerValue, type Observation } from '../model/observation.ts'
import type { Check } from './check.ts'

/**
 * Response headers that name the server (or build) that answered: Meta's, then common CDN and
 * proxy ones. Per-request ids among them (x-fb-debug, x-fb-trace-id) never separate groups on
 * their own (every value differs), so they are named only when they repeat.
 */
export const SERVER_HEADERS = ['x-fb-rev', 'x-fb-debug', 'x-fb-trace-id', 'server', 'x-served-by', 'via'] as const

/** What an observation records about which server answered it: `[attribute, value]`, address first. */
export function serverAttributes(o: Observation): [name: string, value: string][] {
  const out: [string, string][] = []
  if (o.connection?.remoteAddress !== undefined) out.push(['address', o.connection.remoteAddress])
  const headers = o.response?.rawHeaders
  if (headers) {
    for (const h of SERVER_HEADERS) {
      const v = headerValue(headers, h)
      if (v !== undefined) out.push([h, v])
    }
  }
  return out
}

function listed(values: readonly string[]): string {
  return values.length <= 3 ? values.join(', ') : `${values.slice(0, 3).join(', ')} and ${values.length - 3} more`
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

/**
 * Where the samples went, and what separates the minority answer from the rest: the first
 * attribute (address, then server headers) whose values the two sides never share and that
 * repeats (a per-request id separates anything); or says that nothing recorded separates them.
 */
export function separation(splits: readonly Split[], observations: readonly Observation[], dimension: string): string {
  const all = splits.flatMap((s) => s.indexes)
  const conns = all.map((i) => observations[i]!.connection)
  const fresh = conns.filter((c) => c?.mode === 'fresh').length
  const addresses = new Set(conns.map((c) => c?.remoteAddress).filter((a): a is string => a !== undefined))
  let how: string
  if (fresh === all.length) how = `The ${all.length} samples went over ${all.length} fresh connections to ${plural(addresses.size, 'address', 'addresses')} (${listed([...addresses])}).`
  else if (conns.every((c) => c?.mode === 'shared')) how = `The ${all.length} samples shared one keep-alive connection${addresses.size ? ` to ${listed([...addresses])}` : ''}: one server answered differently over time.`
  else how = conns.some((c) => c) ? `${fresh} of ${all.length} samples went over fresh connections.` : 'The traffic does not record which connection carried each sample.'

  const minority = splits.slice(1).flatMap((s) => s.indexes)
  const majority = splits[0]!.indexes
  const attrsOf = (i: number) => new Map(serverAttributes(observations[i]!))
  const names = new Set(all.flatMap((i) => serverAttributes(observations[i]!).map(([n]) => n)))
  for (const name of names) {
    const valuesOf = (idx: readonly number[]) => idx.map((i) => attrsOf(i).get(name))
    const minor = valuesOf(minority)
    const major = valuesOf(majority)
    if (minor.some((v) => v === undefined) || major.some((v) => v === undefined)) continue
    const minorSet = new Set(minor as string[])
    const majorSet = new Set(major as string[])
    if ([...minorSet].some((v) => majorSet.has(v))) continue
    if (minorSet.size + majorSet.size >= all.length) continue // a per-request value: separates anything, says nothing
    const label = (splitLabel: string, n: number) => `the ${plural(n, 'sample')} with ${dimension} ${splitLabel}`
    const minorLabel = splits.slice(1).map((s) => s.label).join(' or ')
    const say = (set: Set<string>, side: string) => (name === 'address' ? (set.size === 1 ? `${side} all came from ${[...set][0]}` : `${side} came from ${set.size} addresses (${listed([...set])})`) : set.size === 1 ? `${side} all carried ${name} ${[...set][0]}` : `${side} carried ${set.size} values of ${name} (${listed([...set])})`)
    return `${how} What separates them: ${say(minorSet, label(minorLabel, minority.length))}; ${say(majorSet, label(splits[0]!.label, majority.length))}.`
  }
  const looked = [...names].map((n) => (n === 'address' ? 'remote address' : n))
  return `${how} ${looked.length ? `Nothing recorded separates them (${listed(looked)} overlap or differ on every sample).` : 'Nothing recorded separates them.'}`
}

interface Split {
  label: string
  /** Indexes into the observations given to the check. */
  indexes: number[]
}

function splitBy(indexes: readonly number[], observations: readonly Observation[], key: (o: Observation) => string): Split[] {
  const groups = new Map<string, number[]>()
  for (const i of indexes) {
    const k = key(observations[i]!)
    const g = groups.get(k)
    if (g) g.push(i)
    else groups.set(k, [i])
  }
  return [...groups.entries()].map(([label, list]) => ({ label, indexes: list })).sort((a, b) => b.indexes.length - a.indexes.length)
}

/** Method, URL (secrets already redacted) and body: what makes two requests the same request. */
export function sameRequest(o: Observation): string {
  return `${o.request.method} ${o.request.url}\u0000${o.request.bodyExcerpt ?? ''}${o.request.credential ? `\u0000${o.request.credential}` : ''}`
}

/** Which samples are compared: what the producer said (captured traffic), else the same request. */
export function requestIdentity(o: Observation): string {
  return o.request.sampleOf ?? sameRequest(o)
}

function finding(dimension: string, splits: Split[], n: number, exp: Expectation, consequence: string, observations: readonly Observation[]): FindingDraft {
  const minority = splits.slice(1).reduce((k, s) => k + s.indexes.length, 0)
  const split = splits.map((s) => `${s.indexes.length} of ${n} samples: ${dimension} ${s.label}`).join(', ')
  return {
    check: 'sample-consistency',
    severity: 'breaking',
    title: `Inconsistent ${dimension} across samples: ${splits.map((s) => `${s.indexes.length}× ${s.label}`).join(', ')}`,
    message: `Received: ${split}\nContract: every sample of ${exp.request} gets the same ${dimension}\nWhere: ${separation(splits, observations, dimension)}\n${consequence}`,
    expected: `the same ${dimension} on every sample`,
    actual: split,
    observationIndex: splits[1]!.indexes[0]!,
    samples: minority,
  }
}

/** Flags identical requests whose samples got different statuses or framings. */
export const sampleConsistencyCheck: Check = {
  id: 'sample-consistency',
  title: 'every sample of one request gets the same kind of answer',
  needs: 'headers',
  run(observations, exp) {
    if (observations.length < 2) return []
    const out: FindingDraft[] = []
    for (const same of splitBy(observations.map((_, i) => i), observations, requestIdentity)) {
      const n = same.indexes.length
      if (n < 2) continue
      const byStatus = splitBy(same.indexes, observations, (o) => String(o.response!.status))
      if (byStatus.length > 1) {
        out.push(finding('status', byStatus, n, exp, 'The upstream answers the same request differently depending on which server takes it, so clients fail intermittently and retries "fix" it by luck (Feb 6 2026: POST with method=get was honoured by some Meta servers and refused with 405 by others; it took two days to find). Treat the minority answer as what production will see.', observations))
      }
      const byFraming = splitBy(same.indexes, observations, (o) => o.response!.framing.kind)
      if (byFraming.length > 1) {
        out.push(finding('framing', byFraming, n, exp, 'Part of the fleet frames this response differently: clients that need a Content-Length fail on some requests only (Jan 20 2026 was a switch to chunked).', observations))
      }
    }
    return out
  },
}
