/**
 * Findings about the traffic rather than the upstream: our client used a method the endpoint does
 * not take (Feb 6 2026: POST with method=get to a media id), a request body the docs do not
 * describe (Meta took it, or refused it), an exchange whose operation the traffic does not settle
 * (never judged on a guess), an exchange no operation describes.
 */
import { describeNode, type HttpMethod, type Operation, type SchemaViolation } from '../contracts/types.ts'
import { evidenceFrom, NO_OPERATION, UNATTRIBUTED, type Finding } from '../model/finding.ts'
import { describeStatus, errorCodeLabel, graphError } from '../graph/index.ts'
import type { Observation } from '../model/observation.ts'

export { NO_OPERATION, UNATTRIBUTED }

/** An exchange as consumer findings quote it. */
export interface Exchange {
  source: string
  observation: Observation
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname
  } catch {
    return url
  }
}

/** Ids in a path as `{id}`, so one finding stands for every exchange of the same shape. */
export function pathShape(path: string): string {
  return path.replace(/\/v\d+\.\d+(?=\/|$)/, '/{api_version}').replace(/\/[0-9]{5,}(?=\/|$)/g, '/{id}')
}

function answered(o: Observation): string {
  return o.response ? describeStatus(o.response) : o.transportError ? `no response (${o.transportError.code})` : 'no response'
}

function finding(base: Omit<Finding, 'evidence' | 'since' | 'new' | 'samples' | 'of'> & { first: Observation; samples: number }): Finding {
  const { first, samples, ...rest } = base
  // Object.assign, not a spread: keys added after a spread take V8's slow road (~1 µs a finding; traffic makes one an exchange it cannot attribute).
  return Object.assign({}, rest, { evidence: evidenceFrom(first), samples, of: samples, since: first.startedAt, new: true })
}

/**
 * Our client sent a method no operation on the addressed node takes. `op` is the operation it
 * meant, when the traffic says; else the finding is about the request alone (a legacy method
 * override is wrong whichever operation it was after) and reported as unattributed.
 */
export function consumerMethod(op: Operation | undefined, accepts: readonly HttpMethod[], e: Exchange, how: string): Finding {
  const o = e.observation
  const takes = accepts.join(' or ')
  const where = op ? `${op.file} and the other operations on this ${describeNode(op.node)} take ${takes}; none takes ${o.request.method}.` : `Whichever operation it was after takes ${takes}.`
  return finding({
    contract: op?.id ?? UNATTRIBUTED,
    check: 'consumer-method',
    severity: 'breaking',
    title: `Our client sent ${o.request.method} where the endpoint takes ${takes}`,
    message: `${e.source}: ${o.request.method} ${pathOf(o.request.url)}${o.request.bodyExcerpt ? ` with body ${o.request.bodyExcerpt.slice(0, 120)}` : ''}, answered ${answered(o)}\nContract: ${where} ${how}\nThis is consumer drift: the Feb 6 2026 incident was a client sending POST with method=get, which some of Meta's servers answered 405 and others did not. Fix the client before it reaches production.`,
    expected: `${takes} ${op?.request.path ?? pathShape(pathOf(o.request.url))}`,
    actual: `${o.request.method} (answered ${o.response?.status ?? 'nothing'})`,
    first: o,
    samples: 1,
  })
}

/** At most this many departures of one request body are said one by one; the rest are one more finding. */
export const MAX_DEPARTURES = 8
/** At most this many kinds of departure per operation across traffic (a body's own keys can name paths); the rest are counted in one finding. */
export const MAX_DEPARTURE_KINDS = 100

const a = (type: string) => (type === 'null' ? 'null' : `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`)

/** What a departure is, in words: `reason` names the path and never a value from the body (it is the finding's title, and folds across exchanges). */
function departure(v: SchemaViolation): { reason: string; expected: string; actual: string; fix: string } {
  const path = v.path.replace(/\[\d+\]/g, '[*]')
  const at = `\`${path}\``
  switch (v.keyword) {
    case 'type':
      return { reason: `${at} is ${a(v.actual ?? 'another type')}, documented as ${a(v.allowed ?? 'another type')}`, expected: v.allowed ?? 'another type', actual: v.actual ?? 'another type', fix: `send ${a(v.allowed ?? 'the documented type')} at ${at}` }
    case 'required':
      return { reason: `${at} is missing; the docs require it`, expected: `${path} present`, actual: 'missing', fix: `send ${at}` }
    case 'not':
      return { reason: `${at} is present; the docs rule it out for this operation`, expected: `no ${path}`, actual: 'present', fix: `leave ${at} out, or call the operation that takes it` }
    case 'const':
    case 'enum': {
      const documented = v.message.replace(/^must be (one of )?/, '').replace(/, is .*$/s, '')
      return { reason: `${at} is not ${v.keyword === 'enum' ? 'one of the documented values' : 'the documented value'}`, expected: documented, actual: 'another value', fix: `send ${v.keyword === 'enum' ? 'one of ' : ''}${documented} at ${at}` }
    }
    case 'depth':
      return { reason: `${at} is nested too deep to compare with the docs`, expected: 'a body the docs describe', actual: 'nested too deep', fix: 'send a body nested as the docs describe' }
    case 'additionalProperties': {
      const parent = path.replace(/(\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]]*\])$/, '') || '$'
      return { reason: `\`${parent}\` has fields the docs do not list`, expected: 'only the documented fields', actual: `also ${path}`, fix: `leave ${at} out` }
    }
    default:
      return { reason: `${at} breaks the documented ${v.keyword} rule`, expected: v.keyword, actual: v.message.replace(/, is .*$/s, ''), fix: `send what the docs describe at ${at} (${v.message.replace(/, is .*$/s, '')})` }
  }
}

/** How the upstream answered the request, as a title says it: `Meta answered 200`, `Meta answered 400 (code 100)`. */
function answeredBriefly(o: Observation): { words: string; took?: boolean } {
  const r = o.response
  if (!r) return { words: `no answer came (${o.transportError?.code ?? 'no response'})` }
  const e = r.status >= 400 ? graphError(r.body.json) : undefined
  return { words: `Meta answered ${r.status}${e?.code !== undefined ? ` (code ${errorCodeLabel(e)})` : ''}`, took: r.status < 400 }
}

/**
 * Where a request body departs from its operation's documented schema, once per path and reason:
 * `` `$.text.preview_url` is a string, documented as a boolean; Meta answered 200 ``. Info, never
 * drift: it is what the app sent, and whether Meta took it is in the title. A 200 says the app
 * leans on leniency the docs do not promise; an error says this is likely why the request failed.
 * No value from the body is quoted (it may be a phone number); the evidence holds the exchange.
 */
export function requestOffSchema(op: Operation, violations: readonly SchemaViolation[], e: Exchange): Finding[] {
  const o = e.observation
  const answer = answeredBriefly(o)
  const what = `${e.source}: ${o.request.method} ${pathOf(o.request.url)}, answered ${answered(o)}.`
  const then =
    answer.took === true
      ? 'Meta took it: nothing broke and this is not drift, but the app relies on what the docs do not promise, and a Meta that enforced its docs would refuse it.'
      : answer.took === false
        ? 'Meta refused it: this departure from the docs may be why (the error in the evidence says what Meta objected to), and if so the bug is in the app.'
        : 'No answer came, so whether Meta takes it is not known.'
  const said = violations.slice(0, violations.length > MAX_DEPARTURES ? MAX_DEPARTURES - 1 : MAX_DEPARTURES).map((v) => {
    const d = departure(v)
    return finding({
      contract: op.id,
      check: 'request-schema',
      severity: 'info',
      title: `${d.reason}; ${answer.words}`,
      message: `${what}\nThe request body differs from ${op.file}: ${d.reason}. ${then}\nTo fix: ${d.fix}; or, if Meta documents this form, correct the request schema in ${op.file}.`,
      expected: d.expected,
      actual: d.actual,
      first: o,
      samples: 1,
    })
  })
  const rest = violations.length - said.length
  if (rest > 0) {
    said.push(
      finding({
        contract: op.id,
        check: 'request-schema',
        severity: 'info',
        title: `The request body differs from the docs in more places; ${answer.words}`,
        message: `${what}\n${rest} more departures from ${op.file} than the ${said.length} listed, first: ${departure(violations[said.length]!).reason}. ${then}`,
        expected: 'the documented request body',
        actual: `${violations.length} departures`,
        first: o,
        samples: 1,
      }),
    )
  }
  return said
}

/** Stands for a departure past MAX_DEPARTURE_KINDS kinds of an operation: one finding, counted, naming the first it stands for. */
export function moreDepartures(f: Finding): Finding {
  return {
    ...f,
    title: `More kinds of departure from the docs than the ${MAX_DEPARTURE_KINDS} listed`,
    message: `${MAX_DEPARTURE_KINDS} kinds of departure from the docs are listed for this operation; the others are counted here, first: ${f.title}.\n${f.message}`,
    expected: 'the documented request body',
    actual: 'more departures',
  }
}

/** Exchanges the traffic could not attribute to one operation: said once per request shape, with the candidates and why. */
export function unattributed(method: string, candidates: readonly Operation[], exchanges: readonly (Exchange & { reason: string; basis: readonly string[] })[]): Finding {
  const first = exchanges[0]!
  const shape = pathShape(pathOf(first.observation.request.url))
  const ids = candidates.map((c) => c.id)
  const could = ids.length > 1 ? `${ids.slice(0, -1).join(', ')} or ${ids[ids.length - 1]}` : ids[0] ?? 'nothing'
  const n = exchanges.length
  // Candidates on one node differ by the request itself (an image with both id and link): no id would tell them apart.
  const settle =
    new Set(candidates.map((c) => c.node)).size === 1
      ? 'The request itself does not say which it is: send what one of them takes (the docs of each say what decides it).'
      : 'To settle it, set WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_WABA_ID, or capture the request that produced the id (an upload, a list) in the same traffic.'
  return finding({
    contract: UNATTRIBUTED,
    check: 'attribution',
    severity: 'info',
    title: `Unattributed: ${method} ${shape} could be ${could}`,
    message:
      `${n} exchange${n === 1 ? '' : 's'} (first: ${first.source}, ${method} ${pathOf(first.observation.request.url)}, answered ${answered(first.observation)}).\n` +
      `Why not attributed: ${first.reason}.${first.basis.length ? ` What the traffic did say: ${first.basis.join('; ')}.` : ''}\n` +
      `Only what every candidate agrees on was judged for these exchanges: nothing is reported on a guess. ${settle}`,
    expected: 'one operation',
    actual: `one of ${ids.join(', ')}`,
    first: first.observation,
    samples: n,
  })
}

/** An exchange no operation describes (on a host the operations cover). */
export function noOperation(e: Exchange, contractsDir: string, reason: string): Finding {
  const o = e.observation
  const shape = pathShape(pathOf(o.request.url))
  return finding({
    contract: NO_OPERATION,
    check: 'attribution',
    severity: 'info',
    title: `No operation describes ${o.request.method} ${shape}`,
    message: `${e.source}: ${o.request.method} ${pathOf(o.request.url)} answered ${answered(o)}, and ${reason} in ${contractsDir}.\nIf the application relies on it, add an operation for it (driftwatch import openapi can draft one from Meta's spec).`,
    expected: 'an operation for this request',
    actual: `${o.request.method} ${shape}`,
    first: o,
    samples: 1,
  })
}

/** An exchange whose URL does not parse: not attributed, not judged, said plainly; the rest of the traffic is judged. */
export function malformedUrl(e: Exchange): Finding {
  const o = e.observation
  return finding({
    contract: NO_OPERATION,
    check: 'attribution',
    severity: 'info',
    title: `Unreadable URL in ${e.source}`,
    message: `${e.source}: ${o.request.method} ${o.request.url} is not a URL (it does not parse), so this exchange was neither attributed nor judged; the others were.\nThe capture is damaged at this entry: export it again, or ignore the entry if it is not Graph traffic.`,
    expected: 'an absolute http(s) URL',
    actual: o.request.url,
    first: o,
    samples: 1,
  })
}

/** Exchanges to a host no operation covers (a browser HAR's fonts, a webhook relay): one finding per host. */
export function foreignHost(host: string, exchanges: readonly Exchange[], contractsDir: string): Finding {
  const first = exchanges[0]!
  const n = exchanges.length
  return finding({
    contract: NO_OPERATION,
    check: 'attribution',
    severity: 'info',
    // The count is the finding's samples: every output shows it there (report.md's column, the CLI's ×).
    title: `No operation covers ${host || 'this host'}`,
    message: `${n} entr${n === 1 ? 'y goes' : 'ies go'} to ${host}, which no operation in ${contractsDir} describes; first: ${first.source}, ${first.observation.request.method} ${pathOf(first.observation.request.url)}.\nIf this host is part of the upstream you care about, add operations for it; otherwise it is other traffic the capture picked up.`,
    expected: 'an operation for this host',
    actual: `${n} entries to ${host}`,
    first: first.observation,
    samples: n,
  })
}
