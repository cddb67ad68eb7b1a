#!/usr/bin/env node
// The layout of issue 20 item 6 as a codemod: moves the files MAPPING names (git mv) and rewrites
// every reference to them, so it can be run again on whatever main holds by then instead of
// hand-editing hundreds of import lines while other branches land. Run from a clean checkout:
//
//   node scripts/layout.mjs            # moves, rewrites, stages; then tsc, tests, commit
//   node scripts/layout.mjs --dry-run  # says what it would do, touches nothing
//
// What it rewrites, in every tracked .ts/.mjs/.js/.json/.md/.yml file under the folders below and
// the root files named in ROOT_FILES:
// - quoted relative paths ('./x.ts', "../../src/x.ts", `../dist/x.js`): static and dynamic imports,
//   export ... from, vi.mock, new URL(..., import.meta.url), Worker URLs, join(import.meta.dirname, ...).
//   A path to a moved file follows the file; a moved file's own relative paths are recomputed from
//   its new folder when they name something that exists (a file, a folder, package.json).
// - root-relative mentions `src/x.ts` and `dist/x.js` (`.d.ts`, `.mjs`) anywhere: strings
//   (join(ROOT, 'src/x.ts'), spawn arguments), comments, README code spans; and 'src', 'x.ts' as
//   join() arguments.
// It refuses to run on a dirty tree or when a MAPPING source is missing or a destination exists.
// What it cannot see (a path built from pieces, a file named without `src/`) it lists at the end.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { dirname, join, posix } from 'node:path'

/**
 * Old path -> new path, from the repository root. Why each goes where it goes:
 * - commands/: each command as a library call (what cli/commands/<name>.ts calls after parsing; `npm run
 *   spec-report`'s spec-vs-traffic too), the gate's report writer (it reads the gate's own report type),
 *   and write-reports, the step the report-writing commands end with (reporters/ is pure formatters: no fs).
 *   Nothing below the commands imports them, so the arrows run cli -> commands -> the rest.
 * - model/: the data that flows (observation -> finding -> report), the report's schema, and the
 *   finding's rerun/curl (finding.ts imports it).
 * - util/: small helpers with no domain in them; preflight is here, not in runner/, because verify,
 *   proxy and gate use it and must not import the probe loop.
 * - runner/session.ts: a probing run's session (target, simulator, transport); only the probing commands use it.
 * - targets/: where to probe (config.ts: sim or a live URL and its credentials) and the targets file.
 * - cli/index.ts: the CLI's front door, which bin/driftwatch.js runs.
 * - gate/pact-verifier.ts: Pact's Verifier, so gate/verify.ts no longer reads as the verify command.
 */
export const MAPPING = {
  'src/check.ts': 'src/commands/check.ts',
  'src/check-targets.ts': 'src/commands/check-targets.ts',
  'src/record.ts': 'src/commands/record.ts',
  'src/merge.ts': 'src/commands/merge.ts',
  'src/init.ts': 'src/commands/init.ts',
  'src/verify/verify.ts': 'src/commands/verify.ts',
  'src/gate/gate.ts': 'src/commands/gate.ts',
  'src/gate/gate-report.ts': 'src/commands/gate-report.ts',
  'src/watch/watch.ts': 'src/commands/watch.ts',
  'src/proxy/proxy.ts': 'src/commands/proxy.ts',
  'src/import/openapi.ts': 'src/commands/import-openapi.ts',
  'src/import/spec-vs-traffic.ts': 'src/commands/spec-vs-traffic.ts',
  'src/history/diff.ts': 'src/commands/diff.ts',
  'src/write-reports.ts': 'src/commands/write-reports.ts',

  'src/observation.ts': 'src/model/observation.ts',
  'src/finding.ts': 'src/model/finding.ts',
  'src/report.ts': 'src/model/report.ts',
  'src/report-schema.ts': 'src/model/report-schema.ts',
  'src/reproduce.ts': 'src/model/reproduce.ts',

  'src/atomic-write.ts': 'src/util/atomic-write.ts',
  'src/clock.ts': 'src/util/clock.ts',
  'src/json.ts': 'src/util/json.ts',
  'src/paths.ts': 'src/util/paths.ts',
  'src/errors.ts': 'src/util/errors.ts',
  'src/preflight.ts': 'src/util/preflight.ts',

  'src/session.ts': 'src/runner/session.ts',
  'src/config.ts': 'src/targets/target.ts',
  'src/targets.ts': 'src/targets/targets-file.ts',
  'src/cli.ts': 'src/cli/index.ts',
  'src/gate/verify.ts': 'src/gate/pact-verifier.ts',
}

/** Folders whose tracked files are rewritten, and root files that are. */
const FOLDERS = ['src/', 'suites/', 'bench/', 'scripts/', 'browser/', 'bin/', 'examples/', '.github/workflows/']
const ROOT_FILES = /^(tsconfig[\w.-]*\.json|vitest[\w.-]*\.config\.ts|package\.json|README\.md|Dockerfile|action\.yml|\.ci\/run)$/
const TEXT = /\.(ts|mts|mjs|js|json|md|ya?ml)$/

const root = join(import.meta.dirname, '..')
const dry = process.argv.includes('--dry-run')
const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' })

// Refuse what would make a mess: local changes, a source that is gone, a destination taken.
const dirty = git('status', '--porcelain', '--untracked-files=no').trim()
if (dirty && !dry) fail(`the tree has changes; commit or stash them first:\n${dirty}`)
const tracked = new Set(git('ls-files', '-z').split('\0').filter(Boolean))
const missing = Object.keys(MAPPING).filter((from) => !tracked.has(from))
const taken = Object.values(MAPPING).filter((to) => existsSync(join(root, to)))
if (missing.length || taken.length) {
  const done = missing.length === Object.keys(MAPPING).length && taken.length === missing.length
  fail([
    ...(done ? ['every MAPPING source is gone and every destination exists: the layout looks applied already'] : []),
    ...missing.map((f) => `MAPPING source missing: ${f}`),
    ...taken.map((f) => `MAPPING destination exists: ${f}`),
  ].join('\n'))
}

/** A tracked path or a folder holding one, before the move. */
const folders = new Set([...tracked].flatMap((f) => f.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))))
const existed = (p) => tracked.has(p) || folders.has(p) || existsSync(join(root, p))

/** A built file's mapping: dist/x.js (or .d.ts, .mjs) follows src/x.ts (or .mjs). */
function mapped(p) {
  if (MAPPING[p]) return MAPPING[p]
  if (p.endsWith('.js') && MAPPING[p.replace(/\.js$/, '.ts')]) return MAPPING[p.replace(/\.js$/, '.ts')].replace(/\.ts$/, '.js')
  const d = /^dist\/(.+?)(\.d\.ts|\.js|\.mjs)$/.exec(p)
  if (!d) return undefined
  const src = MAPPING[`src/${d[1]}${d[2] === '.mjs' ? '.mjs' : '.ts'}`]
  return src && `dist/${src.slice(4).replace(/\.m?ts$/, '')}${d[2]}`
}

const counts = { relative: 0, rooted: 0 }

/** `text` of `file` (moving to `to`) with every reference to a moved file pointing at its new place. */
function rewrite(file, to, text) {
  const from = posix.dirname(file)
  const moved = file !== to
  // Quoted relative paths: resolved from the file's old folder, written from its new one.
  text = text.replace(/(['"`])(\.\.?\/[^'"`\s$]*)\1/g, (all, q, spec) => {
    const resolved = posix.normalize(posix.join(from, spec)).replace(/\/$/, '')
    if (resolved.startsWith('..')) return all
    const target = mapped(resolved) ?? (moved && existed(resolved) ? resolved : undefined)
    if (!target) return all
    let out = posix.relative(posix.dirname(to), target) || '.'
    if (!out.startsWith('.')) out = `./${out}`
    if (spec.endsWith('/') && !out.endsWith('/')) out += '/'
    if (out === spec) return all
    counts.relative++
    return `${q}${out}${q}`
  })
  // Root-relative mentions: src/x.ts, dist/x.js (not the tail of ../src/x.ts, handled above).
  text = text.replace(/(?<![\w./-])((?:src|dist)\/[\w./-]*[\w-])/g, (all, p) => {
    const target = mapped(p)
    if (!target) return all
    counts.rooted++
    return target
  })
  // join(ROOT, 'src', 'x.ts'): the same path as separate arguments.
  text = text.replace(/(['"])src\1(?:\s*,\s*(['"])[\w.-]+\2)+/g, (all) => {
    const parts = [...all.matchAll(/(['"])([\w.-]+)\1/g)].map((m) => m[2])
    const target = mapped(parts.join('/'))
    if (!target) return all
    counts.rooted++
    const q = all[0]
    return target.split('/').map((s) => `${q}${s}${q}`).join(', ')
  })
  return text
}

const self = 'scripts/layout.mjs' // its MAPPING names the old paths on purpose
const files = [...tracked].filter((f) => f !== self).filter((f) => (FOLDERS.some((d) => f.startsWith(d)) && (TEXT.test(f) || f === '.ci/run')) || ROOT_FILES.test(f))
const changed = []
for (const file of files) {
  const to = MAPPING[file] ?? file
  const text = readFileSync(join(root, file), 'utf8')
  const out = rewrite(file, to, text)
  if (out !== text) changed.push({ file, to, out })
}

const plan = Object.entries(MAPPING)
if (dry) {
  for (const [a, b] of plan) console.log(`git mv ${a} ${b}`)
  for (const c of changed) console.log(`rewrite ${c.to}`)
} else {
  for (const [a, b] of plan) {
    mkdirSync(dirname(join(root, b)), { recursive: true })
    git('mv', a, b)
  }
  // A folder the move emptied goes too (git keeps no folders; bin/driftwatch.js walks src/'s).
  for (const d of new Set(plan.map(([a]) => dirname(join(root, a))))) if (existsSync(d) && !readdirSync(d).length) rmdirSync(d)
  for (const c of changed) writeFileSync(join(root, c.to), c.out)
  if (changed.length) git('add', '--', ...changed.map((c) => c.to))
}
console.log(`${plan.length} files moved, ${changed.length} files rewritten (${counts.relative} relative paths, ${counts.rooted} src/ or dist/ mentions)${dry ? ' [dry run: nothing changed]' : ', staged'}`)

// What it cannot rewrite: a moved file named without `src/` (prose like `verify/verify.ts`), and
// mentions of a folder the move emptied. Listed for a person to read; most are fine as they are.
const left = []
const after = dry ? new Map(changed.map((c) => [c.file, c.out])) : undefined
const gone = [...new Set(Object.keys(MAPPING).map((f) => posix.dirname(f)))].filter((d) => d !== 'src' && ![...tracked].some((f) => f.startsWith(`${d}/`) && !MAPPING[f]))
for (const file of files) {
  const to = dry ? file : MAPPING[file] ?? file
  const text = after?.get(file) ?? readFileSync(join(root, to), 'utf8')
  text.split('\n').forEach((line, i) => {
    for (const [a] of plan) {
      const tail = a.slice(4)
      const re = new RegExp(`(?<![\\w.-])(?<!src/)${tail.replace(/[.]/g, '\\.')}(?![\\w-])`)
      if (tail.includes('/') && re.test(line)) left.push(`${to}:${i + 1}: names ${tail} without src/ (now ${MAPPING[a]})`)
    }
    // A sibling named bare (`the loop in watch.ts`) after it left the folder, or a loose file named bare.
    for (const [a, b] of plan) {
      const base = posix.basename(a)
      if (posix.dirname(file) !== posix.dirname(a) || posix.dirname(a) === posix.dirname(b) || file === a) continue
      if (new RegExp(`(?<![\\w./-])${base.replace(/[.]/g, '\\.')}(?![\\w-])`).test(line.replace(/(['"])\.\.?\/[^'"]*\1/g, ''))) left.push(`${to}:${i + 1}: names ${base}, now ${b}`)
    }
    for (const d of gone) if (new RegExp(`(?<![\\w.-])${d.replace(/[.]/g, '\\.')}/(?![\\w.-])`).test(line)) left.push(`${to}:${i + 1}: names ${d}/, which the move emptied`)
  })
}
if (left.length) console.log(`\nNot rewritten (read and fix by hand where it matters):\n${left.join('\n')}`)
if (!dry) console.log('\nNext: npx tsc --noEmit, the tests, then commit (the moves and rewrites are staged).')

function fail(message) {
  console.error(`scripts/layout.mjs: ${message}`)
  process.exit(1)
}
