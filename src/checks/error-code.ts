/**
 * `error-code-conformance`: the Graph error code is in the contract's allowed set. Meta says the
 * order of its validation checks changes, so one bad request may yield different codes: contracts
 * list a set, and only a code outside the set is drift.
 */
import { describeStatus, graphError, perObservation } from './check.ts'

/** Flags an error code (breaking), subcode or type (warning) outside the contracted sets. */
export const errorCodeCheck = perObservation('error-code-conformance', 'the error code is in the contracted set', 'body', (o, contract) => {
  const want = contract.expect.error
  const r = o.response
  if (!want || !r || r.status < 400) return []
  const e = graphError(r.body.json)
  if (!e || e.code === undefined) return [] // error-envelope reports unreadable envelopes
  const out = []
  if (!want.codes.includes(e.code)) {
    out.push({
      severity: 'breaking' as const,
      title: `Error code ${e.code} outside the contracted set {${want.codes.join(', ')}}`,
      message: `Received: ${describeStatus(r)}\nContract: error.code in {${want.codes.join(', ')}}\nClients map error codes to actions (retry, refresh the token, give up); an unknown code takes the default path.`,
      expected: `code in {${want.codes.join(', ')}}`,
      actual: `code ${e.code}`,
    })
  }
  if (want.subcodes && e.subcode !== undefined && !want.subcodes.includes(e.subcode)) {
    out.push({
      severity: 'warning' as const,
      title: `Error subcode ${e.subcode} outside the contracted set {${want.subcodes.join(', ')}}`,
      message: `Received: ${describeStatus(r)}\nContract: error_subcode in {${want.subcodes.join(', ')}}\nMeta documents subcodes as deprecated, yet clients still branch on them.`,
      expected: `subcode in {${want.subcodes.join(', ')}}`,
      actual: `subcode ${e.subcode}`,
    })
  }
  if (want.types && e.type !== undefined && !want.types.includes(e.type)) {
    out.push({
      severity: 'warning' as const,
      title: `Error type ${e.type} (contract: ${want.types.join(' or ')})`,
      message: `Received: ${describeStatus(r)}\nContract: error.type in {${want.types.join(', ')}}`,
      expected: want.types.join(' or '),
      actual: e.type,
    })
  }
  return out
})
