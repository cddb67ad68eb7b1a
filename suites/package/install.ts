/**
 * The package as a user gets it: `npm pack` of this checkout (prepack builds dist/ first), installed
 * into an empty folder with npm. Shared by suites/package/tarball.test.ts and bench/startup.ts.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** One file of `npm pack --json`'s listing. */
export interface PackedFile {
  path: string
  size: number
}

export interface Packed {
  tarball: string
  /** Bytes of the .tgz, and of what it unpacks to. */
  size: number
  unpackedSize: number
  files: PackedFile[]
}

/** Packs the checkout at `root` into `dest` (prepack runs the build). */
export function packCheckout(root: string, dest: string): Packed {
  const out = execFileSync(npm, ['pack', '--json', '--pack-destination', dest], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 })
  // prepack's own output (the build) may come first on stdout: the listing is the JSON array at the end.
  const [info] = JSON.parse(out.slice(out.lastIndexOf('\n[') + 1)) as [{ filename: string; size: number; unpackedSize: number; files: PackedFile[] }]
  return { tarball: join(dest, info.filename), size: info.size, unpackedSize: info.unpackedSize, files: info.files }
}

/** An application's folder, `app`, with only the tarball installed (from npm's cache where it can). */
export function installTarball(tarball: string, app: string): void {
  mkdirSync(app, { recursive: true })
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'an-app', version: '1.0.0', private: true }, null, 2)}\n`)
  execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 1024 * 1024 })
}
