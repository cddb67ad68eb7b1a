/**
 * A large HAR can be read in a worker thread while the main thread judges. The worker must hand over
 * the entries reading in place gives, in the same order, redacted the same way (secrets and
 * personal-data placeholders), fail with the same DW_HAR_INVALID after the same entries, and stop
 * when the reader stops early or a signal fires.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { HarnessError } from '../../src/util/errors.ts'
import { PersonalDataRedactor } from '../../src/recordings/personal-data.ts'
import type { TrafficEntry } from '../../src/traffic/entry.ts'
import { streamHar } from '../../src/traffic/har.ts'
import { HAR_IN_WORKER_BYTES, liveReaders, readsInWorker, streamHarInWorker } from '../../src/traffic/read-har-thread.ts'
import { Redactor, type RedactorOptions } from '../../src/transport/redact.ts'
import { runVerify } from '../../src/commands/verify.ts'
import { openTrafficStream } from '../../src/traffic/read.ts'
import { writeLargeHar } from '../helpers/large-har.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const FIXTURES = join(ROOT, 'suites', 'verify', 'fixtures')
const TOKEN = 'EAAGtraffic0fixture0token0not0real0ZDZD'
const OPTIONS: RedactorOptions = { secrets: [TOKEN], personal: ['16505551234'] }
const { dir } = tempDirs('dw-har-thread-')

/** The 72-entry fixture HAR, copied into cwd. */
function file72(cwd: string): string {
  const file = join(cwd, 'fixture.har')
  writeFileSync(file, readFileSync(join(FIXTURES, 'cloud-api-traffic.har')))
  return file
}

async function both(file: string, cwd: string): Promise<{ inPlace: { entries: TrafficEntry[]; error?: string }; worker: { entries: TrafficEntry[]; error?: string } }> {
  const collect = async (it: AsyncIterable<TrafficEntry>) => {
    const entries: TrafficEntry[] = []
    try {
      for await (const e of it) entries.push(e)
      return { entries }
    } catch (err) {
      if (!(err instanceof HarnessError)) throw err
      return { entries, error: `${err.code}: ${err.message}` }
    }
  }
  return {
    inPlace: await collect(streamHar(file, new Redactor(OPTIONS), new PersonalDataRedactor(), cwd)),
    worker: await collect(streamHarInWorker(file, OPTIONS, cwd)),
  }
}

describe('a HAR read in a worker thread', () => {
  it('gives the entries reading in place gives, redacted the same way, across many batches', async () => {
    const cwd = dir()
    const file = join(cwd, 'varied.har')
    await writeLargeHar(file, { entries: 72 * 6, varied: true })
    const { inPlace, worker } = await both(file, cwd)
    expect(worker.error).toBeUndefined()
    expect(worker.entries).toHaveLength(72 * 6)
    expect(worker.entries).toEqual(inPlace.entries)
    // Keys in the same order too: what verify and record write from them is the same text.
    expect(JSON.stringify(worker.entries)).toBe(JSON.stringify(inPlace.entries))
    expect(JSON.stringify(worker.entries)).not.toContain(TOKEN)
  })

  it('fails with the same DW_HAR_INVALID after the same entries', async () => {
    const cwd = dir()
    const text = readFileSync(join(FIXTURES, 'cloud-api-traffic.har'))
    const file = join(cwd, 'broken.har')
    writeFileSync(file, text.subarray(0, Math.floor(text.length * 0.6)))
    const { inPlace, worker } = await both(file, cwd)
    expect(inPlace.error).toMatch(/^DW_HAR_INVALID: broken\.har is not valid JSON in entry \d+/)
    expect(worker.error).toBe(inPlace.error)
    expect(worker.entries).toEqual(inPlace.entries)
    expect(worker.entries.length).toBeGreaterThan(10)
  })

  it('stops when the reader stops early, and when the signal fires', async () => {
    const cwd = dir()
    const file = join(cwd, 'many.har')
    await writeLargeHar(file, { entries: 72 * 20 })
    let read = 0
    for await (const _ of streamHarInWorker(file, OPTIONS, cwd)) if (++read === 3) break
    expect(read).toBe(3)
    const controller = new AbortController()
    read = 0
    for await (const _ of streamHarInWorker(file, OPTIONS, cwd, { signal: controller.signal })) if (++read === 5) controller.abort()
    expect(read).toBe(5)
  })

  it('verify reports the same with DRIFTWATCH_READ_THREAD=1 as read in place', async () => {
    const cwd = dir()
    const file = join(cwd, 'nine.har')
    // Past the size, in copies of real-shaped traffic whose uploads and downloads are most of the bytes (a few hundred entries to judge, not thousands).
    await writeLargeHar(file, { bytes: HAR_IN_WORKER_BYTES + 1024 * 1024, varied: true, media: { bytes: 1024 * 1024 } })
    expect(statSync(file).size).toBeGreaterThanOrEqual(HAR_IN_WORKER_BYTES)
    const env = { WHATSAPP_PHONE_NUMBER_ID: '106540352242922', WHATSAPP_WABA_ID: '102290129340398' }
    const run = async (thread: string) => {
      const was = process.env.DRIFTWATCH_READ_THREAD
      process.env.DRIFTWATCH_READ_THREAD = thread
      try {
        const { counts, report } = await runVerify({ input: file, contractsDir: join(ROOT, 'contracts', 'meta'), outDir: join(cwd, `out-${thread}`), formats: ['json'], env, cwd: ROOT })
        return { counts, outcome: report.outcome, findings: report.findings.map((f) => `${f.contract} ${f.check} ${f.title} ${f.samples}/${f.of}`) }
      } finally {
        if (was === undefined) delete process.env.DRIFTWATCH_READ_THREAD
        else process.env.DRIFTWATCH_READ_THREAD = was
      }
    }
    const threaded = await run('1')
    expect(threaded.counts.entries).toBeGreaterThan(72 * 2)
    expect(threaded).toEqual(await run('0'))
  }, 120_000)

  it('starts a large HAR before the pack loads, still says a broken pack first, and ends the worker it started', async () => {
    const cwd = dir()
    const file = join(cwd, 'large.har')
    // Small entries: more batches than the worker reads ahead, so a worker nobody ends stays alive, waiting.
    await writeLargeHar(file, { bytes: HAR_IN_WORKER_BYTES + 1024 * 1024 })
    const open = (input: string, contractsDir: string) => openTrafficStream({ input, contractsDir, env: {}, cwd })
    const code = (p: Promise<unknown>) => p.then(() => 'opened', (err: unknown) => (err as HarnessError).code)
    const settled = async () => {
      for (let i = 0; i < 100 && liveReaders() > 0; i++) await new Promise((r) => setTimeout(r, 50))
      return liveReaders()
    }
    const was = process.env.DRIFTWATCH_READ_THREAD
    process.env.DRIFTWATCH_READ_THREAD = '1'
    try {
      expect(await settled()).toBe(0)
      // Both broken: the pack is said first, as when it was loaded first.
      expect(await code(open(join(cwd, 'missing.har'), join(cwd, 'no-pack')))).toBe('DW_CONTRACTS_NOT_FOUND')
      // A broken pack with a large HAR already being read in a worker: the pack's error, and the worker ended.
      expect(await code(open(file, join(cwd, 'no-pack')))).toBe('DW_CONTRACTS_NOT_FOUND')
      expect(await settled()).toBe(0)
      expect(await code(open(join(cwd, 'missing.har'), join(ROOT, 'contracts', 'meta')))).toBe('DW_USAGE')
      const opened = await open(file, join(ROOT, 'contracts', 'meta'))
      expect(liveReaders()).toBe(1)
      let n = 0
      for await (const _ of opened.entries) n++
      expect(n).toBeGreaterThan(72)
      expect(await settled()).toBe(0)
    } finally {
      if (was === undefined) delete process.env.DRIFTWATCH_READ_THREAD
      else process.env.DRIFTWATCH_READ_THREAD = was
    }
  }, 60_000)

  it('loads the pack before any other input: a wrong pack is said before a cassette or recordings are read', async () => {
    const cwd = dir()
    const cassette = join(FIXTURES, 'cloud-api-traffic.cassette.yml')
    for (const input of [cassette, join(ROOT, 'recordings', 'meta'), file72(cwd)]) {
      const progress = { bytesRead: 0, totalBytes: -1 }
      const err = await openTrafficStream({ input, contractsDir: join(cwd, 'no-pack'), env: {}, cwd, progress }).then(
        () => undefined,
        (e: unknown) => e as HarnessError,
      )
      expect(err?.code).toBe('DW_CONTRACTS_NOT_FOUND')
      // The input was never opened (opening it sets the total).
      expect(progress.totalBytes, input).toBe(-1)
    }
  })

  it('is used from 8 MB where there are two cores, unless DRIFTWATCH_READ_THREAD says otherwise', () => {
    expect(readsInWorker(HAR_IN_WORKER_BYTES, {}, 2)).toBe(true)
    expect(readsInWorker(HAR_IN_WORKER_BYTES - 1, {}, 2)).toBe(false)
    expect(readsInWorker(HAR_IN_WORKER_BYTES, {}, 1)).toBe(false)
    expect(readsInWorker(HAR_IN_WORKER_BYTES - 1, { DRIFTWATCH_READ_THREAD: '1' }, 8)).toBe(false)
    expect(readsInWorker(HAR_IN_WORKER_BYTES, { DRIFTWATCH_READ_THREAD: '1' }, 1)).toBe(true)
    expect(readsInWorker(HAR_IN_WORKER_BYTES, { DRIFTWATCH_READ_THREAD: '0' }, 8)).toBe(false)
  })
})
