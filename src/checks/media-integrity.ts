/**
 * `media-integrity`: the downloaded media is what the metadata promised: sha256 and byte length
 * equal the `sha256` and `file_size` from the retrieve-URL response, and Content-Type equals its
 * `mime_type`. Hashes are computed over every byte streamed, not over what was kept in memory.
 */
import { expectedResponse, mediaType, perObservation, responseHeader } from './check.ts'

/** Flags downloads whose hash, size or type disagree with the media metadata. */
export const mediaIntegrityCheck = perObservation('media-integrity', 'downloaded bytes match the media metadata', 'body', (o, exp, ctx) => {
  const want = ctx.media?.(o)
  const r = expectedResponse(o, exp)?.r
  if (!want || !r || o.transportError) return []
  const out = []
  if (want.sha256 !== undefined && want.sha256.toLowerCase() !== r.body.sha256) {
    out.push({
      severity: 'breaking' as const,
      title: 'Downloaded media does not match its sha256',
      message: `Received: ${r.body.size} bytes with sha256 ${r.body.sha256}\nContract: sha256 ${want.sha256} (from the media metadata)\nClients that verify media integrity reject the file; clients that do not store corrupt media.`,
      expected: want.sha256,
      actual: r.body.sha256,
    })
  }
  if (want.size !== undefined && String(r.body.size) !== String(want.size).trim()) {
    out.push({
      severity: 'breaking' as const,
      title: `Downloaded ${r.body.size} bytes, metadata says ${want.size}`,
      message: `Received: ${r.body.size} bytes\nContract: file_size ${want.size} (from the media metadata)\nClients that preallocate or check the size fail.`,
      expected: String(want.size),
      actual: String(r.body.size),
    })
  }
  if (want.mimeType !== undefined) {
    const ct = responseHeader(r, 'content-type')
    if (ct === undefined || mediaType(ct) !== mediaType(want.mimeType)) {
      out.push({
        severity: 'breaking' as const,
        title: `Downloaded Content-Type ${ct ?? '(none)'}, metadata says ${want.mimeType}`,
        message: `Received: Content-Type: ${ct ?? '(none)'}\nContract: ${want.mimeType} (mime_type from the media metadata)\nClients that pick a decoder by type mishandle the file.`,
        expected: want.mimeType,
        actual: ct ?? 'absent',
      })
    }
  }
  return out
}, (o, exp, ctx) => {
  // What the download is checked against comes from the traffic so far: it is part of the projection.
  const want = ctx.media?.(o)
  const r = expectedResponse(o, exp)?.r
  if (!want || !r || o.transportError) return ''
  const ct = want.mimeType !== undefined ? responseHeader(r, 'content-type') : undefined
  // Values from the wire and the metadata: JSON keeps them apart whatever they hold (downloads only, a few).
  return JSON.stringify([want.sha256 !== undefined && want.sha256.toLowerCase() !== r.body.sha256, want.size === undefined ? null : [r.body.size, want.size], want.mimeType === undefined ? null : [ct ?? null, want.mimeType]])
})
