/**
 * `content-type-conformance`: the media type (and the parameters the contract names, such as
 * charset) are as contracted. A changed media type breaks clients that dispatch on it; a changed
 * parameter usually does not, so it is a warning.
 */
import { expectedResponse, mediaParams, mediaType, perObservation, responseHeader } from './check.ts'

/** Flags a changed media type (breaking) or changed contracted parameter (warning). */
export const contentTypeCheck = perObservation('content-type-conformance', 'the Content-Type is as contracted', 'headers', (o, exp) => {
  const hit = expectedResponse(o, exp)
  const want = hit?.spec.contentType
  if (!hit || !want) return []
  const { r } = hit
  const got = responseHeader(r, 'content-type')
  if (got === want) return [] // the common case, exactly as contracted
  if (got === undefined) {
    return [{ severity: 'breaking', title: 'Content-Type missing', message: `Received: no Content-Type\nContract: ${want}\nClients that check the type before parsing reject the body.`, expected: want, actual: 'absent' }]
  }
  if (mediaType(got) !== mediaType(want)) {
    return [{
      severity: 'breaking',
      title: `Content-Type changed to ${mediaType(got)} (contract: ${mediaType(want)})`,
      message: `Received: Content-Type: ${got}\nContract: ${want}\nClients that check the media type before parsing (or pick a parser by it) fail.`,
      expected: want,
      actual: got,
    }]
  }
  const wantParams = mediaParams(want)
  const gotParams = mediaParams(got)
  const diffs = Object.entries(wantParams).filter(([k, v]) => gotParams[k]?.toLowerCase() !== v.toLowerCase())
  if (diffs.length === 0) return []
  return [{
    severity: 'warning',
    title: `Content-Type parameter ${diffs.map(([k]) => k).join(', ')} changed`,
    message: `Received: Content-Type: ${got}\nContract: ${want}\nStrict clients may decode the body differently.`,
    expected: want,
    actual: got,
  }]
}, (o, exp) => {
  const hit = expectedResponse(o, exp)
  if (!hit?.spec.contentType) return ''
  const got = responseHeader(hit.r, 'content-type')
  return got === undefined ? `${hit.r.status}` : `${hit.r.status} ${got}`
})
