/**
 * Resolves where to probe and with what: the embedded simulator, or a live base URL with
 * credentials from the environment. Every error names the variable or flag and the fix.
 */
import { HarnessError } from '../util/errors.ts'

/** Environment variables read for a live target. */
export const ENV = {
  token: 'WHATSAPP_ACCESS_TOKEN',
  phoneNumberId: 'WHATSAPP_PHONE_NUMBER_ID',
  wabaId: 'WHATSAPP_WABA_ID',
  testRecipient: 'WHATSAPP_TEST_RECIPIENT',
} as const

/** A resolved live target. */
export interface LiveTarget {
  kind: 'live'
  baseUrl: string
  token: string
  variables: { phone_number_id: string; waba_id: string; test_recipient: string | undefined }
}

/** The embedded simulator (its credentials are known once it starts). */
export interface SimTarget {
  kind: 'sim'
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost'])

/** Validates `--api-version`. */
export function parseApiVersion(v: string): string {
  if (!/^v\d+\.\d+$/.test(v)) throw new HarnessError('DW_USAGE', `--api-version must look like v23.0 (got "${v}")`)
  return v
}

/** `sim` or a base URL plus environment -> a target, or a HarnessError naming what is missing. */
export function resolveTarget(target: string, env: Readonly<Record<string, string | undefined>>): SimTarget | LiveTarget {
  if (target === 'sim') return { kind: 'sim' }
  let url: URL
  try {
    url = new URL(target)
  } catch {
    throw new HarnessError('DW_USAGE', `--target must be "sim" or a base URL such as https://graph.facebook.com (got "${target}")`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new HarnessError('DW_USAGE', `--target must be an http(s) URL (got ${url.protocol})`)
  if (/\/v\d+\.\d+(\/|$)/.test(url.pathname)) {
    throw new HarnessError('DW_USAGE', `--target should not contain the API version (${url.pathname}); pass it as --api-version instead, e.g. --target ${url.origin} --api-version ${url.pathname.match(/v\d+\.\d+/)![0]}`)
  }
  if (url.search || url.hash) throw new HarnessError('DW_USAGE', `--target must be a base URL without query or fragment (got ${target.replace(/\?.*$/, '?…')})`)

  const get = (name: string) => {
    const v = env[name]?.trim()
    return v ? v : undefined
  }
  const missing = [ENV.token, ENV.phoneNumberId, ENV.wabaId].filter((n) => get(n) === undefined)
  if (missing.length > 0) {
    throw new HarnessError(
      'DW_CONFIG_MISSING_ENV',
      `missing environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (needed for --target ${url.origin}; ${ENV.testRecipient} is optional). Use --target sim to run without credentials.`,
      { missing },
    )
  }
  const token = get(ENV.token)!
  const phone = get(ENV.phoneNumberId)!
  const waba = get(ENV.wabaId)!
  const recipient = get(ENV.testRecipient)
  if (/\s/.test(token)) throw new HarnessError('DW_CONFIG_INVALID', `${ENV.token} contains whitespace; paste the token alone`, { variable: ENV.token })
  for (const [name, value] of [[ENV.phoneNumberId, phone], [ENV.wabaId, waba]] as const) {
    if (!/^\d+$/.test(value)) {
      const hint = name === ENV.phoneNumberId && /^\+?[\d\s-]+$/.test(value) ? ' (this looks like the phone number itself; use the phone number ID from WhatsApp Manager > API Setup)' : ''
      throw new HarnessError('DW_CONFIG_INVALID', `${name} must be a numeric Graph object ID${hint}`, { variable: name })
    }
  }
  if (recipient !== undefined && !/^\+?\d{6,15}$/.test(recipient.replace(/[\s-]/g, ''))) {
    throw new HarnessError('DW_CONFIG_INVALID', `${ENV.testRecipient} must be a phone number in international format, e.g. 15551234567`, { variable: ENV.testRecipient })
  }
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
    throw new HarnessError('DW_CONFIG_INVALID', `refusing to send ${ENV.token} over plain http to ${url.host}; use https`, { variable: ENV.token })
  }
  return {
    kind: 'live',
    baseUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    token,
    variables: { phone_number_id: phone, waba_id: waba, test_recipient: recipient?.replace(/[\s-]/g, '') },
  }
}
