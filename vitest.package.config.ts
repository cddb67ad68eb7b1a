import { defineConfig } from 'vitest/config'

// The package test (suites/package/): packs this checkout, installs the tarball into an empty folder
// and runs driftwatch there. Slow (npm install; better-sqlite3 may compile), so its own script,
// `npm run test:package`, not part of `npm test`; .ci/run runs it and adds up its JSON results.
export default defineConfig({
  test: {
    include: ['suites/package/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 15 * 60_000,
    fileParallelism: false,
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/package-results.json' },
    env: { PACT_DO_NOT_TRACK: 'true' },
  },
})
