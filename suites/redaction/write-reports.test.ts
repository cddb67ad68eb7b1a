/**
 * Every format writeReports writes goes through its last redaction pass (issue 17, item 7: skipping
 * that pass for report.html and junit.xml leaked a token while every test passed, because the one
 * test of it redacted the HTML by hand). Here a report whose findings carry the token and the app
 * secret in every spelling is written in every format, and each file on disk is grepped.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Finding } from '../../src/model/finding.ts'
import type { Report } from '../../src/model/report.ts'
import { FORMATS } from '../../src/cli/options.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { writeReports } from '../../src/commands/write-reports.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { leaks, spell } from './spellings.ts'

// Not alphanumeric only: its base64 holds + and / at every alignment, so base64url differs from base64.
const TOKEN = 'Zq7vK2pX?>~9mW4nR8sT1uY6bC3dF5gH0jL-w/x+y~?>'
const APP_SECRET = '3f2a9c1e5b7d4086a2c4e6f8b0d1c3e5'
const tmp = tempDirs('dw-redaction-reports-')

/** One finding per spelling of each secret, the spelling in every field a reporter prints. */
function leakyReport(): Report {
  const findings: Finding[] = []
  for (const secret of [TOKEN, APP_SECRET]) {
    for (const [how, s] of Object.entries(spell(secret))) {
      findings.push({
        contract: 'messages.send-text',
        check: 'error-envelope',
        severity: 'breaking',
        title: `Upstream echoed ${s} (${how})`,
        message: `Received: {"error":{"message":"bad token ${s}"}}\nContract: a Graph error envelope`,
        expected: 'no secret',
        actual: s,
        evidence: {
          request: `POST http://127.0.0.1:40000/v23.0/1/messages?note=${s}`,
          status: 500,
          headers: [['X-Echo', s]],
          bodyExcerpt: `{"error":{"message":"${s}"}}`,
          curl: `curl -sS -X POST 'http://127.0.0.1:40000/v23.0/1/messages?note=${s}'`,
        },
        samples: 1,
        of: 1,
        since: '2026-11-22T02:00:00.000Z',
        new: true,
      })
    }
  }
  return {
    version: 1,
    target: 'http://127.0.0.1:40000',
    apiVersion: 'v23.0',
    startedAt: '2026-11-22T02:00:00.000Z',
    finishedAt: '2026-11-22T02:00:03.000Z',
    outcome: 'drift',
    summary: { contracts: 1, probes: 1, passed: 0, failed: 1, skipped: 0, inconclusive: 0, breaking: findings.length, warning: 0, info: 0 },
    findings,
    results: [{ contract: 'messages.send-text', title: 'Send a text message', file: 'contracts/meta/messages.send-text.yaml', request: 'POST /{api_version}/{phone_number_id}/messages', status: 'failed', reason: `echo ${TOKEN}`, probes: 1, durationMs: 12 }],
  }
}

async function written(redactor: Redactor): Promise<Map<string, string>> {
  const dir = tmp.dir()
  const { files } = await writeReports(leakyReport(), { outDir: dir, formats: FORMATS, redactor, cwd: dir })
  return new Map(files.map((f) => [f, readFileSync(join(dir, f), 'utf8')]))
}

describe('writeReports: the last redaction pass over every format', () => {
  it('writes every format (json, md, junit, html, github)', async () => {
    const files = await written(new Redactor({ secrets: [TOKEN, APP_SECRET] }))
    expect([...files.keys()].sort()).toEqual(['github-annotations.txt', 'junit.xml', 'report.html', 'report.json', 'report.md'])
  })

  it('without the secrets, every file shows every spelling of both (so the test below can fail)', async () => {
    const files = await written(new Redactor({ patterns: false }))
    for (const [file, text] of files) {
      for (const secret of [TOKEN, APP_SECRET]) {
        for (const [how, s] of Object.entries(spell(secret))) {
          // Each spelling alone: its finding's title, rendered, must show the secret.
          const title = `Upstream echoed ${s} (${how})`
          expect(leaks(title, secret), `${how} must spell the secret`).not.toEqual([])
        }
        expect(leaks(text, secret), `${file} must show ${secret === TOKEN ? 'the token' : 'the app secret'}`).not.toEqual([])
      }
    }
  })

  it('with them, no file holds a piece of either secret in any spelling', async () => {
    const files = await written(new Redactor({ secrets: [TOKEN, APP_SECRET] }))
    for (const [file, text] of files) {
      expect(leaks(text, TOKEN), `${file}: the token`).toEqual([])
      expect(leaks(text, APP_SECRET), `${file}: the app secret`).toEqual([])
      expect(text, file).toContain('[REDACTED]')
    }
  })
})
