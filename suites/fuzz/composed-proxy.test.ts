/**
 * Issue 18, done-when: for every malformed-HTTP kind of the fuzz suite (malformed-http.ts), the
 * production proxy as `driftwatch proxy` runs it (startProxy: the pass-through, the observer, the
 * journal and its compaction into recordings) in front of a hostile upstream. An application's
 * request through it ends in the same outcome class as direct (app-outcome.ts, both clients), and
 * once the proxy has stopped, the recording folder it wrote under all of them is read back by
 * `check --recordings` and `verify` without a refusal, a stack trace or an internal error (the
 * CLI's promise, cli-outcome.ts). One proxy per kind, the kinds one after another; every proxy writes into one
 * folder under its own recording name (`k<index>`), so one check and one verify read them all, and
 * a file a command stumbled on names its kind.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadContracts } from '../../src/contracts/load.ts'
import { startProxy, type RunningProxy } from '../../src/commands/proxy.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { CLIENT_TIMEOUT_MS, CLIENTS, outcomeMismatches, type OutcomeRow } from './app-outcome.ts'
import { brokenPromise, explain, FUZZ_ENV, runCli } from './cli-outcome.ts'
import { hostileServer, type HostileServer } from './hostile-server.ts'
import { MALFORMED_KINDS, type MalformedKind } from './malformed-http.ts'
import { fuzzSeed, Rng } from './seed.ts'

const SEED = fuzzSeed()
const ROOT = join(import.meta.dirname, '..', '..')
const CONTRACTS = join(ROOT, 'contracts/meta')
/** The configured phone number (WHATSAPP_PHONE_NUMBER_ID): the request attributes to phone-numbers.get whatever the answer, so every answered kind becomes a recording. */
const PATH = `/v23.0/${FUZZ_ENV.WHATSAPP_PHONE_NUMBER_ID}`
const recordings = tempDirs('dw-fuzz-composed-').dir()

/** Each kind's hostile upstream and the production proxy in front of it. */
const pairs: { kind: MalformedKind; upstream: HostileServer; proxy: RunningProxy }[] = []

beforeAll(async () => {
  const root = new Rng(SEED)
  const pack = loadContracts(CONTRACTS)
  await Promise.all(MALFORMED_KINDS.map(async (kind, i) => {
    const upstream = await hostileServer((_head, base) => kind.reply(root.fork(kind.name), base))
    const proxy = await startProxy({ upstream: upstream.url, contractsDir: CONTRACTS, pack, cwd: ROOT, mode: 'production', recordingsDir: recordings, name: `k${i}`, env: FUZZ_ENV, compactEveryMs: 0, timeoutMs: 10 * CLIENT_TIMEOUT_MS, graceMs: 0 })
    pairs.push({ kind, upstream, proxy })
  }))
})

afterAll(async () => {
  await Promise.all(pairs.map(async (p) => {
    await p.proxy.abort()
    await p.upstream.close()
  }))
})

describe(`the production proxy under every malformed-HTTP kind (seed ${SEED})`, () => {
  it("the application's outcome through it equals direct, for both clients; then check and verify read what it recorded", async () => {
    const rows = new Map<string, OutcomeRow[]>(Object.keys(CLIENTS).map((c) => [c, []]))
    // One kind at a time: the application's deadlines are short (a stall must end there as direct), and 41 observers judging at once on a busy machine would make a clean answer miss them.
    for (const { kind, upstream, proxy } of pairs) {
      for (const [name, client] of Object.entries(CLIENTS)) {
        const direct = await client(`${upstream.url}${PATH}`)
        const through = await client(`${proxy.url}${PATH}`)
        rows.get(name)!.push({ kind: kind.name, direct, through })
      }
    }
    const wrong = [...rows].flatMap(([name, r]) => outcomeMismatches(name, r).map((w) => `${name}: ${w}`))
    expect(wrong, `seed ${SEED} (DRIFTWATCH_FUZZ_SEED=${SEED} replays it)\n${wrong.join('\n')}`).toEqual([])

    // Each proxy stops as Ctrl-C stops it: in-flight exchanges end, the journal is compacted into the recordings.
    const sessions = await Promise.all(pairs.map(async ({ kind, proxy }) => ({ kind, session: await proxy.close({ interrupted: true }) })))
    for (const { kind, session } of sessions) {
      expect(session.stats.exchanges, kind.name).toBe(2)
      expect(session.stats.answered + session.stats.abortedMidBody + session.stats.failedBeforeAnswer + session.stats.appAborted, kind.name).toBe(2)
      expect(session.journalKept, kind.name).toBeUndefined()
    }
    // The kinds that answered with something parseable were recorded (the folder is not empty by accident), and no journal is left.
    const contracts = readdirSync(recordings).filter((d) => d !== '.journal')
    expect(contracts).toEqual(['phone-numbers.get'])
    expect(readdirSync(join(recordings, 'phone-numbers.get')).length).toBeGreaterThan(MALFORMED_KINDS.length / 2)
    expect(existsSync(join(recordings, '.journal')) ? readdirSync(join(recordings, '.journal')) : []).toEqual([])

    const check = await runCli(['check', '--target', 'sim', '--recordings', recordings, '--only', contracts.join(','), '--no-history', '--quiet'])
    const why = brokenPromise(check)
    expect(why, why && explain(check, why, SEED, 'check --recordings <the proxy folder>')).toBeUndefined()
    expect(check.stderr).not.toMatch(/DW_RECORDING|refus/i)
    const verify = await runCli(['verify', recordings, '--no-history', '--quiet'])
    const vwhy = brokenPromise(verify)
    expect(vwhy, vwhy && explain(verify, vwhy, SEED, 'verify <the proxy folder>')).toBeUndefined()
    expect(verify.code, verify.stderr).not.toBe(2)
    expect(verify.stderr).not.toMatch(/DW_RECORDING|refus/i)
  }, 120_000)
})
