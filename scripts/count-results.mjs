#!/usr/bin/env node
// .ci/run's tally: reads vitest's JSON results (one file per test run: `npm test`, `npm run
// test:browser`, `npm run test:package`) and prints "N passed, N failed" on a line of its own, then what else went wrong.
// A test file that fails to load has no tests, and a beforeAll that throws marks its tests
// skipped: counting tests alone said "0 failed" for both. Each test file that failed without a
// failed test in it counts as one failure; skipped and todo tests are said, not hidden.
// Each failed test is named too, with the first line of its failure.
// Exit 1 when anything failed (or a results file is missing or unreadable), else 0.
//
//   node scripts/count-results.mjs reports/test-results.json reports/browser-results.json reports/package-results.json
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { pathToFileURL } from 'node:url'

/** Control characters a test name or error may carry are shown, not sent to the terminal. */
const printable = (s) => String(s).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)

/** The first line of a file's own error (load error, hook error), short. */
function firstLine(message) {
  const line = printable(String(message ?? '').trim().split('\n')[0] ?? '')
  return line.length > 160 ? `${line.slice(0, 157)}...` : line
}

/**
 * Tallies parsed results files: `runs` is one entry per file, `{ file, results }` or `{ file, problem }`
 * when it could not be read. Returns the counts and the lines to print, the first being
 * exactly "N passed, N failed".
 */
export function tally(runs) {
  let passed = 0
  let failed = 0
  let skipped = 0
  let todo = 0
  const problems = []
  for (const run of runs) {
    if (run.problem) {
      failed++
      problems.push(`${run.file}: ${run.problem}`)
      continue
    }
    const files = run.results?.testResults
    if (!Array.isArray(files)) {
      failed++
      problems.push(`${run.file}: not vitest JSON results (no testResults)`)
      continue
    }
    for (const f of files) {
      const tests = Array.isArray(f.assertionResults) ? f.assertionResults : []
      const by = (s) => tests.filter((t) => t.status === s).length
      passed += by('passed')
      failed += by('failed')
      skipped += by('skipped') + by('pending')
      todo += by('todo')
      // Each failed test named with the first line of its failure: CI keeps only the end of the log,
      // and a failure that shows only as a count cannot be found again (stop 28's "1 failed").
      for (const t of tests.filter((t) => t.status === 'failed')) {
        const name = printable(relative(process.cwd(), String(f.name ?? '(unnamed file)')))
        const title = printable(t.fullName ?? t.title ?? '(unnamed test)')
        const why = firstLine((t.failureMessages ?? [])[0])
        problems.push(`${name} > ${title}${why ? `: ${why}` : ''}`)
      }
      // A file that failed with no failed test in it: it did not load, or a hook threw (its tests then read "skipped").
      if (f.status === 'failed' && by('failed') === 0) {
        failed++
        const name = printable(relative(process.cwd(), String(f.name ?? '(unnamed file)')))
        const notRun = by('skipped') + by('pending')
        const why = tests.length === 0 ? 'failed to load, no test ran' : `failed outside its tests (a beforeAll or afterAll threw: see vitest's output); ${notRun} of its ${tests.length} tests did not run`
        problems.push(`${name}: ${why}${f.message ? `: ${firstLine(f.message)}` : ''}`)
      }
    }
  }
  const lines = [`${passed} passed, ${failed} failed`]
  if (problems.length) lines.push(...problems.map((p) => `  failed: ${p}`))
  if (skipped || todo) lines.push(`${skipped} skipped, ${todo} todo`)
  return { passed, failed, skipped, todo, lines }
}

/** Reads each results file; a missing or broken one is a problem, never a silent zero. */
export function readRuns(paths) {
  return paths.map((file) => {
    let text
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      return { file, problem: 'no results: that test run did not start (the type check or vitest failed first)' }
    }
    try {
      return { file, results: JSON.parse(text) }
    } catch (err) {
      return { file, problem: `unreadable results (${err.message})` }
    }
  })
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const paths = process.argv.slice(2)
  if (paths.length === 0) {
    console.error('usage: node scripts/count-results.mjs <vitest results.json>...')
    process.exit(2)
  }
  const { failed, lines } = tally(readRuns(paths))
  for (const l of lines) console.log(l)
  process.exit(failed > 0 ? 1 : 0)
}
