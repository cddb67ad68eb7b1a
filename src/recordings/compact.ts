/**
 * Compaction: a recording journal (journal.ts) becomes the readable recording files, one per
 * contract (`<recordings>/<contract>/<name>.json`), in the same format `record` writes and
 * `check`/`verify` read. One pass over the journal, streaming: each contract's file is written as
 * its lines come (observations first, then the `volatile` and `personalData` they add up to), so
 * memory does not grow with the journal. Each file appears whole or not at all (temp file +
 * rename); a file that shows the same behaviour as the one on disk is left untouched (no diff).
 *
 * A journal left by a process that died (kill -9, a second Ctrl-C, a crash) is recovered the same
 * way by the next recorder to start.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { readFile, rm, rmdir } from 'node:fs/promises'
import { hostname } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { ensureDir, isPendingTemp, openAtomic, type AtomicFile } from '../util/atomic-write.ts'
import { HarnessError } from '../util/errors.ts'
import { apiVersionIn } from '../graph/index.ts'
import type { Observation } from '../model/observation.ts'
import type { Redactor } from '../transport/redact.ts'
import { HEARTBEAT_STALE_MS, INSTANCE, isJournalOpen, journalFiles, journalPath, readJournal, type JournalHeader } from './journal.ts'
import { collectVolatile, PROXY_RECORDER, readIfValid, recordingPath, REDACTION_RULES, sameBehaviour, type Recording, type WriteStatus } from './store.ts'

/** How to compact. */
export interface CompactOptions {
  /** A last secret pass over what is written (the journal's lines were redacted when appended). */
  redactor?: Redactor
  /** Stops the compaction: temp files are removed and the recordings left as they were. */
  signal?: AbortSignal
  /** The journal's files in order (default: its sealed segments, then itself; see journalFiles). */
  files?: readonly string[]
  /** Bytes of the journal itself to read (a compaction beside a running writer reads what was on disk when it began). */
  end?: number
  /** Recordings up to this size are compared with the file on disk, and left untouched when they show the same behaviour. Default 16 MiB. */
  compareUpTo?: number
}

/** One recording file compaction produced. */
export interface CompactedRecording {
  contract: string
  file: string
  status: WriteStatus
  observations: number
}

/** A recording compaction could not write; its exchanges stay in the journal. */
export interface CompactionFailure {
  contract: string
  file: string
  observations: number
  message: string
}

/** What a compaction did. */
export interface CompactResult {
  header: JournalHeader
  /** Exchange lines read. */
  exchanges: number
  /** Lines that could not be read (a line cut short when the writer died), and the first one's description. */
  damaged: number
  firstDamage?: string
  recordings: CompactedRecording[]
  failed: CompactionFailure[]
}

const MARK = '\u0000observations\u0000'
const FLUSH_BYTES = 256 * 1024

/** Splits `JSON.stringify(rec, null, 2)` around its observations, so they can be streamed between. */
function around(rec: Omit<Recording, 'observations'>): [head: string, tail: string] {
  const text = JSON.stringify({ ...pick(rec, HEAD_KEYS), observations: [MARK], ...pick(rec, TAIL_KEYS) }, null, 2)
  const mark = JSON.stringify(MARK)
  const at = text.indexOf(mark)
  return [text.slice(0, at), `${text.slice(at + mark.length)}\n`]
}

// The key order the proxy's recordings always had: what was known first, then what the observations add up to.
const HEAD_KEYS = ['version', 'contract', 'name', 'target', 'scenario', 'apiVersion', 'recordedAt', 'recorder'] as const
const TAIL_KEYS = ['volatile', 'personalData', 'redaction', 'exchanges'] as const

function pick(rec: Omit<Recording, 'observations'>, keys: readonly string[]): Record<string, unknown> {
  const r = rec as unknown as Record<string, unknown>
  return Object.fromEntries(keys.filter((k) => r[k] !== undefined).map((k) => [k, r[k]]))
}

/** One recording file being written. */
class Sink {
  observations = 0
  /** Exchanges of shapes already recorded: counted, not recorded again. */
  counted = 0
  personalData = 0
  bytes = 0
  readonly headers = new Set<string>()
  readonly body = new Set<string>()
  private parts: string[] = []
  private partBytes = 0

  constructor(
    readonly contract: string,
    readonly path: string,
    readonly out: AtomicFile,
    readonly rec: Omit<Recording, 'observations'>,
  ) {}

  async add(journaled: Observation, personalData: number, redactor: Redactor | undefined): Promise<void> {
    // Again as a whole observation (as writeRecording does): a journal from an older session may hold bytes this redactor withholds.
    const o = redactor ? redactor.observation(journaled) : journaled
    this.observations++
    this.personalData += personalData
    collectVolatile(o, this.headers, this.body)
    const text = JSON.stringify({ ...o, contract: this.contract, sample: this.observations }, null, 2).replace(/\n/g, '\n    ')
    await this.write(`${this.observations === 1 ? around(this.rec)[0] : ',\n    '}${redactor ? redactor.text(text) : text}`)
  }

  async finish(): Promise<void> {
    const rec: Omit<Recording, 'observations'> = { ...this.rec, volatile: { headers: [...this.headers].sort(), body: [...this.body].sort() }, personalData: this.personalData, redaction: REDACTION_RULES, ...(this.counted > 0 ? { exchanges: this.observations + this.counted } : {}) }
    await this.write(around(rec)[1], true)
  }

  private async write(s: string, last = false): Promise<void> {
    this.parts.push(s)
    this.partBytes += s.length
    if (this.partBytes < FLUSH_BYTES && !last) return
    const buf = Buffer.from(this.parts.join(''))
    this.parts = []
    this.partBytes = 0
    this.bytes += buf.length
    await this.out.write(buf)
  }
}

/** Compacts a journal into recording files under `recordingsDir`; the journal itself is left as it is. */
export async function compactJournal(journal: string, recordingsDir: string, opts: CompactOptions = {}): Promise<CompactResult> {
  const sinks = new Map<string, Sink>()
  const failed = new Map<string, CompactionFailure>()
  let header: JournalHeader | undefined
  let exchanges = 0
  let damaged = 0
  let firstDamage: string | undefined
  const fail = (contract: string, file: string, err: unknown) => {
    const message = `cannot write recording ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`
    failed.set(contract, { contract, file, observations: 0, message })
  }
  const counted = new Map<string, number>()
  try {
    for (const file of opts.files ?? journalFiles(journal))
    for await (const line of readJournal(file, file === journal ? opts.end : undefined)) {
      opts.signal?.throwIfAborted()
      if (line.kind === 'header') {
        header = line.header
        continue
      }
      if (line.kind === 'counted') {
        for (const [c, n] of Object.entries(line.counted)) if (Number.isFinite(n) && n > 0) counted.set(c, (counted.get(c) ?? 0) + n)
        continue
      }
      if (line.kind === 'damaged') {
        if (line.line === 1) throw new HarnessError('DW_RECORDING_INVALID', `${file} has no journal header (${line.reason}): it is not a driftwatch journal, or it was damaged; move it out of the recordings directory`, { file })
        damaged++
        firstDamage ??= `line ${line.line}: ${line.reason}`
        continue
      }
      exchanges++
      const { observation: o, personalData } = line.entry
      const contract = o.contract
      const lost = failed.get(contract)
      if (lost) {
        lost.observations++
        continue
      }
      let sink = sinks.get(contract)
      if (!sink) {
        const path = recordingPath(recordingsDir, contract, header!.name)
        try {
          await ensureDir(join(recordingsDir, contract))
          const rec = { version: 1, contract, name: header!.name, target: header!.target, apiVersion: apiVersionIn(o.request.url) ?? 'unversioned', recordedAt: o.startedAt, recorder: PROXY_RECORDER } as const
          sink = new Sink(contract, path, await openAtomic(path), rec)
          sinks.set(contract, sink)
        } catch (err) {
          fail(contract, path, err)
          failed.get(contract)!.observations++
          continue
        }
      }
      try {
        await sink.add(o, personalData, opts.redactor)
      } catch (err) {
        sinks.delete(contract)
        await sink.out.discard()
        fail(contract, sink.path, err)
        failed.get(contract)!.observations += sink.observations
      }
    }
    if (!header) throw new HarnessError('DW_RECORDING_INVALID', `${journal} is empty: it has no journal header; delete it`, { file: journal })
    const recordings: CompactedRecording[] = []
    for (const sink of sinks.values()) {
      opts.signal?.throwIfAborted()
      sink.counted = counted.get(sink.contract) ?? 0
      try {
        await sink.finish()
        const status = await settleFile(sink, opts.compareUpTo ?? 16 * 1024 * 1024)
        recordings.push({ contract: sink.contract, file: sink.path, status, observations: sink.observations })
      } catch (err) {
        await sink.out.discard()
        fail(sink.contract, sink.path, err)
        failed.get(sink.contract)!.observations += sink.observations
      }
    }
    sinks.clear()
    // Counted exchanges of a recording that could not be written are not in one either.
    for (const f of failed.values()) f.observations += counted.get(f.contract) ?? 0
    return { header, exchanges, damaged, ...(firstDamage ? { firstDamage } : {}), recordings, failed: [...failed.values()] }
  } finally {
    // Aborted or thrown: nothing half-written is left behind.
    for (const sink of sinks.values()) await sink.out.discard()
  }
}

/** Renames the new file into place, or keeps the one on disk when it shows the same behaviour. */
async function settleFile(sink: Sink, compareUpTo: number): Promise<WriteStatus> {
  if (sink.bytes <= compareUpTo && existsSync(sink.path) && statSync(sink.path).size <= compareUpTo) {
    const existing = readIfValid(sink.path)
    if (existing) {
      const fresh = JSON.parse(await readFile(sink.out.tmp, 'utf8')) as Recording
      if (sameBehaviour(existing, fresh)) {
        await sink.out.discard()
        return 'unchanged'
      }
    }
  }
  await sink.out.commit()
  return 'written'
}

/**
 * Who still writes a journal, in words, or undefined when it was left behind. On this host a pid
 * is asked directly (the same pid in another run, a container restarted as pid 1, is not the
 * writer); from another host, or an older journal that does not say, only the writer's heartbeat
 * (the newest file's modification time) can tell.
 */
function runningOwner(h: JournalHeader, newest: string): string | undefined {
  const sameHost = h.host !== undefined && h.host === hostname()
  if (sameHost) {
    if (h.pid === process.pid && h.instance !== undefined && h.instance !== INSTANCE) return undefined
    return h.pid !== process.pid && alive(h.pid) ? `pid ${h.pid}` : undefined
  }
  if (h.host === undefined) return h.pid !== process.pid && alive(h.pid) ? `pid ${h.pid}` : undefined
  let age: number
  try {
    age = Date.now() - statSync(newest).mtimeMs
  } catch {
    return undefined
  }
  return age < HEARTBEAT_STALE_MS ? `pid ${h.pid} on host ${h.host}, last heard from ${Math.max(0, Math.round(age / 1000))} s ago` : undefined
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Recovers the journal a recorder named `name` left behind (its process died before compacting):
 * compacts it and removes it. Undefined when there is none. Refuses a journal whose process is
 * still running (two proxies recording under one name would interleave).
 */
export async function recoverJournal(recordingsDir: string, name: string, opts: CompactOptions = {}): Promise<(CompactResult & { journal: string }) | undefined> {
  const journal = journalPath(recordingsDir, name)
  const files = journalFiles(journal)
  if (files.length === 0) return undefined
  let header: JournalHeader | undefined
  for await (const line of readJournal(files[0]!)) {
    if (line.kind === 'header') header = line.header
    break
  }
  const running = isJournalOpen(journal) ? 'this process' : header ? runningOwner(header, files.at(-1)!) : undefined
  if (running) {
    throw new HarnessError('DW_USAGE', `the journal ${journal} belongs to a running driftwatch proxy (${running}): stop it, or give each proxy its own --name (replicas sharing a volume: --name proxy-$HOSTNAME)`, { file: journal })
  }
  const result = await compactJournal(journal, recordingsDir, { ...opts, files })
  if (result.failed.length) {
    throw new HarnessError('DW_OUTPUT_FAILED', `cannot recover the journal ${journal} left by an earlier proxy session: ${result.failed.map((f) => f.message).join('; ')}; fix that and start again (the journal is kept)`, { file: journal })
  }
  await removeJournal(files)
  return { ...result, journal }
}

/** Removes a journal's files once compacted (its sealed segments, then itself), and the `.journal` folder when that left it empty. */
export async function removeJournal(files: readonly string[]): Promise<void> {
  for (const f of files) await rm(f, { force: true })
  const dir = files[0] === undefined ? undefined : dirname(files[0])
  // Another recorder's journal may still be in it: rmdir only removes an empty folder.
  if (dir !== undefined && basename(dir) === '.journal') await rmdir(dir).catch(() => undefined)
}

/** `.<file>.tmp-<pid>-<hex>`: a temp file of an atomic write (atomic-write.ts). */
const TEMP = /^\..+\.tmp-(\d+)-[0-9a-f]+$/

/**
 * Removes the temp files an interrupted compaction left (a process killed while writing a
 * recording): those in `<recordings>/<contract>/` and `.journal/` that this process is not writing
 * and whose process is gone. A temp named with our own pid is a leftover too, unless we are writing
 * it: in a container the proxy is pid 1 on every start, so the pid alone says nothing. Returns what
 * it removed, so the caller can say so.
 */
export async function removeStaleTemps(recordingsDir: string): Promise<string[]> {
  const removed: string[] = []
  let dirs: string[]
  try {
    dirs = readdirSync(recordingsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(recordingsDir, d.name))
  } catch {
    return removed
  }
  for (const dir of dirs) {
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      continue
    }
    for (const n of names) {
      const m = TEMP.exec(n)
      const file = join(dir, n)
      if (!m || isPendingTemp(file) || (Number(m[1]) !== process.pid && alive(Number(m[1])))) continue
      await rm(file, { force: true })
      removed.push(file)
    }
  }
  return removed
}
