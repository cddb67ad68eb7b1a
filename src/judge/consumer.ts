/**
 * Findings about the traffic rather than the upstream: our client used a method the endpoint does
 * not take (Feb 6 2026: POST with method=get to a media id), an exchange whose operation the
 * traffic does not settle (never judged on a guess), an exchange no operation describes.
 */
import { describeNode, type HttpMethod, type Operation } from '../contracts/types.ts'
import { evidenceFrom, type Finding } from '../finding.ts'
import { describeStatus } from '../graph/index.ts'
import type { Observation } from '../observation.ts'

/** Contract label of findings about exchanges whose operation the traffic does not settle. */
export const UNATTRIBUTED = '(unattributed)'
/** Contract label of findings about exchanges no operation describes. */
export const NO_OPERATION = '(no operation)'

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
  return { ...rest, evidence: evidenceFrom(first), samples, of: samples, since: first.startedAt, new: true }
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

/** Exchanges the traffic could not attribute to one operation: said once per request shape, with the candidates and why. */
export function unattributed(method: string, candidates: readonly Operation[], exchanges: readonly (Exchange & { reason: string; basis: readonly string[] })[]): Finding {
  const first = exchanges[0]!
  const shape = pathShape(pathOf(first.observation.request.url))
  const ids = candidates.map((c) => c.id)
  const could = ids.length > 1 ? `${ids.slice(0, -1).join(', ')} or ${ids[ids.length - 1]}` : ids[0] ?? 'nothing'
  const n = exchanges.length
  return finding({
    contract: UNATTRIBUTED,
    check: 'attribution',
    severity: 'info',
    title: `Unattributed: ${method} ${shape} could be ${could}`,
    message:
      `${n} exchange${n === 1 ? '' : 's'} (first: ${first.source}, ${method} ${pathOf(first.observation.request.url)}, answered ${answered(first.observation)}).\n` +
      `Why not attributed: ${first.reason}.${first.basis.length ? ` What the traffic did say: ${first.basis.join('; ')}.` : ''}\n` +
      'Only what every candidate agrees on was judged for these exchanges: nothing is reported on a guess. To settle it, set WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_WABA_ID, or capture the request that produced the id (an upload, a list) in the same traffic.',
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
