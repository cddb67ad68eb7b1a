/**
 * Checks made before the first request: a run that cannot write its reports or recordings must
 * say so before it uploads, sends or deletes anything upstream, not after. A check leaves the
 * disk as it found it: the folders it made to try are removed again (every writer makes its own
 * folder when it writes), so a run that fails later at start-up (no contracts, an unreadable
 * input, a busy port) leaves no empty `reports/latest` behind.
 */
import { randomBytes } from 'node:crypto'
import { rm, rmdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { existsSync, rmdirSync, rmSync } from 'node:fs'
import { ensureDir } from './atomic-write.ts'
import { HarnessError } from './errors.ts'
import { shownPath } from './paths.ts'

/** Creates `dir` if needed, then creates and removes a probe file in it, then removes what it created; throws DW_OUTPUT_FAILED naming the flag to change. */
export async function assertWritable(dir: string, flag: string, cwd: string = process.cwd()): Promise<void> {
  const shown = shownPath(cwd, dir)
  const fail = (what: string, err: unknown): never => {
    throw new HarnessError('DW_OUTPUT_FAILED', `cannot ${what} ${shown} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass ${flag} with a writable directory. driftwatch stopped before doing anything.`)
  }
  const made = missingFolders(resolve(cwd, dir))
  try {
    await ensureDir(dir)
  } catch (err) {
    await removeEmpty(made)
    fail('create output directory', err)
  }
  const probe = join(dir, `.driftwatch-preflight-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    await writeFile(probe, '')
  } catch (err) {
    fail('write in', err)
  } finally {
    await rm(probe, { force: true })
    await removeEmpty(made)
  }
}

/** The folders from `dir` up that do not exist yet, deepest first: what a failed start must remove again. */
export function missingFolders(dir: string): string[] {
  const out: string[] = []
  for (let d = dir; !existsSync(d) && dirname(d) !== d; d = dirname(d)) out.push(d)
  return out
}

/** Removes the folders, deepest first, while they are empty: one something else wrote into meanwhile stays. */
async function removeEmpty(folders: readonly string[]): Promise<void> {
  for (const d of folders) {
    try {
      await rmdir(d)
    } catch {
      return
    }
  }
}

/** Removes the files, then the folders (deepest first) while they are empty: what a start that failed made. */
export function removeMade(files: readonly string[], folders: readonly string[]): void {
  for (const f of files) rmSync(f, { force: true })
  for (const d of folders) {
    try {
      rmdirSync(d)
    } catch {
      return
    }
  }
}
