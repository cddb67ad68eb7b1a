/**
 * What production keeps when the observer is behind (src/proxy/novelty.ts): the kind of an exchange
 * (method, path with its ids blanked, status, framing, failure) and the gate that lets the first of
 * a new kind past the queue bound once per window. The proxy-level behaviour is in
 * production.test.ts (a stuck observer still takes the seed incident's first 400).
 */
import { describe, expect, it } from 'vitest'
import type { Observation } from '../../src/model/observation.ts'
import { kindOf, NoveltyGate, NOVEL_WINDOW_MS } from '../../src/proxy/novelty.ts'

function obs(method: string, url: string, status?: number, framing: 'content-length' | 'chunked' = 'content-length', cut?: string, contentType = 'application/json; charset=UTF-8'): Observation {
  return {
    contract: '',
    sample: 1,
    startedAt: '2026-12-07T00:00:00.000Z',
    request: { method, url, headers: [], bodySize: 0, tokenSent: true },
    timings: { totalMs: 1 },
    ...(status !== undefined ? { response: { status, rawHeaders: [['Content-Type', contentType]], headers: {}, framing: { kind: framing, bytesRead: 0 }, body: { size: 0, sha256: '', keptBytes: 0, truncated: false } } } : {}),
    ...(cut ? { transportError: { code: cut, message: cut, phase: 'body', unreachable: false } } : {}),
  } as unknown as Observation
}

describe('the kind of an exchange', () => {
  it('blanks ids and drops the query, so two sends to different numbers, or two media ids, are one kind', () => {
    expect(kindOf(obs('POST', '/v23.0/106540352242922/messages', 200))).toBe(kindOf(obs('POST', '/v23.0/200000000000001/messages?x=1', 200)))
    expect(kindOf(obs('GET', '/v23.0/1037543291543636?phone_number_id=1', 200))).toBe('GET /v23.0/{} 200 content-length application/json')
    // An absolute request URL is its path.
    expect(kindOf(obs('GET', 'https://graph.facebook.com/v23.0/1037543291543636', 200))).toBe('GET /v23.0/{} 200 content-length application/json')
  })

  it('tells apart what a drift changes: the status, the framing, a cut body, no answer, the method, the Graph version', () => {
    const base = kindOf(obs('GET', '/v23.0/1037543291543636', 200))
    const others = [
      kindOf(obs('GET', '/v23.0/1037543291543636', 400)),
      kindOf(obs('GET', '/v23.0/1037543291543636', 200, 'chunked')),
      kindOf(obs('GET', '/v23.0/1037543291543636', 200, 'content-length', 'UND_ERR_SOCKET')),
      kindOf(obs('GET', '/v23.0/1037543291543636', undefined, 'content-length', 'ECONNRESET')),
      kindOf(obs('POST', '/v23.0/1037543291543636', 200)),
      kindOf(obs('GET', '/v24.0/1037543291543636', 200)),
      // JSON served as JavaScript (a scenario of the simulator): the same status and framing, another media type.
      kindOf(obs('GET', '/v23.0/1037543291543636', 200, 'content-length', undefined, 'text/javascript; charset=UTF-8')),
    ]
    expect(new Set([base, ...others]).size).toBe(others.length + 1)
  })
})

describe('the novelty gate', () => {
  it('a kind is new until one of it is taken, then not for the window', () => {
    const gate = new NoveltyGate()
    const ok = kindOf(obs('GET', '/v23.0/1', 200))
    const bad = kindOf(obs('GET', '/v23.0/1', 400, 'chunked'))
    gate.took(ok, 0)
    expect(gate.isNew(ok, 1_000)).toBe(false)
    expect(gate.isNew(bad, 1_000)).toBe(true)
    gate.took(bad, 1_000)
    expect(gate.isNew(bad, 2_000)).toBe(false)
    // Past the window it is new again: a drift that persists is taken first at least once per window.
    expect(gate.isNew(bad, 1_000 + NOVEL_WINDOW_MS)).toBe(true)
    expect(gate.isNew(ok, NOVEL_WINDOW_MS)).toBe(true)
  })

  it('never moves a kind back in time: an exchange taken late, with its older answer time, leaves the kind known', () => {
    // Found by an operator's review: under a long overload the observer marked kinds with the answer time of exchanges
    // that had waited over 10 s in the queue, so every routine exchange looked new and filled the reserve.
    const gate = new NoveltyGate()
    const ok = kindOf(obs('GET', '/v23.0/1', 200))
    const t = 100_000
    gate.took(ok, t)
    gate.took(ok, t - 15_000)
    expect(gate.isNew(ok, t + 1)).toBe(false)
    expect(gate.isNew(ok, t + 2)).toBe(false)
  })
})
