/**
 * Regenerates README.md's list of operations from contracts/meta/operations (npm run
 * operations-table). `--check` exits 1 when the README is stale instead of writing; a test does
 * the same, so the README never lists an operation that does not exist, or misses one.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadContracts } from '../src/contracts/load.ts'
import { operationRequestLine } from '../src/contracts/expectation.ts'
import { describeNode } from '../src/contracts/types.ts'

/** Markers around the generated list in README.md. */
export const OPERATIONS_MARKERS = ['<!-- operations:start (a test checks this list against contracts/meta/operations) -->', '<!-- operations:end -->'] as const

/** The README table of a pack's operations, grouped by what they act on. */
export function renderOperations(contractsDir: string, cwd: string): string {
  const pack = loadContracts(contractsDir, { cwd })
  // What tells an operation apart on a shared method and path: its required query (fields= it must include, hsm_id).
  const query = (op: (typeof pack.operations)[number]) => {
    const parts = Object.entries(op.request.query).filter(([, q]) => q.required).map(([k, q]) => (q.includes.length ? `${k}=${q.includes.join(',')}…` : `${k}=…`))
    return parts.length ? `?${parts.join('&')}` : ''
  }
  const rows = [...pack.operations].sort((a, b) => a.id.localeCompare(b.id)).map((op) => `| \`${op.id}\` | \`${operationRequestLine(op)}${query(op)}\` | ${describeNode(op.node)} | ${op.title} |`)
  return [`${pack.operations.length} operations:`, '', '| operation | request | node | what |', '|---|---|---|---|', ...rows].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = join(import.meta.dirname, '..')
  const readmePath = join(root, 'README.md')
  const readme = readFileSync(readmePath, 'utf8')
  const [start, end] = OPERATIONS_MARKERS
  const i = readme.indexOf(start)
  const j = readme.indexOf(end)
  if (i < 0 || j < i) {
    console.error(`README.md has no ${start} ... ${end} markers`)
    process.exit(2)
  }
  const next = `${readme.slice(0, i + start.length)}\n${renderOperations('contracts/meta', root)}\n${readme.slice(j)}`
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error("README.md's operations list is stale: run npm run operations-table")
      process.exit(1)
    }
    console.log("README.md's operations list is up to date")
  } else {
    writeFileSync(readmePath, next)
    console.log(renderOperations('contracts/meta', root))
  }
}
