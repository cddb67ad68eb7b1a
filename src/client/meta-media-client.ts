/**
 * A small typed client for the WhatsApp Cloud API media endpoints: upload, retrieve, download,
 * delete. It is the consumer side of the Feb 6 2026 incident (a client library sent POST with
 * `method=get` instead of GET): its Pact consumer tests pin the exact requests it sends, and
 * `driftwatch gate` checks those against the contracts and the recorded upstream before deploy.
 * It is also what the harness's benchmarks and tests use to drive the media API.
 */
import { createHash } from 'node:crypto'
import { request, type Dispatcher } from 'undici'
import { DEFAULT_TOKEN_HOSTS, HostPolicy } from '../transport/host-policy.ts'

/** How to reach the API. */
export interface MediaClientOptions {
  /** e.g. `https://graph.facebook.com`, or a simulator / Pact mock server URL. */
  baseUrl: string
  /** e.g. `v23.0`. */
  apiVersion: string
  token: string
  /** An undici dispatcher (Agent, Pool); the global one by default. */
  dispatcher?: Dispatcher
  /** Hosts besides graph.facebook.com, lookaside.fbsbx.com and baseUrl's host that may receive the token. */
  allowHosts?: readonly string[]
  timeoutMs?: number
}

/** What retrieve returns, with Meta's names made idiomatic and types made firm. */
export interface MediaMetadata {
  id: string
  url: string
  mimeType: string
  sha256: string
  /** Bytes. Meta's spec says string, traffic says integer: both are read. */
  fileSize: number
}

/** A media file to upload. */
export interface MediaFile {
  bytes: Uint8Array
  filename: string
  mimeType: string
}

/** A downloaded media file, verified against its metadata when that was given. */
export interface DownloadedMedia {
  bytes: Buffer
  contentType: string | undefined
  sha256: string
}

/** A Graph error response, with the fields support and retry logic need. */
export class GraphApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: number | undefined,
    readonly subcode: number | undefined,
    readonly type: string | undefined,
    readonly fbtraceId: string | undefined,
    readonly isTransient: boolean | undefined,
  ) {
    super(message)
    this.name = 'GraphApiError'
  }
}

/** A response the client cannot use (wrong shape, failed integrity check, forbidden host). */
export class MediaClientError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MediaClientError'
  }
}

/** One HTTP call as the client makes it; overridable so tests can model broken clients. */
export interface ClientCall {
  method: 'GET' | 'POST' | 'DELETE'
  url: URL
  headers: Record<string, string>
  body?: Buffer
}

/** The media endpoints of the WhatsApp Cloud API. */
export class MetaMediaClient {
  private readonly hosts: HostPolicy

  constructor(private readonly opts: MediaClientOptions) {
    this.hosts = new HostPolicy({ allowHosts: [...DEFAULT_TOKEN_HOSTS, new URL(opts.baseUrl).host, ...(opts.allowHosts ?? [])] })
  }

  /** POST /{phone-number-id}/media (multipart): returns the new media id. */
  async upload(phoneNumberId: string, file: MediaFile): Promise<{ id: string }> {
    const form = new FormData()
    form.append('messaging_product', 'whatsapp')
    form.append('type', file.mimeType)
    form.append('file', new Blob([file.bytes], { type: file.mimeType }), file.filename)
    const encoded = new Response(form)
    const body = Buffer.from(await encoded.arrayBuffer())
    const json = await this.json({ method: 'POST', url: this.graphUrl(`${phoneNumberId}/media`), headers: { 'content-type': encoded.headers.get('content-type')! }, body })
    if (typeof json.id !== 'string') throw new MediaClientError(`upload answered without a string id: ${JSON.stringify(json).slice(0, 200)}`)
    return { id: json.id }
  }

  /** GET /{media-id}: the download URL and what the download must match. */
  async retrieve(mediaId: string, options: { phoneNumberId?: string } = {}): Promise<MediaMetadata> {
    const url = this.graphUrl(mediaId)
    if (options.phoneNumberId) url.searchParams.set('phone_number_id', options.phoneNumberId)
    const json = await this.json({ method: 'GET', url, headers: {} })
    const fileSize = typeof json.file_size === 'number' ? json.file_size : typeof json.file_size === 'string' && /^\d+$/.test(json.file_size) ? Number(json.file_size) : NaN
    if (typeof json.url !== 'string' || typeof json.mime_type !== 'string' || typeof json.sha256 !== 'string' || typeof json.id !== 'string' || Number.isNaN(fileSize)) {
      throw new MediaClientError(`retrieve answered an unexpected shape: ${JSON.stringify(json).slice(0, 300)}`)
    }
    return { id: json.id, url: json.url, mimeType: json.mime_type, sha256: json.sha256, fileSize }
  }

  /**
   * GET the media URL with the token (only to allowlisted hosts). Given the metadata, verifies the
   * sha256 and size and throws on a mismatch rather than handing back corrupt media.
   */
  async download(media: string | MediaMetadata): Promise<DownloadedMedia> {
    const url = new URL(typeof media === 'string' ? media : media.url)
    const decision = this.hosts.decide(url)
    if (!decision.allowed) throw new MediaClientError(`refusing to send the access token to the media URL: ${decision.reason}`)
    const res = await this.call({ method: 'GET', url, headers: {} })
    const bytes = Buffer.from(await res.body.arrayBuffer())
    if (res.statusCode !== 200) throw new MediaClientError(`download answered ${res.statusCode}`)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    if (typeof media !== 'string') {
      if (bytes.length !== media.fileSize) throw new MediaClientError(`downloaded ${bytes.length} bytes, metadata says ${media.fileSize}`)
      if (sha256 !== media.sha256.toLowerCase()) throw new MediaClientError(`downloaded bytes have sha256 ${sha256}, metadata says ${media.sha256}`)
    }
    const ct = res.headers['content-type']
    return { bytes, contentType: Array.isArray(ct) ? ct[0] : ct, sha256 }
  }

  /** DELETE /{media-id}. */
  async delete(mediaId: string, options: { phoneNumberId?: string } = {}): Promise<void> {
    const url = this.graphUrl(mediaId)
    if (options.phoneNumberId) url.searchParams.set('phone_number_id', options.phoneNumberId)
    const json = await this.json({ method: 'DELETE', url, headers: {} })
    if (json.success !== true) throw new MediaClientError(`delete answered ${JSON.stringify(json).slice(0, 200)}`)
  }

  /** Sends one call. Subclasses may change how a call goes out (tests model a broken client this way). */
  protected send(call: ClientCall): Promise<Dispatcher.ResponseData> {
    return request(call.url, {
      method: call.method,
      headers: call.headers,
      ...(call.body ? { body: call.body } : {}),
      ...(this.opts.dispatcher ? { dispatcher: this.opts.dispatcher } : {}),
      headersTimeout: this.opts.timeoutMs ?? 30_000,
      bodyTimeout: this.opts.timeoutMs ?? 30_000,
    })
  }

  private graphUrl(path: string): URL {
    return new URL(`${this.opts.baseUrl.replace(/\/+$/, '')}/${this.opts.apiVersion}/${path.split('/').map(encodeURIComponent).join('/')}`)
  }

  private call(call: ClientCall): Promise<Dispatcher.ResponseData> {
    return this.send({ ...call, headers: { authorization: `Bearer ${this.opts.token}`, ...call.headers } })
  }

  private async json(call: ClientCall): Promise<Record<string, unknown>> {
    const res = await this.call(call)
    const text = await res.body.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new MediaClientError(`${call.method} ${call.url.pathname} answered ${res.statusCode} with a non-JSON body`)
    }
    const e = (json as { error?: Record<string, unknown> }).error
    if (res.statusCode >= 400 || e) {
      const num = (v: unknown) => (typeof v === 'number' ? v : undefined)
      const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
      throw new GraphApiError(str(e?.message) ?? `HTTP ${res.statusCode}`, res.statusCode, num(e?.code), num(e?.error_subcode), str(e?.type), str(e?.fbtrace_id), typeof e?.is_transient === 'boolean' ? e.is_transient : undefined)
    }
    return json as Record<string, unknown>
  }
}
