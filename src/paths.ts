/**
 * How messages show a path: relative to the working directory when it is inside it (short, and
 * what the user typed), else absolute: `../../elsewhere/h.db` is neither.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path'

export function shownPath(cwd: string, path: string): string {
  const abs = resolve(cwd, path)
  const rel = relative(cwd, abs)
  if (rel === '') return '.'
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? abs : rel
}
