/**
 * `driftwatch init` as a library call (issue 20 item 2): what an application's repository needs to
 * run driftwatch: driftwatch.config.yaml (the options the workflows use), three workflows wired to
 * it (nightly probe of the live API, the pre-deploy gate, every account in shards), a targets file
 * with live accounts only, and .env.example. It never overwrites: a file that exists is left as it
 * is and named in what it returns.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

/** What init did with each file, in the order written. */
export interface InitResult {
  written: string[]
  leftAlone: string[]
  /** The root of the git repository `dir` lies inside, when that is a folder above it: GitHub runs only the root's .github/workflows. */
  repositoryRoot?: string
}

const CONFIG = `# driftwatch's options for this repository (driftwatch init wrote it; edit freely).
# Every option a command takes can live here: under defaults: for every command, or under the
# command's name. DRIFTWATCH_<OPTION> variables override it (DRIFTWATCH_FAIL_ON=warning), flags
# override both. driftwatch help <command> lists the options.
defaults:
  fail-on: breaking
check:
  target: https://graph.facebook.com
  out: reports/driftwatch
  format: [json, md, junit, html]
  retry-budget: 300
verify:
  out: reports/driftwatch-verify
gate:
  out: reports/driftwatch-gate
history:
  out: reports/driftwatch
`

const TARGETS = `# The WhatsApp Business accounts driftwatch probes (check --targets). Names of environment
# variables, never secrets: the accounts workflow passes each from the repository's secrets.
targets:
  - name: main
    target: https://graph.facebook.com
    env:
      token: WHATSAPP_ACCESS_TOKEN
      phone_number_id: WHATSAPP_PHONE_NUMBER_ID
      waba_id: WHATSAPP_WABA_ID
      test_recipient: WHATSAPP_TEST_RECIPIENT
`

const ENV = `# What driftwatch reads from the environment (copy to .env for local runs; never commit .env).
WHATSAPP_ACCESS_TOKEN=
WHATSAPP_PHONE_NUMBER_ID=
WHATSAPP_WABA_ID=
# Optional: a number that may receive the test message (check sends one; without it, skipped).
WHATSAPP_TEST_RECIPIENT=
# driftwatch webhook (the receiver in front of your webhook endpoint) checks signatures with it.
WHATSAPP_APP_SECRET=
`

const SETUP = `      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: actions/setup-node@v4
        with:
          node-version: 20
          cache: npm
      - run: npm ci`

/** Maps check's exit code to the job's: drift fails, inconclusive warns unless the token was rejected (that never fixes itself). */
const VERDICT = (report: string) => `        run: |
          case "$EXIT_CODE" in
            0) echo "No drift." ;;
            1) echo "::error::Drift from the live API: see the annotations and the job summary."; exit 1 ;;
            3)
              # Inconclusive: Meta unreachable or in downtime past the retry budget: do not page.
              # A rejected token never fixes itself, though: that one fails the job.
              if grep -q '"check": "credentials"' ${report}; then
                echo "::error::The access token was rejected: refresh the WHATSAPP_ACCESS_TOKEN secret."; exit 1
              fi
              echo "::warning::Inconclusive: Meta was unreachable or in downtime. See the job summary." ;;
            *) echo "::error::driftwatch could not run (exit $EXIT_CODE): see the step log."; exit 1 ;;
          esac`

const NIGHTLY = `# Probes the live WhatsApp Cloud API every night with the options in driftwatch.config.yaml and
# fails on drift (driftwatch init wrote it). Secrets: WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID,
# WHATSAPP_WABA_ID, WHATSAPP_TEST_RECIPIENT (optional), each passed by name through env:.
name: driftwatch nightly

on:
  schedule:
    - cron: "17 3 * * *"
  workflow_dispatch: {}

permissions:
  contents: read

concurrency:
  group: driftwatch-nightly
  cancel-in-progress: false

jobs:
  drift:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    steps:
${SETUP}
      # Yesterday's report and the history (history.db beside it) let each finding say since when
      # it is seen and when the contract last passed.
      - name: Restore the previous report and the history
        uses: actions/cache/restore@v4
        with:
          path: |
            reports/driftwatch/report.json
            reports/driftwatch/history.db
          key: driftwatch-nightly-\${{ github.run_id }}
          restore-keys: driftwatch-nightly-
      # --format github (added here, not in the config: local runs print no workflow commands) makes
      # each finding an annotation and report.md the job summary.
      - name: Probe the live API
        id: check
        env:
          WHATSAPP_ACCESS_TOKEN: \${{ secrets.WHATSAPP_ACCESS_TOKEN }}
          WHATSAPP_PHONE_NUMBER_ID: \${{ secrets.WHATSAPP_PHONE_NUMBER_ID }}
          WHATSAPP_WABA_ID: \${{ secrets.WHATSAPP_WABA_ID }}
          WHATSAPP_TEST_RECIPIENT: \${{ secrets.WHATSAPP_TEST_RECIPIENT }}
        run: |
          set +e
          npx driftwatch check --format json,md,junit,html,github
          echo "exit_code=$?" >> "$GITHUB_OUTPUT"
      - name: Upload the reports
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: driftwatch-nightly-\${{ github.run_id }}
          path: reports/driftwatch/
          retention-days: 30
      - name: Save the report and the history for tomorrow
        if: always()
        uses: actions/cache/save@v4
        with:
          path: |
            reports/driftwatch/report.json
            reports/driftwatch/history.db
          key: driftwatch-nightly-\${{ github.run_id }}
      - name: Fail on drift
        if: always()
        env:
          EXIT_CODE: \${{ steps.check.outputs.exit_code }}
${VERDICT('reports/driftwatch/report.json')}
`

const PRE_DEPLOY = `# Before a deploy: the client you are about to ship still matches the contracts, offline (driftwatch
# init wrote it). Your consumer tests write pacts/ (see driftwatch help gate); no secret is needed.
name: driftwatch pre-deploy gate

on:
  pull_request: {}

permissions:
  contents: read

env:
  PACT_DO_NOT_TRACK: "true"

jobs:
  gate:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
${SETUP}
      - name: Consumer tests (write pacts/)
        run: npm test
      # No pacts yet (no Pact consumer tests in this repository): nothing to gate, and no failure.
      - name: Gate
        if: hashFiles('pacts/*.json') != ''
        run: npx driftwatch gate
      - name: Gate report in the job summary
        if: always()
        run: |
          cat reports/driftwatch-gate/gate.md >> "$GITHUB_STEP_SUMMARY" || echo "driftwatch wrote no gate report: see the step log." >> "$GITHUB_STEP_SUMMARY"
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: driftwatch-gate
          path: reports/driftwatch-gate/
`

const ACCOUNTS = `# Every account of driftwatch.targets.yaml, in two shards, every night, merged into one report
# (driftwatch init wrote it). Add each account's secrets under the names its env: block lists, and
# to the probe step's env: below, by the same names.
name: driftwatch accounts

on:
  schedule:
    - cron: "37 3 * * *"
  workflow_dispatch: {}

permissions:
  contents: read

concurrency:
  group: driftwatch-accounts
  cancel-in-progress: false

jobs:
  shard:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    strategy:
      fail-fast: false
      matrix:
        shard: [1, 2]
    steps:
${SETUP}
      - name: Probe this shard's accounts
        env:
          SHARD: \${{ matrix.shard }}
          WHATSAPP_ACCESS_TOKEN: \${{ secrets.WHATSAPP_ACCESS_TOKEN }}
          WHATSAPP_PHONE_NUMBER_ID: \${{ secrets.WHATSAPP_PHONE_NUMBER_ID }}
          WHATSAPP_WABA_ID: \${{ secrets.WHATSAPP_WABA_ID }}
          WHATSAPP_TEST_RECIPIENT: \${{ secrets.WHATSAPP_TEST_RECIPIENT }}
        run: |
          set +e
          # --no-history: this machine is thrown away; the merge job keeps the history of every account.
          npx driftwatch check --targets driftwatch.targets.yaml --shard "$SHARD/2" --out reports/shard --format json --no-history
          echo "driftwatch exit code: $?"
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: driftwatch-shard-\${{ matrix.shard }}
          path: reports/shard/report.json
          retention-days: 7

  merge:
    needs: shard
    if: always()
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
${SETUP}
      - name: Download every shard's report
        uses: actions/download-artifact@v4
        with:
          pattern: driftwatch-shard-*
          path: shards
      - name: Restore the history
        uses: actions/cache/restore@v4
        with:
          path: reports/driftwatch-accounts/history.db
          key: driftwatch-accounts-history-\${{ github.run_id }}
          restore-keys: driftwatch-accounts-history-
      - name: Merge the shards
        id: merge
        run: |
          set +e
          npx driftwatch merge shards/driftwatch-shard-1/report.json shards/driftwatch-shard-2/report.json --out reports/driftwatch-accounts --format json,md,junit,html,github
          echo "exit_code=$?" >> "$GITHUB_OUTPUT"
      - name: Say so in the job summary when there is no merged report
        if: always()
        run: |
          # --format github annotated each finding and put report.md in the job summary.
          [ -f reports/driftwatch-accounts/report.md ] || echo "driftwatch wrote no merged report: see the step log." >> "$GITHUB_STEP_SUMMARY"
      - name: Upload the merged reports
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: driftwatch-accounts-\${{ github.run_id }}
          path: reports/driftwatch-accounts/
          retention-days: 30
      - name: Save the history for tomorrow
        if: always()
        uses: actions/cache/save@v4
        with:
          path: reports/driftwatch-accounts/history.db
          key: driftwatch-accounts-history-\${{ github.run_id }}
      - name: Fail on drift
        if: always()
        env:
          EXIT_CODE: \${{ steps.merge.outputs.exit_code }}
${VERDICT('reports/driftwatch-accounts/report.json')}
`

/** The files init writes, by path relative to the repository. */
export const INIT_FILES: Readonly<Record<string, string>> = {
  'driftwatch.config.yaml': CONFIG,
  'driftwatch.targets.yaml': TARGETS,
  '.env.example': ENV,
  '.github/workflows/driftwatch-nightly.yml': NIGHTLY,
  '.github/workflows/driftwatch-pre-deploy.yml': PRE_DEPLOY,
  '.github/workflows/driftwatch-accounts.yml': ACCOUNTS,
}

/** Writes what is missing in `dir`; leaves every file that exists as it is. */
export function runInit(dir: string): InitResult {
  const result: InitResult = { written: [], leftAlone: [] }
  for (const [rel, text] of Object.entries(INIT_FILES)) {
    const file = join(dir, rel)
    if (existsSync(file)) {
      result.leftAlone.push(rel)
      continue
    }
    mkdirSync(dirname(file), { recursive: true })
    // 'wx': a file that appeared since the check is still not overwritten.
    writeFileSync(file, text, { flag: 'wx' })
    result.written.push(rel)
  }
  const root = gitRoot(dir)
  if (root !== undefined && resolve(root) !== resolve(dir)) result.repositoryRoot = root
  return result
}

/** The nearest folder at or above `dir` holding a .git (a folder, or a worktree's file). */
function gitRoot(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return d
    if (dirname(d) === d) return undefined
  }
}
