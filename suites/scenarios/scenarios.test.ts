/**
 * Every named simulator scenario replays a real behaviour; this suite runs each against the whole
 * Meta pack and asserts the exact findings (contract, check, severity) and the exit code. A new
 * scenario without a row here fails the registry test.
 */
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { graphError } from '../../src/graph/index.ts'
import { loadContracts } from '../../src/contracts/load.ts'
import type { Observation } from '../../src/model/observation.ts'
import { exitCodeOf, type Report } from '../../src/model/report.ts'
import type { RetryPolicy } from '../../src/runner/retry.ts'
import { runContracts, type RunOptions } from '../../src/runner/run.ts'
import type { Scenario } from '../../src/simulator/scenario.ts'
import { apiUpdateDowntime, scenarioNames, webhookScenarioNames } from '../../src/simulator/scenarios/index.ts'
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts'
import { DEFAULT_TOKEN_HOSTS, HostPolicy } from '../../src/transport/host-policy.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { Transport } from '../../src/transport/transport.ts'

const pack = loadContracts('contracts/meta')
const open: { sim: RunningSimulator; transport: Transport }[] = []
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.transport.close()
    await o.sim.close()
  }
})

const NO_RETRY: RetryPolicy = { budgetMs: 0, baseDelayMs: 10, maxDelayMs: 10 }

/** Runs the whole pack against the simulator in `scenario`; returns the report and every observation. */
async function run(scenario: string | Scenario, retry: RetryPolicy = NO_RETRY, onRetry?: RunOptions['onRetry']): Promise<{ report: Report; observations: Observation[] }> {
  const sim = await startSimulator({ scenario })
  const c = sim.credentials
  const transport = new Transport({ token: c.token, hostPolicy: new HostPolicy({ allowHosts: [...DEFAULT_TOKEN_HOSTS, new URL(sim.url).host] }), redactor: new Redactor({ secrets: [c.token] }), timeoutMs: 5_000 })
  open.push({ sim, transport })
  const observations: Observation[] = []
  const send = transport.send.bind(transport)
  transport.send = async (req, signal) => {
    const o = await send(req, signal)
    observations.push(o)
    return o
  }
  const report = await runContracts({ pack, target: 'sim', baseUrl: sim.url, apiVersion: 'v23.0', variables: { phone_number_id: c.phoneNumberId, waba_id: c.wabaId, test_recipient: c.testRecipient }, transport, retry, ...(onRetry ? { onRetry } : {}) })
  return { report, observations }
}

type Triple = [contract: string, check: string, severity: string]
const triples = (r: Report): Triple[] => r.findings.map((f) => [f.contract, f.check, f.severity] as Triple).sort()

const MEDIA_READERS = ['media.retrieve-url', 'media.retrieve-url.with-phone-number-id']
const GRAPH_JSON_CONTRACTS = ['auth.invalid-token', 'graph.unknown-object', 'media.delete', 'media.retrieve-url', 'media.retrieve-url.with-phone-number-id', 'media.upload', 'messages.send-invalid', 'messages.send-text', 'phone-numbers.get', 'templates.list', 'templates.list.next-page']

interface Row {
  findings: Triple[]
  exit: 0 | 1 | 3
  /** More assertions on the report: the words an on-call engineer reads. */
  also?: (r: Report, observations: Observation[]) => void
}

const table: Record<string, Row> = {
  baseline: { findings: [], exit: 0, also: (r) => expect(r.summary.passed).toBe(pack.probes.length) },
  'media-chunked': {
    findings: MEDIA_READERS.map((c): Triple => [c, 'framing-conformance', 'breaking']),
    exit: 1,
    also: (r) => {
      const f = r.findings[0]!
      expect(f.title).toBe('Framing changed to chunked (contract: content-length)')
      expect(f.message).toContain('Received: Transfer-Encoding: chunked (no Content-Length)')
      expect(f.message).toContain('Contract: Content-Length framing')
      expect(f.message).toContain('Clients and proxies that require a Content-Length')
    },
  },
  'media-phone-number-id-rejected': {
    findings: [['media.retrieve-url.with-phone-number-id', 'status-conformance', 'breaking']],
    exit: 1,
    also: (r) => {
      const f = r.findings[0]!
      expect(f.title).toBe('Status 400 instead of 200 with query parameter phone_number_id')
      expect(f.message).toContain('media.retrieve-url, the same request without it, passed in this run')
      expect(f.message).toContain('OAuthException 190: Invalid OAuth access token - Cannot parse access token')
      expect(r.results.find((x) => x.contract === 'media.retrieve-url')!.status).toBe('passed')
    },
  },
  'media-post-intermittent': {
    findings: [
      ['media.post-method', 'method-conformance', 'breaking'],
      ['media.post-method', 'sample-consistency', 'breaking'],
    ],
    exit: 1,
    also: (r) => {
      const split = r.findings.find((f) => f.check === 'sample-consistency')!
      expect(split).toMatchObject({ title: 'Inconsistent status across samples: 5× 200, 3× 405', samples: 3, of: 8 })
      expect(split.actual).toBe('5 of 8 samples: status 200, 3 of 8 samples: status 405')
      expect(r.findings.find((f) => f.check === 'method-conformance')).toMatchObject({ title: 'POST was accepted (contract: rejected)', samples: 5, of: 8 })
    },
  },
  'error-code-reorder': {
    findings: [],
    exit: 0,
    also: (_r, observations) => {
      // Quiet must mean "both codes seen and both allowed", not "the scenario did nothing".
      const codes = new Set(observations.filter((o) => o.contract === 'messages.send-invalid').map((o) => graphError(o.response?.body.json)?.code))
      expect([...codes].sort()).toEqual([131008, 131009])
    },
  },
  'error-code-unknown': {
    findings: [['messages.send-invalid', 'error-code-conformance', 'breaking']],
    exit: 1,
    also: (r) => expect(r.findings[0]).toMatchObject({ title: 'Error code 130472 outside the contracted set {100, 131008, 131009}', samples: 4, of: 4 }),
  },
  'api-update-downtime': {
    // With no retry budget the window outlasts it: inconclusive. Each contract whose inputs exist gets
    // one attempt (no hammering); the media chain and the second templates page never get their inputs.
    findings: ['auth.invalid-token', 'graph.unknown-object', 'media.upload', 'messages.send-invalid', 'messages.send-text', 'phone-numbers.get', 'templates.list'].map((c): Triple => [c, 'availability', 'info']),
    exit: 3,
    also: (r, observations) => {
      expect(r.outcome).toBe('inconclusive')
      expect(observations).toHaveLength(7)
      expect(r.results.find((x) => x.contract === 'phone-numbers.get')!.reason).toBe('upstream in downtime: HTTP 503; the retry budget (0 s) ran out')
    },
  },
  'auth-expired': {
    findings: [['phone-numbers.get', 'credentials', 'info']],
    exit: 3,
    also: (r, observations) => {
      expect(r.findings[0]!.title).toBe('Access token rejected: Graph error 190/463 (the token expired)')
      expect(observations).toHaveLength(1) // the preflight, then nothing: no wall of failures
      expect(r.results.filter((x) => x.status === 'skipped')).toHaveLength(pack.probes.length - 1)
    },
  },
  'media-file-size-string': {
    findings: MEDIA_READERS.map((c): Triple => [c, 'schema-drift', 'breaking']),
    exit: 1,
    also: (r) => expect(r.findings[0]!.title).toBe('`$.file_size` was integer, is now string'),
  },
  'media-sha256-missing': {
    findings: MEDIA_READERS.map((c): Triple => [c, 'schema-drift', 'breaking']),
    exit: 1,
    also: (r) => {
      expect(r.findings[0]!.title).toBe('`$.sha256` is required by the contract and is now missing')
      expect(r.results.find((x) => x.contract === 'media.download')).toMatchObject({ status: 'skipped', reason: 'needs {media_sha256} from media.retrieve-url, which failed' })
    },
  },
  'graph-request-id-dropped': {
    findings: GRAPH_JSON_CONTRACTS.map((c): Triple => [c, 'header-conformance', 'breaking']),
    exit: 1,
    also: (r) => expect(new Set(r.findings.map((f) => f.title))).toEqual(new Set(['Header x-fb-request-id missing'])),
  },
  'json-served-as-javascript': {
    findings: GRAPH_JSON_CONTRACTS.map((c): Triple => [c, 'content-type-conformance', 'breaking']),
    exit: 1,
    also: (r) => expect(new Set(r.findings.map((f) => f.title))).toEqual(new Set(['Content-Type changed to text/javascript (contract: application/json)'])),
  },
  'media-url-foreign-host': {
    findings: [
      ['media.download', 'host-allowlist', 'breaking'],
      ['media.download', 'status-conformance', 'breaking'],
    ],
    exit: 1,
    also: (r, observations) => {
      expect(r.findings.find((f) => f.check === 'host-allowlist')!.title).toMatch(/^URL points to a host outside the allowlist: localhost:\d+$/)
      expect(observations.find((o) => o.contract === 'media.download')!.request.tokenSent).toBe(false)
    },
  },
  // Webhook scenarios change only the webhooks the simulator sends: the API pack sees the baseline. What their
  // webhooks must give is declared as data (`webhooks.expects`); suites/simulator/webhooks-scenarios checks the bodies.
  ...Object.fromEntries(webhookScenarioNames().map((n): [string, Row] => [n, { findings: [], exit: 0 }])),
}

describe('scenario registry', () => {
  it('every registered scenario has a row here, and every row a scenario', () => {
    expect(Object.keys(table).sort()).toEqual(scenarioNames().sort())
  })
  it('every scenario is in the README table', () => {
    const readme = readFileSync('README.md', 'utf8')
    for (const name of scenarioNames()) expect(readme, name).toContain(`\`${name}\``)
  })
})

describe.each(Object.entries(table))('scenario %s', (name, row) => {
  it(`gives exactly its findings and exit code ${row.exit}`, async () => {
    const { report, observations } = await run(name)
    expect(triples(report)).toEqual([...row.findings].sort())
    expect(exitCodeOf(report, 'breaking')).toBe(row.exit)
    row.also?.(report, observations)
  })
})

describe('downtime with a retry budget', () => {
  /** api-update-downtime for the first `n` requests, whatever the clock says: a time window would race a slow machine. */
  function downFor(n: number, retryAfterSeconds: number): Scenario {
    const down = apiUpdateDowntime({ windowMs: 3_600_000, retryAfterSeconds })
    let seen = 0
    return { ...down, respond: (req, next, ctx) => (seen++ < n ? down.respond(req, next, ctx) : next()) }
  }

  it('backs off, honours Retry-After, and recovers: pass with the downtime on record', async () => {
    const delays: number[] = []
    const t0 = performance.now()
    const { report, observations } = await run(downFor(2, 1), { budgetMs: 10_000, baseDelayMs: 200, maxDelayMs: 2_000 }, (e) => delays.push(e.delayMs))
    const elapsed = performance.now() - t0
    expect(exitCodeOf(report, 'breaking')).toBe(0)
    expect(report.outcome).toBe('pass')
    expect(triples(report)).toEqual([['phone-numbers.get', 'availability', 'info']])
    const preflight = observations.filter((o) => o.contract === 'phone-numbers.get')
    expect(preflight.map((o) => o.response!.status)).toEqual([503, 503, 200])
    // Retry-After: 1 over the 200 ms and 400 ms backoff, both times; and the run really waited (a lower bound, which noise cannot break).
    expect(delays).toEqual([1_000, 1_000])
    expect(elapsed).toBeGreaterThanOrEqual(2_000)
  })
})
