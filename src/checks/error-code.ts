/**
 * `error-code-conformance`: the Graph error code is in the expected set. Meta says the order of its
 * validation checks changes, so one bad request may yield different codes: expectations list a
 * set, and only a code outside it is drift. A probe's set is exact (breaking); an operation's set
 * is what Meta documents for it, on top of the codes any Graph call may return (token, rate
 * limits, downtime), and an undocumented code is a warning: clients take their default path.
 */
import { describeStatus, graphError, isCommonGraphCode } from '../graph/index.ts'
import type { Severity } from '../model/finding.ts'
import { expectedResponse, perObservation } from './check.ts'

const LESS: Record<Severity, Severity> = { breaking: 'warning', warning: 'info', info: 'info' }

/** Flags an error code, subcode or type outside the expected sets. */
export const errorCodeCheck = perObservation('error-code-conformance', 'the error code is in the contracted set', 'body', (o, exp) => {
  const r = o.response
  if (!r || r.status < 400) return []
  const want = expectedResponse(o, exp)?.spec.error
  if (!want) return []
  const e = graphError(r.body.json)
  if (!e || e.code === undefined) return [] // error-envelope reports unreadable envelopes
  const out = []
  const set = `{${want.codes.join(', ')}}`
  if (!want.codes.includes(e.code) && !(want.includesCommon && isCommonGraphCode(e.code))) {
    out.push(
      want.includesCommon
        ? {
            severity: want.severity,
            title: `Error code ${e.code} is not documented for ${exp.id}`,
            message: `Received: ${describeStatus(r)}\nContract: ${exp.file} documents ${set} for ${exp.request}, besides the codes any Graph call may return\nClients map error codes to actions (retry, refresh the token, give up); an undocumented code takes the default path. If Meta documents it now, add it to the operation.`,
            expected: `code in ${set} or a Graph-wide code`,
            actual: `code ${e.code}`,
          }
        : {
            severity: want.severity,
            title: `Error code ${e.code} outside the contracted set ${set}`,
            message: `Received: ${describeStatus(r)}\nContract: error.code in ${set}\nClients map error codes to actions (retry, refresh the token, give up); an unknown code takes the default path.`,
            expected: `code in ${set}`,
            actual: `code ${e.code}`,
          },
    )
  }
  if (want.subcodes && e.subcode !== undefined && !want.subcodes.includes(e.subcode)) {
    out.push({
      severity: LESS[want.severity],
      title: `Error subcode ${e.subcode} outside the contracted set {${want.subcodes.join(', ')}}`,
      message: `Received: ${describeStatus(r)}\nContract: error_subcode in {${want.subcodes.join(', ')}}\nMeta documents subcodes as deprecated, yet clients still branch on them.`,
      expected: `subcode in {${want.subcodes.join(', ')}}`,
      actual: `subcode ${e.subcode}`,
    })
  }
  if (want.types && e.type !== undefined && !want.types.includes(e.type)) {
    out.push({
      severity: LESS[want.severity],
      title: `Error type ${e.type} (contract: ${want.types.join(' or ')})`,
      message: `Received: ${describeStatus(r)}\nContract: error.type in {${want.types.join(', ')}}`,
      expected: want.types.join(' or '),
      actual: e.type,
    })
  }
  return out
}, 'drafts')
