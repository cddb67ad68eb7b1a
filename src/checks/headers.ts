/**
 * `header-conformance`: required headers are present, forbidden ones absent, patterned ones match.
 * Judged only on responses the expectation describes (their status has a response expectation).
 */
import { headerValues } from '../model/observation.ts'
import { expectedResponse, perObservation } from './check.ts'

const regexes = new Map<string, RegExp>()

/** Contracts keep patterns as strings (plain data); the RegExp is compiled once per pattern. */
function compiled(pattern: string): RegExp {
  let re = regexes.get(pattern)
  if (!re) regexes.set(pattern, (re = new RegExp(pattern)))
  return re
}

/** Flags missing required headers, present forbidden headers and values that break a pattern. */
export const headersCheck = perObservation('header-conformance', 'required headers present, forbidden absent, patterns match', 'headers', (o, exp) => {
  const hit = expectedResponse(o, exp)
  if (!hit) return []
  const { r } = hit
  const h = hit.spec.headers
  const out = []
  const names = () => r.rawHeaders.map(([n]) => n).join(', ') || '(none)'
  for (const req of h.required) {
    if (headerValues(r.rawHeaders, req.name).length === 0) {
      out.push({
        severity: req.severity,
        title: `Header ${req.name} missing`,
        message: `Received headers: ${names()}\nContract: ${req.name} is present\nClients or monitoring that read ${req.name} get nothing.`,
        expected: `${req.name} present`,
        actual: 'absent',
      })
    }
  }
  for (const f of h.forbidden) {
    const values = headerValues(r.rawHeaders, f.name)
    if (values.length > 0) {
      out.push({
        severity: f.severity,
        title: `Header ${f.name} present (contract: absent)`,
        message: `Received: ${f.name}: ${values.join(', ')}\nContract: no ${f.name} header`,
        expected: `${f.name} absent`,
        actual: `${f.name}: ${values.join(', ')}`,
      })
    }
  }
  for (const p of h.patterns) {
    const values = headerValues(r.rawHeaders, p.name)
    if (values.length === 0) continue // absence is the job of `required`
    const re = compiled(p.pattern)
    const bad = values.filter((v) => !re.test(v))
    if (bad.length > 0) {
      out.push({
        severity: p.severity,
        title: `Header ${p.name} does not match /${p.pattern}/`,
        message: `Received: ${p.name}: ${bad.join(', ')}\nContract: ${p.name} matches /${p.pattern}/`,
        expected: `/${p.pattern}/`,
        actual: bad.join(', '),
      })
    }
  }
  return out
}, (o, exp) => {
  // Which contracted headers are missing, present or off their pattern is all the titles say (the values are the messages').
  const hit = expectedResponse(o, exp)
  if (!hit) return ''
  const { r } = hit
  const h = hit.spec.headers
  let key = `${r.status}:`
  for (const req of h.required) key += headerValues(r.rawHeaders, req.name).length === 0 ? '1' : '0'
  for (const f of h.forbidden) key += headerValues(r.rawHeaders, f.name).length > 0 ? '1' : '0'
  for (const p of h.patterns) {
    const re = compiled(p.pattern)
    let bad = '0'
    for (const v of headerValues(r.rawHeaders, p.name)) if (!re.test(v)) bad = '1'
    key += bad
  }
  return key
})
