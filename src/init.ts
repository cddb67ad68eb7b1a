/**
 * `driftwatch init` as a library call (issue 20 item 2): what an application's repository needs to
 * run driftwatch: driftwatch.config.yaml (the options the workflows use), three workflows wired to
 * it (nightly probe of the live API, the pre-deploy gate, every account in shards), a targets file
 * with live accounts only, and .env.example. It never overwrites: a file that exists is left as it
 * is and named in what it returns.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/** What init did with each file, in the order written. */
export interface InitResult {
  written: string[]
  leftAlone: string[]
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
  format: [json, md, junit, html, github]
  retry-budget: 300
verify:
  out: reports/driftwatch-verify
gate:
  out: reports/driftwatch-gate
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

jobs:
  drift:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    steps:
${SETUP}
      - name: Probe the live API
        env:
          WHATSAPP_ACCESS_TOKEN: \${{ secrets.WHATSAPP_ACCESS_TOKEN }}
          WHATSAPP_PHONE_NUMBER_ID: \${{ secrets.WHATSAPP_PHONE_NUMBER_ID }}
          WHATSAPP_WABA_ID: \${{ secrets.WHATSAPP_WABA_ID }}
          WHATSAPP_TEST_RECIPIENT: \${{ secrets.WHATSAPP_TEST_RECIPIENT }}
        run: npx driftwatch check
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: driftwatch-nightly
          path: reports/driftwatch
`

const PRE_DEPLOY = `# Before a deploy: the client you are about to ship still matches the contracts, offline (driftwatch
# init wrote it). Your consumer tests write pacts/ (see driftwatch help gate); no secret is needed.
name: driftwatch pre-deploy gate

on:
  pull_request: {}

permissions:
  contents: read

jobs:
  gate:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
${SETUP}
      - name: Consumer tests (write pacts/)
        run: npm test
      - name: Gate
        run: npx driftwatch gate
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: driftwatch-gate
          path: reports/driftwatch-gate
`

const ACCOUNTS = `# Every account of driftwatch.targets.yaml, in shards, every night (driftwatch init wrote it).
# Add each account's secrets under the names its env: block lists, and to env: below.
name: driftwatch accounts

on:
  schedule:
    - cron: "37 3 * * *"
  workflow_dispatch: {}

permissions:
  contents: read

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
        run: npx driftwatch check --targets driftwatch.targets.yaml --shard "$SHARD/2" --out reports/shard --no-history
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: driftwatch-shard-\${{ matrix.shard }}
          path: reports/shard
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
  return result
}
