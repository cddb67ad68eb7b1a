/**
 * Validators generated at build time for schemas that are constants of the source (the contract file
 * schemas, report.json's, a recording's, the JSON Schema meta-schema) and for the shipped pack's own
 * (schemas.ts): compiling them is ajv's code generator running cold, tens of milliseconds each at a
 * run's start. scripts/build.mjs writes ajv's standalone code for each to dist/precompiled/ (see
 * precompile.ts); from src/ (tests, tsx) there are none and the caller compiles, as it always did.
 *
 * A generated file is used only when its first line names the key of what is asked for now (the
 * schema, the ajv options and formats, ajv's version) and the checksum of the code under it: a file
 * left from another schema or another ajv, or damaged, is never used, and the answer is the compiled one.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Ajv, Options, ValidateFunction } from 'ajv'

/** A constant schema and the options it is compiled with, named for its file under dist/precompiled/. */
export interface PrecompiledSpec {
  name: string
  schema: object
  /** ajv's options (the standalone code is generated with these, plus code.source). */
  options: Options
  /** ajv-formats' formats the schema uses (full mode); `all`: every format and its keywords, as `addFormats(ajv)`. */
  formats?: readonly string[] | 'all'
}

const require = createRequire(import.meta.url)

/** Where the build writes them: dist/precompiled/ (src/precompiled/ never exists). */
export const PRECOMPILED_DIR = fileURLToPath(new URL('../precompiled/', import.meta.url))

let installedAjv: string | undefined

/** What a generated validator is valid for: the generator and libraries (see generatedBy), the options and formats, the schema. */
export function precompiledKey(spec: PrecompiledSpec): string {
  return createHash('sha256')
    .update(keyJson([generatedBy(), spec.options, spec.formats ?? [], spec.schema]))
    .digest('hex')
}

/**
 * JSON for a key, one text for one value: JSON.stringify writes NaN and ±Infinity as null and -0 as 0
 * (a YAML-read schema can hold them), so two schemas that ajv compiles differently would share a key.
 * Those numbers are written tagged, and a string that starts with the tag is escaped.
 */
export function keyJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return `\u0001n:${Object.is(v, -0) ? '-0' : String(v)}`
    if (typeof v === 'string' && v.startsWith('\u0001')) return `\u0001s:${v}`
    return v
  })
}

let generator: string | undefined

/**
 * What generated code depends on besides its schema and options: ajv's version, ajv-formats' (the
 * code calls formats in the shape that release gives them) and driftwatch's (the generator itself).
 */
export function generatedBy(): string {
  return (generator ??= [ajvVersion(), versionOf('ajv-formats/package.json'), versionOf('../../package.json')].join(' '))
}

function versionOf(packageJson: string): string {
  try {
    return (require(packageJson) as { version?: string }).version ?? '?'
  } catch {
    return '?'
  }
}

/** The first line of a generated file: its key and the checksum of the code after that line. */
export function precompiledHeader(key: string, code: string): string {
  return `// driftwatch-precompiled ${key} ${createHash('sha256').update(code).digest('hex')}\n`
}

/** The validator generated for `spec`, when there is one for exactly it and intact; otherwise undefined (compile it). */
export function precompiled(spec: PrecompiledSpec, dir: string = PRECOMPILED_DIR): ValidateFunction | undefined {
  const m = precompiledModule(`${spec.name}.cjs`, precompiledKey(spec), dir) as { validate?: unknown } | undefined
  return typeof m?.validate === 'function' ? (m.validate as ValidateFunction) : undefined
}

/** The exports of the generated module `name` in `dir` when its first line names `key` and its code is intact; otherwise undefined. */
export function precompiledModule(name: string, key: string, dir: string = PRECOMPILED_DIR): unknown {
  const file = join(dir, name)
  if (!existsSync(file)) return undefined
  try {
    const text = readFileSync(file, 'utf8')
    const nl = text.indexOf('\n')
    if (nl < 0 || text.slice(0, nl + 1) !== precompiledHeader(key, text.slice(nl + 1))) return undefined
    // The text just checked is what runs (as ajv runs what it compiles), its requires (ajv's runtime helpers,
    // ajv-formats) resolved from here wherever the file is.
    const m = { exports: {} as unknown }
    new Function('module', 'exports', 'require', text.slice(nl + 1))(m, m.exports, require)
    return m.exports
  } catch {
    return undefined
  }
}

/** ajv's version, for keys of generated code. */
export function ajvVersion(): string {
  return (installedAjv ??= (require('ajv/package.json') as { version: string }).version)
}

/** ajv and ajv-formats, as the fallbacks compile with them. */
export interface AjvLibrary {
  Ajv: typeof Ajv
  /** ajv-formats: every format and its keywords, or the formats named. */
  addFormats: (ajv: Ajv, formats?: string[]) => Ajv
}

let library: AjvLibrary | undefined

/**
 * ajv itself, loaded on first compile: where every schema a run meets was generated at build time,
 * ajv's compiler (~55 ms to load) is never loaded. The generated code needs only ajv's small runtime helpers.
 */
export function ajvLibrary(): AjvLibrary {
  if (!library) {
    const { Ajv } = require('ajv') as { Ajv: typeof import('ajv').Ajv }
    // ajv-formats is CommonJS with a default export.
    const formats = require('ajv-formats') as { default?: AjvLibrary['addFormats'] } & AjvLibrary['addFormats']
    library = { Ajv, addFormats: formats.default ?? formats }
  }
  return library
}
