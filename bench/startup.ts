/**
 * Start-up from the installed package (issue 20 item 1: `driftwatch --help` within 3x bare Node's
 * start-up). The checkout is packed and the tarball installed into an empty folder (or
 * BENCH_STARTUP_APP names a folder where it is installed already: npm install takes minutes), then
 * bare `node -e 0`, `driftwatch --help` and `driftwatch check --help` run in interleaved rounds
 * (BENCH_STARTUP_ROUNDS, default 21), each through node and the installed bin, as npx ends up
 * running it (npx's own start-up, several times Node's, is shown apart). Medians, and the ratios
 * next to the goal: the machine is noisy, so only ratios measured in one run mean anything.
 *
 *   npm run bench -- --only startup
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { installTarball, packCheckout } from '../suites/package/install.ts'

const GOAL = 3

function ms(args: string[], cwd: string, command = process.execPath): number {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PACT_DO_NOT_TRACK: 'true' } })
  const t = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return t
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export async function benchStartup(): Promise<void> {
  const root = join(import.meta.dirname, '..')
  let app = process.env.BENCH_STARTUP_APP
  let made: string | undefined
  if (!app) {
    made = mkdtempSync(join(tmpdir(), 'dw-bench-startup-'))
    const t0 = Date.now()
    const packed = packCheckout(root, made)
    app = join(made, 'app')
    installTarball(packed.tarball, app)
    console.log(`start-up: packed ${(packed.size / 1024).toFixed(0)} KB (${(packed.unpackedSize / 1024 / 1024).toFixed(1)} MB unpacked, ${packed.files.length} files), installed in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
  }
  try {
    const bin = join(app, 'node_modules/.bin/driftwatch')
    const rounds = Number(process.env.BENCH_STARTUP_ROUNDS ?? 21)
    const runs = { bare: [] as number[], help: [] as number[], checkHelp: [] as number[] }
    // One warm-up of each (the file system cache), not counted.
    ms(['-e', '0'], app)
    ms([bin, '--help'], app)
    ms([bin, 'check', '--help'], app)
    for (let i = 0; i < rounds; i++) {
      runs.bare.push(ms(['-e', '0'], app))
      runs.help.push(ms([bin, '--help'], app))
      runs.checkHelp.push(ms([bin, 'check', '--help'], app))
    }
    const npx = median([0, 1, 2].map(() => ms(['--no', '--', 'driftwatch', '--help'], app!, 'npx')))
    const bare = median(runs.bare)
    const line = (name: string, xs: number[]) => {
      const ratio = median(xs) / bare
      return `  ${name.padEnd(26)}: ${median(xs).toFixed(0).padStart(4)} ms  ${ratio.toFixed(1)}x bare node (goal within ${GOAL}x: ${ratio <= GOAL ? 'met' : 'NOT met'})`
    }
    console.log(`start-up from the installed tarball (${rounds} interleaved rounds, medians; Node ${process.version})`)
    console.log(`  ${'bare node (node -e 0)'.padEnd(26)}: ${bare.toFixed(0).padStart(4)} ms`)
    console.log(line('driftwatch --help', runs.help))
    console.log(line('driftwatch check --help', runs.checkHelp))
    console.log(`  ${'npx driftwatch --help'.padEnd(26)}: ${npx.toFixed(0).padStart(4)} ms  (npx's own start-up included; not driftwatch's to cut)`)
  } finally {
    if (made) rmSync(made, { recursive: true, force: true })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await benchStartup()
