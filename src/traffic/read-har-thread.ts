/**
 * A large HAR read in a worker thread while the main thread places and judges: the default from
 * 8 MB where there are two cores or more (DRIFTWATCH_READ_THREAD=0 reads in place, =1 in a worker
 * whatever the cores). Reading (scanning, parsing, hashing, redacting) is about a third of what
 * verify does an entry on small calls; on 100,000 of them (2026-12-07, two cores) a worker took
 * verify from 4,486 to 6,219 entries/s. On multi-MB traffic reading is the bound and the judge waits
 * either way (69.9 MB/s against 73.1 in place: the entries' copies between threads). The worker's
 * heap costs RSS (a 1 GB capture peaked at 358 MB, against a goal of 400).
 *
 * The worker reads as streamHar does, with a redactor made from the same options and a
 * personal-data redactor of its own (placeholders are numbered in the order the traffic names
 * them, as in place), and hands entries over in batches; at most WINDOW batches wait, so memory
 * stays that of a few dozen entries whatever the file holds.
 *
 * Same entries, same order, same errors (DW_HAR_INVALID after the entries before the broken one);
 * a signal or an early return ends the worker at once.
 */
import { statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { credentialSalt } from '../transport/credential.ts'
import { HarnessError, type HarnessErrorCode } from '../util/errors.ts'
import type { RedactorOptions } from '../transport/redact.ts'
import type { TrafficEntry } from './entry.ts'
import type { StreamOptions } from './har.ts'

/** HARs from this size are read in a worker: below it, starting one costs more than it saves. */
export const HAR_IN_WORKER_BYTES = 8 * 1024 * 1024

/** Whether a HAR of this size is read in a worker: from 8 MB, with two cores or more unless DRIFTWATCH_READ_THREAD says (0 never, 1 always). */
export function readsInWorker(size: number, env: Readonly<Record<string, string | undefined>> = process.env, cores = availableParallelism()): boolean {
  if (size < HAR_IN_WORKER_BYTES || env.DRIFTWATCH_READ_THREAD === '0') return false
  return env.DRIFTWATCH_READ_THREAD === '1' || cores >= 2
}

/** Entries and characters a batch holds at most (one message each way per batch, not per entry). */
const BATCH_ENTRIES = 32
const BATCH_CHARS = 1024 * 1024
/**
 * Batches read ahead of the judge: enough for the worker to go on reading while the pack loads
 * and while the judge is on a slow stretch. A batch is posted once it passes BATCH_CHARS (so by
 * at most one entry's text, up to the 1 MiB cap) or BATCH_ENTRIES: about 16 to 32 MB of text wait
 * at most.
 */
const WINDOW = 16

type Reply = {
  entries: TrafficEntry[]
  bytesRead: number
  done?: true
  error?: { harness: boolean; code?: HarnessErrorCode; message: string; details?: Record<string, unknown> }
}

/** Readers running now (tests: a stream closed early must leave none behind). */
let live = 0
export function liveReaders(): number {
  return live
}

/**
 * Starts reading `file` in a worker now and returns its entries as a stream. The worker does not
 * keep the process alive until the stream is read; returning the stream, even unread, ends it.
 */
export function streamHarInWorker(file: string, redactorOptions: RedactorOptions, cwd: string, opts: StreamOptions = {}): AsyncGenerator<TrafficEntry> {
  const worker = new Worker(new URL('./har-worker.mjs', import.meta.url), {
    workerData: { file, cwd, redactorOptions, salt: credentialSalt(), wholeEntryBytes: opts.wholeEntryBytes, batchEntries: BATCH_ENTRIES, batchChars: BATCH_CHARS, window: WINDOW },
  })
  live++
  worker.once('exit', () => live--)
  worker.unref()
  const replies: Reply[] = []
  let failure: unknown
  let ended = false
  let wake: (() => void) | undefined
  worker.on('message', (m: Reply) => {
    replies.push(m)
    wake?.()
  })
  worker.on('error', (err) => {
    failure = err
    wake?.()
  })
  worker.on('exit', () => {
    ended = true
    wake?.()
  })
  if (opts.progress) {
    try {
      opts.progress.totalBytes = statSync(file).size
    } catch {
      // the worker says why it cannot read the file
    }
  }
  const stream = (async function* entries(): AsyncGenerator<TrafficEntry> {
    worker.ref()
    const stop = () => wake?.()
    opts.signal?.addEventListener('abort', stop, { once: true })
    try {
      for (;;) {
        if (opts.signal?.aborted) return
        const m = replies.shift()
        if (!m) {
          if (failure) throw failure
          if (ended) throw new HarnessError('DW_HAR_INVALID', `the reader of ${file} stopped before the end of the file`, { file })
          await new Promise<void>((r) => (wake = r))
          wake = undefined
          continue
        }
        if (!m.done && !m.error) worker.postMessage('taken')
        if (opts.progress) opts.progress.bytesRead = m.bytesRead
        for (const e of m.entries) {
          if (opts.signal?.aborted) return
          yield e
        }
        if (m.error) throw m.error.harness ? new HarnessError(m.error.code!, m.error.message, m.error.details) : new HarnessError('DW_HAR_INVALID', `cannot read ${file}: ${m.error.message}`, { file })
        if (m.done) return
      }
    } finally {
      opts.signal?.removeEventListener('abort', stop)
      void worker.terminate()
    }
  })()
  // Returned before its first entry (the caller failed first): its finally never runs, so the worker is ended here.
  const close = stream.return.bind(stream)
  stream.return = (value) => {
    void worker.terminate()
    return close(value)
  }
  return stream
}
