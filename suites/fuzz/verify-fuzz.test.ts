/**
 * `driftwatch verify` on hostile captures: HARs and VCR cassettes (and recordings directories,
 * which `check` also reads as its golden) mutated at random from real fixtures (truncated, wrong
 * types, bodies nested 50,000 deep, the HAR's structure nested up to 400,000 deep, strings and
 * base64 bodies of megabytes, a file ending inside one, bad base64, broken URLs, binary bodies,
 * YAML bombs). Each ends
 * with a report and an honest exit code, or a DW_ error naming what is wrong: never an internal
 * error, never a stack trace. Seeded: a failure prints the seed, and DRIFTWATCH_FUZZ_SEED replays it.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { brokenPromise, explain, runCli } from './cli-outcome.ts'
import { hostileCassette, hostileHar, hostileRecordings } from './hostile-traffic.ts'
import { fuzzCases, fuzzSeed, Rng } from './seed.ts'

const SEED = fuzzSeed()
const CASES = fuzzCases(20, 8)
const RECORDING_CASES = fuzzCases(6, 3)
const tmp = tempDirs('dw-fuzz-verify-')

/** Runs the CLI and checks the promise (softly: every broken case is listed, not just the first); returns the exit code. */
async function keepsItsPromise(args: string[], what: string): Promise<number> {
  const r = await runCli([...args, '--quiet'])
  const why = brokenPromise(r)
  expect.soft(why, why && explain(r, why, SEED, what)).toBeUndefined()
  return r.code
}

/** `CASES` files from a generator, each verified; the exit codes seen. */
async function fuzzFiles(label: string, name: string, generate: (rng: Rng) => { what: string; bytes: Buffer }): Promise<Set<number>> {
  const rng = new Rng(SEED).fork(label)
  const codes = new Set<number>()
  for (let i = 0; i < CASES; i++) {
    const { what, bytes } = generate(rng.fork(i))
    const file = join(tmp.dir(), name)
    writeFileSync(file, bytes)
    codes.add(await keepsItsPromise(['verify', file, '--recordings', 'suites/fuzz/none'], `${label} case ${i} (${what})`))
  }
  return codes
}

describe(`verify on hostile captures (seed ${SEED})`, () => {
  for (const [label, name, generate] of [['HAR', 'traffic.har', hostileHar], ['cassette', 'cassette.yml', hostileCassette]] as const) {
    it(`${CASES} malformed ${label}s`, async () => {
      const codes = await fuzzFiles(label, name, generate)
      // The mutations reach past the parser: some cases are judged, some refused.
      expect(codes.has(2)).toBe(true)
      expect([...codes].some((c) => c !== 2)).toBe(true)
    })
  }

  it(`${RECORDING_CASES} malformed recordings directories, as verify's traffic and as check's golden`, async () => {
    const rng = new Rng(SEED).fork('recordings')
    for (let i = 0; i < RECORDING_CASES; i++) {
      const { what, contracts, files } = hostileRecordings(rng.fork(i))
      const dir = tmp.dir()
      for (const [name, bytes] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, name)), { recursive: true })
        writeFileSync(join(dir, name), bytes)
      }
      await keepsItsPromise(['verify', dir, '--recordings', 'suites/fuzz/none'], `recordings case ${i} (${what})`)
      await keepsItsPromise(['check', '--recordings', dir, '--only', contracts.join(',')], `golden case ${i} (${what})`)
    }
  })
})
