/**
 * `graph-error`: traffic only. An application that asks for an unknown id gets 400 with code 100
 * subcode 33; one that sends a bad parameter gets 100; that is the operation answering as
 * documented, not drift. When the envelope conforms and the code is documented, this says so once,
 * as info ("the application got error 100/33"), so the report accounts for every error it saw
 * without crying wolf. A broken envelope is error-envelope's; an undocumented code is
 * error-code-conformance's.
 */
import { describeStatus, errorCodeLabel, graphError, isCommonGraphCode } from '../graph/index.ts'
import { expectedResponse, perObservation } from './check.ts'

/** Notes, as info, a documented Graph error the application got. */
export const graphErrorCheck = perObservation('graph-error', 'errors in traffic are documented Graph errors', 'body', (o, exp) => {
  const r = o.response
  if (!exp.anyError || !r || r.status < 400) return []
  const want = expectedResponse(o, exp)?.spec.error
  const e = graphError(r.body.json)
  if (!want || !e || e.code === undefined || e.type === undefined || e.message === undefined) return []
  if (!want.codes.includes(e.code) && !(want.includesCommon && isCommonGraphCode(e.code))) return []
  const label = errorCodeLabel(e)
  return [{
    severity: 'info',
    title: `The application got Graph error ${label} (${e.type})`,
    message: `Received: ${describeStatus(r)}\nContract: ${exp.file} documents error ${e.code} for ${exp.request}${want.codes.includes(e.code) ? '' : ' (a code any Graph call may return)'}\nThis is the API answering what the application asked (an unknown or expired id, a bad parameter, a missing permission), not a change in the API.`,
    expected: 'a documented Graph error',
    actual: `${r.status} ${label}`,
  }]
})
