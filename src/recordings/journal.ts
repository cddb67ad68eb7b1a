/**
 * The recording journal: what a long-running recorder (the proxy) appends instead of rewriting
 * recording files. One JSON line per exchange in `<recordings>/.journal/<name>.jsonl`, after a
 * header line saying whose journal it is. Appending costs the same for the 100,000th exchange as
 * for the first; compaction (compact.ts) turns the journal into the readable recording files, at
 * intervals and at the end, and a journal left behind by a process that died is compacted by the
 * next one.
 *
 * Lines are redacted before they are appended (secrets and personal data never touch disk), and
 * written by one writer in batches, each batch fsynced before its exchanges count as on disk
 * (group commit: under load a batch holds many lines, so the fsync cost is shared).
 */
import { createReadStream } from 'node:fs'
import { existsSync, readdirSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { open, rename, utimes, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { ensureDir } from '../util/atomic-write.ts'
import { HarnessError } from '../util/errors.ts'
import type { Observation } from '../model/observation.ts'

/** The first line of a journal. */
export interface JournalHeader {
  journal: 1
  /** Recording name its lines become (`<contract>/<name>.json`). */
  name: string
  /** The recordings' `target`: the upstream origin. */
  target: string
  startedAt: string
  /** The process appending to it; a journal whose process is gone is a leftover to recover. */
  pid: number
  /** The machine (container) it runs on: in containers every process is pid 1, so a pid alone names no process. */
  host?: string
  /** This process's run, random: the same pid on the same host after a restart is another run. */
  instance?: string
}

/** This process's run (see JournalHeader.instance). */
export const INSTANCE = randomUUID()

/**
 * How often an open journal's modification time is renewed (the writer's heartbeat), and how old it
 * may be before a journal written from another host counts as left behind: a replica on another
 * machine sharing the volume cannot be asked whether its process lives, but its heartbeat shows.
 */
export const HEARTBEAT_MS = 10_000
export const HEARTBEAT_STALE_MS = 45_000

/** Exchanges journaled only as a count, by operation: their shape was already journaled (a line of its own). */
export interface JournalCounted {
  counted: Record<string, number>
}

/** One exchange: an observation already attributed (`observation.contract`) and redacted. */
export interface JournalEntry {
  /** Distinct personal values this exchange was the first to show (summed into the recording's `personalData`). */
  personalData: number
  observation: Observation
}

/** Where a recording name's journal lives. */
export function journalPath(recordingsDir: string, name: string): string {
  return join(recordingsDir, '.journal', `${name}.jsonl`)
}

/**
 * The sealed segments of a journal (`<name>.jsonl.1`, `.2`, ...: the writer rotates at a size), in
 * the order they were written, then the journal itself when it exists: what compaction reads.
 */
export function journalFiles(journal: string): string[] {
  const dir = dirname(journal)
  const base = basename(journal)
  let names: string[] = []
  try {
    names = readdirSync(dir)
  } catch {}
  const sealed = names
    .filter((n) => n.startsWith(`${base}.`) && /^\d+$/.test(n.slice(base.length + 1)))
    .map((n) => ({ n, seq: Number(n.slice(base.length + 1)) }))
    .sort((a, b) => a.seq - b.seq)
    .map(({ n }) => join(dir, n))
  return existsSync(journal) ? [...sealed, journal] : sealed
}

/** Journals this process is appending to now. */
const appending = new Set<string>()

/** Whether this process has the journal open for appending (recovering it would take it from under the writer). */
export function isJournalOpen(file: string): boolean {
  return appending.has(file)
}

/** What the writer has done so far. */
export interface JournalStats {
  /** Exchange lines on disk (fsynced). */
  lines: number
  /** Bytes on disk, header included. */
  bytes: number
  /** Longest time from an exchange's answer to its line being on disk, in ms. */
  maxLagMs: number
  /** Longest single write + fsync of a batch, in ms (the disk's share of maxLagMs). */
  maxSyncMs: number
  /** Lines waiting to be written. */
  queued: number
  /** Lines a failed write lost or the writer refused after it failed: answered, never on disk. */
  lost: number
}

/** How the writer bounds its memory. */
export interface JournalWriterOptions {
  /** Bytes of lines waiting to be written above which `full` is true and producers wait (`whenRoom`). Default 8 MiB. */
  maxQueuedBytes?: number
  /** Bytes after which the journal is sealed as a numbered segment and a new one begun (default 64 MiB). */
  rotateBytes?: number
  /** How often the journal's modification time is renewed while it is open (default HEARTBEAT_MS). */
  heartbeatMs?: number
}

/** Appends lines to a journal through one file handle; see the file comment. */
export class JournalWriter {
  private queue: string[] = []
  private queuedBytes = 0
  /** Earliest answer time (performance.now()) of the lines in the queue. */
  private oldest = Infinity
  private writing: Promise<void> | undefined
  private waiters: (() => void)[] = []
  private failure: Error | undefined
  private closed = false
  private readonly max: number
  private readonly rotateAt: number
  /** Bytes in the file being appended to now (header included). */
  private activeBytes = 0
  private sealed = 0
  private holds = 0
  private head = Buffer.alloc(0)
  readonly stats: JournalStats = { lines: 0, bytes: 0, maxLagMs: 0, maxSyncMs: 0, queued: 0, lost: 0 }

  private constructor(
    readonly file: string,
    private fh: FileHandle,
    opts: JournalWriterOptions,
  ) {
    this.max = opts.maxQueuedBytes ?? 8 * 1024 * 1024
    this.rotateAt = opts.rotateBytes ?? 64 * 1024 * 1024
  }

  /** Segments sealed so far. */
  get segments(): number {
    return this.sealed
  }

  /**
   * What a compaction beside the writer reads: the sealed segments and the journal up to the bytes
   * on disk now. No segment is sealed until `release` is called (a rename under a reader would move
   * the file it is about to open).
   */
  hold(): { files: string[]; end: number } {
    this.holds++
    return { files: journalFiles(this.file), end: this.activeBytes }
  }

  /** Ends a `hold`. */
  release(): void {
    this.holds = Math.max(0, this.holds - 1)
  }

  /** Creates the journal with its header; refuses one that exists (recover it first, see compact.ts). */
  static async create(file: string, header: Omit<JournalHeader, 'journal'>, opts: JournalWriterOptions = {}): Promise<JournalWriter> {
    let fh: FileHandle
    try {
      await ensureDir(join(file, '..'))
      fh = await open(file, 'wx', 0o600)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST') throw new HarnessError('DW_USAGE', `the journal ${file} is in use by another driftwatch proxy: stop it, or pass another --name`, { file })
      throw new HarnessError('DW_OUTPUT_FAILED', `cannot create the journal ${file} (${code ?? (err as Error).message}); pass --recordings with a writable directory, or --no-record`, { file })
    }
    const w = new JournalWriter(file, fh, opts)
    const head = Buffer.from(`${JSON.stringify({ journal: 1, ...header })}\n`)
    w.head = head
    try {
      await fh.writeFile(head)
      await fh.datasync()
    } catch (err) {
      await fh.close().catch(() => undefined)
      throw new HarnessError('DW_OUTPUT_FAILED', `cannot write the journal ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass --recordings with a writable directory, or --no-record`, { file })
    }
    appending.add(file)
    w.stats.bytes = head.length
    w.activeBytes = head.length
    w.heartbeat = setInterval(() => {
      const now = new Date()
      utimes(w.file, now, now).catch(() => undefined)
    }, opts.heartbeatMs ?? HEARTBEAT_MS)
    w.heartbeat.unref()
    return w
  }

  private heartbeat: NodeJS.Timeout | undefined

  /** The first write error, if any: every line from then on is refused. */
  get error(): Error | undefined {
    return this.failure
  }

  /** True while the queue is over its bound: producers should wait for `whenRoom`. */
  get full(): boolean {
    return this.queuedBytes >= this.max
  }

  /**
   * Queues one line (one JSON value, no newline) answered at `answeredAt` (performance.now()).
   * Returns false when the journal cannot take it (a write failed, or it is closed).
   */
  append(line: string, answeredAt: number = performance.now()): boolean {
    if (this.failure || this.closed) {
      this.stats.lost++
      return false
    }
    this.queue.push(`${line}\n`)
    this.queuedBytes += line.length + 1
    this.stats.queued++
    if (answeredAt < this.oldest) this.oldest = answeredAt
    this.writing ??= this.drain()
    return true
  }

  /** Resolves when the queue is under its bound again (or the writer failed). */
  whenRoom(): Promise<void> {
    if (!this.full || this.failure) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** Resolves once every line appended so far is on disk (or failed: see `error`). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing
  }

  /** Flushes and closes the file; later appends are refused. */
  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.heartbeat)
    await this.flush()
    await this.fh.close().catch(() => undefined)
    appending.delete(this.file)
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length && !this.failure) {
        const lines = this.queue
        const oldest = this.oldest
        this.queue = []
        this.queuedBytes = 0
        this.oldest = Infinity
        const buf = Buffer.from(lines.join(''))
        const t0 = performance.now()
        try {
          await this.fh.writeFile(buf)
          await this.fh.datasync()
          this.stats.maxSyncMs = Math.max(this.stats.maxSyncMs, performance.now() - t0)
        } catch (err) {
          this.failure = err as Error
          this.stats.lost += this.stats.queued
          this.stats.queued = 0
          this.queue = []
          break
        }
        this.stats.lines += lines.length
        this.stats.queued -= lines.length
        this.stats.bytes += buf.length
        this.activeBytes += buf.length
        this.stats.maxLagMs = Math.max(this.stats.maxLagMs, performance.now() - oldest)
        if (this.activeBytes >= this.rotateAt && this.holds === 0) await this.rotate()
        this.wake()
      }
    } finally {
      this.writing = undefined
      this.wake()
    }
  }

  /** Seals the journal as the next numbered segment and begins a new one with the same header. */
  private async rotate(): Promise<void> {
    const segment = `${this.file}.${this.sealed + 1}`
    try {
      await this.fh.close()
      await rename(this.file, segment)
      this.sealed++
      this.fh = await open(this.file, 'wx', 0o600)
      await this.fh.writeFile(this.head)
      await this.fh.datasync()
      this.activeBytes = this.head.length
      this.stats.bytes += this.head.length
    } catch (err) {
      this.failure = err as Error
    }
  }

  private wake(): void {
    if (this.full && !this.failure) return
    for (const w of this.waiters.splice(0)) w()
  }
}

/** One line read back from a journal. */
export type JournalLine = { kind: 'header'; header: JournalHeader } | { kind: 'entry'; entry: JournalEntry } | { kind: 'counted'; counted: Record<string, number> } | { kind: 'damaged'; line: number; reason: string }

/**
 * Reads a journal line by line, up to byte `end` (exclusive; default the whole file) so a
 * compaction running beside the writer reads only what was on disk when it began. A line that does
 * not parse (the last one, when the process died mid-write) is returned as damaged, never thrown.
 */
export async function* readJournal(file: string, end?: number): AsyncGenerator<JournalLine> {
  const stream = createReadStream(file, { encoding: 'utf8', ...(end !== undefined ? { end: Math.max(0, end - 1) } : {}) })
  const lines = createInterface({ input: stream, crlfDelay: Infinity })
  let n = 0
  try {
    for await (const text of lines) {
      n++
      if (text === '') continue
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch (err) {
        yield { kind: 'damaged', line: n, reason: `not JSON (${(err as Error).message})` }
        continue
      }
      const v = value as Partial<JournalHeader & JournalEntry & JournalCounted>
      if (n > 1 && v.counted && typeof v.counted === 'object') yield { kind: 'counted', counted: v.counted }
      else if (n === 1 && v.journal === 1 && typeof v.name === 'string' && typeof v.target === 'string') yield { kind: 'header', header: v as JournalHeader }
      else if (v.observation && typeof v.observation.contract === 'string' && typeof v.observation.request?.url === 'string') yield { kind: 'entry', entry: { personalData: Number(v.personalData) || 0, observation: v.observation } }
      else yield { kind: 'damaged', line: n, reason: n === 1 ? 'no journal header' : 'not an exchange' }
    }
  } finally {
    lines.close()
    stream.destroy()
  }
}
