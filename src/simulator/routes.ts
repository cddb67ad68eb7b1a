/**
 * Request handling for the simulated Graph API and the simulated lookaside media host. Baseline
 * behaviour only; drift lives in scenarios, which wrap this.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { ERRORS, graphErrorResponse, graphJson, statusText, type GraphContext, type SimResponse } from './graph.ts'
import { syntheticChunks, type SimulatorState, type StoredMedia } from './state.ts'

/** A request as the simulator sees it, body fully read. */
export interface SimRequest {
  method: string
  url: URL
  headers: IncomingHttpHeaders
  body: Buffer
}

/** The oldest Graph version still served; older ones are auto-upgraded to it (assumption for Nov 2026, see README). */
export const OLDEST_LIVE_VERSION = 'v22.0'
/** The media download path, as on https://lookaside.fbsbx.com; the simulator serves it on its own host (Graph paths always start with a version). */
export const LOOKASIDE_PREFIX = '/whatsapp_business/attachments/'

const SUPPORTED_MEDIA = new Set(['image/jpeg', 'image/png', 'image/webp', 'audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg', 'video/mp4', 'video/3gpp', 'text/plain', 'application/pdf'])

function versionNumber(v: string): number {
  const m = v.match(/^v(\d+)\.(\d+)$/)
  return m ? Number(m[1]) * 1000 + Number(m[2]) : NaN
}

/** The version that serves a request for `requested`. */
export function servedVersion(requested: string): string {
  return versionNumber(requested) < versionNumber(OLDEST_LIVE_VERSION) ? OLDEST_LIVE_VERSION : requested
}

/** Bearer token from the Authorization header or the access_token query/form parameter. */
export function tokenOf(req: SimRequest, form?: URLSearchParams): string | undefined {
  const auth = req.headers.authorization
  if (auth) {
    const m = auth.match(/^(?:Bearer|OAuth)\s+(.+)$/i)
    return m ? m[1]!.trim() : auth
  }
  return req.url.searchParams.get('access_token') ?? form?.get('access_token') ?? undefined
}

/** Routes one request against the state; `publicBase` is the simulator's own origin (for URLs it hands out). */
export async function route(req: SimRequest, state: SimulatorState, publicBase: string): Promise<SimResponse> {
  if (req.url.pathname.startsWith(LOOKASIDE_PREFIX)) return download(req, state)

  const m = req.url.pathname.match(/^\/(v\d+\.\d+)\/([^/]+)(?:\/([^/]+))?\/?$/)
  const ids = state.nextRequestIds()
  const requested = m?.[1] ?? OLDEST_LIVE_VERSION
  const ctx: GraphContext = { requested, served: servedVersion(requested), ids }
  if (!m) return graphErrorResponse(ctx, { status: 400, message: `Unknown path components: ${req.url.pathname}`, type: 'OAuthException', code: 2500 })
  const id = decodeURIComponent(m[2]!)
  const edge = m[3]
  const { credentials } = state

  const form = isForm(req) ? new URLSearchParams(req.body.toString('utf8')) : undefined
  const token = tokenOf(req, form)
  if (token === undefined) return graphErrorResponse(ctx, ERRORS.tokenMissing())
  if (token !== credentials.token) return graphErrorResponse(ctx, ERRORS.tokenUnparsable())

  const isPhone = id === credentials.phoneNumberId
  const isWaba = id === credentials.wabaId
  if (isPhone || isWaba) ctx.wabaId = credentials.wabaId
  const media = state.media.get(id)

  // --- /{phone-number-id}/media
  if (isPhone && edge === 'media' && req.method === 'POST') return upload(req, state, ctx)
  // --- /{phone-number-id}/messages
  if (isPhone && edge === 'messages' && req.method === 'POST') return sendMessage(req, state, ctx)
  // --- /{phone-number-id}
  if (isPhone && !edge && req.method === 'GET') {
    return graphJson(ctx, {
      verified_name: 'Driftwatch Test Shop',
      code_verification_status: 'VERIFIED',
      display_phone_number: '+1 631-555-0142',
      quality_rating: 'GREEN',
      platform_type: 'CLOUD_API',
      throughput: { level: 'STANDARD' },
      id: credentials.phoneNumberId,
    })
  }
  // --- /{waba-id}/message_templates
  if (isWaba && edge === 'message_templates' && req.method === 'GET') return templates(req, state, ctx, publicBase)
  // --- /{media-id}
  if (media && !edge) {
    const pn = req.url.searchParams.get('phone_number_id') ?? form?.get('phone_number_id') ?? undefined
    if (pn !== undefined && pn !== media.owner) return graphErrorResponse(ctx, ERRORS.phoneNumberIdMismatch())
    if (req.method === 'GET') return graphJson(ctx, mediaMetadata(media, publicBase))
    if (req.method === 'DELETE') {
      state.media.delete(id)
      return graphJson(ctx, { success: true })
    }
    // Seed 001: the media endpoint takes GET; POST is answered 405. Public captures show the same request
    // answered 400 with code 100/33 "Unsupported post request"; the body here is that envelope.
    if (req.method === 'POST') return { ...graphErrorResponse(ctx, { ...ERRORS.unsupported('POST', id), status: 405 }), statusText: statusText(405) }
  }
  return graphErrorResponse(ctx, ERRORS.unsupported(req.method, id))
}

function isForm(req: SimRequest): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')
}

/** The retrieve-media-URL body, keys in Meta's order; `file_size` an integer as in real traffic. */
export function mediaMetadata(media: StoredMedia, publicBase: string): Record<string, unknown> {
  const ext = 1763800000 + Number(BigInt(media.id) % 100000n)
  const hash = Buffer.from(`${media.id}:${media.sha256.slice(0, 16)}`).toString('base64url')
  return {
    messaging_product: 'whatsapp',
    url: `${publicBase}${LOOKASIDE_PREFIX}?mid=${media.id}&source=getMedia&ext=${ext}&hash=${hash}`,
    mime_type: media.mimeType,
    sha256: media.sha256,
    file_size: media.size,
    id: media.id,
  }
}

async function upload(req: SimRequest, state: SimulatorState, ctx: GraphContext): Promise<SimResponse> {
  const ct = req.headers['content-type'] ?? ''
  if (!ct.toLowerCase().startsWith('multipart/form-data')) return graphErrorResponse(ctx, ERRORS.requiredParameter('file'))
  let form: FormData
  try {
    form = await new Request('http://simulator.invalid/', { method: 'POST', body: req.body, headers: { 'content-type': ct } }).formData()
  } catch {
    return graphErrorResponse(ctx, ERRORS.invalidParameter('The multipart body could not be parsed.'))
  }
  if (form.get('messaging_product') !== 'whatsapp') return graphErrorResponse(ctx, ERRORS.requiredParameter('messaging_product'))
  const file = form.get('file')
  if (!file || typeof file === 'string') return graphErrorResponse(ctx, ERRORS.requiredParameter('file'))
  const type = (typeof form.get('type') === 'string' ? (form.get('type') as string) : '') || file.type
  if (!SUPPORTED_MEDIA.has(type)) return graphErrorResponse(ctx, ERRORS.invalidParameter(`Param file must be a file with one of the following types: ${[...SUPPORTED_MEDIA].join(', ')}. Received file of type '${type}'.`))
  const m = state.addMedia(Buffer.from(await file.arrayBuffer()), type, file.name || 'upload', state.credentials.phoneNumberId)
  return graphJson(ctx, { id: m.id })
}

async function sendMessage(req: SimRequest, state: SimulatorState, ctx: GraphContext): Promise<SimResponse> {
  let body: Record<string, unknown>
  try {
    body = JSON.parse(req.body.toString('utf8')) as Record<string, unknown>
  } catch {
    return graphErrorResponse(ctx, ERRORS.invalidParameter('Request body is not valid JSON.'))
  }
  if (body.messaging_product !== 'whatsapp') return graphErrorResponse(ctx, ERRORS.requiredParameter('messaging_product'))
  // Not a send: marks a received message read (and, with typing_indicator, shows "typing..."). FACTS.md; spec example "Send typing indicator and read receipt".
  if (body.status !== undefined) {
    if (body.status !== 'read') return graphErrorResponse(ctx, ERRORS.invalidParameter('Param status must be read.'))
    if (typeof body.message_id !== 'string' || !body.message_id.startsWith('wamid.')) return graphErrorResponse(ctx, ERRORS.invalidParameter('Invalid message_id'))
    return graphJson(ctx, { success: true })
  }
  const to = typeof body.to === 'string' ? body.to : undefined
  if (!to) return graphErrorResponse(ctx, ERRORS.requiredParameter('to'))
  // Meta runs several validations and may reorder them (seed 003); the baseline checks the recipient first.
  const problems = sendProblems(body)
  if (problems.invalidRecipient) return graphErrorResponse(ctx, ERRORS.parameterInvalid(problems.invalidRecipient))
  if (problems.missingBody) return graphErrorResponse(ctx, ERRORS.parameterMissing(problems.missingBody))
  return graphJson(ctx, { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to.replace(/\D/g, '') }], messages: [{ id: state.nextMessageId() }] })
}

/** Which send validations a message body fails, in words Meta uses in error_data.details. */
export function sendProblems(body: Record<string, unknown>): { invalidRecipient?: string; missingBody?: string } {
  const out: { invalidRecipient?: string; missingBody?: string } = {}
  const to = typeof body.to === 'string' ? body.to : ''
  if (!/^\+?\d{6,15}$/.test(to.replace(/[\s-]/g, ''))) out.invalidRecipient = `Invalid parameter: to (${JSON.stringify(to)} is not a phone number)`
  const type = (body.type as string | undefined) ?? 'text'
  if (type === 'text' && typeof (body.text as { body?: unknown } | undefined)?.body !== 'string') out.missingBody = "The parameter text['body'] is required."
  return out
}

/** The Graph context (versions, deterministic ids) for a request, for responses built outside `route`. */
export function graphContextFor(req: SimRequest, state: SimulatorState): GraphContext {
  const requested = req.url.pathname.match(/^\/(v\d+\.\d+)\//)?.[1] ?? OLDEST_LIVE_VERSION
  return { requested, served: servedVersion(requested), ids: state.nextRequestIds() }
}

/** True for Graph API paths, false for the simulated lookaside media host. */
export function isGraphPath(req: SimRequest): boolean {
  return !req.url.pathname.startsWith(LOOKASIDE_PREFIX)
}

/** The media id a request addresses (`/{version}/{media-id}`), when that media exists. */
export function mediaIdOf(req: SimRequest, state: SimulatorState): string | undefined {
  const id = req.url.pathname.match(/^\/v\d+\.\d+\/([^/]+)\/?$/)?.[1]
  return id !== undefined && state.media.has(id) ? id : undefined
}

function cursor(index: number): string {
  return Buffer.from(`driftwatch-template-cursor:${index}`).toString('base64url')
}

function uncursor(c: string): number | undefined {
  const m = Buffer.from(c, 'base64url').toString('utf8').match(/^driftwatch-template-cursor:(\d+)$/)
  return m ? Number(m[1]) : undefined
}

function templates(req: SimRequest, state: SimulatorState, ctx: GraphContext, publicBase: string): SimResponse {
  const q = req.url.searchParams
  const limit = Math.max(1, Math.min(Number(q.get('limit') ?? 25) || 25, 100))
  let start = 0
  const after = q.get('after')
  if (after !== null) {
    const i = uncursor(after)
    if (i === undefined) return graphErrorResponse(ctx, ERRORS.invalidParameter('Invalid cursor for paging.'))
    start = i + 1
  }
  const all = state.templates
  const page = all.slice(start, start + limit)
  if (page.length === 0) return graphJson(ctx, { data: [] })
  const first = start
  const last = start + page.length - 1
  const self = `${publicBase}${req.url.pathname}`
  const paging: Record<string, unknown> = { cursors: { before: cursor(first), after: cursor(last) } }
  if (last < all.length - 1) paging.next = `${self}?limit=${limit}&after=${cursor(last)}`
  if (first > 0) paging.previous = `${self}?limit=${limit}&before=${cursor(first)}`
  return graphJson(ctx, { data: page, paging })
}

/** The lookaside media host: bytes with the media's type and length; 404 when the token is wrong. */
function download(req: SimRequest, state: SimulatorState): SimResponse {
  const media = state.media.get(req.url.searchParams.get('mid') ?? '')
  const token = tokenOf(req)
  if (!media || token !== state.credentials.token || req.method !== 'GET') {
    return { status: 404, statusText: 'Not Found', headers: [['Content-Type', 'text/html; charset=utf-8'], ['Date', new Date().toUTCString()], ['Connection', 'keep-alive']], body: Buffer.from('<!DOCTYPE html><html><body>Not Found</body></html>'), framing: 'content-length' }
  }
  const ext = media.mimeType.split('/')[1] ?? 'bin'
  const body = media.bytes ?? { size: media.size, chunks: () => syntheticChunks(media.syntheticSeed!, media.size) }
  return {
    status: 200,
    statusText: 'OK',
    headers: [
      ['Content-Type', media.mimeType],
      ['Content-Disposition', `inline;filename=${media.id}.${ext}`],
      ['Access-Control-Allow-Origin', '*'],
      ['Cache-Control', 'private, no-cache, no-store, must-revalidate'],
      ['Date', new Date().toUTCString()],
      ['Connection', 'keep-alive'],
    ],
    body,
    framing: 'content-length',
  }
}
