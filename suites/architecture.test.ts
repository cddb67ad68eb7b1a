/**
 * The dependency rules the README's Architecture section states, checked on the source: one judge
 * for every command (verify, proxy and gate never import the probe loop), checks and reporters do
 * no I/O, undici only in the transport, the folders say what the code is (nothing loose in src/, only
 * cli/ imports the commands). A rule that is only written down drifts; this one fails.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = join(import.meta.dirname, '..', 'src')
const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(SRC, f))

/** Module specifiers a file imports (static and dynamic). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:from\s+|import\()\s*'([^']+)'/g)].map((m) => m[1]!)
}

/** Where an import points: a file relative to src (`commands/watch.ts`), or the specifier itself for a package or node: builtin. */
function target(file: string, spec: string): string {
  return spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)) : spec
}

/** Module specifiers a file loads when it is loaded: static imports and re-exports that are not type-only (`import type` is erased; `import { type X }` is not under verbatimModuleSyntax). */
function loadsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const statics = [...text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'";]*?\s+from\s+)?'([^']+)'/gm)].map((m) => m[1]!)
  return statics
}

/**
 * What src/cli/ may import, and why: cli/ only parses arguments and prints, the library is
 * reached through commands/ (each command a library call, with the types its callbacks hand out),
 * and the data it prints through model/ (reports, findings), render/ (escaping for the terminal)
 * and util/ (errors, paths, preflight checks of flag values). Besides those, only what parsing and
 * printing need: targets/ (parseApiVersion, --shard), the simulator's scenario names (help text
 * and --scenario, data only: --help loads them), transport/redact.ts (every line cli prints is
 * redacted, error messages included), yaml (the config file's parser) and node: builtins.
 */
const CLI_MAY_IMPORT = {
  folders: ['cli/', 'commands/', 'model/', 'render/', 'util/', 'targets/'],
  files: ['simulator/scenarios/names.ts', 'transport/redact.ts'],
  packages: ['yaml'],
}

/** Imports (static, type-only and dynamic import()) from src/cli/ outside CLI_MAY_IMPORT. */
function cliOutsideAllowList(): string[] {
  const ok = (t: string) => t.startsWith('node:') || CLI_MAY_IMPORT.packages.includes(t) || CLI_MAY_IMPORT.files.includes(t) || CLI_MAY_IMPORT.folders.some((f) => t.startsWith(f))
  return files.filter((f) => within(f, 'cli')).flatMap((f) => importsOf(f).filter((i) => !ok(target(f, i))).map((i) => `${relative(SRC, f)} imports ${i}`))
}

/** Every file and package `from` loads when it is loaded (static, non-type imports, transitively). */
function staticClosure(from: string): Set<string> {
  const seen = new Set<string>()
  const walk = (file: string) => {
    for (const spec of loadsOf(file)) {
      const t = target(file, spec)
      if (seen.has(t)) continue
      seen.add(t)
      if (spec.startsWith('.')) walk(join(SRC, t))
    }
  }
  walk(join(SRC, from))
  return seen
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
  it('cli/ only parses and prints: it imports commands/, model/, render/, util/ and what parsing and printing need (CLI_MAY_IMPORT says why), never the library behind the commands', () => {
    expect(cliOutsideAllowList()).toEqual([])
  })
  it('--help loads no ajv, pact, better-sqlite3, undici, yaml or simulator: the library is loaded by dynamic import() when a command runs', () => {
    const loaded = [...staticClosure('cli/main.ts')]
    expect(loaded.filter((t) => /^(ajv|@pact-foundation|better-sqlite3|undici|yaml)(\/|$)/.test(t))).toEqual([])
    expect(loaded.filter((t) => t.startsWith('simulator/') && t !== 'simulator/scenarios/names.ts')).toEqual([])
    // The walk itself works: main.ts loads the command table, and through it the options.
    expect(loaded).toContain('cli/options.ts')
  })
  it('checks judge through the Graph rules, not their own copies', () => {
    expect(files.filter((f) => relative(SRC, f).startsWith('checks/')).filter((f) => /const (OUTAGE|THROTTLE)_CODES/.test(readFileSync(f, 'utf8')))).toEqual([])
  })
})
