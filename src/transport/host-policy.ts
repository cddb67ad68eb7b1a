/**
 * Where the bearer token may go. A media URL comes from a response body; if Meta (or an attacker
 * in the path, or a bug) ever returned a URL on another host, sending our token there would leak it.
 */

/** Hosts that receive the token by default, besides the target's own host. */
export const DEFAULT_TOKEN_HOSTS = ['graph.facebook.com', 'lookaside.fbsbx.com'] as const

/** `host:port` or `[v6]:port`, as opposed to a bare host name. */
function hasPort(entry: string): boolean {
  return /^\[.*\]:\d+$/.test(entry) || (!entry.startsWith('[') && entry.includes(':'))
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost'])

/** Answer of the policy for one URL. */
export interface TokenDecision {
  allowed: boolean
  /** Why not, in words, when not allowed. */
  reason?: string
}

/** Options: the allowlist (`host` or `host:port` entries). */
export interface HostPolicyOptions {
  allowHosts: readonly string[]
}

/** Decides per URL whether the bearer token may be attached. */
export class HostPolicy {
  readonly allowHosts: readonly string[]

  constructor(options: HostPolicyOptions) {
    this.allowHosts = [...new Set(options.allowHosts.map((h) => h.toLowerCase()))]
  }

  /** Allowed when the host is listed (with its port, or without one for the default port) and the scheme is https or the host is loopback. */
  decide(url: URL): TokenDecision {
    const host = url.host.toLowerCase()
    const hostname = url.hostname.toLowerCase()
    const listed = this.allowHosts.some((entry) => (hasPort(entry) ? entry === host : entry === hostname && url.port === ''))
    if (!listed) {
      return { allowed: false, reason: `${host} is not an allowlisted host for the access token (allowed: ${this.allowHosts.join(', ')}; add one with --allow-host)` }
    }
    if (url.protocol !== 'https:' && !LOOPBACK.has(hostname)) {
      return { allowed: false, reason: `${host} is reached over ${url.protocol.replace(':', '')}; the token is only sent over https (or to loopback)` }
    }
    return { allowed: true }
  }
}
