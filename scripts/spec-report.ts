/**
 * Regenerates README.md's "Where Meta's spec and Meta's API disagree" section from the spec and the
 * recordings (npm run spec-report). `--check` exits 1 when the README is stale instead of writing.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { README_MARKERS, renderDisagreements, specVsTraffic } from '../src/commands/spec-vs-traffic.ts'

const root = join(import.meta.dirname, '..')
const spec = join(root, 'specs', 'meta', 'business-messaging-api_v23.0.yaml')
const recordings = join(root, 'recordings', 'meta')
const rows = await specVsTraffic({ spec, recordingsDir: recordings, cwd: root })
const section = renderDisagreements(rows, spec, recordings, root)
const readmePath = join(root, 'README.md')
const readme = readFileSync(readmePath, 'utf8')
const [start, end] = README_MARKERS
const i = readme.indexOf(start)
const j = readme.indexOf(end)
if (i < 0 || j < i) {
  console.error(`README.md has no ${start} ... ${end} markers; add them where the section belongs.`)
  process.exit(2)
}
const next = `${readme.slice(0, i + start.length)}\n${section}\n${readme.slice(j)}`
if (process.argv.includes('--check')) {
  if (next !== readme) {
    console.error('README.md\'s spec-vs-traffic section is stale: run npm run spec-report')
    process.exit(1)
  }
  console.log('README.md spec-vs-traffic section is up to date')
} else {
  writeFileSync(readmePath, next)
  console.log(section)
}
