/**
 * Writes the build-time validators precompiled.ts reads: ajv's standalone code for a constant
 * schema, under a first line naming what it was generated from. Run by scripts/build.mjs (and tests),
 * never at a command's start: it loads ajv's code generator.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { _, Ajv, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import standaloneModule from 'ajv/dist/standalone/index.js'
import { precompiledHeader, precompiledKey, type PrecompiledSpec } from './precompiled.ts'
import { inlineKey, packSchemasKey, QUICK, readSchemaFiles, WORDED } from './schemas.ts'
import { parseFile } from './parse.ts'
import type { ContractProblem } from '../util/errors.ts'

// Both are CommonJS with a default export; under NodeNext the default lands on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv, formats?: string[]) => Ajv
const standaloneCode = ((standaloneModule as unknown as { default?: unknown }).default ?? standaloneModule) as (ajv: Ajv, refs: Record<string, string> | ValidateFunction) => string

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
 * The build's module for a pack's schemas (both compilers' code, by file name) and its operations' inline
 * request schemas (by inlineKey), or undefined when any schema file has a problem or ajv warns about one:
 * those are compiled at run time, where they are reported. An inline schema that does not compile, warns,
 * or declares an $id (compiling it registers that id for the schemas after it) is left to run time too.
 */
export function packSchemasSource(packDir: string): string | undefined {
  const problems: ContractProblem[] = []
  const parsed = readSchemaFiles(join(packDir, 'schemas'), (p) => p, problems)
  if (problems.length > 0 || parsed.length === 0) return undefined
  // Operations' inline request schemas, in the order a load compiles them.
  const opDir = join(packDir, 'operations')
  const inline = (existsSync(opDir) ? readdirSync(opDir).filter((f) => /\.ya?ml$/.test(f)).sort() : [])
    .map((f) => (parseFile(join(opDir, f), f, []) ?.data as { request?: { body?: { schema?: unknown } } } | undefined)?.request?.body?.schema)
    .filter((s): s is object => !!s && typeof s === 'object' && !JSON.stringify(s).includes('"$id"'))
  const warned: unknown[] = []
  const logger = { log: () => {}, warn: (...a: unknown[]) => warned.push(a), error: (...a: unknown[]) => warned.push(a) }
  const formats = _`require("ajv-formats/dist/formats").fullFormats`
  const wrap = (code: string) => `(function () {\nvar module = { exports: {} };\n(function (module, exports) {\n${code}\n})(module, module.exports);\nreturn module.exports;\n})()`
  const parts: string[] = []
  const inlineCode = new Map<string, Record<'worded' | 'quick', string>>()
  const failed = new Set<string>()
  for (const [kind, options] of [['worded', WORDED], ['quick', QUICK]] as const) {
    const ajv = addFormats(new Ajv({ ...options, logger, code: { ...options.code, source: true, formats } }))
    try {
      for (const s of parsed) ajv.addSchema(structuredClone(s.schema))
      for (const s of parsed) ajv.getSchema(s.schema.$id as string)
      parts.push(`var ${kind} = ${wrap(standaloneCode(ajv, Object.fromEntries(parsed.map((s) => [s.name, s.schema.$id as string]))))};\n`)
    } catch {
      return undefined
    }
    if (warned.length > 0) return undefined
    for (const schema of inline) {
      const key = inlineKey(schema)
      try {
        const { $id: _id, ...rest } = structuredClone(schema) as Record<string, unknown>
        const code = standaloneCode(ajv, ajv.compile(rest))
        if (warned.length > 0) throw new Error('warned')
        inlineCode.set(key, { ...(inlineCode.get(key) ?? { worded: '', quick: '' }), [kind]: code })
      } catch {
        warned.length = 0
        failed.add(key)
      }
    }
  }
  const entries = [...inlineCode].filter(([key, c]) => !failed.has(key) && c.worded && c.quick).map(([key, c]) => `${JSON.stringify(key)}: { worded: ${wrap(c.worded)}, quick: ${wrap(c.quick)} }`)
  const code = `${parts.join('')}module.exports = { worded: worded, quick: quick, inline: {\n${entries.join(',\n')}\n} };\n`
  return precompiledHeader(packSchemasKey(parsed), code) + code
}
