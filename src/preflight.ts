/**
 * Checks made before the first request: a run that cannot write its reports or recordings must
 * say so before it uploads, sends or deletes anything upstream, not after.
 */
import { randomBytes } from 'node:crypto'
import { rm, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { ensureDir } from './atomic-write.ts'
import { HarnessError } from './errors.ts'

/** Creates `dir` if needed, then creates and removes a probe file in it; throws DW_OUTPUT_FAILED naming the flag to change. */
export async function assertWritable(dir: string, flag: string, cwd: string = process.cwd()): Promise<void> {
  const shown = relative(cwd, dir) || dir
  const fail = (what: string, err: unknown): never => {
    throw new HarnessError('DW_OUTPUT_FAILED', `cannot ${what} ${shown} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass ${flag} with a writable directory. Nothing was sent.`)
  }
  try {
    await ensureDir(dir)
  } catch (err) {
    fail('create output directory', err)
  }
  const probe = join(dir, `.driftwatch-preflight-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    await writeFile(probe, '')
  } catch (err) {
    fail('write in', err)
  } finally {
    await rm(probe, { force: true })
  }
}
