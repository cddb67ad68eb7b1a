/**
 * Atomic file writes: write a temporary file beside the target, fsync it, rename it over the
 * target. A reader (or a Ctrl-C) never sees a half-written report.
 */
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** Temporary files being written now: removed if the process exits mid-write (a second Ctrl-C). */
const pending = new Set<string>()
let hooked = false

function track(tmp: string): void {
  pending.add(tmp)
  if (hooked) return
  hooked = true
  process.on('exit', removePendingTempFiles)
}

/** Whether `tmp` is a temporary file this process is writing now (another with our pid is a leftover: a container's process is pid 1 on every start). */
export function isPendingTemp(tmp: string): boolean {
  return pending.has(tmp)
}

/** Removes every temporary file still being written; the target files are left as they were. */
export function removePendingTempFiles(): void {
  for (const tmp of pending) rmSync(tmp, { force: true })
  pending.clear()
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
}

/** A file being written piece by piece that appears at its path whole (commit) or not at all (discard). */
export interface AtomicFile {
  /** The temporary file written now. */
  readonly tmp: string
  write(data: string | Buffer): Promise<void>
  /** fsync, close, rename over the target. */
  commit(): Promise<void>
  /** Closes and removes the temporary file; the target is left as it was. Safe to call twice, or after commit. */
  discard(): Promise<void>
}

/**
 * Opens a streamed atomic write (a recording compacted from a journal is too large to build as one
 * string): the same temp file + rename as writeFileAtomic, removed on exit if never committed.
 */
export async function openAtomic(path: string): Promise<AtomicFile> {
  const tmp = tempPathFor(path)
  track(tmp)
  let fh: FileHandle | undefined
  try {
    fh = await open(tmp, 'w', 0o644)
  } catch (err) {
    pending.delete(tmp)
    throw err
  }
  let done = false
  const file: FileHandle = fh
  return {
    tmp,
    async write(data) {
      // writeFile continues from the current position and loops over short writes.
      await file.writeFile(data)
    },
    async commit() {
      try {
        await file.sync()
        await file.close()
        await rename(tmp, path)
        done = true
      } finally {
        if (!done) await rm(tmp, { force: true })
        pending.delete(tmp)
      }
    },
    async discard() {
      if (done) return
      done = true
      await file.close().catch(() => undefined)
      await rm(tmp, { force: true })
      pending.delete(tmp)
    },
  }
}

/** Writes `data` to `path` atomically (same-directory temp file + rename). */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = tempPathFor(path)
  track(tmp)
  try {
    const fh = await open(tmp, 'w', 0o644)
    try {
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  } finally {
    pending.delete(tmp)
  }
}

/**
 * `mkdir -p` that cannot hang. Node's recursive mkdir loops forever under /proc (procfs answers
 * ENOENT, not EPERM, for a child it will never create, and Node retries by creating the parent).
 * Here a second ENOENT after the parent is known to exist is final.
 */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir)
    return
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return assertDirectory(dir, err)
    if (code !== 'ENOENT') throw err
  }
  const parent = dirname(dir)
  if (parent === dir) throw Object.assign(new Error(`cannot create ${dir}: no such root`), { code: 'ENOENT' })
  await ensureDir(parent)
  try {
    await mkdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return assertDirectory(dir, err)
    throw err
  }
}

async function assertDirectory(dir: string, original: unknown): Promise<void> {
  const s = await stat(dir).catch(() => undefined)
  if (!s?.isDirectory()) throw Object.assign(new Error(`${dir} exists and is not a directory`), { code: 'ENOTDIR', cause: original })
}
