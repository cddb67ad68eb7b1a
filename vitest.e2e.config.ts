import { defineConfig } from 'vitest/config'
import { E2E, SHARED } from './vitest.config.ts'

/**
 * Files whose seeded random loops `npm test` runs at their first cases (fuzzCases in suites/fuzz/seed.ts):
 * here every case, with DRIFTWATCH_FUZZ_FULL=1.
 */
const FUZZ_FULL = ['suites/fuzz/json-scanner.test.ts', 'suites/fuzz/verify-fuzz.test.ts', 'suites/traffic/whole-entries.test.ts', 'suites/recordings/personal-data.test.ts']

// The heaviest end-to-end files (E2E in vitest.config.ts): every command run for real as child
// processes, and the CLI's bounds (SIGTERM honoured within 1 s, memory under a 560 MB HAR). Their
// own script, `npm run test:e2e`, one file at a time (a timing bound measures the neighbour when a
// second worker shares the two cores); .ci/run runs it after `npm test` and adds up its JSON results.
export default defineConfig({
  test: {
    ...SHARED,
    env: { ...SHARED.env, DRIFTWATCH_FUZZ_FULL: '1' },
    include: [...E2E, ...FUZZ_FULL],
    fileParallelism: false,
    outputFile: { json: 'reports/e2e-results.json' },
  },
})
