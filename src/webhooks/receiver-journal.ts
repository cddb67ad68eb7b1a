/**
 * The receiver's journal: every accepted delivery as one JSON line in
 * `<out>/.journal/webhook-<start>-<pid>.jsonl`, on disk (fsynced) before the delivery is forwarded,
 * then a line saying what the app answered. A delivery the app never took is there when the
 * receiver stops, crashes or the machine loses power; the summary names the file.
 *
 * As the proxy's recording journal (src/recordings/journal.ts): a header line saying whose
 * journal it is, lines appended by one writer in batches, each batch fsynced once (group commit:
 * under a burst one fsync covers many deliveries), mode 0600. Bodies are redacted by the caller
 * before they are appended: the journal never holds personal data or a signature. The file is
 * created with the first delivery, so a receiver that never took one leaves nothing behind.
 */
import { open, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { ensureDir } from '../util/atomic-write.ts'

/** The first line of a receiver journal. */
export interface WebhookJournalHeader {
  journal: 'webhook'
  version: 1
  startedAt: string
  pid: number
  /** Where deliveries were forwarded: origin and path, never a query or credentials. */
  forward: string
}

/** One accepted delivery, as journaled before it is forwarded. */
export interface JournalDelivery {
  /** The delivery's number in this session (its outcome line carries the same). */
  delivery: number
  receivedAt: string
  bytes: number
  /** The redacted body; absent when the body was not JSON (then only its size is kept). */
  body?: unknown
  /** Why the body is absent. */
  note?: string
  /** Personal values replaced in it. */
  personalData: number
  /**
   * The statuses it carries, in body order, with each message id as `messageIdHash` (a wamid names
   * its recipient's number, so the body holds a placeholder): `check --round-trip --webhook-journal`
   * finds its test message's statuses by the same hash.
   */
  statuses?: { messageIdHash: string; status: string; timestamp?: string }[]
}

/** What became of a journaled delivery. */
export interface JournalOutcome {
  delivery: number
  at: string
  /** delivered: the app answered 2xx; refused: another status; failed: no usable answer (Meta was told 5xx). */
  outcome: 'delivered' | 'refused' | 'failed'
  /** The status Meta got. */
  status: number
  reason?: string
}

/** The journal file of a session started at `startedAt` (ISO) by `pid`, under `outDir`. */
export function receiverJournalPath(outDir: string, startedAt: string, pid: number): string {
  return join(outDir, '.journal', `webhook-${startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${pid}.jsonl`)
}

interface Pending {
  text: string
  done?: { resolve: () => void; reject: (err: Error) => void }
}

/** Appends journal lines; see the file comment. */
export class WebhookJournal {
  private fh: FileHandle | undefined
  private opening: Promise<FileHandle> | undefined
  private queue: Pending[] = []
  private writing: Promise<void> | undefined
  private failure: Error | undefined
  private closed = false
  /** Delivery lines on disk. */
  deliveries = 0
  /** Outcome lines on disk. */
  outcomes = 0

  constructor(
    readonly file: string,
    private readonly header: WebhookJournalHeader,
    /** A last pass over each line before it is written (the secret redactor); identity by default. */
    private readonly scrub: (line: string) => string = (l) => l,
  ) {}

  /** Whether the file was created (a delivery was journaled or tried). */
  get created(): boolean {
    return this.opening !== undefined
  }

  /** The first write error, if any; every append fails from then on. */
  get error(): Error | undefined {
    return this.failure
  }

  /** Appends a delivery; resolves once it is on disk (fsynced), rejects when it cannot be. */
  delivery(d: JournalDelivery): Promise<void> {
    if (this.failure) return Promise.reject(this.failure)
    if (this.closed) return Promise.reject(new Error('the journal is closed'))
    return new Promise((resolve, reject) => {
      this.queue.push({ text: `${this.scrub(JSON.stringify(d))}\n`, done: { resolve, reject } })
      this.writing ??= this.drain()
    })
  }

  /** Appends an outcome line with the next batch; nothing waits for it (close flushes it). */
  outcome(o: JournalOutcome): void {
    if (this.failure || this.closed || !this.opening) return
    this.queue.push({ text: `${this.scrub(JSON.stringify(o))}\n` })
    this.writing ??= this.drain()
  }

  /** Writes what is queued, closes the file, and refuses later lines. */
  async close(): Promise<void> {
    while (this.writing) await this.writing
    this.closed = true
    await this.fh?.close().catch(() => undefined)
    this.fh = undefined
  }

  /** Removes the file when it holds no delivery (created, then its first write failed). */
  async removeIfEmpty(): Promise<void> {
    if (this.created && this.deliveries === 0) await rm(this.file, { force: true }).catch(() => undefined)
  }

  private handle(): Promise<FileHandle> {
    this.opening ??= (async () => {
      await ensureDir(join(this.file, '..'))
      const fh = await open(this.file, 'wx', 0o600)
      this.fh = fh
      await fh.writeFile(`${JSON.stringify(this.header)}\n`)
      return fh
    })()
    return this.opening
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length && !this.failure) {
        const batch = this.queue
        this.queue = []
        try {
          const fh = await this.handle()
          await fh.writeFile(batch.map((p) => p.text).join(''))
          await fh.datasync()
        } catch (err) {
          this.failure = err as Error
          for (const p of [...batch, ...this.queue.splice(0)]) p.done?.reject(this.failure)
          break
        }
        for (const p of batch) {
          if (p.done) {
            this.deliveries++
            p.done.resolve()
          } else this.outcomes++
        }
      }
    } finally {
      this.writing = undefined
    }
  }
}
