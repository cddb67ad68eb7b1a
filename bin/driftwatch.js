#!/usr/bin/env node
// Entry point. Installed from the package there is no src/: it runs the compiled dist/, no
// TypeScript loader. In a checkout (src/ next to bin/) it runs dist/ only when `npm run build`
// finished after the last change to any file or folder under src/ (dist/.built, written last by
// scripts/build.mjs); otherwise it registers tsx and runs the sources, so a stale build is never
// what runs. The exit code is set, not forced, so report files and stdout finish flushing first.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const at = (p) => fileURLToPath(new URL(p, import.meta.url))

/** Whether dist/ was built after everything under `dir` last changed (a deleted file changes its folder). */
function builtAfter(dir, stamp) {
  if (statSync(dir).mtimeMs > stamp) return false
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`
    if (e.isDirectory() ? !builtAfter(p, stamp) : statSync(p).mtimeMs > stamp) return false
  }
  return true
}

function useDist() {
  if (!existsSync(at('../src/cli/index.ts'))) return true
  const stamp = at('../dist/.built')
  if (!existsSync(stamp)) return false
  return builtAfter(at('../src'), Number(readFileSync(stamp, 'utf8')))
}

let cli
if (useDist()) cli = await import('../dist/cli/index.js')
else {
  const { register } = await import('tsx/esm/api')
  register()
  cli = await import('../src/cli/index.ts')
}
process.exitCode = await cli.runFromProcess()
