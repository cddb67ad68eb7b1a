/**
 * bin/driftwatch.js picks what it runs: the compiled dist/ where there is no src/ (the installed
 * package), and in a checkout dist/ only when `npm run build` finished after the last change under
 * src/ (dist/.built); else tsx on the sources, so a stale build never runs. Tried on a copy of the
 * bin next to a stand-in src/ and dist/ that say which one ran.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { tempDirs } from './helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..')
const tmp = tempDirs('dw-bin-')
let dir: string

const FILES = {
  'src/cli/index.ts': "export async function runFromProcess(): Promise<number> { console.log('src'); return 3 }\n",
  'src/sub/x.ts': 'export const x = 1\n',
  'dist/cli/index.js': "export async function runFromProcess() { console.log('dist'); return 3 }\n",
}

const run = () => spawnSync(process.execPath, [join(dir, 'bin/driftwatch.js')], { encoding: 'utf8' })

/** Every file and folder under src/ last changed a minute ago; the build stamp says when dist/ was built. */
function builtAt(ageMs: number | undefined): void {
  const past = new Date(Date.now() - 60_000)
  // Walked rather than listed, so the stand-in follows wherever scripts/layout.mjs puts the CLI's entry.
  for (const p of [...readdirSync(join(dir, 'src'), { recursive: true, encoding: 'utf8' }), '.']) utimesSync(join(dir, 'src', p), past, past)
  if (ageMs === undefined) rmSync(join(dir, 'dist/.built'), { force: true })
  else writeFileSync(join(dir, 'dist/.built'), `${Date.now() - ageMs}\n`)
}

beforeEach(() => {
  dir = tmp.dir()
  for (const d of ['bin', 'src/sub', 'dist', ...Object.keys(FILES).map(dirname)]) mkdirSync(join(dir, d), { recursive: true })
  copyFileSync(join(ROOT, 'bin/driftwatch.js'), join(dir, 'bin/driftwatch.js'))
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n')
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  for (const [f, text] of Object.entries(FILES)) writeFileSync(join(dir, f), text)
})

describe('bin/driftwatch.js', () => {
  it('installed (no src/): runs dist/, and its exit code is the CLI\'s', () => {
    rmSync(join(dir, 'src'), { recursive: true })
    const r = run()
    expect(r.stdout.trim(), r.stderr).toBe('dist')
    expect(r.status).toBe(3)
  })

  it('in a checkout never built (no dist/.built): runs the sources with tsx', () => {
    builtAt(undefined)
    expect(run().stdout.trim()).toBe('src')
  })

  it('in a checkout built after the last change: runs dist/', () => {
    builtAt(30_000)
    expect(run().stdout.trim()).toBe('dist')
  })

  it('a source edited after the build: the sources, not the stale build', () => {
    builtAt(30_000)
    writeFileSync(join(dir, 'src/sub/x.ts'), 'export const x = 2\n')
    expect(run().stdout.trim()).toBe('src')
  })

  it('a source deleted after the build (its folder changed): the sources', () => {
    builtAt(30_000)
    unlinkSync(join(dir, 'src/sub/x.ts'))
    expect(run().stdout.trim()).toBe('src')
  })
})
