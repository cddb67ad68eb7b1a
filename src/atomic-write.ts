/**
 * Atomic file writes: write a temporary file beside the target, fsync it, rename it over the
 * target. A reader (or a Ctrl-C) never sees a half-written report.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** Writes `data` to `path` atomically (same-directory temp file + rename). */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  const fh = await open(tmp, 'w', 0o644)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
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
