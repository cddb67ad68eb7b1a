/**
 * How messages show a path: as the user gave it. A relative path stays as typed; an absolute one
 * outside the working directory stays absolute (`/proc/nope` was echoed as `../../proc/nope`, a
 * path no one typed); an absolute one inside it is shown relative, since most callers only hold
 * the path resolved from what was typed (`reports/latest/report.json`, not `/home/.../report.json`).
 */
import { isAbsolute, normalize, relative, resolve, sep } from 'node:path'

/** `path` as a message should show it: relative as typed, absolute when outside `cwd`, `.` for `cwd` itself. */
export function shownPath(cwd: string, path: string): string {
  if (!isAbsolute(path)) return normalize(path) === '.' ? '.' : normalize(path).replace(new RegExp(`\\${sep}$`), '')
  const abs = resolve(path)
  const rel = relative(cwd, abs)
  if (rel === '') return '.'
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? abs : rel
}
