/** Redaction and the token host policy: the two guards between our secrets and the outside. */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { hexPreview, PREVIEW_WITHHELD, type Observation, type ObservedBody } from '../../src/model/observation.ts'
import { HostPolicy } from '../../src/transport/host-policy.ts'
import { Redactor, secretsFromEnv } from '../../src/transport/redact.ts'
import { leaks, spell } from '../redaction/spellings.ts'

describe('Redactor', () => {
  const r = new Redactor({ secrets: ['s3cr3t-app-token-value'], personal: ['+1 631-555-0199'] })

  it('removes known secrets wherever they appear', () => {
    expect(r.text('a s3cr3t-app-token-value b s3cr3t-app-token-value')).toBe('a [REDACTED] b [REDACTED]')
  })

  it('removes bearer tokens it was not told about', () => {
    expect(r.text('Authorization: Bearer abcdefghijklmnop')).toBe('Authorization: Bearer [REDACTED]')
  })

  it('removes secret query parameters but keeps the others', () => {
    expect(r.url('https://graph.facebook.com/v23.0/me?access_token=xyz123&fields=id&appsecret_proof=abc')).toBe('https://graph.facebook.com/v23.0/me?access_token=[REDACTED]&fields=id&appsecret_proof=[REDACTED]')
  })

  it('keeps rendered JSON valid: a secret query value ends before an escaped quote', () => {
    const json = JSON.stringify({ curl: 'curl "https://graph.facebook.com/v23.0/1?access_token=xyz123"', url: 'https://x/?code=a\\b' })
    expect(JSON.parse(r.text(json))).toEqual({ curl: 'curl "https://graph.facebook.com/v23.0/1?access_token=[REDACTED]"', url: 'https://x/?code=[REDACTED]' })
  })

  it('removes anything shaped like a Meta token', () => {
    expect(r.text('token EAAGm0PX4ZCpsBAKZCZAbcdefghijklmnopq end')).toBe('token [REDACTED] end')
  })

  it('removes a Meta-shaped token it was not told about in other case, JSON-escaped or percent-encoded', () => {
    for (const t of ['eaagm0px4zcpsbakzczabcdefghijklmnopq', '\\u0045AAGm0PX4ZCpsBAKZCZAbcdefghijklmnopq', '\\u0045\\u0041\\u0041\\u0047m0PX4ZCpsBAKZCZAbcdefghijklmnopq', '%45%41%41Gm0PX4ZCpsBAKZCZAbcdefghijklmnopq']) {
      expect(r.text(`token ${t} end`), t).toBe('token [REDACTED] end')
    }
  })

  it('leaves a sha256 that happens to start with eaa alone, and words that start with it', () => {
    const sha = 'eaa1d3c2b4a5968778695a4b3c2d1e0f1234567890abcdef1234567890abcdef'
    for (const s of [`sha256 ${sha}`, `sha256 ${sha.toUpperCase()}`, 'eaa short', 'the eaa1234 code']) expect(r.text(s)).toBe(s)
  })

  it('removes personal values as given and as digits', () => {
    expect(r.text('input +1 631-555-0199, wa_id 16315550199')).toBe('input [REDACTED_PHONE], wa_id [REDACTED_PHONE]')
  })

  it('blanks credential headers and scrubs the rest', () => {
    expect(r.headers([['Authorization', 'Bearer abc'], ['Cookie', 'a=b'], ['X-Echo', 's3cr3t-app-token-value'], ['Vary', 'Origin']])).toEqual([
      ['Authorization', 'Bearer [REDACTED]'],
      ['Cookie', '[REDACTED]'],
      ['X-Echo', '[REDACTED]'],
      ['Vary', 'Origin'],
    ])
  })

  it('walks JSON values, leaving keys and non-strings alone', () => {
    const clean = { access: ['public', 3], nested: { ok: true } }
    expect(r.deep({ access: ['s3cr3t-app-token-value', 3], nested: { ok: true } })).toEqual({ access: ['[REDACTED]', 3], nested: { ok: true } })
    expect(r.deep(clean)).toBe(clean)
  })

  it('redacts a key that is a secret (an upstream echoing the token as a field name)', () => {
    expect(r.deep({ 's3cr3t-app-token-value': 1, ok: 2 })).toEqual({ '[REDACTED]': 1, ok: 2 })
  })

  it('redacts header names as well as values', () => {
    expect(r.headers([['X-s3cr3t-app-token-value', 'y']])).toEqual([['X-[REDACTED]', 'y']])
  })

  it('ignores values too short to redact safely', () => {
    expect(new Redactor({ secrets: ['ab'] }).text('about')).toBe('about')
  })
})

// Not Meta-shaped on purpose: the Meta-token pattern must not be what finds them.
// Not alphanumeric only: its base64 holds + and / at every alignment, so base64url differs from base64.
const TOKEN = 'Zq7vK2pX?>~9mW4nR8sT1uY6bC3dF5gH0jL-w/x+y~?>'
const APP_SECRET = '3f2a9c1e5b7d4086a2c4e6f8b0d1c3e5'

describe('Redactor: query secrets where driftwatch writes them', () => {
  const r = new Redactor({ secrets: [] })
  it('keeps a shell variable standing for the token (a curl line it wrote), and redacts a real value in the same place', () => {
    expect(r.text('curl "https://graph.facebook.com/v23.0/1?access_token=$WHATSAPP_ACCESS_TOKEN"')).toBe('curl "https://graph.facebook.com/v23.0/1?access_token=$WHATSAPP_ACCESS_TOKEN"')
    expect(r.text('curl "https://graph.facebook.com/v23.0/1?access_token=EAAGsecret0123456"')).toBe('curl "https://graph.facebook.com/v23.0/1?access_token=[REDACTED]"')
    expect(r.text('x?access_token=ab$WHATSAPP_ACCESS_TOKEN')).toBe('x?access_token=[REDACTED]')
  })
  it('ends the value at a backtick: a URL in a Markdown code span keeps its closing backtick', () => {
    expect(r.text('Evidence: `GET https://g/v23.0/1?access_token=abc123secret` → 400')).toBe('Evidence: `GET https://g/v23.0/1?access_token=[REDACTED]` → 400')
  })
})

describe('Redactor: secrets in every spelling', () => {
  const r = new Redactor({ secrets: [TOKEN, APP_SECRET] })

  for (const secret of [TOKEN, APP_SECRET]) {
    for (const [how, spelled] of Object.entries(spell(secret))) {
      it(`finds ${secret === TOKEN ? 'the token' : 'the app secret'} spelled ${how}, inside other text`, () => {
        const text = `{"note": "before ${spelled} after"}`
        expect(leaks(text, secret), 'the fixture itself must show the secret').not.toEqual([])
        const out = r.text(text)
        expect(out).toContain('[REDACTED]')
        expect(leaks(out, secret)).toEqual([])
        expect(out.startsWith('{"note": "before ') && out.endsWith(' after"}')).toBe(true)
      })
    }
  }

  it('replaces exactly the spelling, with characters outside the BMP (two code units each) before it', () => {
    for (const how of ['plain', 'hex spaced', 'json some'] as const) {
      const spelled = spell(TOKEN)[how]!
      expect(r.text(`🔴 x ${spelled} 🔴 y`), how).toBe('🔴 x [REDACTED] 🔴 y')
    }
  })

  it('finds the token wrapped over lines inside a JSON string (a HAR written with escaped line breaks)', () => {
    const wrapped = spell(TOKEN)['base64 wrapped']!
    const json = JSON.stringify({ content: { text: wrapped, encoding: 'base64' } })
    expect(json).toContain('\\r\\n')
    expect(leaks(r.text(json), TOKEN)).toEqual([])
  })

  it('leaves text alone that only resembles a secret: other bytes in the same spellings', () => {
    const near = `${TOKEN.slice(0, -6)}ABCDEF`
    const clean = new Redactor({ secrets: [TOKEN], patterns: false })
    for (const [how, spelled] of Object.entries(spell(near))) {
      // Pieces of the token survive in `near` by construction; what matters is that nothing was replaced.
      expect(clean.text(`x ${spelled} y`), how).toBe(`x ${spelled} y`)
    }
    const ordinary = 'Mon, 20 Jan 2026 10:00:00 GMT; application/json; https://graph.facebook.com/v23.0/106540352242922?fields=id'
    expect(r.text(ordinary)).toBe(ordinary)
  })

  it('with patterns off, redacts only the secrets it knows (a Meta-shaped test token stays)', () => {
    const only = new Redactor({ secrets: [TOKEN], patterns: false })
    expect(only.text(`EAAGsim0driftwatch0not0a0real0token0ZDZD and ${TOKEN}`)).toBe('EAAGsim0driftwatch0not0a0real0token0ZDZD and [REDACTED]')
  })

  it('reads the access token and the app secret from the environment, trimmed too', () => {
    expect(secretsFromEnv({ WHATSAPP_ACCESS_TOKEN: `${TOKEN}\n`, WHATSAPP_APP_SECRET: APP_SECRET, OTHER: 'x' })).toEqual([`${TOKEN}\n`, TOKEN, APP_SECRET, APP_SECRET])
    expect(secretsFromEnv({})).toEqual([])
  })
})

describe('Redactor: bytes', () => {
  const r = new Redactor({ secrets: [TOKEN, APP_SECRET] })
  const noise = (n: number, seed: number) => {
    const b = Buffer.alloc(n)
    let x = seed
    for (let i = 0; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24
    return b
  }
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
  const binary = (bytes: Buffer, keep = true): ObservedBody => ({ size: bytes.length, sha256: sha(bytes), keptBytes: keep ? bytes.length : 0, truncated: !keep, ...(keep ? { base64: bytes.toString('base64') } : {}), hexPreview: hexPreview(bytes) })

  it('finds a secret in binary data in every spelling, at any offset', () => {
    for (const [how, spelled] of Object.entries(spell(TOKEN))) {
      for (const at of [0, 1, 2, 1001]) {
        const bytes = Buffer.concat([noise(at, at + 1), Buffer.from(spelled, 'latin1'), noise(50, 7)])
        expect(r.holdsSecret(bytes), `${how} at ${at}`).toBe(true)
      }
    }
  })

  it('finds nothing in bytes that hold no secret', () => {
    expect(r.holdsSecret(noise(3 * 1024 * 1024, 42))).toBe(false)
  })

  it('finds a secret that straddles two scan windows of a large body', () => {
    const bytes = Buffer.concat([noise(1024 * 1024 - 10, 1), Buffer.from(TOKEN), noise(1024 * 1024, 2)])
    expect(r.holdsSecret(bytes)).toBe(true)
  })

  it('keeps only the size and hash of a binary body that holds a secret: no base64, no preview', () => {
    const bytes = Buffer.concat([Buffer.from([0x01]), Buffer.from(TOKEN), noise(100, 3)])
    expect(r.body(binary(bytes))).toEqual({ size: bytes.length, sha256: sha(bytes), keptBytes: 0, truncated: true, hexPreview: PREVIEW_WITHHELD })
  })

  it('withholds a preview that shows a piece of a secret even when the bytes kept do not hold it whole', () => {
    // Not kept (check keeps no binary bytes): only the 32-byte preview of a body that starts with a control byte and the token.
    const bytes = Buffer.concat([Buffer.from([0x01]), Buffer.from(TOKEN), noise(100, 3)])
    expect(hexPreview(bytes)).toContain(Buffer.from(TOKEN.slice(0, 8)).toString('hex').replace(/(..)(?!$)/g, '$1 '))
    expect(r.body(binary(bytes, false)).hexPreview).toBe(PREVIEW_WITHHELD)
  })

  it('withholds a truncated capture that ends inside a secret', () => {
    const bytes = Buffer.concat([noise(500, 9), Buffer.from(TOKEN.slice(0, 20))])
    expect(r.body({ ...binary(bytes), size: 10_000, truncated: true }).hexPreview).toBe(PREVIEW_WITHHELD)
  })

  it('cuts a text body cut short where it ends inside a secret, and leaves one that ends elsewhere', () => {
    const text = `{"data":"${'x'.repeat(900)} ${TOKEN.slice(0, 20)}`
    const cut = r.body({ size: 100_000, sha256: 'x', keptBytes: text.length, truncated: true, text })
    expect(cut.text).toBe(`{"data":"${'x'.repeat(900)} [REDACTED]`)
    const clean = { size: 100_000, sha256: 'x', keptBytes: 20, truncated: true, text: '{"data":"nothing here' }
    expect(r.body(clean)).toBe(clean)
  })

  it('keeps a binary body that holds no secret as it is (the same object)', () => {
    const b = binary(noise(4096, 5))
    expect(r.body(b)).toBe(b)
    expect(r.body(b, Buffer.from(b.base64!, 'base64'))).toBe(b)
  })

  it('withholds the bytes of a text body that is not text (a control byte, then the token), text included', () => {
    const bytes = Buffer.from(`\u0001${TOKEN} and more`)
    const b: ObservedBody = { size: bytes.length, sha256: sha(bytes), keptBytes: bytes.length, truncated: false, text: bytes.toString('utf8'), hexPreview: hexPreview(bytes) }
    expect(r.body(b)).toEqual({ size: bytes.length, sha256: sha(bytes), keptBytes: 0, truncated: true, hexPreview: PREVIEW_WITHHELD })
  })

  it('redacts a JSON text body in place: text and parsed JSON', () => {
    const text = JSON.stringify({ echo: TOKEN, hex: spell(TOKEN)['hex spaced'] })
    const b: ObservedBody = { size: text.length, sha256: 'x', keptBytes: text.length, truncated: false, text, json: JSON.parse(text) }
    const out = r.body(b)
    expect(out.json).toEqual({ echo: '[REDACTED]', hex: '[REDACTED]' })
    expect(leaks(out.text!, TOKEN)).toEqual([])
    expect(out.hexPreview).toBeUndefined()
  })

  it('redacts a whole observation again (a proxy that learned the token after the transport ran), and leaves a clean one as it is', () => {
    const bytes = Buffer.concat([Buffer.from('GIF89a'), Buffer.from(spell(TOKEN)['base64 aligned 1']!)])
    const o: Observation = {
      contract: 'c',
      sample: 1,
      startedAt: '2026-01-01T00:00:00Z',
      request: { method: 'GET', url: `https://h/v23.0/x?note=${encodeURIComponent(TOKEN)}`, headers: [['X-Token', TOKEN.toLowerCase()]], bodySize: 0, tokenSent: true },
      response: { status: 500, statusText: `no ${TOKEN}`, statusLine: `HTTP/1.1 500 no ${TOKEN}`, rawHeaders: [['X-Echo', spell(TOKEN)['url all']!]], framing: { kind: 'content-length', bytesRead: bytes.length }, body: binary(bytes) },
      transportError: { code: 'X', message: `echo ${spell(TOKEN)['json all']}`, phase: 'body', unreachable: false },
      timings: { totalMs: 1 },
    }
    expect(leaks(JSON.stringify(o), TOKEN)).not.toEqual([])
    const out = r.observation(o)
    expect(leaks(JSON.stringify(out), TOKEN)).toEqual([])
    expect(out.response!.body.hexPreview).toBe(PREVIEW_WITHHELD)
    expect(r.observation(out)).toBe(out)
  })
})

describe('HostPolicy', () => {
  const p = new HostPolicy({ allowHosts: ['graph.facebook.com', 'lookaside.fbsbx.com', '127.0.0.1:8787'] })

  it('allows listed hosts over https on the default port', () => {
    expect(p.decide(new URL('https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1')).allowed).toBe(true)
  })

  it('refuses other hosts, look-alikes and other ports', () => {
    for (const u of ['https://evil.example.com/x', 'https://graph.facebook.com.evil.example/x', 'https://graph.facebook.com:8443/x', 'http://127.0.0.1:8788/x']) {
      const d = p.decide(new URL(u))
      expect(d.allowed, u).toBe(false)
      expect(d.reason).toContain('--allow-host')
    }
  })

  it('refuses plain http except to loopback', () => {
    expect(p.decide(new URL('http://graph.facebook.com/v23.0/me'))).toMatchObject({ allowed: false, reason: expect.stringContaining('only sent over https') })
    expect(p.decide(new URL('http://127.0.0.1:8787/v23.0/me')).allowed).toBe(true)
  })
})
