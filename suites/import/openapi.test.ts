/**
 * `driftwatch import openapi` on Meta's own v23.0 spec (vendored in specs/meta, MIT), and the
 * README section the tool produces from it: drafts load as contracts, say what the spec says, and
 * `verify` of the recordings against them finds the disagreements FACTS.md lists.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import YAML from 'yaml'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli.ts'
import { loadContracts } from '../../src/contracts/load.ts'
import { HarnessError } from '../../src/errors.ts'
import { importOpenApi } from '../../src/import/openapi.ts'
import { README_MARKERS, renderDisagreements, specVsTraffic } from '../../src/import/spec-vs-traffic.ts'
import { runVerify } from '../../src/verify/verify.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const SPEC = join(ROOT, 'specs', 'meta', 'business-messaging-api_v23.0.yaml')
const RECORDINGS = join(ROOT, 'recordings', 'meta')
const { dir } = tempDirs('dw-import-')

describe('import openapi', () => {
  it('drafts a readable contract and a closed schema that say what the spec says', async () => {
    const out = dir()
    const r = await importOpenApi({ spec: SPEC, operations: ['retrieveMediaUrl'], outDir: out, cwd: ROOT })
    expect(r.contracts.map((f) => f.slice(out.length + 1))).toEqual(['openapi.retrieve-media-url.yaml'])
    const contract = YAML.parse(readFileSync(join(out, 'openapi.retrieve-media-url.yaml'), 'utf8'))
    expect(contract).toMatchObject({
      id: 'openapi.retrieve-media-url',
      title: 'Retrieve Media URL',
      inputs: ['media_id'],
      request: { method: 'GET', path: '/{api_version}/{media_id}' },
      expect: { status: 200, contentType: 'application/json', body: { schema: 'openapi.retrieve-media-url.json' } },
    })
    expect(contract.notes.join(' ')).toContain('Optional query parameters in the spec: phone_number_id')
    const schema = JSON.parse(readFileSync(join(out, 'schemas', 'openapi.retrieve-media-url.json'), 'utf8'))
    expect(schema.additionalProperties).toBe(false)
    expect(schema.properties.file_size).toEqual({ type: 'string' }) // the spec's word; `example` dropped
    // The drafts load like any contract pack; the error envelope comes along for verify.
    const pack = loadContracts(out)
    expect(pack.contracts.map((c) => c.id)).toEqual(['openapi.retrieve-media-url'])
    expect(pack.validateBody('openapi.graph-api-error.json', { error: { message: 'x', type: 'OAuthException', code: 100, error_data: {} } }).map((v) => v.path)).toEqual(['$.error.error_data'])
  })

  it('check never sends a draft: every imported contract is skipped until a person removes draft: true', async () => {
    const out = dir()
    // deregister takes no body: an unreviewed draft of it, run against the live API, would deregister the number.
    await importOpenApi({ spec: SPEC, operations: ['deregisterPhoneNumber', 'getPhoneNumberById'], outDir: out, cwd: ROOT })
    const lines: string[] = []
    const io = { stdout: (s: string) => lines.push(s), stderr: (s: string) => lines.push(s), cwd: ROOT, env: {} }
    const reports = dir()
    expect(await main(['check', '--contracts', out, '--out', reports, '--quiet'], io)).toBe(3)
    const report = JSON.parse(readFileSync(join(reports, 'report.json'), 'utf8'))
    expect(report.summary.probes).toBe(0)
    expect(report.outcome).toBe('inconclusive')
    expect(report.results.length).toBeGreaterThan(0)
    for (const r of report.results) expect(r).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^an unreviewed draft: review .*, then remove "draft: true" to probe it$/) })
  })

  it('imports by tag and says what it left out and why', async () => {
    const r = await importOpenApi({ spec: SPEC, tags: ['media'], outDir: dir(), cwd: ROOT })
    expect(r.contracts.map((f) => f.split('/').pop()).sort()).toEqual(['openapi.delete-media.yaml', 'openapi.retrieve-media-url.yaml', 'openapi.upload-image.yaml'])
    expect(r.skipped).toEqual([{ operation: 'downloadMedia', reason: expect.stringContaining('{Media-URL} is a whole URL') }])
  })

  it('never overwrites reviewed drafts without --force, and names unknown operations', async () => {
    const out = dir()
    await importOpenApi({ spec: SPEC, operations: ['deleteMedia'], outDir: out, cwd: ROOT })
    writeFileSync(join(out, 'openapi.delete-media.yaml'), '# reviewed by a human\n' + readFileSync(join(out, 'openapi.delete-media.yaml'), 'utf8'))
    const err = await importOpenApi({ spec: SPEC, operations: ['deleteMedia'], outDir: out, cwd: ROOT }).catch((e: unknown) => e)
    expect((err as HarnessError).code).toBe('DW_USAGE')
    expect((err as Error).message).toMatch(/openapi\.delete-media\.yaml.*already exist.*--force/)
    expect(readFileSync(join(out, 'openapi.delete-media.yaml'), 'utf8')).toMatch(/^# reviewed by a human/)
    await importOpenApi({ spec: SPEC, operations: ['deleteMedia'], outDir: out, force: true, cwd: ROOT })
    expect(readFileSync(join(out, 'openapi.delete-media.yaml'), 'utf8')).not.toContain('reviewed by a human')
    await expect(importOpenApi({ spec: SPEC, operations: ['retrieveMedia'], outDir: dir(), cwd: ROOT })).rejects.toThrow(/has no operation "retrieveMedia" \(did you mean .*retrieveMediaUrl/)
  })

  it('rejects a document that is not OpenAPI 3', async () => {
    const file = join(dir(), 'swagger.yaml')
    writeFileSync(file, 'swagger: "2.0"\npaths: {}\n')
    await expect(importOpenApi({ spec: file, outDir: dir(), cwd: ROOT })).rejects.toThrow(/"openapi" is undefined; only OpenAPI 3.x documents are supported/)
  })

  it('verify of the recordings against the drafts shows file_size: string in the spec, integer in traffic', async () => {
    const out = dir()
    // The phone number shares the path template /{api_version}/{id}: import it too, so its bodies find their contract.
    await importOpenApi({ spec: SPEC, operations: ['retrieveMediaUrl', 'getPhoneNumberById'], outDir: out, cwd: ROOT })
    const { report } = await runVerify({ input: RECORDINGS, contractsDir: out, outDir: dir(), formats: ['json'], env: {}, cwd: ROOT })
    // (Error recordings on the same path land here too, as status findings: the spec documents only the 200.)
    const drift = report.findings.filter((f) => f.contract === 'openapi.retrieve-media-url' && f.check === 'schema-drift')
    expect(drift.map((f) => [f.severity, f.title])).toEqual([['breaking', '`$.file_size` was string, is now integer']])
  })

  it('the CLI writes the drafts and exits 0; a wrong format or missing spec exits 2', async () => {
    const lines: string[] = []
    const io = { stdout: (s: string) => lines.push(s), stderr: (s: string) => lines.push(s), cwd: ROOT, env: {} }
    const out = dir()
    expect(await main(['import', 'openapi', SPEC, '--operation', 'sendMessage', '--out', out], io)).toBe(0)
    expect(lines.join('\n')).toMatch(/Drafted 1 contract and 2 schemas/)
    expect(await main(['import', 'swagger', SPEC], io)).toBe(2)
    expect(await main(['import', 'openapi'], io)).toBe(2)
    expect(lines.join('\n')).toContain('import knows one format: driftwatch import openapi <spec>')
  })
})

describe("README: Where Meta's spec and Meta's API disagree", () => {
  it('is exactly what the tool produces from the vendored spec and the committed recordings', async () => {
    const rows = await specVsTraffic({ spec: SPEC, recordingsDir: RECORDINGS, cwd: ROOT })
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const [start, end] = README_MARKERS
    const inReadme = readme.slice(readme.indexOf(start) + start.length, readme.indexOf(end)).trim()
    expect(inReadme, 'README section is stale: run npm run spec-report').toBe(renderDisagreements(rows, SPEC, RECORDINGS, ROOT))
    // The known cases from FACTS.md are among them.
    expect(rows).toEqual(
      expect.arrayContaining([
        { operation: 'GET /{api_version}/{media_id}', field: '$.file_size', spec: 'string', traffic: 'integer' },
        expect.objectContaining({ field: '$.messages[*].message_status', spec: 'listed', traffic: expect.stringMatching(/^never sent/) }),
        expect.objectContaining({ operation: 'any error (GraphAPIError)', field: '$.error.error_data', spec: 'not listed' }),
      ]),
    )
  })
})
