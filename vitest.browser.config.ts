import { defineConfig } from 'vitest/config'

// Browser tests (headless Chromium from the system, driven by puppeteer-core): their own script, so
// the plain `npm test` stays fast; .ci/run runs both and adds up their JSON results.
export default defineConfig({
  test: {
    include: ['browser/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/browser-results.json' },
    env: { PACT_DO_NOT_TRACK: 'true' },
  },
})
