/**
 * Writes the build-time validators precompiled.ts reads: ajv's standalone code for a constant
 * schema, under a first line naming what it was generated from. Run by scripts/build.mjs (and tests),
 * never at a command's start: it loads ajv's code generator.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { _, Ajv } from 'ajv'
import addFormatsModule from 'ajv-formats'
import standaloneModule from 'ajv/dist/standalone/index.js'
import { precompiledHeader, precompiledKey, type PrecompiledSpec } from './precompiled.ts'
import { packSchemasKey, QUICK, readSchemaFiles, WORDED } from './schemas.ts'
import type { ContractProblem } from '../util/errors.ts'

// Both are CommonJS with a default export; under NodeNext the default lands on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv, formats?: string[]) => Ajv
const standaloneCode = ((standaloneModule as unknown as { default?: unknown }).default ?? standaloneModule) as (ajv: Ajv, refs: Record<string, string>) => string

/** The generated module's text for `spec` (exports `validate`), first line included. */
export function precompiledSource(spec: PrecompiledSpec): string {
  const ajv = new Ajv({ ...spec.options, code: { ...spec.options.code, source: true, formats: _`require("ajv-formats/dist/formats").fullFormats` } })
  if (spec.formats === 'all') addFormats(ajv)
  else if (spec.formats) addFormats(ajv, [...spec.formats])
  // A schema the instance has already (a meta-schema) is generated as ajv compiles it, under its own id.
  const id = (spec.schema as { $id?: unknown }).$id
  const known = typeof id === 'string' && ajv.getSchema(id) !== undefined
  if (!known) ajv.addSchema(spec.schema, 'validate')
  const code = standaloneCode(ajv, { validate: known ? id : 'validate' })
  return precompiledHeader(precompiledKey(spec), code) + code
}

/** Writes `spec`'s module into `dir` as `<name>.cjs`. */
export function writePrecompiled(spec: PrecompiledSpec, dir: string): void {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, `${spec.name}.cjs`), precompiledSource(spec))
}

/**
 * The build's module for the schemas in `dir` (both compilers' code, by file name), or undefined when
 * any file has a problem or ajv warns about one: those are compiled at run time, where they are reported.
 */
export function packSchemasSource(dir: string): string | undefined {
  const problems: ContractProblem[] = []
  const parsed = readSchemaFiles(dir, (p) => p, problems)
  if (problems.length > 0 || parsed.length === 0) return undefined
  const warned: unknown[] = []
  const logger = { log: () => {}, warn: (...a: unknown[]) => warned.push(a), error: (...a: unknown[]) => warned.push(a) }
  const formats = _`require("ajv-formats/dist/formats").fullFormats`
  const modules: string[] = []
  try {
    for (const [kind, options] of [['worded', WORDED], ['quick', QUICK]] as const) {
      const ajv = addFormats(new Ajv({ ...options, logger, code: { ...options.code, source: true, formats } }))
      for (const s of parsed) ajv.addSchema(structuredClone(s.schema))
      for (const s of parsed) ajv.getSchema(s.schema.$id as string)
      const code = standaloneCode(ajv, Object.fromEntries(parsed.map((s) => [s.name, s.schema.$id as string])))
      modules.push(`var ${kind} = { exports: {} };\n(function (module, exports) {\n${code}\n})(${kind}, ${kind}.exports);\n`)
    }
  } catch {
    return undefined
  }
  if (warned.length > 0) return undefined
  const code = `${modules.join('')}module.exports = { worded: worded.exports, quick: quick.exports };\n`
  return precompiledHeader(packSchemasKey(parsed), code) + code
}
