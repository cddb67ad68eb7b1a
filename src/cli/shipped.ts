/**
 * What driftwatch ships besides its code, found where the working directory has none (an
 * application's repository): the golden recordings of the simulator's baseline, next to the Meta
 * pack (SHIPPED_PACK, src/contracts/load.ts). Resolved from this file, so from src/ in a checkout
 * and from dist/ in the installed package alike.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULTS } from './options.ts'

/** The golden recordings driftwatch ships (this checkout's or the installed package's recordings/meta). */
export const SHIPPED_RECORDINGS = fileURLToPath(new URL('../../recordings/meta', import.meta.url))

/**
 * Where the commands that only read golden recordings (check, verify, gate, watch) read them:
 * `--recordings` as given; else recordings/meta under `cwd`, or the shipped ones where `cwd` has
 * none. record and proxy write recordings: they never use this (the package is not theirs to write).
 */
export function goldenRecordings(given: string | undefined, cwd: string): string {
  const abs = resolve(cwd, given ?? DEFAULTS.recordings)
  if (given === undefined && !existsSync(abs) && existsSync(SHIPPED_RECORDINGS)) return SHIPPED_RECORDINGS
  return abs
}

/**
 * The shipped recordings as a fallback per contract, when --recordings was not given: an
 * application's recordings/meta that holds only what its proxy or `record` wrote still leaves the
 * simulator's baseline goldens to every contract it has none of (check and watch, through the session).
 */
export function shippedGoldens(given: string | undefined): { shippedRecordingsDir: string } | Record<string, never> {
  return given === undefined && existsSync(SHIPPED_RECORDINGS) ? { shippedRecordingsDir: SHIPPED_RECORDINGS } : {}
}
