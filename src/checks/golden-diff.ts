/**
 * `golden-diff`: today's responses against the golden recording of the same contract: status,
 * framing, HTTP version, which headers are sent, and the values of headers that are not volatile
 * (dates, request and trace ids, usage counters are compared by presence only). The body's shape
 * is `schema-drift`'s job. It reports only what the contract leaves open (a header nobody pinned
 * vanishes, framing changes where the contract says `any`, the status moves between two allowed
 * ones): what the contract pins, its own checks already report. Headers are compared between
 * responses of the same status, since an error response carries other headers than a success.
 */
import { headerValues, type Observation } from '../model/observation.ts'
import { isVolatileHeader } from '../recordings/volatile.ts'
import { availabilityOf } from '../graph/index.ts'
import { expectedResponse, type Check } from './check.ts'

/** Framing and connection headers: framing-conformance and the framing comparison judge these. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive'])
/** Rate-usage headers: Meta sends one or another depending on which limit applies to the call. */
const USAGE_HEADERS = new Set(['x-app-usage', 'x-business-use-case-usage', 'x-ad-account-usage'])
/** Headers whose value quotes the error message: error-code-conformance judges the error itself. */
const MESSAGE_HEADERS = new Set(['www-authenticate'])

function uniq(xs: readonly string[]): string[] {
  return [...new Set(xs)].sort()
}

/** Header names compared by presence, lowercased; computed once per observation. */
const nameSets = new WeakMap<Observation, Set<string>>()
function namesIn(o: Observation): Set<string> {
  let names = nameSets.get(o)
  if (!names) {
    names = new Set((o.response?.rawHeaders ?? []).map(([n]) => n.toLowerCase()).filter((n) => !FRAMING_HEADERS.has(n) && !USAGE_HEADERS.has(n)))
    nameSets.set(o, names)
  }
  return names
}

/** Flags differences from the recording the runner chose for this contract. */
export const goldenDiffCheck: Check = {
  id: 'golden-diff',
  title: 'responses look like the golden recording',
  needs: 'headers',
  run(observations, exp, ctx) {
    const golden = ctx.golden
    if (!golden) return []
    const recorded = golden.observations.filter((o) => o.response && availabilityOf(o, exp) === 'ok')
    const responses = observations.filter((o) => expectedResponse(o, exp) !== undefined)
    if (recorded.length === 0 || responses.length === 0) return []
    // What the expectation pins, its own checks already report.
    const pinned = new Set(exp.responses.flatMap((r) => [...r.headers.required, ...r.headers.forbidden, ...r.headers.patterns].map((h) => h.name)))
    if (exp.responses.some((r) => r.contentType)) pinned.add('content-type')
    const since = `the recording "${golden.name}" of ${golden.recordedAt.slice(0, 16).replace('T', ' ')} UTC`
    const out: ReturnType<Check['run']> = []
    const at = (pred: (o: Observation) => boolean) => Math.max(0, observations.findIndex(pred))
    // A value one side did not capture (a VCR cassette keeps no HTTP version) is not a change.
    const compare = (what: string, get: (o: Observation) => string | undefined, severity: 'warning' | 'info', why: string) => {
      const before = uniq(recorded.map(get).filter((v): v is string => v !== undefined))
      const after = uniq(responses.map(get).filter((v): v is string => v !== undefined))
      if (before.length === 0) return
      const fresh = after.filter((v) => !before.includes(v))
      if (fresh.length === 0) return
      out.push({
        check: 'golden-diff',
        severity,
        title: `${what} was ${before.join(' or ')}, is now ${fresh.join(' or ')}`,
        message: `Received: ${what} ${after.join(', ')}\nRecorded: ${what} ${before.join(', ')} in ${since}\n${why}`,
        expected: `${what}: ${before.join(', ')}`,
        actual: `${what}: ${after.join(', ')}`,
        observationIndex: at((o) => fresh.includes(get(o) ?? '')),
        samples: responses.filter((o) => fresh.includes(get(o) ?? '')).length,
      })
    }
    compare('status', (o) => String(o.response!.status), 'warning', 'The contract allows both, but clients often branch on the status they were tested with.')
    if (exp.framing === 'any' && exp.responses.every((r) => r.framing === 'any')) compare('framing', (o) => o.response!.framing.kind, 'warning', 'Clients and proxies that size bodies by Content-Length behave differently on chunked bodies (the Jan 20 2026 incident).')
    compare('HTTP version', (o) => o.response!.httpVersion, 'info', 'Usually harmless; worth knowing when a proxy sits in between.')

    // Like with like: headers of today's responses against recorded responses of the same status.
    const statuses = new Set(recorded.map((o) => o.response!.status))
    const now = responses.filter((o) => statuses.has(o.response!.status))
    if (now.length === 0) return out
    const was = recorded.filter((o) => now.some((x) => x.response!.status === o.response!.status))

    // Headers: present in every recorded sample but not in every sample today (warning); never recorded but sent now (info).
    const always = [...namesIn(was[0]!)].filter((n) => !pinned.has(n) && was.every((o) => namesIn(o).has(n)))
    const everRecorded = new Set(was.flatMap((o) => [...namesIn(o)]))
    for (const name of always.sort()) {
      const missing = now.filter((o) => !namesIn(o).has(name))
      if (missing.length === 0) continue
      out.push({
        check: 'golden-diff',
        severity: 'warning',
        title: `Header ${name} is no longer sent`,
        message: `Received: no ${name} header in ${missing.length} of ${now.length} responses\nRecorded: ${name} in every response of ${since}\nAnything that reads it (caches, rate limiters, version pinning) falls back to defaults.`,
        expected: `${name} present`,
        actual: `${name} absent`,
        observationIndex: at((o) => !namesIn(o).has(name)),
        samples: missing.length,
      })
    }
    for (const name of uniq(now.flatMap((o) => [...namesIn(o)]).filter((n) => !everRecorded.has(n) && !pinned.has(n)))) {
      const having = now.filter((o) => namesIn(o).has(name))
      out.push({
        check: 'golden-diff',
        severity: 'info',
        title: `New header ${name}`,
        message: `Received: ${name}: ${headerValues(having[0]!.response!.rawHeaders, name)[0] ?? ''}\nRecorded: no ${name} in ${since}`,
        expected: `no ${name}`,
        actual: `${name} present`,
        observationIndex: at((o) => namesIn(o).has(name)),
        samples: having.length,
      })
    }
    // Values of stable headers present on both sides.
    for (const name of always.filter((n) => !isVolatileHeader(n) && !n.startsWith('x-fb-') && !MESSAGE_HEADERS.has(n))) {
      const value = (o: Observation) => headerValues(o.response!.rawHeaders, name).join(', ')
      const present = now.filter((o) => namesIn(o).has(name))
      if (present.length === 0) continue
      const before = uniq(was.map(value))
      const changed = present.filter((o) => !before.includes(value(o)))
      if (changed.length === 0) continue
      out.push({
        check: 'golden-diff',
        severity: 'warning',
        title: `Header ${name} was "${before.join('" or "')}", is now "${value(changed[0]!)}"`,
        message: `Received: ${name}: ${value(changed[0]!)} in ${changed.length} of ${present.length} responses\nRecorded: ${name}: ${before.join(' | ')} in ${since}`,
        expected: `${name}: ${before.join(' | ')}`,
        actual: `${name}: ${value(changed[0]!)}`,
        observationIndex: at((o) => changed.includes(o)),
        samples: changed.length,
      })
    }
    return out
  },
}
