/**
 * A cassette read off the main thread when it is large: YAML is parsed in one synchronous pass
 * (about 1 MB/s with the yaml library, so up to a minute at the 64 MB limit), and a signal handler
 * on the main thread would wait that long. In a worker, the main thread stays free: an abort ends
 * the worker at once and no entry is read. Small cassettes, the usual kind, are read in place.
 */
import { oneLine } from '../render/index.ts'
import { Worker } from 'node:worker_threads'
import { credentialSalt } from '../transport/credential.ts'
import { HarnessError, type HarnessErrorCode } from '../util/errors.ts'
import type { PersonalDataRedactor } from '../recordings/personal-data.ts'
import type { Redactor, RedactorOptions } from '../transport/redact.ts'
import type { TrafficEntry } from './entry.ts'
import { readCassette } from './vcr.ts'

/** Cassettes larger than this are read in a worker: below it, parsing takes well under a second. */
export const CASSETTE_IN_WORKER_BYTES = 512 * 1024

type Reply = { entries: TrafficEntry[] } | { error: { harness: boolean; code?: HarnessErrorCode; message: string; details?: Record<string, unknown> } }

/** How a cassette is read: where, and what the worker needs to build the same redactor. */
export interface ReadCassetteOptions {
  size: number
  cwd: string
  /** What `redactor` was made from: the worker makes its own from it. Without it the cassette is read in place. */
  redactorOptions?: RedactorOptions
  signal?: AbortSignal
}

/** Reads a cassette as readCassette does; a large one in a worker, which `signal` ends (then no entries). */
export async function readCassetteResponsive(file: string, redactor: Redactor, personal: PersonalDataRedactor, opts: ReadCassetteOptions): Promise<TrafficEntry[]> {
  const { cwd, signal } = opts
  if (opts.size <= CASSETTE_IN_WORKER_BYTES || !opts.redactorOptions) return readCassette(file, redactor, personal, cwd)
  if (signal?.aborted) return []
  let worker: Worker
  try {
    // The redactor is built again from its options (never copied: a copy could lose what it knows), personal-data
    // placeholders continue from the caller's (copied as data).
    worker = new Worker(new URL('./cassette-worker.mjs', import.meta.url), { workerData: { file, cwd, redactorOptions: opts.redactorOptions, personal, salt: credentialSalt() } })
  } catch {
    // State that does not copy as data: read in place rather than not at all.
    return readCassette(file, redactor, personal, cwd)
  }
  return new Promise<TrafficEntry[]>((resolve, reject) => {
    const stop = () => {
      void worker.terminate()
      resolve([])
    }
    signal?.addEventListener('abort', stop, { once: true })
    const done = () => {
      signal?.removeEventListener('abort', stop)
      void worker.terminate()
    }
    worker.once('message', (m: Reply) => {
      done()
      if ('entries' in m) resolve(m.entries)
      else if (m.error.harness) reject(new HarnessError(m.error.code!, m.error.message, m.error.details))
      else reject(new HarnessError('DW_CASSETTE_INVALID', oneLine(`cannot read the cassette: ${m.error.message}`), { file }))
    })
    worker.once('error', (err) => {
      done()
      reject(err)
    })
  })
}
