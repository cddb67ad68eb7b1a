/** Temporary directories for a test file, removed after its tests: `const tmp = tempDirs('dw-x-')`, then `tmp.dir()`. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'

export function tempDirs(prefix: string): { dir(): string } {
  const made: string[] = []
  afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })))
  return {
    dir() {
      const d = mkdtempSync(join(tmpdir(), prefix))
      made.push(d)
      return d
    },
  }
}
