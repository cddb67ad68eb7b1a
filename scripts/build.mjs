#!/usr/bin/env node
// `npm run build` (and `prepack`, so `npm pack` always ships fresh JavaScript): src/ to dist/ as
// JavaScript and .d.ts (tsconfig.build.json; TypeScript rewrites the sources' `.ts` imports to
// `.js`), then the worker scripts. Those are plain .mjs that register tsx and import `.ts`
// siblings when run from src/; their dist/ copies import the compiled `.js` and load no
// TypeScript loader (the package has none). Anything else left pointing at TypeScript fails the build.
// Last, dist/precompiled/: what every run would otherwise compile or parse at its start (constant
// schemas, the shipped pack's schemas and files), each used at run time only for exactly what it was made from.
//
// dist/.built is written last and removed first: bin/driftwatch.js runs dist/ in a checkout only
// when that stamp is newer than every file under src/, so a build that failed or is running is never used.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'

const root = join(import.meta.dirname, '..')
const src = join(root, 'src')
const dist = join(root, 'dist')
const started = Date.now()

rmSync(dist, { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root })

const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))

/** A worker's source with the tsx registration dropped and its relative `.ts` imports made `.js`; throws when it is not shaped as expected. */
function compiledWorker(text, name) {
  let out = text.replace(/^import \{ register \} from 'tsx\/esm\/api'\n+register\(\)\n/m, '')
  out = out.replace(/(['"])(\.\.?\/[^'"\n]+)\.ts\1/g, '$1$2.js$1')
  const left = /from\s+['"]tsx|import\(\s*['"]tsx|\bregister\(\)|(['"])\.\.?\/[^'"\n]+\.ts\1/.exec(out)
  if (left) throw new Error(`${name}: still needs TypeScript after the build (${left[0]}); scripts/build.mjs knows only "import { register } from 'tsx/esm/api'" + "register()" and relative .ts imports`)
  return `// Built from src/${name} by scripts/build.mjs: no TypeScript loader, compiled .js imports.\n${out}`
}

for (const file of walk(src).filter((f) => f.endsWith('.mjs'))) {
  const rel = relative(src, file)
  mkdirSync(dirname(join(dist, rel)), { recursive: true })
  writeFileSync(join(dist, rel), compiledWorker(readFileSync(file, 'utf8'), rel))
}

// Validators of the source's constant schemas, generated now rather than compiled at every run's start
// (src/contracts/precompiled.ts: each is used only for exactly the schema, options and ajv it was made from).
const { writePrecompiled } = await import(pathToFileURL(join(dist, 'contracts/precompile.js')).href)
for (const mod of ['contracts/load.js', 'contracts/schemas.js', 'model/report-schema.js', 'recordings/recording-shape.js']) {
  const { PRECOMPILED } = await import(pathToFileURL(join(dist, mod)).href)
  if (!Array.isArray(PRECOMPILED) || PRECOMPILED.length === 0) throw new Error(`dist/${mod} exports no PRECOMPILED specs`)
  for (const spec of PRECOMPILED) writePrecompiled(spec, join(dist, 'precompiled'))
}

// The shipped pack's schemas and inline request schemas compiled now, both compilers (src/contracts/schemas.ts: used only for exactly these files).
const { packSchemasSource } = await import(pathToFileURL(join(dist, 'contracts/precompile.js')).href)
const { PACK_SCHEMAS_FILE } = await import(pathToFileURL(join(dist, 'contracts/schemas.js')).href)
const packSchemas = packSchemasSource(join(root, 'contracts/meta'))
if (!packSchemas) throw new Error('contracts/meta/schemas: a schema has a problem or ajv warns about one; the build generates validators only for a pack that loads cleanly')
writeFileSync(join(dist, 'precompiled', PACK_SCHEMAS_FILE), packSchemas)

// The shipped pack's files parsed now (src/contracts/parse.ts: a file's entry is used only for its exact text).
const { PREBUILT_FILE, prebuiltParses } = await import(pathToFileURL(join(dist, 'contracts/parse.js')).href)
const packFiles = walk(join(root, 'contracts/meta')).filter((f) => /\.(ya?ml|json)$/.test(f) && !relative(root, f).split('/').some((s) => s.startsWith('.')))
writeFileSync(join(dist, 'precompiled', PREBUILT_FILE), prebuiltParses(packFiles.map((f) => readFileSync(f, 'utf8'))))

// Nothing in dist/ may still reach for TypeScript at run time.
for (const file of walk(dist).filter((f) => /\.m?js$/.test(f))) {
  const m = /from\s+['"]tsx|import\(\s*['"]tsx|(['"])\.\.?\/[^'"\n]+\.ts\1/.exec(readFileSync(file, 'utf8'))
  if (m) throw new Error(`${relative(root, file)} still imports TypeScript (${m[0]})`)
}
writeFileSync(join(dist, '.built'), `${started}\n`)
