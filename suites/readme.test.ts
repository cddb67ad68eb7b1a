/**
 * Every command the README shows runs as written. Synopsis lines name only flags the command
 * has; every `npx driftwatch ...` example parses; the ones that are offline and finish are run
 * (in a scratch copy of the repository's inputs), each announcing its exit code in its comment
 * ("# ...; exit N"), and must exit exactly that.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { COMMANDS, main } from '../src/cli/index.ts'
import { parseCommand } from '../src/cli/options.ts'
import { scaledClock } from '../src/commands/watch.ts'

const ROOT = join(import.meta.dirname, '..')
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }

/**
 * Lines inside fenced code blocks, with their line numbers; not YAML blocks (workflow files, whose
 * `npx driftwatch` lines run in a workflow's context and are checked by suites/workflows.test.ts).
 */
function codeLines(): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = []
  let inside: 'code' | 'yaml' | undefined
  README.split('\n').forEach((text, i) => {
    const fence = /^\s*```(\w*)/.exec(text)
    if (fence) inside = inside ? undefined : fence[1] === 'yaml' ? 'yaml' : 'code'
    else if (inside === 'code') out.push({ line: i + 1, text })
  })
  return out
}

/** Shell words of a command line, without its trailing comment. */
function words(cmd: string): string[] {
  const out: string[] = []
  const re = /'([^']*)'|"([^"]*)"|(#.*$)|(\S+)/g
  for (const m of cmd.matchAll(re)) {
    if (m[3] !== undefined) break
    out.push(m[1] ?? m[2] ?? m[4]!)
  }
  return out
}

const lines = codeLines()
/** The exit code an example's trailing comment announces (`# ...; exit 1`). */
const announced = (text: string) => /#.*\bexit (\d+)\b/.exec(text)?.[1]
const examples = lines.filter((l) => /^(\$ )?npx driftwatch /.test(l.text.trim())).map((l) => ({ ...l, args: words(l.text.trim().replace(/^\$ /, '')).slice(2), exit: announced(l.text) }))
const synopses = lines.filter((l) => /^driftwatch [a-z]+ +[[<-]/.test(l.text.trim()) || /^ {10,}\[--/.test(l.text))

describe('README', () => {
  it('has examples and synopses to check (the extraction itself works)', () => {
    expect(examples.length).toBeGreaterThan(10)
    expect(synopses.length).toBeGreaterThan(8)
  })

  it('synopsis lines name only flags their command has', () => {
    let command = ''
    for (const s of synopses) {
      const m = s.text.trim().match(/^driftwatch ([a-z]+)/)
      if (m) command = m[1]!
      const cmd = COMMANDS.find((c) => c.name === command)
      if (!cmd) continue // `driftwatch help <command> | ...`
      for (const flag of s.text.matchAll(/--([a-z][a-z-]*)/g)) expect(Object.keys(cmd.options), `README line ${s.line}: driftwatch ${command} --${flag[1]}`).toContain(flag[1])
    }
  })

  it('every npx driftwatch example parses: a known command, known flags, the right positionals', () => {
    for (const e of examples) {
      const cmd = COMMANDS.find((c) => c.name === e.args[0])
      expect(cmd, `README line ${e.line}: ${e.text}`).toBeDefined()
      expect(() => parseCommand(cmd!, e.args.slice(1)), `README line ${e.line}`).not.toThrow()
    }
  })

  it('every npm script it names exists', () => {
    for (const l of lines) for (const m of l.text.matchAll(/\bnpm run ([\w:-]+)/g)) expect(Object.keys(pkg.scripts), `README line ${l.line}`).toContain(m[1])
  })

  describe('offline examples run as written', () => {
    // A scratch working directory with the repository's inputs: what examples write lands here.
    const sandbox = mkdtempSync(join(tmpdir(), 'dw-readme-'))
    for (const d of ['contracts', 'suites', 'examples', 'specs', 'pacts']) symlinkSync(join(ROOT, d), join(sandbox, d))
    cpSync(join(ROOT, 'recordings'), join(sandbox, 'recordings'), { recursive: true })
    afterAll(() => rmSync(sandbox, { recursive: true, force: true }))
    // Long-running (proxy, sim, watch without --cycles) or live (a real base URL): parsed above, not run here.
    const runnable = examples.filter((e) => !['proxy', 'sim'].includes(e.args[0]!) && !(e.args[0] === 'watch' && !e.args.includes('--cycles')) && !e.args.some((a) => /^https:\/\//.test(a)))

    it('every example it runs says its exit code (`# ...; exit N`): a reader must know a 1 is expected', () => {
      const unsaid = runnable.filter((e) => e.exit === undefined).map((e) => `README line ${e.line}: ${e.text.trim()}`)
      expect(unsaid, 'add "# exit N" (the code it exits with) to these examples').toEqual([])
    })

    it.each(runnable.map((e) => [e.line, e.text.trim(), e] as const))('line %i: %s', async (_line, _text, e) => {
      const err: string[] = []
      // watch's pacing (a request every 0.86 s at 100000/day) runs 100 times faster than real time: the same cycles, requests and exit code.
      const code = await main(e.args, { stdout: () => undefined, stderr: (l) => err.push(l), env: { PACT_DO_NOT_TRACK: 'true' }, cwd: sandbox, clock: scaledClock(100) })
      expect(e.exit, `README line ${e.line} says no exit code`).toBeDefined()
      expect(code, err.join('\n')).toBe(Number(e.exit))
    })
  })
})
