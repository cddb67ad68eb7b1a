/**
 * The contract file is linked where it can be followed (a newcomer's review, issue 20 item 4): in
 * GitHub Actions (GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID and GITHUB_SHA set), report.md
 * and report.html link it in the repository at the commit run, so the link still works once the
 * report is downloaded as an artifact; without the commit, report.md shows the path and report.html
 * links it relative to itself, as before.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeReports } from '../../src/commands/write-reports.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { sampleReport } from './sample-report.ts'

const dir = mkdtempSync(join(tmpdir(), 'dw-ci-links-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const CI = { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/app', GITHUB_RUN_ID: '77' }
const SHA = '0123456789abcdef0123456789abcdef01234567'
const FILE = 'contracts/meta/media.retrieve-url.yaml'

async function write(name: string, env: Record<string, string>) {
  const outDir = join(dir, name, 'reports', 'latest')
  await writeReports(sampleReport, { outDir, formats: ['md', 'html'], redactor: new Redactor({ secrets: [] }), cwd: join(dir, name), env })
  return { md: readFileSync(join(outDir, 'report.md'), 'utf8'), html: readFileSync(join(outDir, 'report.html'), 'utf8') }
}

describe('contract file links', () => {
  it('in a CI run with its commit: both reports link the file at that commit', async () => {
    const { md, html } = await write('ci', { ...CI, GITHUB_SHA: SHA })
    const url = `https://github.com/acme/app/blob/${SHA}/${FILE}`
    expect(md).toContain(`[${FILE}](${url})`)
    expect(html).toContain(`<a class="file" href="${url}">${FILE}</a>`)
    expect(html).not.toContain(`href="../../${FILE}"`)
  })
  it('without the commit: report.md shows the path, report.html links it relative to itself', async () => {
    const { md, html } = await write('no-sha', CI)
    expect(md).not.toContain('/blob/')
    expect(md).toContain(`(\`GET /{api_version}/{media_id}\`, ${FILE})`)
    expect(html).toContain(`<a class="file" href="../../${FILE}">${FILE}</a>`)
  })
})
