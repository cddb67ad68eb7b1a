/**
 * Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body
 * bytes keyed with the app secret. Checked on the bytes as received, before any parsing (a body
 * re-serialised from JSON is not the body Meta signed), and compared in constant time so the
 * answer's timing says nothing about how much of a forged signature was right.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

/** What a delivery's signature header says about it. */
export type SignatureVerdict = 'ok' | 'missing' | 'bad'

const HEX_SHA256 = /^sha256=([0-9a-fA-F]{64})$/

/** Checks `header` (the X-Hub-Signature-256 value, undefined when absent) against `body` and `secret`. */
export function verifySignature(body: Buffer, header: string | undefined, secret: string): SignatureVerdict {
  if (header === undefined || header === '') return 'missing'
  // Anything but exactly `sha256=` and 64 hex digits is bad: Buffer.from(x, 'hex') would silently drop a bad tail.
  const m = HEX_SHA256.exec(header.trim())
  if (!m) return 'bad'
  const given = Buffer.from(m[1]!, 'hex')
  const expected = createHmac('sha256', secret).update(body).digest()
  if (given.length !== expected.length) return 'bad'
  return timingSafeEqual(given, expected) ? 'ok' : 'bad'
}

/** The header value Meta would send for `body` (the simulator and tests sign with it). */
export function signBody(body: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}
