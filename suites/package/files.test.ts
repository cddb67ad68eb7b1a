/**
 * What `npm pack` ships of recordings/: the simulator's baseline goldens, and nothing a `record`
 * or `proxy` run left in the checkout (a live proxy.json, a scenario's recording, the journal),
 * which would otherwise ship as goldens. Packed for real by npm, from a folder with this
 * package.json and such leftovers (no build: scripts are not run).
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDirs } from '../helpers/temp-dirs.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const { dir } = tempDirs('dw-files-')

describe("the package's files", () => {
  it('ship the sim-baseline goldens and not what record or proxy leave in recordings/meta', () => {
    const d = dir()
    copyFileSync(join(ROOT, 'package.json'), join(d, 'package.json'))
    const put = (rel: string) => {
      mkdirSync(join(d, rel, '..'), { recursive: true })
      writeFileSync(join(d, rel), '{}\n')
    }
    for (const f of ['recordings/meta/media.upload/sim-baseline.json', 'recordings/meta/media.upload/proxy.json', 'recordings/meta/media.retrieve-url/sim-media-chunked.json', 'recordings/meta/.journal/proxy.jsonl', 'recordings/meta/media.upload/live.json']) put(f)
    const out = execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: d, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    const files = (JSON.parse(out) as [{ files: { path: string }[] }])[0].files.map((f) => f.path).filter((p) => p.startsWith('recordings/'))
    expect(files).toEqual(['recordings/meta/media.upload/sim-baseline.json'])
  }, 60_000)
})
