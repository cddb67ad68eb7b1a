/**
 * The dependency rules the README's Architecture section states, checked on the source: one judge
 * for every command (verify, proxy and gate never import the probe loop), checks and reporters do
 * no I/O, undici only in the transport, the folders say what the code is (nothing loose in src/, only
 * cli/ imports the commands). A rule that is only written down drifts; this one fails.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = join(import.meta.dirname, '..', 'src')
const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(SRC, f))

/** Module specifiers a file imports (static and dynamic). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:from\s+|import\()\s*'([^']+)'/g)].map((m) => m[1]!)
}

/** Whether `file` is `place` (a file relative to src) or lies under it (a folder). */
const within = (file: string, place: string) => (place.endsWith('.ts') ? relative(SRC, file) === place : relative(SRC, file).startsWith(`${place}/`))

/** Files in `place` (a folder or file relative to src) that import something matching `banned`. */
function offenders(place: string, banned: RegExp): string[] {
  return files.filter((f) => within(f, place)).flatMap((f) => importsOf(f).filter((i) => banned.test(i)).map((i) => `${relative(SRC, f)} imports ${i}`))
}

describe('architecture', () => {
  it('verify, proxy, gate and traffic never import the probe loop (runner/): they judge through the judge', () => {
    for (const place of ['commands/verify.ts', 'commands/proxy.ts', 'commands/gate.ts', 'proxy', 'gate', 'traffic', 'judge']) {
      expect(files.some((f) => within(f, place)), `${place} exists`).toBe(true)
      expect(offenders(place, /\/runner\//), place).toEqual([])
    }
  })
  it('the probe loop does not import traffic handling', () => {
    expect(offenders('runner', /\/traffic\//)).toEqual([])
  })
  it('checks and reporters do no I/O and never import undici', () => {
    for (const dir of ['checks', 'reporters', 'graph', 'judge']) expect(offenders(dir, /^(undici|node:fs|node:net|node:http|node:child_process)/), dir).toEqual([])
  })
  it('the harness uses undici in the transport only (the typed client is the consumer side, with its own)', () => {
    const users = files.filter((f) => importsOf(f).includes('undici')).map((f) => relative(SRC, f))
    expect(users.filter((f) => !f.startsWith('transport/') && !f.startsWith('client/'))).toEqual([])
  })
  it('only src/render makes output fragments: everything else escapes through a medium tag or placing function', () => {
    const users = files.filter((f) => !relative(SRC, f).startsWith('render/') && importsOf(f).some((i) => /render\/fragment(\.ts)?$/.test(i))).map((f) => relative(SRC, f))
    expect(users).toEqual([])
    // Reporters import the media from the front door, and never hand a report to a renderer unmarked.
    expect(offenders('reporters', /render\/(?!index\.ts$)/)).toEqual([])
  })
  it('src/ says what the code is: nothing loose in it but the package entry (commands/, model/, util/, ... instead)', () => {
    expect(readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isFile() && /\.m?ts$/.test(e.name)).map((e) => e.name)).toEqual(['index.ts'])
  })
  it('the arrows run cli -> commands -> the rest: only cli/ and the package entry import a command, and util/ imports only util/', () => {
    const users = files.filter((f) => !within(f, 'cli') && !within(f, 'commands') && relative(SRC, f) !== 'index.ts')
    expect(users.flatMap((f) => importsOf(f).filter((i) => /(^|\/)commands\//.test(i)).map((i) => `${relative(SRC, f)} imports ${i}`))).toEqual([])
    expect(offenders('util', /^\.\.\//)).toEqual([])
  })
  it('checks judge through the Graph rules, not their own copies', () => {
    expect(files.filter((f) => relative(SRC, f).startsWith('checks/')).filter((f) => /const (OUTAGE|THROTTLE)_CODES/.test(readFileSync(f, 'utf8')))).toEqual([])
  })
})
