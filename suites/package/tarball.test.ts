/**
 * The package as a user installs it (issue 20 item 1): this checkout packed with `npm pack`, the
 * tarball installed into an empty folder, and driftwatch run there as an application's repository
 * would: `--help`, `check`, `verify`, `gate`, `init`, and `import('driftwatch')` in plain Node.
 * Nothing of the checkout is on the way: no src/, no tsx (a devDependency, so the install has none),
 * no contracts/ or recordings/ in the folder (the ones the package ships are found).
 *
 * Slow (npm installs the dependencies; better-sqlite3 may compile): its own config and script,
 * `npm run test:package`, run by .ci/run as its own step and kept out of `npm test`.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { INIT_FILES } from '../../src/commands/init.ts'
import { tempDirs } from '../helpers/temp-dirs.ts'
import { installTarball, packCheckout, type Packed } from './install.ts'

const root = join(import.meta.dirname, '../..')
const tmp = tempDirs('dw-package-')
let packed: Packed
let app: string

/** The environment of a user's shell: no Meta credentials, no driftwatch variables, no CI. */
function env(): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^(WHATSAPP_|DRIFTWATCH_|GITHUB_|CI$|NODE_OPTIONS$)/.test(k)) out[k] = v
  return { ...out, PACT_DO_NOT_TRACK: 'true' }
}

/** `npx driftwatch <args>` in the application's folder (npx finds the installed bin; --no: never download one; after --, npx takes no option for itself). */
function driftwatch(args: string[], extra: NodeJS.ProcessEnv = {}) {
  const r = spawnSync('npx', ['--no', '--', 'driftwatch', ...args], { cwd: app, env: { ...env(), ...extra }, encoding: 'utf8', timeout: 120_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, text: `${r.stdout}\n${r.stderr}` }
}

const json = (file: string) => JSON.parse(readFileSync(join(app, file), 'utf8')) as Record<string, unknown>

beforeAll(() => {
  const dir = tmp.dir()
  packed = packCheckout(root, dir)
  app = join(dir, 'an-app')
  installTarball(packed.tarball, app)
}, 15 * 60_000)

describe('the tarball', () => {
  it('holds compiled JavaScript with its types, the bin, the Meta pack and the golden recordings, and no TypeScript source', () => {
    const paths = packed.files.map((f) => f.path)
    for (const f of ['package.json', 'bin/driftwatch.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/index.js', 'dist/cli/main.js', 'dist/traffic/har-worker.mjs', 'dist/traffic/cassette-worker.mjs', 'dist/proxy/observer-worker.mjs', 'dist/gate/pact-verifier-worker.mjs', 'recordings/meta/media.upload/sim-baseline.json']) expect(paths, f).toContain(f)
    for (const dir of ['contracts/meta/operations/', 'contracts/meta/schemas/', 'contracts/meta/webhooks/']) expect(paths.some((p) => p.startsWith(dir)), dir).toBe(true)
    expect(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([])
    expect(paths.filter((p) => /^(src|suites|bench|scripts|browser)\//.test(p) || p.includes('.journal/') || p === 'dist/.built')).toEqual([])
  })

  it('declares exports that exist, and needs no TypeScript loader: tsx is not installed with it', () => {
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules/driftwatch/package.json'), 'utf8')) as { exports: Record<string, { types: string; import: string }>; dependencies: Record<string, string>; private?: boolean }
    expect(pkg.private).toBeUndefined()
    for (const target of Object.values(pkg.exports['.']!)) expect(existsSync(join(app, 'node_modules/driftwatch', target)), target).toBe(true)
    expect(pkg.dependencies.tsx).toBeUndefined()
    expect(existsSync(join(app, 'node_modules/tsx'))).toBe(false)
    // Every worker a command starts imports compiled siblings that are there.
    for (const w of ['traffic/har-worker.mjs', 'traffic/cassette-worker.mjs', 'proxy/observer-worker.mjs']) {
      const text = readFileSync(join(app, 'node_modules/driftwatch/dist', w), 'utf8')
      const imports = [...text.matchAll(/import\('(\.[^']+)'\)/g)].map((m) => m[1]!)
      expect(imports.length, w).toBeGreaterThan(0)
      for (const i of imports) expect(existsSync(join(app, 'node_modules/driftwatch/dist', w, '..', i)), `${w} imports ${i}`).toBe(true)
    }
  })
})

describe('driftwatch installed in an application repository', () => {
  it('--help answers, and --version is the package version', () => {
    const r = driftwatch(['--help'])
    expect(r.code, r.text).toBe(0)
    expect(r.stdout).toContain('driftwatch check')
    expect(r.stdout).toContain('driftwatch init')
    expect(driftwatch(['--version']).stdout.trim()).toBe((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version)
  })

  it('check exits 0 against the simulator with the shipped pack and recordings, and writes its reports in the folder', () => {
    const r = driftwatch(['check'])
    expect(r.code, r.text).toBe(0)
    expect(r.text).toContain('compared with golden recordings of 13 contracts')
    const report = json('reports/latest/report.json')
    expect(report.outcome).toBe('pass')
    for (const f of ['report.md', 'junit.xml']) expect(existsSync(join(app, 'reports/latest', f)), f).toBe(true)
  })

  it('check with a scenario that drifts exits 1 (the shipped pack catches it from the package too)', () => {
    const r = driftwatch(['check', '--scenario', 'media-chunked', '--out', 'reports/chunked', '--quiet'])
    expect(r.code, r.text).toBe(1)
    expect(json('reports/chunked/report.json').outcome).toBe('drift')
  })

  it('verify judges a HAR in the folder: the drift it holds exits 1', () => {
    copyFileSync(join(root, 'suites/verify/fixtures/meta-media.har'), join(app, 'traffic.har'))
    const r = driftwatch(['verify', 'traffic.har'])
    expect(r.code, r.text).toBe(1)
    const report = json('reports/verify/report.json') as { outcome: string; findings: { severity: string; contract: string }[] }
    expect(report.outcome).toBe('drift')
    expect(report.findings.some((f) => f.severity === 'breaking' && f.contract === 'media.retrieve-url')).toBe(true)
  })

  it('verify reads a large HAR in its worker thread, compiled: no TypeScript loader there either', async () => {
    const { writeLargeHar } = await import('../helpers/large-har.ts')
    await writeLargeHar(join(app, 'large.har'), { bytes: 9 * 1024 * 1024 })
    // From 8 MB, and asked for: read in the worker (src/traffic/read-har-thread.ts).
    expect(statSync(join(app, 'large.har')).size).toBeGreaterThanOrEqual(8 * 1024 * 1024)
    const r = driftwatch(['verify', 'large.har', '--out', 'reports/large', '--quiet'], { DRIFTWATCH_READ_THREAD: '1' })
    expect(r.code, r.text).toBe(0)
    expect(r.text).not.toContain('DW_INTERNAL')
    expect((json('reports/large/report.json') as { summary: { contracts: number } }).summary.contracts).toBeGreaterThan(0)
  })

  it('gate verifies the application\'s pacts against the shipped recordings: exit 0', () => {
    mkdirSync(join(app, 'pacts'), { recursive: true })
    for (const f of readdirSync(join(root, 'pacts')).filter((x) => x.endsWith('.json'))) copyFileSync(join(root, 'pacts', f), join(app, 'pacts', f))
    const r = driftwatch(['gate'])
    expect(r.code, r.text).toBe(0)
    expect(json('reports/gate/gate.json').outcome).toBe('pass')
  })

  it('init writes the config and the workflows, and check then reads that config and runs (on the simulator)', () => {
    const r = driftwatch(['init'])
    expect(r.code, r.text).toBe(0)
    for (const f of Object.keys(INIT_FILES)) expect(existsSync(join(app, f)), f).toBe(true)
    expect(readdirSync(join(app, '.github/workflows')).length).toBeGreaterThanOrEqual(3)
    const again = driftwatch(['check', '--target', 'sim', '--out', 'reports/after-init', '--quiet'])
    expect(again.code, again.text).toBe(0)
  })

  it("require('driftwatch') works too on a Node that loads ES modules with require (20.19 and later)", () => {
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
    const r = spawnSync(process.execPath, ['-e', "const m = require('driftwatch'); console.log(typeof m.loadContracts, typeof m.startSimulator)"], { cwd: app, env: env(), encoding: 'utf8', timeout: 60_000 })
    if (major > 20 || (major === 20 && minor >= 19)) {
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout.trim()).toBe('function function')
    } else expect(r.stderr).toMatch(/ERR_REQUIRE_ESM|require\(\) of ES Module/)
  })

  it("import('driftwatch') works in plain Node: the library loads the pack the package ships", () => {
    const script = "import('driftwatch').then(async (m) => { const pack = m.loadContracts('contracts/meta'); const sim = await m.startSimulator(); const r = await fetch(sim.url + '/v23.0/me'); const body = await r.json(); await sim.close(); console.log(JSON.stringify({ probes: pack.probes.length, operations: pack.operations.length, scenarios: m.scenarioNames().length, status: r.status, code: body.error.code })) })"
    const r = spawnSync(process.execPath, ['-e', script], { cwd: app, env: env(), encoding: 'utf8', timeout: 60_000 })
    expect(r.status, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { probes: number; operations: number; scenarios: number; status: number; code: number }
    expect(out.probes).toBe(13)
    expect(out.operations).toBeGreaterThan(0)
    expect(out.scenarios).toBeGreaterThan(1)
    // No token: the simulator answers as Meta does, 400 with error #104 (an access token is required).
    expect(out.status).toBe(400)
    expect(out.code).toBe(104)
  })
})
