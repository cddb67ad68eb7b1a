/** Redaction and the token host policy: the two guards between our secrets and the outside. */
import { describe, expect, it } from 'vitest'
import { HostPolicy } from '../../src/transport/host-policy.ts'
import { Redactor } from '../../src/transport/redact.ts'

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
    expect(r.deep({ access: ['s3cr3t-app-token-value', 3], nested: { ok: true } })).toEqual({ access: ['[REDACTED]', 3], nested: { ok: true } })
  })

  it('ignores values too short to redact safely', () => {
    expect(new Redactor({ secrets: ['ab'] }).text('about')).toBe('about')
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
