/**
 * Bounded work on hostile captures (issue 17, item 3), each bound asserted as the issue states it,
 * on the real CLI in a child process where the bound is about a process (time to end, exit code,
 * peak memory):
 *
 * - a HAR nested 400,000 deep (an 800 KB file) ends in under 10 s with DW_HAR_INVALID naming the
 *   entry (it ran for minutes and ignored SIGTERM for about 2 minutes);
 * - SIGTERM ends `verify` within 1 s wherever it lands: reading a large HAR, inside one huge entry,
 *   judging entries with large bodies, and after the last byte (judging and writing the report);
 * - a 300 MB string body is read with peak RSS under 500 MB (it took 3.2 GB), its hash still right;
 * - a valid HAR holding a 560 MB string (past V8's longest string) is read and judged, never called
 *   "not valid JSON".
 *
 * - what an entry keeps: bodies and other fields up to their caps, a secret at the cut redacted whole.
 *
 * Files are generated on the fly in a temp dir (streamed to disk) and removed afterwards.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { HarnessError } from '../../src/util/errors.ts'
import type { Observation } from '../../src/model/observation.ts'
import { PersonalDataRedactor } from '../../src/recordings/personal-data.ts'
import type { Report } from '../../src/model/report.ts'
import { KEPT_FIELD_CHARS } from '../../src/traffic/har.ts'
import { CASSETTE_IN_WORKER_BYTES, readCassetteResponsive } from '../../src/traffic/read-cassette.ts'
import { readTraffic } from '../../src/traffic/read.ts'
import { readCassette } from '../../src/traffic/vcr.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { runVerify } from '../../src/commands/verify.ts'
import { writeLargeHar, writeMediaHar } from '../helpers/large-har.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { peakRss, ROOT, startCli, whenRead } from './cli-child.ts'

const { dir } = tempDirs('dw-bounds-')
const ENV = { WHATSAPP_PHONE_NUMBER_ID: '106540352242922', WHATSAPP_WABA_ID: '102290129340398' }
const MB = 1024 * 1024

/** `verify <file>` as a user runs it, with no golden recordings. */
const verifyArgs = (file: string, out: string) => ['verify', file, '--out', out, '--recordings', join(out, 'none'), '--quiet']

const reportIn = (out: string) => JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report

/** A HAR whose first entries are fine and whose entry `at` (1-based) holds `deep` instead of `field`. */
function deepHar(file: string, deep: string, where: 'request' | 'content' | 'before'): void {
  const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'meta-media.har'), 'utf8'))
  const good = JSON.stringify(fixture.log.entries[0])
  const text =
    where === 'request' ? `{"log":{"entries":[{"request": ${deep}}]}}`
    : where === 'content' ? `{"log":{"entries":[${good},${good.replace('"content":{', `"content":{"text":${deep},`)}]}}`
    : `{"log":{"creator":${deep},"entries":[${good}]}}`
  writeFileSync(file, text)
}

const nested = (n: number, open: string, close: string) => `${open.repeat(n)}1${close.repeat(n)}`

describe('a HAR nested 400,000 deep', () => {
  it('ends in under 10 s from the CLI, exit 2, DW_HAR_INVALID naming the entry and the field', async () => {
    const out = dir()
    const file = join(out, 'deep.har')
    // The issue's file: {"log":{"entries":[{"request": [[[[... 400,000 deep, about 800 KB.
    deepHar(file, nested(400_000, '[', ']'), 'request')
    const t0 = performance.now()
    const run = startCli(verifyArgs(file, out), { env: ENV })
    const r = await run.ended
    // The issue's bound, process start included (the CLI loads in about 1-2 s).
    expect(r.at - t0).toBeLessThan(10_000)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/deep\.har: log\.entries\[0\]\.request is nested deeper than 256 levels \(entry 1\).*\[DW_HAR_INVALID\]/)
    expect(r.stderr).not.toMatch(/not valid JSON|internal error|\n\s+at /)
  }, 30_000)

  it.each([
    ['in a body, after a good entry', 'content', nested(400_000, '{"a":', '}'), /log\.entries\[1\]\.response\.content\.text is nested deeper than 256 levels \(entry 2\)/],
    ['before the first entry', 'before', nested(400_000, '[', ']'), /log\.creator is nested deeper than 256 levels \(before the first entry\)/],
  ] as const)('%s: the same error, naming where', async (_what, where, deep, message) => {
    const file = join(dir(), 'deep.har')
    deepHar(file, deep, where)
    const t0 = performance.now()
    const err = await runVerify({ input: file, contractsDir: 'contracts/meta', outDir: dir(), formats: ['json'], env: ENV, cwd: ROOT }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(performance.now() - t0).toBeLessThan(10_000)
    expect(err).toBeInstanceOf(HarnessError)
    expect((err as HarnessError).code).toBe('DW_HAR_INVALID')
    expect((err as HarnessError).message).toMatch(message)
  })

  it('stays quiet at 256 levels inside a field nothing reads: the capture is judged', async () => {
    const file = join(dir(), 'deep-ok.har')
    // 6 levels around it (the document, log, entries, the entry, response, content) and 250 of its own: 256 in all.
    deepHar(file, nested(250, '[', ']'), 'content')
    const { counts } = await runVerify({ input: file, contractsDir: 'contracts/meta', outDir: dir(), formats: ['json'], env: ENV, cwd: ROOT })
    expect(counts.entries).toBe(2)
  })
})

/**
 * SIGTERM at a chosen point, and the time from the signal to the process's end. The bound is the
 * issue's (1 s); what it covers here is the CLI noticing the signal, judging nothing more, writing
 * the reports and exiting. The inputs are sized (100-200 MB) so that the work left at the signal
 * takes seconds: an unhonoured signal would miss the bound by far, not by a hair.
 */
async function sigtermAt(file: string, atBytes: number): Promise<{ code: number | null; afterSignalMs: number; report: Report; stderr: string }> {
  const out = dir()
  const run = startCli(verifyArgs(file, out), { env: ENV })
  await whenRead(run, file, atBytes)
  const sent = performance.now()
  run.child.kill('SIGTERM')
  const r = await run.ended
  return { code: r.code, afterSignalMs: r.at - sent, report: reportIn(out), stderr: r.stderr }
}

describe('SIGTERM is honoured within 1 s wherever it lands', () => {
  it('while reading a large HAR: exit 130, the report covers what was judged', async () => {
    const file = join(dir(), 'large.har')
    const { bytes, entries } = await writeLargeHar(file, { bytes: 150 * MB, media: { bytes: 2 * MB } })
    const r = await sigtermAt(file, bytes * 0.3)
    expect(r.afterSignalMs).toBeLessThan(1000)
    expect(r.code).toBe(130)
    expect(r.report).toMatchObject({ outcome: 'interrupted', interrupted: true })
    expect(r.report.summary.entries).toBeGreaterThan(0)
    expect(r.report.summary.entries).toBeLessThan(entries)
    rmSync(file)
  }, 120_000)

  it('inside one huge entry (a 200 MB body): exit 130, the entries before it judged', async () => {
    const file = join(dir(), 'huge-entry.har')
    const { bytes } = await writeMediaHar(file, { chars: 200 * MB, encoding: 'base64' })
    const r = await sigtermAt(file, bytes * 0.5)
    expect(r.afterSignalMs).toBeLessThan(1000)
    expect(r.code).toBe(130)
    // The retrieve before the download was read and judged; the download was not finished.
    expect(r.report.summary.entries).toBe(1)
    rmSync(file)
  }, 120_000)

  it('while judging, and after the last byte (judging what is left and writing the report)', async () => {
    const file = join(dir(), 'judging.har')
    // About 2,300 entries: judging starts once the first 1,000 are read (the origin is told from them), at about 40%.
    const { bytes, entries } = await writeLargeHar(file, { bytes: 200 * MB, media: { bytes: 2 * MB } })
    expect(entries).toBeGreaterThan(2000)
    const mid = await sigtermAt(file, bytes * 0.8)
    expect(mid.afterSignalMs).toBeLessThan(1000)
    expect(mid.code).toBe(130)
    expect(mid.report.summary.entries).toBeGreaterThan(1000)
    const end = await sigtermAt(file, bytes)
    expect(end.afterSignalMs).toBeLessThan(1000)
    // Every entry was read; the report covers those judged when the signal came, or all of them if it came after.
    expect([0, 1, 130]).toContain(end.code)
    expect(end.report.summary.entries).toBeGreaterThan(mid.report.summary.entries ?? 0)
    rmSync(file)
  }, 180_000)

  it('record --from: exit 130, nothing recorded (a capture cut short is no baseline)', async () => {
    const out = dir()
    const file = join(out, 'capture.har')
    const { bytes } = await writeLargeHar(file, { bytes: 100 * MB, media: { bytes: 2 * MB } })
    const recordings = join(out, 'recordings')
    const run = startCli(['record', '--from', file, '--recordings', recordings, '--quiet'], { env: ENV })
    await whenRead(run, file, bytes * 0.5)
    const sent = performance.now()
    run.child.kill('SIGTERM')
    const r = await run.ended
    expect(r.at - sent).toBeLessThan(1000)
    expect(r.code).toBe(130)
    expect(r.stderr).toMatch(/Interrupted after \d+ exchanges: nothing recorded/)
    expect(existsSync(recordings) ? readdirSync(recordings).filter((f) => !f.startsWith('.')) : []).toEqual([])
    rmSync(file)
  }, 120_000)

  it('while a large cassette is parsed (YAML is parsed in one synchronous pass, about 1 MB/s): exit 130', async () => {
    const out = dir()
    const file = join(out, 'large.yml')
    // The fixture's interactions repeated: 20 MB, which the YAML library takes 15 s or more to parse.
    const source = readFileSync(join(import.meta.dirname, 'fixtures', 'cloud-api-traffic.cassette.yml'), 'utf8')
    const interactions = source.slice(source.indexOf('\n  - request:'), source.lastIndexOf('\nrecorded_with'))
    writeFileSync(file, `${source.slice(0, source.indexOf('\n  - request:'))}${interactions.repeat(Math.ceil((20 * MB) / interactions.length))}\n`)
    const run = startCli(verifyArgs(file, out), { env: ENV })
    // The CLI starts in 1-2 s; the parse then runs for many seconds: 3 s in, the signal lands mid-parse.
    await new Promise((r) => setTimeout(r, 3000))
    const sent = performance.now()
    run.child.kill('SIGTERM')
    const r = await run.ended
    expect(r.at - sent).toBeLessThan(1000)
    expect(r.code).toBe(130)
    expect(reportIn(out)).toMatchObject({ outcome: 'interrupted' })
  }, 60_000)

  it('on a 400,000-deep HAR: the DW_ error, or the signal, whichever came first, within 1 s', async () => {
    const out = dir()
    const file = join(out, 'deep.har')
    deepHar(file, nested(400_000, '[', ']'), 'request')
    const run = startCli(verifyArgs(file, out), { env: ENV })
    // The file is refused within milliseconds of being opened: the run may end before the signal can be sent.
    const opened = await whenRead(run, file, 1).then(
      () => true,
      () => false,
    )
    const sent = performance.now()
    if (opened) run.child.kill('SIGTERM')
    const r = await run.ended
    if (opened) expect(r.at - sent).toBeLessThan(1000)
    expect([2, 130]).toContain(r.code)
    if (r.code === 2) expect(r.stderr).toContain('[DW_HAR_INVALID]')
  }, 30_000)
})

describe('bodies past the kept-text cap are hashed and counted as they stream', () => {
  it('a 300 MB string body: peak RSS under 500 MB, and the download still matches the sha256 its retrieve named', async () => {
    const out = dir()
    const file = join(out, 'big-body.har')
    const media = await writeMediaHar(file, { chars: 300 * 1000 * 1000, encoding: 'base64' })
    expect(media.chars).toBeGreaterThan(295 * 1000 * 1000)
    const rss = join(out, 'peak-rss')
    const r = await startCli(verifyArgs(file, out), { env: ENV, peakRssFile: rss }).ended
    rmSync(file)
    expect(r.stderr).not.toMatch(/DW_|internal error/)
    expect([0, 1]).toContain(r.code)
    // The issue's bound for this input (it took 3.2 GB).
    expect(peakRss(rss)).toBeLessThan(500 * MB)
    const report = reportIn(out)
    expect(report.summary).toMatchObject({ entries: 2, attributed: 2 })
    // Hash and size were taken over all 225 MB the base64 decodes to (media-integrity compares them with the retrieve).
    expect(report.findings.filter((f) => f.check === 'media-integrity')).toEqual([])
  }, 120_000)

  it('fires when the sha256 does not match: the check above can fail', async () => {
    const out = dir()
    const file = join(out, 'tampered.har')
    const media = await writeMediaHar(file, { chars: 8 * MB, encoding: 'base64' })
    writeFileSync(file, readFileSync(file, 'utf8').replace(media.sha256, '0'.repeat(64)))
    const { report } = await runVerify({ input: file, contractsDir: 'contracts/meta', outDir: out, formats: ['json'], env: ENV, cwd: ROOT })
    expect(report.findings.filter((f) => f.check === 'media-integrity').map((f) => f.title)).toEqual(['Downloaded media does not match its sha256'])
  })

  it('a valid HAR with a 560 MB string (past V8\'s longest string) is read and judged, never "not valid JSON"', async () => {
    const out = dir()
    const file = join(out, 'longest.har')
    const media = await writeMediaHar(file, { chars: 560 * 1000 * 1000, encoding: 'none' })
    expect(media.chars).toBeGreaterThan(2 ** 29)
    const rss = join(out, 'peak-rss')
    const r = await startCli(verifyArgs(file, out), { env: ENV, peakRssFile: rss }).ended
    rmSync(file)
    expect(r.stderr).not.toMatch(/not valid JSON|DW_|internal error/)
    expect([0, 1]).toContain(r.code)
    expect(peakRss(rss)).toBeLessThan(500 * MB)
    const report = reportIn(out)
    expect(report.summary).toMatchObject({ entries: 2, attributed: 2 })
    expect(report.findings.filter((f) => f.check === 'media-integrity')).toEqual([])
  }, 180_000)
})

describe('what an entry keeps: fields and bodies up to a cap, cut after redaction', () => {
  const TOKEN = 'EAAGbounds0test0token0not0real0ZDZD'
  /** The media fixture's first entry with its response body, and a response header, replaced. */
  function harWith(body: string, mime: string, header = 'short'): string {
    const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'meta-media.har'), 'utf8'))
    const e = fixture.log.entries[0]
    e.response.content = { size: Buffer.byteLength(body), mimeType: mime, text: body }
    e.response.headers.push({ name: 'X-Note', value: header })
    const file = join(dir(), 'kept.har')
    writeFileSync(file, JSON.stringify({ log: { version: '1.2', entries: [e] } }))
    return file
  }
  const read = async (file: string) => (await readTraffic(file, new Redactor({ secrets: [TOKEN] }), new PersonalDataRedactor(), ROOT)).entries[0]!.observation

  it('keeps a body under 1 MiB whole and parses it; cuts one over to 1 MiB, with its full size and hash', async () => {
    const small = JSON.stringify({ data: 'x'.repeat(1000) })
    const under = (await read(harWith(small, 'application/json'))).response!.body
    expect(under).toMatchObject({ size: small.length, keptBytes: small.length, truncated: false, text: small })
    expect(under.json).toEqual(JSON.parse(small))
    const large = JSON.stringify({ data: 'y'.repeat(3 * MB) })
    const over = (await read(harWith(large, 'application/json'))).response!.body
    expect(over).toMatchObject({ size: large.length, keptBytes: MB, truncated: true, sha256: createHash('sha256').update(large).digest('hex') })
    expect(over.text).toBe(large.slice(0, MB))
    expect(over.json).toBeUndefined()
    expect(over.jsonError).toMatch(/only the first 1048576 were kept/)
  })

  it('redacts a secret that straddles the cap before cutting: no part of it is kept', async () => {
    const body = `${'z'.repeat(MB - 10)}${TOKEN}${'z'.repeat(100)}`
    const text = (await read(harWith(body, 'text/plain'))).response!.body.text!
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MB)
    expect(text.includes(TOKEN.slice(0, 8))).toBe(false)
    expect(text.endsWith('z'.repeat(10))).toBe(false)
  })

  it('keeps a field other than a body up to 1 M characters, and refuses an entry over 16 M characters besides its bodies', async () => {
    const note = (o: Observation) => o.response!.rawHeaders.find(([n]) => n === 'X-Note')![1]
    expect(note(await read(harWith('{}', 'application/json', 'short')))).toBe('short')
    expect(note(await read(harWith('{}', 'application/json', 'n'.repeat(3 * MB)))).length).toBe(KEPT_FIELD_CHARS)
    const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'meta-media.har'), 'utf8'))
    const e = fixture.log.entries[0]
    for (let i = 0; i < 20; i++) e.request.headers.push({ name: `X-${i}`, value: 'h'.repeat(MB) })
    const file = join(dir(), 'budget.har')
    writeFileSync(file, JSON.stringify({ log: { entries: [e] } }))
    const err = await read(file).then(
      () => undefined,
      (x: unknown) => x as HarnessError,
    )
    expect(err?.code).toBe('DW_HAR_INVALID')
    expect(err?.message).toMatch(/log\.entries\[0\]\.request\.headers\[\d+\] holds more than 16 M characters besides its bodies.*\(entry 1\)/)
  })
})

describe('a large cassette is read in a worker thread', () => {
  it('gives the entries a read in place gives, secrets redacted the same way', async () => {
    const file = join(dir(), 'large.yml')
    const token = 'EAAGtraffic0fixture0token0not0real0ZDZD'
    const source = readFileSync(join(import.meta.dirname, 'fixtures', 'cloud-api-traffic.cassette.yml'), 'utf8')
    const start = source.indexOf('\n  - request:')
    const interactions = source.slice(start, source.lastIndexOf('\nrecorded_with'))
    writeFileSync(file, `${source.slice(0, start)}${interactions.repeat(6)}\n`)
    expect(statSync(file).size).toBeGreaterThan(CASSETTE_IN_WORKER_BYTES)
    expect(readFileSync(file, 'utf8')).toContain(token)
    const redactorOptions = { secrets: [token] }
    const inWorker = await readCassetteResponsive(file, new Redactor(redactorOptions), new PersonalDataRedactor(), { size: statSync(file).size, cwd: ROOT, redactorOptions })
    const inPlace = readCassette(file, new Redactor(redactorOptions), new PersonalDataRedactor(), ROOT)
    expect(inWorker.length).toBe(72 * 6)
    expect(inWorker).toEqual(inPlace)
    expect(JSON.stringify(inWorker)).not.toContain(token)
    // A signal that has already fired reads nothing.
    expect(await readCassetteResponsive(file, new Redactor(redactorOptions), new PersonalDataRedactor(), { size: statSync(file).size, cwd: ROOT, redactorOptions, signal: AbortSignal.abort() })).toEqual([])
  })
})
