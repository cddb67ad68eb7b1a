/**
 * The simulator's world: one business phone number, one WABA, its templates and the media
 * uploaded during a run. Ids come from counters, so the same sequence of calls yields the same ids.
 */
import { createHash } from 'node:crypto'

/** Credentials and ids a run against the simulator uses. The token is fake but treated as secret. */
export interface SimulatorCredentials {
  token: string
  phoneNumberId: string
  wabaId: string
  testRecipient: string
}

/** Media held by the simulator: real bytes, or a synthetic body generated on the fly (for huge files). */
export interface StoredMedia {
  id: string
  owner: string
  mimeType: string
  filename: string
  size: number
  sha256: string
  bytes?: Buffer
  /** Seed of a synthetic body: bytes are generated in chunks, never held whole. */
  syntheticSeed?: number
}

/** A message template as Graph returns it with default fields. */
export interface Template {
  name: string
  components: unknown[]
  language: string
  status: string
  category: string
  id: string
}

export const SIM_CREDENTIALS: SimulatorCredentials = {
  token: 'EAAGsim0driftwatch0not0a0real0token0ZDZD',
  phoneNumberId: '106540352242922',
  wabaId: '102290129340398',
  testRecipient: '16315550199',
}

/**
 * A recipient the simulator accepts sends to (200 with a wamid) but cannot deliver to: its status
 * webhook is `failed` with 131026 "Message undeliverable", as for a number that is not on WhatsApp.
 */
export const UNDELIVERABLE_RECIPIENT = '16315550100'

const TEMPLATES: Template[] = [
  {
    name: 'hello_world',
    components: [
      { type: 'HEADER', format: 'TEXT', text: 'Hello World' },
      { type: 'BODY', text: "Welcome and congratulations!! This message demonstrates your ability to send a message notification from WhatsApp Business Platform's Cloud API. Thank you for taking the time to test with us." },
      { type: 'FOOTER', text: 'WhatsApp Business API Team' },
    ],
    language: 'en_US',
    status: 'APPROVED',
    category: 'UTILITY',
    id: '1192339204654487',
  },
  {
    name: 'order_update',
    components: [{ type: 'BODY', text: 'Your order {{1}} has shipped and will arrive on {{2}}.', example: { body_text: [['#1042', 'Friday']] } }],
    language: 'en_US',
    status: 'APPROVED',
    category: 'UTILITY',
    id: '1410219946453121',
  },
  {
    name: 'seasonal_promotion',
    components: [
      { type: 'HEADER', format: 'TEXT', text: 'Our {{1}} is on!', example: { header_text: ['Summer Sale'] } },
      { type: 'BODY', text: 'Shop now through {{1}} and use code {{2}} to get {{3}} off of all merchandise.', example: { body_text: [['the end of August', '25OFF', '25%']] } },
      { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Unsubscribe from Promos' }] },
    ],
    language: 'en_US',
    status: 'APPROVED',
    category: 'MARKETING',
    id: '764331372164338',
  },
]

const SYNTHETIC_CHUNK = 64 * 1024

/** Deterministic pseudo-random chunk `index` of a synthetic body (xorshift, so it costs little). */
export function syntheticChunk(seed: number, index: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(Math.ceil(length / 4) * 4)
  let x = (seed * 2654435761 + index * 40503 + 1) >>> 0 || 1
  for (let i = 0; i < b.length; i += 4) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    b.writeUInt32LE(x, i)
  }
  return b.subarray(0, length)
}

/** Streams a synthetic body's chunks. */
export function* syntheticChunks(seed: number, size: number): Generator<Buffer> {
  for (let off = 0, i = 0; off < size; off += SYNTHETIC_CHUNK, i++) yield syntheticChunk(seed, i, Math.min(SYNTHETIC_CHUNK, size - off))
}

/** Mutable simulator state for one server instance. */
export class SimulatorState {
  readonly credentials: SimulatorCredentials
  readonly templates: readonly Template[] = TEMPLATES
  readonly media = new Map<string, StoredMedia>()
  /** Recipients whose sends are accepted but end in a `failed` status webhook. */
  readonly undeliverable = new Set<string>([UNDELIVERABLE_RECIPIENT])
  /** The wamid of the last accepted send (what an inbound reply or reaction answers by default). */
  lastSentMessageId: string | undefined
  private mediaCounter = 0
  private messageCounter = 0
  private inboundCounter = 0
  private requestCounter = 0

  constructor(credentials: SimulatorCredentials = SIM_CREDENTIALS) {
    this.credentials = credentials
  }

  /** A fresh deterministic media id. */
  private nextMediaId(): string {
    this.mediaCounter++
    return String(1_390_000_000_000_000n + BigInt(this.mediaCounter) * 7919n)
  }

  /** Stores uploaded bytes and returns the media record. */
  addMedia(bytes: Buffer, mimeType: string, filename: string, owner: string): StoredMedia {
    const m: StoredMedia = { id: this.nextMediaId(), owner, mimeType, filename, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), bytes }
    this.media.set(m.id, m)
    return m
  }

  /** Registers a synthetic media body of `size` bytes (hashed once by streaming); for benchmarks and size tests. */
  addSyntheticMedia(size: number, mimeType = 'video/mp4', owner = this.credentials.phoneNumberId): StoredMedia {
    const seed = this.mediaCounter + 17
    const h = createHash('sha256')
    for (const c of syntheticChunks(seed, size)) h.update(c)
    const m: StoredMedia = { id: this.nextMediaId(), owner, mimeType, filename: 'synthetic.bin', size, sha256: h.digest('hex'), syntheticSeed: seed }
    this.media.set(m.id, m)
    return m
  }

  /** A fresh deterministic WhatsApp message id. */
  nextMessageId(): string {
    this.messageCounter++
    const raw = `${this.credentials.phoneNumberId}:${this.messageCounter}`
    this.lastSentMessageId = `wamid.HBgL${Buffer.from(raw).toString('base64url').toUpperCase()}`
    return this.lastSentMessageId
  }

  /** A fresh deterministic wamid for a message a customer sends (a different series from the business's). */
  nextInboundMessageId(): string {
    this.inboundCounter++
    const raw = `${this.credentials.testRecipient}:in:${this.inboundCounter}`
    return `wamid.HBgL${Buffer.from(raw).toString('base64url').toUpperCase()}`
  }

  /** Request number n yields the same x-fb-request-id in every run. */
  nextRequestIds(): { requestId: string; traceId: string; debug: string } {
    this.requestCounter++
    const h = createHash('sha256').update(`driftwatch-sim-${this.requestCounter}`).digest()
    return {
      requestId: h.subarray(0, 17).toString('base64url').slice(0, 23),
      traceId: h.subarray(17, 25).toString('base64').slice(0, 11),
      debug: createHash('sha512').update(h).digest('base64'),
    }
  }
}
