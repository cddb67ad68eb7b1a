/**
 * .ci/run's "N passed, N failed" line (scripts/count-results.mjs). It counted tests only: a test
 * file that failed to load (no tests) or whose beforeAll threw (its tests marked skipped) printed
 * "0 failed". Fed vitest JSON results with both, the line counts each such file as a failure,
 * names it, and says what was skipped; results from a real vitest run of such files say the same,
 * so a vitest that changes its JSON fails here rather than in CI's tally.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..')
const SCRIPT = join(ROOT, 'scripts', 'count-results.mjs')
// Under reports/ (ignored by git): a real vitest run there resolves vitest from the repository's node_modules.
mkdirSync(join(ROOT, 'reports'), { recursive: true })
const dir = mkdtempSync(join(ROOT, 'reports', 'count-results-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Runs the script as .ci/run does; its stdout lines and exit code. */
function count(...files: string[]): { lines: string[]; code: number } {
  const r = spawnSync(process.execPath, [SCRIPT, ...files], { cwd: dir, encoding: 'utf8' })
  return { lines: r.stdout.trim().split('\n'), code: r.status ?? -1 }
}

const test = (title: string, status: string) => ({ ancestorTitles: [], fullName: title, status, title, failureMessages: status === 'failed' ? ['AssertionError'] : [] })
/** One results file as vitest's JSON reporter writes it (the fields the tally reads, and the totals it must not trust). */
function results(file: string, testResults: { name: string; status: string; message?: string; assertionResults: ReturnType<typeof test>[] }[]): string {
  const all = testResults.flatMap((f) => f.assertionResults)
  const n = (s: string) => all.filter((t) => t.status === s).length
  const path = join(dir, file)
  writeFileSync(path, JSON.stringify({ numTotalTests: all.length, numPassedTests: n('passed'), numFailedTests: n('failed'), numPendingTests: n('skipped'), numTodoTests: n('todo'), numFailedTestSuites: testResults.filter((f) => f.status === 'failed').length, success: false, testResults: testResults.map((f) => ({ message: '', ...f, startTime: 0, endTime: 0 })) }))
  return path
}

describe('the tally of .ci/run', () => {
  it('a file that failed to load and a beforeAll that threw are failures, named, and the skipped tests are said', () => {
    const unit = results('unit.json', [
      { name: join(dir, 'suites', 'loads.test.ts'), status: 'passed', assertionResults: [test('a', 'passed'), test('b', 'passed'), test('c', 'skipped')] },
      { name: join(dir, 'suites', 'broken-import.test.ts'), status: 'failed', message: "Cannot find module './gone.ts'\n    at stack", assertionResults: [] },
      { name: join(dir, 'suites', 'hook.test.ts'), status: 'failed', assertionResults: [test('one', 'skipped'), test('two', 'skipped')] },
    ])
    const browser = results('browser.json', [{ name: join(dir, 'browser', 'html.test.ts'), status: 'passed', assertionResults: [test('x', 'passed'), test('later', 'todo')] }])
    const r = count(unit, browser)
    expect(r.lines).toEqual([
      '3 passed, 2 failed',
      "  failed: suites/broken-import.test.ts: failed to load, no test ran: Cannot find module './gone.ts'",
      "  failed: suites/hook.test.ts: failed outside its tests (a beforeAll or afterAll threw: see vitest's output); 2 of its 2 tests did not run",
      '3 skipped, 1 todo',
    ])
    expect(r.code).toBe(1)
  })

  it('a failed test is counted once, even in a file that failed because of it, and named with its failure', () => {
    const r = count(results('one-failure.json', [{ name: join(dir, 'a.test.ts'), status: 'failed', assertionResults: [test('ok', 'passed'), test('bad', 'failed')] }]))
    expect(r.lines).toEqual(['1 passed, 1 failed', '  failed: a.test.ts > bad: AssertionError'])
    expect(r.code).toBe(1)
  })

  it('all passing: "N passed, 0 failed" alone, exit 0', () => {
    const r = count(results('green.json', [{ name: join(dir, 'a.test.ts'), status: 'passed', assertionResults: [test('ok', 'passed'), test('also', 'passed')] }]))
    expect(r).toEqual({ lines: ['2 passed, 0 failed'], code: 0 })
  })

  it('a results file that is missing or not vitest results is a failure, never a silent zero', () => {
    const green = results('green2.json', [{ name: join(dir, 'a.test.ts'), status: 'passed', assertionResults: [test('ok', 'passed')] }])
    writeFileSync(join(dir, 'garbage.json'), '{"not": "results"}')
    const r = count(green, join(dir, 'never-written.json'), join(dir, 'garbage.json'))
    expect(r.lines[0]).toBe('1 passed, 2 failed')
    expect(r.lines.slice(1).join('\n')).toContain(`${join(dir, 'never-written.json')}: no results: that test run did not start`)
    expect(r.lines.slice(1).join('\n')).toContain(`${join(dir, 'garbage.json')}: not vitest JSON results`)
    expect(r.code).toBe(1)
  })

  it("vitest's own JSON for a file that cannot load and a throwing beforeAll reads the same", () => {
    const real = join(dir, 'real')
    mkdirSync(real)
    writeFileSync(join(real, 'a-load.test.ts'), "import { it } from 'vitest'\nthrow new Error('cannot load')\nit('never', () => {})\n")
    writeFileSync(join(real, 'b-hook.test.ts'), "import { beforeAll, describe, expect, it } from 'vitest'\ndescribe('g', () => {\n  beforeAll(() => { throw new Error('hook threw') })\n  it('one', () => expect(1).toBe(1))\n  it('two', () => expect(1).toBe(1))\n})\n")
    writeFileSync(join(real, 'c-ok.test.ts'), "import { expect, it } from 'vitest'\nit('ok', () => expect(1).toBe(1))\n")
    writeFileSync(join(real, 'd-fail.test.ts'), "import { describe, expect, it } from 'vitest'\ndescribe('group', () => {\n  it('fails \\x1b[31m', () => expect(1).toBe(2))\n})\n")
    writeFileSync(join(real, 'vitest.config.ts'), "import { defineConfig } from 'vitest/config'\nexport default defineConfig({ test: { include: ['*.test.ts'], reporters: ['json'], outputFile: { json: 'results.json' } } })\n")
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'))
    const run = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', real], { cwd: real, env, encoding: 'utf8' })
    expect(run.status, run.stderr).toBe(1)
    const r = count(join(real, 'results.json'))
    expect(r.lines[0]).toBe('1 passed, 3 failed')
    const named = r.lines.slice(1, 4).sort()
    expect(named[0]).toBe('  failed: real/a-load.test.ts: failed to load, no test ran: cannot load')
    expect(named[1]).toMatch(/^ {2}failed: real\/b-hook\.test\.ts: failed outside its tests .*2 of its 2 tests did not run$/)
    // A failed test: file, describe and title, and the first line of its failure; the escape in its name is shown, not sent.
    expect(named[2]).toBe('  failed: real/d-fail.test.ts > group fails \\x1b[31m: AssertionError: expected 1 to be 2 // Object.is equality')
    expect(r.lines[4]).toBe('2 skipped, 0 todo')
  }, 60_000)
})
