/**
 * `verify` on captures too large to hold: a 200 MB HAR used to be read whole (20 s without a word,
 * 1.1 GB RSS, a V8 abort at 512 MB of heap). The HAR is read as a stream and judged entry by
 * entry: progress comes while the file is still being read, a broken file names the entry it
 * broke in, and Ctrl-C (an AbortSignal) gives a report of what was judged, outcome interrupted.
 */
import { closeSync, openSync, readFileSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/index.ts'
import { HarnessError } from '../../src/util/errors.ts'
import { exitCodeOf } from '../../src/model/report.ts'
import { MAX_CASSETTE_BYTES } from '../../src/traffic/read.ts'
import { runVerify, type VerifyOptions, type VerifyProgress } from '../../src/commands/verify.ts'
import { writeLargeHar } from '../helpers/large-har.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const FIXTURE = join(import.meta.dirname, 'fixtures', 'cloud-api-traffic.har')
const ENV = (JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'cloud-api-traffic.expected.json'), 'utf8')) as { configured: Record<string, string> }).configured
const { dir } = tempDirs('dw-stream-')

const verify = (input: string, more: Partial<VerifyOptions> = {}) => runVerify({ input, contractsDir: 'contracts/meta', outDir: dir(), formats: ['json'], env: ENV, cwd: ROOT, ...more })

/** 42 copies of the fixture's 72 entries, about 8 MB: eight 1 MB reads at least. */
let large: Promise<{ file: string; entries: number; bytes: number }> | undefined
function largeHar() {
  large ??= (async () => {
    const file = join(dir(), 'large.har')
    return { file, ...(await writeLargeHar(file, { entries: 72 * 42 })) }
  })()
  return large
}

/** 15 copies, 1,080 entries (past the CLI's first progress line at 1,000), for tests where the reads are not counted. */
let medium: Promise<{ file: string; entries: number; bytes: number }> | undefined
function mediumHar() {
  medium ??= (async () => {
    const file = join(dir(), 'medium.har')
    return { file, ...(await writeLargeHar(file, { entries: 72 * 15 })) }
  })()
  return medium
}

function errorOf(p: Promise<unknown>): Promise<HarnessError> {
  return p.then(
    () => {
      throw new Error('expected a HarnessError')
    },
    (e: unknown) => e as HarnessError,
  )
}

/** The fixture with entry `n` (1-based) changed by `edit`, written to a temp file; `upTo` keeps only the entries up to `n`. */
function editedFixture(n: number, edit: (entry: Record<string, any>) => void, upTo = false): string {
  const har = JSON.parse(readFileSync(FIXTURE, 'utf8'))
  if (upTo) har.log.entries = har.log.entries.slice(0, n)
  edit(har.log.entries[n - 1])
  const file = join(dir(), 'edited.har')
  writeFileSync(file, JSON.stringify(har, null, 2))
  return file
}

describe('verify streams a HAR', () => {
  it('judges entries while the file is still being read, in chunks, and says how far it got', async () => {
    const { file, entries, bytes } = await largeHar()
    const seen: VerifyProgress[] = []
    const { counts, report } = await verify(file, { onProgress: (p) => seen.push(p), progressEvery: 250 })
    expect(counts.entries).toBe(entries)
    expect(report.outcome).not.toBe('interrupted')
    const during = seen.filter((p) => !p.done)
    // The first entries were judged before the parser had the rest of the file: streaming, not read-then-judge.
    expect(during[0]!.entries).toBe(250)
    expect(during[0]!.bytesRead).toBeLessThan(bytes / 2)
    expect(new Set(during.map((p) => p.bytesRead)).size).toBeGreaterThan(4)
    expect(during.every((p) => p.totalBytes === bytes && p.entriesPerSecond > 0)).toBe(true)
    const last = seen.at(-1)!
    expect(last).toMatchObject({ done: true, entries, bytesRead: bytes, totalBytes: bytes })
  })

  it('reads a HAR smaller than one read in one go: the first progress already has every byte', async () => {
    const har = JSON.parse(readFileSync(FIXTURE, 'utf8'))
    har.log.entries = har.log.entries.slice(0, 10)
    const file = join(dir(), 'small.har')
    writeFileSync(file, JSON.stringify(har))
    const seen: VerifyProgress[] = []
    await verify(file, { onProgress: (p) => seen.push(p), progressEvery: 1 })
    expect(seen[0]!.entries).toBe(1)
    expect(seen[0]!.bytesRead).toBe(seen[0]!.totalBytes)
  })

  it('finds in the repeated traffic what it finds in one copy, counted over every copy', async () => {
    const { file, entries } = await mediumHar()
    const one = await verify(FIXTURE)
    const many = await verify(file)
    const copies = entries / 72
    // Titles that count entries ("2 entries") count every copy.
    const titles = (r: typeof one.report) => r.findings.map((f) => `${f.contract} ${f.check} ${f.severity}: ${f.title}`.replace(/\(\d+ entr(y|ies)\)/, '(n)')).sort()
    expect(titles(many.report)).toEqual(titles(one.report))
    const graphErrors = many.report.findings.filter((f) => f.check === 'graph-error')
    expect(graphErrors.length).toBeGreaterThan(0)
    for (const f of graphErrors) expect(f.samples % copies).toBe(0)
  })
})

describe('a malformed HAR is a DW_HAR_INVALID naming the entry, never an internal error', () => {
  it('a file cut short names the entry it ends in, after judging the ones before', async () => {
    const text = readFileSync(FIXTURE, 'utf8')
    const har = JSON.parse(text)
    const whole = JSON.stringify(har, null, 2)
    // Cut inside the third entry's response.
    const third = whole.split('"startedDateTime"', 3).join('"startedDateTime"').length
    expect(third).toBeLessThan(whole.length)
    const file = join(dir(), 'cut.har')
    writeFileSync(file, whole.slice(0, whole.indexOf('"status"', third) + 5))
    const err = await errorOf(verify(file))
    expect(err.code).toBe('DW_HAR_INVALID')
    expect(err.message).toMatch(/cut\.har is not valid JSON in entry 3 \(log\.entries\[2\], after 2 complete entries\).*ends at byte \d+.*cut short/)
  })

  it.each([
    ['an entry without a response', 2, (e: Record<string, any>) => delete e.response, /log\.entries\[1\]\.response is missing.*\(entry 2\)/],
    ['a status as text', 3, (e: Record<string, any>) => (e.response.status = '400'), /log\.entries\[2\]\.response\.status must be a number.*\(entry 3\)/],
    ['headers as a map', 4, (e: Record<string, any>) => (e.response.headers = { 'content-type': 'application/json' }), /log\.entries\[3\]\.response\.headers must be a list.*\(entry 4\)/],
    ['a body that is a number', 5, (e: Record<string, any>) => (e.response.content.text = 12), /log\.entries\[4\]\.response\.content\.text must be text.*\(entry 5\)/],
    ['base64 that is not base64', 15, (e: Record<string, any>) => (e.response.content.text = '%%% not base64 %%%'), /log\.entries\[14\]\.response\.content\.text is not base64.*\(entry 15\)/],
    ['a time as text', 6, (e: Record<string, any>) => (e.time = 'slow'), /log\.entries\[5\]\.time must be a number.*\(entry 6\)/],
  ])('%s', async (_what, n, edit, message) => {
    const file = editedFixture(n, edit)
    const err = await errorOf(verify(file))
    expect(err).toBeInstanceOf(HarnessError)
    expect(err.code).toBe('DW_HAR_INVALID')
    expect(err.message).toMatch(message)
  })

  it('an entry that is not an object, entries as a map, and a file with no log, are named for what they are', async () => {
    expect((await errorOf(verify(fixtureWithEntry(7, [])))).message).toMatch(/log\.entries\[6\] must be an object \(entry 7\)/)
    const file = join(dir(), 'map.har')
    writeFileSync(file, JSON.stringify({ log: { version: '1.2', entries: { first: JSON.parse(readFileSync(FIXTURE, 'utf8')).log.entries[0] } } }))
    expect((await errorOf(verify(file))).message).toMatch(/log\.entries must be a list of entries, not a map/)
    writeFileSync(file, JSON.stringify({ lgo: { entries: [] } }))
    expect((await errorOf(verify(file))).message).toMatch(/map\.har: log is missing: this is not a HAR file/)
  })

  it('wrong types anywhere in an entry end as a report or DW_HAR_INVALID, never anything else', async () => {
    const paths = ['request.method', 'request.url', 'request.headers.0', 'request.postData', 'request.postData.text', 'response.content', 'response.content.mimeType', 'response.content.size', 'response.content.encoding', 'response.httpVersion', 'response.statusText', 'timings', 'timings.wait', 'startedDateTime']
    // Seventy runs: the fixture up to the edited entry (the 61 after it are judged the same in every run).
    for (const path of paths) {
      for (const value of [null, 7, [], {}, 'x']) {
        const file = editedFixture(11, (e) => {
          const keys = path.split('.')
          let at = e
          for (const k of keys.slice(0, -1)) at = at[k] ??= {}
          at[keys.at(-1)!] = value
        }, true)
        const outcome = await verify(file).then(
          (r) => r.report.outcome,
          (err: unknown) => (err instanceof HarnessError ? err.code : `not a HarnessError: ${String(err)}`),
        )
        expect([`${path} = ${JSON.stringify(value)}: ${outcome}`]).toEqual([expect.stringMatching(/: (pass|drift|inconclusive|DW_HAR_INVALID)$/)])
      }
    }
  }, 120_000)
})

/** The fixture with entry `n` replaced by `value`. */
function fixtureWithEntry(n: number, value: unknown): string {
  const har = JSON.parse(readFileSync(FIXTURE, 'utf8'))
  har.log.entries[n - 1] = value
  const file = join(dir(), 'replaced.har')
  writeFileSync(file, JSON.stringify(har))
  return file
}

describe('interrupting verify', () => {
  it('stops reading, and the report covers what was judged, outcome interrupted (exit 130)', async () => {
    const { file, entries } = await mediumHar()
    const stop = new AbortController()
    const { report, counts } = await verify(file, { signal: stop.signal, progressEvery: 100, onProgress: (p) => p.entries >= 500 && stop.abort() })
    expect(counts.entries).toBeGreaterThanOrEqual(500)
    expect(counts.entries).toBeLessThan(entries)
    expect(report).toMatchObject({ outcome: 'interrupted', interrupted: true })
    expect(report.summary.entries).toBe(counts.entries)
    expect(report.findings.length).toBeGreaterThan(0)
    expect(exitCodeOf(report)).toBe(130)
  })

  it('is not interrupted when the signal never fires', async () => {
    const stop = new AbortController()
    const { report, counts } = await verify(FIXTURE, { signal: stop.signal })
    expect(counts.entries).toBe(72)
    expect(report.outcome).toBe('pass')
    expect(report.interrupted).toBeUndefined()
  })

  it('from the CLI: io.interrupt is the signal, and a terminal shows progress while the file is read', async () => {
    const { file } = await mediumHar()
    const run = async (extra: { interrupt?: AbortSignal; tty?: boolean }) => {
      const out: string[] = []
      const err: string[] = []
      const code = await main(['verify', file, '--out', dir(), '--contracts', 'contracts/meta'], { stdout: (s) => out.push(s), stderr: (s) => err.push(s), cwd: ROOT, env: ENV, ...extra })
      return { code, out, err }
    }
    const stopped = await run({ interrupt: AbortSignal.abort(), tty: false })
    expect(stopped.code).toBe(130)
    expect(stopped.out[0]).toMatch(/^INTERRUPTED: /)
    expect(stopped.err.join('\n')).toContain('Interrupted after 0 entries')
    const tty = await run({ tty: true })
    expect(tty.code).toBe(0)
    expect(tty.err.join('\n')).toMatch(/ read 1,000 entries, \d+ of \d+ MB \(\d+%\), [\d,]+ entries\/s/)
    const logs = await run({ tty: false })
    expect(logs.err.join('\n')).not.toMatch(/ read [\d,]+ entries/)
  })
})

describe('cassettes are read whole, up to a size', () => {
  it('refuses one over the limit with DW_CASSETTE_TOO_LARGE and the way out', async () => {
    const file = join(dir(), 'huge.yml')
    const fd = openSync(file, 'w')
    writeSync(fd, '---\nhttp_interactions:\n')
    // Sparse: the size is what counts, not bytes written.
    ftruncateSync(fd, MAX_CASSETTE_BYTES + 1)
    closeSync(fd)
    const err = await errorOf(verify(file))
    expect(err.code).toBe('DW_CASSETTE_TOO_LARGE')
    expect(err.message).toMatch(/huge\.yml is 64 MB; cassettes are read whole.*Split it.*as a HAR/)
  })
})
