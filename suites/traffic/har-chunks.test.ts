/**
 * How the HAR reader takes a file's bytes: a regular file by readSync, a chunk at a time (the
 * stream's per-chunk machinery showed in verify's profile); anything else (a FIFO a capture tool
 * writes into) streamed, since a read there can block for as long as its writer. Both give the same
 * entries; an early stop closes the file.
 */
import { execFileSync, spawn } from 'node:child_process'
import { readdirSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PersonalDataRedactor } from '../../src/recordings/personal-data.ts'
import { streamHar } from '../../src/traffic/har.ts'
import type { TrafficEntry } from '../../src/traffic/entry.ts'
import { Redactor } from '../../src/transport/redact.ts'
import { HarnessError } from '../../src/util/errors.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'

const FIXTURE = join(import.meta.dirname, '..', 'verify', 'fixtures', 'cloud-api-traffic.har')
const { dir } = tempDirs('dw-har-chunks-')

async function entriesOf(file: string, take = Infinity): Promise<TrafficEntry[]> {
  const out: TrafficEntry[] = []
  for await (const e of streamHar(file, new Redactor(), new PersonalDataRedactor(), dir())) {
    out.push(e)
    if (out.length >= take) break
  }
  return out
}

/** This process's open descriptors that name `file`. */
function openOn(file: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file
    } catch {
      return false
    }
  }).length
}

describe('the HAR reader takes a file a chunk at a time', () => {
  it('reads a FIFO as a stream: the entries of the file, and the event loop keeps turning while the writer is slow', async () => {
    const fifo = join(dir(), 'capture.fifo')
    execFileSync('mkfifo', [fifo])
    // Another process writes the capture in, 8 KB every 10 ms. A read that blocks (readSync) would wait out each pause
    // with the event loop stopped: no timer, no signal handler, while a capture tool takes its time.
    const writer = spawn(process.execPath, ['-e', `
      const fs = require('node:fs')
      const bytes = fs.readFileSync(process.argv[1])
      const fd = fs.openSync(process.argv[2], 'w')
      let at = 0
      const next = () => {
        if (at >= bytes.length) return fs.closeSync(fd)
        fs.writeSync(fd, bytes.subarray(at, at + 8192))
        at += 8192
        setTimeout(next, 10)
      }
      next()
    `, FIXTURE, fifo], { stdio: 'inherit' })
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    let fromFifo: TrafficEntry[]
    try {
      fromFifo = await entriesOf(fifo)
    } finally {
      clearInterval(timer)
    }
    await new Promise((r) => writer.once('close', r))
    const fromFile = await entriesOf(FIXTURE)
    expect(fromFifo.length).toBe(72)
    // The source names the file read; everything else is the same.
    expect(fromFifo.map((e) => ({ ...e, source: '' }))).toEqual(fromFile.map((e) => ({ ...e, source: '' })))
    // The writer takes a third of a second or more: a timer every 5 ms ran dozens of times (about none when reads block).
    expect(ticks).toBeGreaterThan(10)
  })

  it('closes the file when the reader stops early, and when it reads to the end', async () => {
    const before = openOn(FIXTURE)
    expect(await entriesOf(FIXTURE, 3)).toHaveLength(3)
    expect(openOn(FIXTURE)).toBe(before)
    expect(await entriesOf(FIXTURE)).toHaveLength(72)
    expect(openOn(FIXTURE)).toBe(before)
  })

  it('names the file and the cause when it is a directory', async () => {
    const err = await entriesOf(dir()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HarnessError)
    expect((err as HarnessError).code).toBe('DW_HAR_INVALID')
    expect((err as HarnessError).message).toMatch(/cannot read .*EISDIR/)
  })
})
