import { configDefaults, defineConfig } from 'vitest/config'

/**
 * End-to-end files, a third of the suite's time on two cores: every command run for real on
 * secrets and hostile input (dozens of `node bin/driftwatch.js` child processes, ~2 CPU-s each),
 * the CLI's bounds under signals and huge captures (1-second timing bounds), the real bin's exit
 * codes and streams, the composed proxy under the fuzz kinds, and the GitHub Action's step. They
 * run with `npm run test:e2e` (vitest.e2e.config.ts), which .ci/run runs and counts; none of them
 * is where a check is shown firing or staying quiet.
 */
export const E2E = [
  'suites/redaction/every-output.test.ts',
  'suites/hostile/hostile.test.ts',
  'suites/verify/bounds.test.ts',
  // The real bin, spawned for each exit code and stream it promises (16 child processes, 26 s of the suite's 237 file-seconds).
  'suites/cli/cli.test.ts',
  // The composed proxy under every malformed-HTTP kind against direct, one long test (12 s).
  'suites/fuzz/composed-proxy.test.ts',
  // action.yml's step script run by bash as a runner would, each run a real `node bin/driftwatch.js` (six, ~11 s on an idle machine).
  'suites/action.test.ts',
]

/** What the suites' configs share (vitest.e2e.config.ts too). The JSON results feed .ci/run's "N passed, N failed" line; the default reporter is for people. */
export const SHARED = { testTimeout: 30_000, hookTimeout: 30_000, reporters: ['default', 'json'], env: { PACT_DO_NOT_TRACK: 'true' } }

// Speed (issue 20: `npm test` on a 2-core machine). vitest's default is one worker per core minus
// one: a single worker here, idle while a test waits on the child process it spawned. Two workers
// keep both cores busy. `isolate: false` loads src/ once per worker instead of once per test file
// (a fresh process and module graph for each of ~100 files was about a third of the CPU time);
// each test file still has its own module, and what src/ keeps between calls is caches only.
export default defineConfig({
  test: {
    ...SHARED,
    include: ['suites/**/*.test.ts'],
    // The package test packs and installs the tarball (minutes): `npm run test:package`, vitest.package.config.ts.
    exclude: [...configDefaults.exclude, 'suites/package/**', ...E2E],
    maxWorkers: 2,
    isolate: false,
    outputFile: { json: 'reports/test-results.json' },
  },
})
