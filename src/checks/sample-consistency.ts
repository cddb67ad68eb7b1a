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
import type { FindingDraft } from '../finding.ts'
import type { Observation } from '../observation.ts'
import type { Check } from './check.ts'

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
  return `${o.request.method} ${o.request.url}\u0000${o.request.bodyExcerpt ?? ''}`
}

/** Which samples are compared: what the producer said (captured traffic), else the same request. */
export function requestIdentity(o: Observation): string {
  return o.request.sampleOf ?? sameRequest(o)
}

function finding(dimension: string, splits: Split[], n: number, exp: Expectation, consequence: string): FindingDraft {
  const minority = splits.slice(1).reduce((k, s) => k + s.indexes.length, 0)
  const split = splits.map((s) => `${s.indexes.length} of ${n} samples: ${dimension} ${s.label}`).join(', ')
  return {
    check: 'sample-consistency',
    severity: 'breaking',
    title: `Inconsistent ${dimension} across samples: ${splits.map((s) => `${s.indexes.length}× ${s.label}`).join(', ')}`,
    message: `Received: ${split}\nContract: every sample of ${exp.request} gets the same ${dimension}\n${consequence}`,
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
        out.push(finding('status', byStatus, n, exp, 'The upstream answers the same request differently depending on which server takes it, so clients fail intermittently and retries "fix" it by luck (Feb 6 2026: POST with method=get was honoured by some Meta servers and refused with 405 by others; it took two days to find). Treat the minority answer as what production will see.'))
      }
      const byFraming = splitBy(same.indexes, observations, (o) => o.response!.framing.kind)
      if (byFraming.length > 1) {
        out.push(finding('framing', byFraming, n, exp, 'Part of the fleet frames this response differently: clients that need a Content-Length fail on some requests only (Jan 20 2026 was a switch to chunked).'))
      }
    }
    return out
  },
}
