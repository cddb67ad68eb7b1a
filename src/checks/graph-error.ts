/**
 * `graph-error`: traffic only. An application that asks for an unknown id gets 400 with code 100
 * subcode 33; one that sends a bad parameter gets 100; that is the operation answering as
 * documented, not drift. When the envelope conforms and the code is documented, this says so once,
 * as info ("the application got error 100/33"), so the report accounts for every error it saw
 * without crying wolf. A broken envelope is error-envelope's; an undocumented code is
 * error-code-conformance's.
 */
import { describeStatus, errorCodeLabel, graphError, isCommonGraphCode } from '../graph/index.ts'
import { expectedResponse, type Check } from './check.ts'
import { rejectedParameters } from './parameter-rejection.ts'

/** Notes, as info, a documented Graph error the application got. */
export const graphErrorCheck: Check = {
  id: 'graph-error',
  title: 'errors in traffic are documented Graph errors',
  needs: 'body',
  run(observations, exp) {
    if (!exp.anyError) return []
    const out: ReturnType<Check['run']> = []
    observations.forEach((o, i) => {
      const r = o.response
      // A rejection of a method the endpoint does not take is the expected answer; consumer-method says what was wrong.
      if (!r || r.status < 400 || exp.methods?.rejects.includes(o.request.method as never)) return
      const want = expectedResponse(o, exp)?.spec.error
      const e = graphError(r.body.json)
      if (!want || !e || e.code === undefined || e.type === undefined || e.message === undefined) return
      if (!want.codes.includes(e.code) && !(want.includesCommon && isCommonGraphCode(e.code))) return
      // Not the application's doing when the same request without a parameter worked (parameter-rejection says so).
      if (rejectedParameters(o, observations)) return
      const label = errorCodeLabel(e)
      out.push({
        check: 'graph-error',
        severity: 'info',
        title: `The application got Graph error ${label} (${e.type})`,
        message: `Received: ${describeStatus(r)}\nContract: ${exp.file} documents error ${e.code} for ${exp.request}${want.codes.includes(e.code) ? '' : ' (a code any Graph call may return)'}\nThis is the API answering what the application asked (an unknown or expired id, a bad parameter, a missing permission), not a change in the API.`,
        expected: 'a documented Graph error',
        actual: `${r.status} ${label}`,
        observationIndex: i,
      })
    })
    return out
  },
  project(o, exp) {
    const r = o.response
    if (!exp.anyError || !r || r.status < 400 || exp.methods?.rejects.includes(o.request.method as never)) return ''
    // Alone, an exchange has no twin (rejectedParameters looks for a success among the others): the title is the error's.
    const e = graphError(r.body.json)
    return e ? `${r.status} ${e.code} ${e.subcode} ${e.message !== undefined} ${e.type}` : `${r.status}`
  },
}
