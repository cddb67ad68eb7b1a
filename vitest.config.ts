import { configDefaults, defineConfig } from 'vitest/config'

// The JSON results feed .ci/run's "N passed, N failed" line; the default reporter is for people.
export default defineConfig({
  test: {
    include: ['suites/**/*.test.ts'],
    // The package test packs and installs the tarball (minutes): `npm run test:package`, vitest.package.config.ts.
    exclude: [...configDefaults.exclude, 'suites/package/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/test-results.json' },
    env: { PACT_DO_NOT_TRACK: 'true' },
  },
})
