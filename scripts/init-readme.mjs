#!/usr/bin/env node
// Rewrites the README's "CI workflows to copy" blocks (<!-- init: <path> --> then a yaml fence) with
// what `driftwatch init` writes today; suites/workflows.test.ts fails until this is run after a change.
// Run: npx tsx scripts/init-readme.mjs
import { readFileSync, writeFileSync } from 'node:fs'
import { INIT_FILES } from '../src/commands/init.ts'

let readme = readFileSync('README.md', 'utf8')
let n = 0
for (const [path, text] of Object.entries(INIT_FILES)) {
  const marker = `<!-- init: ${path} -->\n\`\`\`yaml\n`
  const at = readme.indexOf(marker)
  if (at < 0) continue
  const start = at + marker.length
  const end = readme.indexOf('```\n', start)
  readme = readme.slice(0, start) + text + readme.slice(end)
  n++
}
writeFileSync('README.md', readme)
console.log(`README: ${n} init blocks written`)
