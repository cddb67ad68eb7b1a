/**
 * contract -> probe -> observation -> checks -> findings -> report, against the real simulator
 * over loopback. The baseline must be clean; each injected misbehaviour must produce exactly the
 * findings it should (contract, check, severity), and nothing else.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { loadContracts } from '../../src/contracts/load.ts'
import type { Finding } from '../../src/model/finding.ts'
import { exitCodeOf, type Report } from '../../src/model/report.ts'
import { runContracts } from '../../src/runner/run.ts'
import { graphErrorResponse } from '../../src/simulator/graph.ts'
import type { SimRequest } from '../../src/simulator/routes.ts'
import type { Scenario, ScenarioContext } from '../../src/simulator/scenario.ts'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'
import { SIM_CREDENTIALS } from '../../src/simulator/state.ts'
import { DEFAULT_TOKEN_HOSTS, HostPolicy } from '../../src/transport/host-policy.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { Transport } from '../../src/transport/transport.ts'
import type { RetryPolicy } from '../../src/runner/retry.ts'
import { closedPort } from '../helpers/raw-server.ts'

const pack = loadContracts('contracts/meta')
const open: { sim?: RunningSimulator; transport?: Transport }[] = []
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.transport?.close()
    await o.sim?.close()
  }
})

interface RunSpec {
  scenario?: Scenario
  only?: string[]
  samples?: number
  variables?: Record<string, string | undefined>
  baseUrl?: string
  apiVersion?: string
  retry?: RetryPolicy
  /** Transport pacing between requests to one origin (a live target's is 200 ms). */
  minIntervalMs?: number
}

async function run(spec: RunSpec = {}): Promise<Report> {
  const sim = await startSimulator(spec.scenario ? { scenario: spec.scenario } : {})
  const c = sim.credentials
  const baseUrl = spec.baseUrl ?? sim.url
  const transport = new Transport({
    token: c.token,
    hostPolicy: new HostPolicy({ allowHosts: [...DEFAULT_TOKEN_HOSTS, new URL(baseUrl).host] }),
    redactor: new Redactor({ secrets: [c.token] }),
    timeoutMs: 5_000,
    ...(spec.minIntervalMs !== undefined ? { minIntervalMs: spec.minIntervalMs } : {}),
  })
  open.push({ sim, transport })
  return runContracts({
    pack,
    target: 'sim',
    baseUrl,
    apiVersion: spec.apiVersion ?? 'v23.0',
    variables: { phone_number_id: c.phoneNumberId, waba_id: c.wabaId, test_recipient: c.testRecipient, ...spec.variables },
    transport,
    ...(spec.only ? { only: spec.only } : {}),
    ...(spec.samples ? { samples: spec.samples } : {}),
    // No waiting unless a test is about retries: downtime then ends the contract at once.
    retry: spec.retry ?? { budgetMs: 0, baseDelayMs: 10, maxDelayMs: 10 },
  })
}

/** A one-off scenario: `rewrite` sees each baseline response. */
function scenario(rewrite: Scenario['respond']): Scenario {
  return { name: 'test', description: 'test', source: 'test', respond: rewrite }
}

const isMediaGet = (req: SimRequest, ctx: ScenarioContext) => req.method === 'GET' && ctx.state.media.has(req.url.pathname.split('/')[2] ?? '')

const brief = (fs: Finding[]) => fs.map((f) => [f.contract, f.check, f.severity])

describe("a contract's time", () => {
  it('is its requests, not the pacing between them: 4 samples paced 300 ms apart start at least 900 ms apart, and the contract took far less', async () => {
    const report = await run({ only: ['media.post-method'], samples: 4, minIntervalMs: 300 })
    const r = report.results.find((x) => x.contract === 'media.post-method')!
    expect(r.probes).toBe(4)
    // Pacing alone spaces the starts 3 x 300 ms (before, the contract's time counted it: >= 900 ms).
    expect(r.durationMs).toBeLessThan(900)
  }, 30_000)
})

describe('baseline', () => {
  it('passes the whole pack with zero findings and exit code 0', async () => {
    const r = await run()
    expect(r.findings).toEqual([])
    expect(r.results.map((x) => x.status)).toEqual(r.results.map(() => 'passed'))
    expect(r.summary).toMatchObject({ contracts: pack.probes.length, passed: pack.probes.length, skipped: 0, breaking: 0 })
    expect(r.summary.probes).toBeGreaterThan(pack.probes.length) // post-method takes 3 samples
    expect(r.outcome).toBe('pass')
    expect(exitCodeOf(r, 'breaking')).toBe(0)
  })
})

describe('drift is caught, precisely', () => {
  it('retrieve-media switching to chunked framing (Jan 20 2026)', async () => {
    const r = await run({ scenario: scenario(async (req, next, ctx) => ({ ...(await next()), ...(isMediaGet(req, ctx) ? { framing: 'chunked' as const } : {}) })) })
    expect(brief(r.findings)).toEqual([
      ['media.retrieve-url', 'framing-conformance', 'breaking'],
      ['media.retrieve-url.with-phone-number-id', 'framing-conformance', 'breaking'],
    ])
    const f = r.findings[0]!
    expect(f.title).toBe('Framing changed to chunked (contract: content-length)')
    expect(f.message).toContain('Received: Transfer-Encoding: chunked (no Content-Length)')
    expect(f.message).toContain('restart loop')
    expect(f.evidence.status).toBe(200)
    expect(f.evidence.headers).toContainEqual(['Transfer-Encoding', 'chunked'])
    expect(f.evidence.bodyExcerpt).toContain('"mime_type":"image/png"')
    expect(exitCodeOf(r, 'breaking')).toBe(1)
  })

  it('the optional phone_number_id yielding OAuth 190 while the plain call passes (Jan 20 2026)', async () => {
    const r = await run({
      scenario: scenario(async (req, next, ctx) => {
        if (isMediaGet(req, ctx) && req.url.searchParams.has('phone_number_id')) {
          return graphErrorResponse({ requested: 'v23.0', served: 'v23.0', ids: ctx.state.nextRequestIds() }, { status: 400, message: 'Invalid OAuth access token - Cannot parse access token', type: 'OAuthException', code: 190 })
        }
        return next()
      }),
    })
    expect(brief(r.findings)).toEqual([['media.retrieve-url.with-phone-number-id', 'status-conformance', 'breaking']])
    expect(r.findings[0]!.message).toContain('OAuthException 190: Invalid OAuth access token - Cannot parse access token')
    expect(r.findings[0]!.evidence.request).toContain('phone_number_id=')
  })

  it('POST with method=get honoured by some servers (Feb 6 2026): counted per sample', async () => {
    let posts = 0
    const r = await run({
      scenario: scenario(async (req, next, ctx) => {
        if (req.method === 'POST' && ctx.state.media.has(req.url.pathname.split('/')[2] ?? '')) {
          posts++
          // Odd requests reach a server that rejects (the baseline 405); even ones one that honours method=get.
          return posts % 2 === 1 ? next() : next({ ...req, method: 'GET', body: Buffer.alloc(0) })
        }
        return next()
      }),
      samples: 4,
      only: ['media.post-method'],
    })
    const f = r.findings.filter((x) => x.check === 'method-conformance')
    expect(f).toHaveLength(1)
    expect(f[0]).toMatchObject({ contract: 'media.post-method', severity: 'breaking', title: 'POST was accepted (contract: rejected)', samples: 2, of: 4 })
    expect(f[0]!.message).toContain('with body method=get')
  })

  it('a field changing type and another disappearing', async () => {
    const r = await run({
      scenario: scenario(async (req, next, ctx) => {
        const res = await next()
        if (!isMediaGet(req, ctx) || !Buffer.isBuffer(res.body)) return res
        const body = JSON.parse(res.body.toString()) as Record<string, unknown>
        body.file_size = String(body.file_size)
        delete body.sha256
        return { ...res, body: Buffer.from(JSON.stringify(body)) }
      }),
      only: ['media.retrieve-url', 'media.download'],
    })
    expect(r.findings.map((f) => f.title)).toEqual(['`$.sha256` is required by the contract and is now missing', '`$.file_size` was integer, is now string'])
    // the download (selected: it needs the sha256 that went missing) is skipped with the reason, not failed
    expect(r.results.find((x) => x.contract === 'media.download')).toMatchObject({ status: 'skipped', reason: 'needs {media_sha256} from media.retrieve-url, which failed' })
    expect(r.findings.filter((f) => f.contract === 'media.download')).toEqual([])
  })

  it('a required header going away and the content type changing', async () => {
    const r = await run({
      scenario: scenario(async (req, next) => {
        const res = await next()
        if (!req.url.pathname.endsWith(`/${SIM_CREDENTIALS.phoneNumberId}`) || req.method !== 'GET') return res
        return { ...res, headers: res.headers.filter(([n]) => n !== 'x-fb-trace-id').map(([n, v]) => (n === 'Content-Type' ? [n, 'text/javascript; charset=UTF-8'] : [n, v])) as [string, string][] }
      }),
      only: ['phone-numbers.get'],
    })
    expect(brief(r.findings)).toEqual([
      ['phone-numbers.get', 'header-conformance', 'breaking'],
      ['phone-numbers.get', 'content-type-conformance', 'breaking'],
    ])
  })

  it('a media URL on a foreign host: the token is withheld and the finding says why', async () => {
    let other = ''
    const r = await run({
      scenario: scenario(async (req, next, ctx) => {
        const res = await next()
        if (!isMediaGet(req, ctx) || !Buffer.isBuffer(res.body)) return res
        const body = JSON.parse(res.body.toString()) as { url: string }
        const u = new URL(body.url)
        u.hostname = 'localhost'
        other = u.host
        body.url = u.toString()
        return { ...res, body: Buffer.from(JSON.stringify(body)) }
      }),
      only: ['media.download'],
    })
    expect(brief(r.findings)).toEqual([
      ['media.download', 'host-allowlist', 'breaking'],
      ['media.download', 'status-conformance', 'breaking'],
    ])
    expect(r.findings[0]!.title).toBe(`URL points to a host outside the allowlist: ${other}`)
  })

  it('an auto-upgraded API version is a warning, not breaking', async () => {
    const r = await run({ apiVersion: 'v21.0', only: ['phone-numbers.get'] })
    expect(brief(r.findings)).toEqual([['phone-numbers.get', 'api-version', 'warning']])
    expect(exitCodeOf(r, 'breaking')).toBe(0)
    expect(exitCodeOf(r, 'warning')).toBe(1)
  })
})

describe('runs that cannot judge are inconclusive, not red', () => {
  it('Meta in downtime (503, error 2) everywhere: inconclusive, exit 3', async () => {
    const r = await run({ scenario: scenario(async (_req, _next, ctx) => graphErrorResponse({ requested: 'v23.0', served: 'v23.0', ids: ctx.state.nextRequestIds() }, { status: 503, message: 'Service temporarily unavailable', type: 'OAuthException', code: 2, isTransient: true })) })
    expect(r.outcome).toBe('inconclusive')
    expect(r.findings.every((f) => f.check === 'availability' && f.severity === 'info')).toBe(true)
    expect(r.results.find((x) => x.contract === 'media.download')).toMatchObject({ status: 'skipped', reason: 'needs {media_url} from media.retrieve-url, which was skipped' })
    expect(r.results.find((x) => x.contract === 'media.upload')).toMatchObject({ status: 'inconclusive', reason: 'upstream in downtime: HTTP 503; the retry budget (0 s) ran out' })
    expect(exitCodeOf(r, 'breaking')).toBe(3)
  })

  it('an unreachable upstream: inconclusive, exit 3', async () => {
    const port = await closedPort()
    const r = await run({ baseUrl: `http://127.0.0.1:${port}`, only: ['phone-numbers.get'] })
    expect(r.results[0]).toMatchObject({ status: 'inconclusive', reason: 'upstream unreachable: ECONNREFUSED' })
    expect(brief(r.findings)).toEqual([['phone-numbers.get', 'transport', 'info']])
    expect(exitCodeOf(r, 'breaking')).toBe(3)
  })
})

describe('selection and skipping', () => {
  it('--only pulls in what the selected contracts depend on, and the cleanup that undoes what they create', async () => {
    const r = await run({ only: ['media.download'] })
    expect(r.results.map((x) => x.contract)).toEqual(['phone-numbers.get', 'media.upload', 'media.retrieve-url', 'media.download', 'media.delete'])
    expect(r.findings).toEqual([])
  })

  it('without a test recipient, sending is skipped (not passed) with the variable to set', async () => {
    const r = await run({ variables: { test_recipient: undefined }, only: ['messages.send-text'] })
    expect(r.results.find((x) => x.contract === 'messages.send-text')).toEqual(expect.objectContaining({ status: 'skipped', reason: 'needs {test_recipient}: set WHATSAPP_TEST_RECIPIENT to run it', probes: 0 }))
    expect(r.outcome).toBe('pass')
  })

  it('a failed prerequisite skips its dependents and says which and why', async () => {
    const r = await run({
      scenario: scenario(async (req, next, ctx) => (req.url.pathname.endsWith('/media') && req.method === 'POST' ? graphErrorResponse({ requested: 'v23.0', served: 'v23.0', ids: ctx.state.nextRequestIds() }, { status: 400, message: '(#100) Invalid parameter', type: 'OAuthException', code: 100 }) : next())),
      only: ['media.*'],
    })
    expect(r.results.find((x) => x.contract === 'media.upload')!.status).toBe('failed')
    expect(r.results.find((x) => x.contract === 'media.retrieve-url')).toMatchObject({ status: 'skipped', reason: 'needs {media_id} from media.upload, which failed' })
  })

  it('a missing optional capture skips the follow-up page', async () => {
    const r2 = await run({
      only: ['templates.*'],
      scenario: scenario(async (req, next) => {
        const res = await next()
        if (!req.url.pathname.endsWith('/message_templates') || !Buffer.isBuffer(res.body)) return res
        const b = JSON.parse(res.body.toString()) as { paging?: { next?: string } }
        delete b.paging?.next
        return { ...res, body: Buffer.from(JSON.stringify(b)) }
      }),
    })
    expect(r2.results.find((x) => x.contract === 'templates.list')!.status).toBe('passed')
    expect(r2.results.find((x) => x.contract === 'templates.list.next-page')).toMatchObject({ status: 'skipped', reason: 'needs {templates_next}, which templates.list did not return (the field was absent)' })
  })
})
