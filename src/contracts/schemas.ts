/**
 * The pack's JSON Schemas: body schemas from `schemas/*.json` and operations' inline request body
 * schemas, compiled once by ajv at load (a broken schema fails the load, not the fifth probe).
 * `fields=` projections of a body schema are compiled on first use and kept. The shipped pack's
 * schemas are compiled at build time instead (scripts/build.mjs): the same validators, used only for
 * exactly the files they were made from, and ajv's compiler is loaded only if something is left to compile.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv'
import type { ContractProblem } from '../util/errors.ts'
import { HarnessError } from '../util/errors.ts'
import { IdentityMemo } from '../util/identity-memo.ts'
import { MAX_JSON_DEPTH, valueDepth } from '../util/json.ts'
import { parseFields, projectSchema } from '../graph/index.ts'
import { parseFile, pointerSegments } from './parse.ts'
import { pinsOf, ruledOutByPins, type Pin } from './pins.ts'
import { ajvLibrary, generatedBy, keyJson, precompiled, precompiledModule, PRECOMPILED_DIR, type PrecompiledSpec } from './precompiled.ts'
import type { SchemaViolation } from './types.ts'

const SCHEMA_BASE = 'https://driftwatch.invalid/schemas/'

/** The options of the compiler that words violations (and checks each schema against the meta-schema). */
export const WORDED: Options = { allErrors: true, strict: false, verbose: true, code: { optimize: false } }

/** JSON Schema draft-07, the meta-schema every pack schema is checked against (ajv's own copy). */
const META_ID = 'http://json-schema.org/draft-07/schema'
const META_SCHEMA = createRequire(import.meta.url)('ajv/dist/refs/json-schema-draft-07.json') as object

/** The meta-schema's validator as ajv compiles it for the worded compiler, generated at build time (precompiled.ts). */
export const PRECOMPILED: readonly PrecompiledSpec[] = [{ name: 'json-schema-draft-07', schema: META_SCHEMA, options: WORDED, formats: 'all' }]

/**
 * Gives `ajv` the build-time meta-schema validator, so checking a pack's schemas does not first compile
 * the meta-schema (~90 ms cold). ajv validates a schema with whatever validator its meta-schema entry holds
 * and compiles one only when it holds none; the generated one is ajv's own code for the same options, so
 * a schema it refuses is refused in the same words. Without one (src/, another ajv), ajv compiles it as always.
 */
export function useBuiltMetaSchema(ajv: Ajv, dir: string = PRECOMPILED_DIR): boolean {
  const entry = (ajv as unknown as { schemas: Record<string, { schema?: unknown; validate?: unknown } | undefined> }).schemas[META_ID]
  if (!entry || entry.validate !== undefined || entry.schema !== META_SCHEMA) return false
  const v = precompiled(PRECOMPILED[0]!, dir)
  if (v) entry.validate = v
  return v !== undefined
}

/** The quick compiler's options: yes or no, stopping at the first violation (attribution tries many candidates). */
export const QUICK: Options = { allErrors: false, strict: false, validateSchema: false, code: { optimize: false } }

/** The file the build writes the shipped pack's schema validators to (dist/precompiled/). */
export const PACK_SCHEMAS_FILE = 'pack-schemas.cjs'

/** A pack's schema file, parsed, its $id set. */
export interface SchemaFile {
  name: string
  file: string
  schema: Record<string, unknown>
}

/** What a pack's generated validators are valid for: ajv, both compilers' options, and every schema file as loaded. */
export function packSchemasKey(parsed: readonly SchemaFile[]): string {
  return createHash('sha256')
    .update(keyJson(['pack-schemas', generatedBy(), WORDED, QUICK, parsed.map((s) => [s.name, s.schema])]))
    .digest('hex')
}

/** Both compilers' validators of each schema file, and of operations' inline request schemas (by inlineKey), generated at build time. */
export interface BuiltPackSchemas {
  worded: Record<string, ValidateFunction>
  quick: Record<string, ValidateFunction>
  inline?: Record<string, { worded?: unknown; quick?: unknown } | undefined>
}

/** An inline schema's entry in the build's module: its JSON (the module's key covers the pack's files it may refer to). */
export function inlineKey(schema: object): string {
  return createHash('sha256').update(keyJson(schema)).digest('hex')
}

/**
 * The build-time validators of exactly these schema files (the shipped pack's, when none was changed),
 * or undefined: compiling a pack's schemas was ~60 ms of a start. The build generated them only for
 * files that all load and compile without a problem or a warning, as ajv compiles them here.
 */
export function builtPackSchemas(parsed: readonly SchemaFile[], dir: string = PRECOMPILED_DIR): BuiltPackSchemas | undefined {
  if (parsed.length === 0) return undefined
  const m = precompiledModule(PACK_SCHEMAS_FILE, packSchemasKey(parsed), dir) as Partial<BuiltPackSchemas> | undefined
  if (!m?.worded || !m.quick) return undefined
  for (const s of parsed) if (typeof m.worded[s.name] !== 'function' || typeof m.quick[s.name] !== 'function') return undefined
  return m as BuiltPackSchemas
}

/** Reads and parses every `*.json` in `dir` (problems pushed), each given its default $id. */
export function readSchemaFiles(dir: string, rel: (p: string) => string, problems: ContractProblem[]): SchemaFile[] {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : []
  const parsed: SchemaFile[] = []
  for (const name of files) {
    const abs = join(dir, name)
    const p = parseFile(abs, rel(abs), problems, 'a JSON Schema object')
    if (!p) continue
    const schema = p.data as Record<string, unknown>
    if (typeof schema.$id !== 'string') schema.$id = `${SCHEMA_BASE}${name}`
    parsed.push({ name, file: rel(abs), schema })
  }
  return parsed
}

/** Compiled schemas by name. */
export interface SchemaRegistry {
  has(name: string): boolean
  names(): string[]
  /** Top-level property names a schema declares (an edge's `data[*]` item properties), or undefined. */
  properties(name: string): readonly string[] | undefined
  json(name: string): unknown
  validate(name: string, body: unknown): SchemaViolation[]
  /** Whether the body fits: validate() without its words, stopping at the first violation (attribution tries many candidates). */
  fits(name: string, body: unknown): boolean
  /** The key of `name` projected to a `fields=` value; `name` itself when the value does not parse. */
  project(name: string, fields: string): string
  /** Compiles an inline schema under `key`; a problem is pushed when it does not compile. */
  addInline(key: string, schema: object, problem: (message: string) => void): void
}

/** Deeper than any body is judged (ajv recurses with the data). */
function isTooDeep(body: object): boolean {
  return valueDepth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH
}

/** Loads and compiles every `*.json` in `dir` (`builtDir`: where the build's validators are, for tests). */
export function loadSchemas(dir: string, rel: (p: string) => string, problems: ContractProblem[], builtDir: string = PRECOMPILED_DIR): SchemaRegistry {
  const ids = new Map<string, string>()
  const validators = new Map<string, ValidateFunction>()
  const parsed = readSchemaFiles(dir, rel, problems)
  for (const s of parsed) ids.set(s.name, s.schema.$id as string)
  const built = builtPackSchemas(parsed, builtDir)
  // The worded compiler holds every file's schema (projections and inline schemas refer to them). Made at load,
  // where a schema it refuses is reported; for files the build compiled (all accepted), on the first compile.
  let ajv: Ajv | undefined
  const worded = (): Ajv => {
    if (ajv) return ajv
    const { Ajv, addFormats } = ajvLibrary()
    ajv = addFormats(new Ajv({ ...WORDED }))
    useBuiltMetaSchema(ajv, builtDir)
    for (const s of parsed) {
      try {
        ajv.addSchema(s.schema)
      } catch (err) {
        problems.push({ file: s.file, path: '', line: 1, column: 1, message: `not a valid JSON Schema: ${(err as Error).message}` })
      }
    }
    return ajv
  }
  if (!built) worded()
  for (const s of parsed) {
    if (built) {
      validators.set(s.name, built.worded[s.name]!)
      continue
    }
    try {
      const v = worded().getSchema(ids.get(s.name)!)
      if (v) validators.set(s.name, v)
    } catch (err) {
      problems.push({ file: s.file, path: '', line: 1, column: 1, message: `schema does not compile: ${(err as Error).message}` })
    }
  }
  // Files by name, and operations' inline request schemas by key (attribution reads what decides an operation from them).
  const byName = new Map<string, object>(parsed.map((s) => [s.name, s.schema]))
  const json = (name: string): unknown => byName.get(name)
  const compile = (schema: object, by: Ajv = worded()): ValidateFunction => {
    const { $id: _id, ...rest } = schema as Record<string, unknown>
    return by.compile(rest)
  }
  // ajv recurses with the data (and deep-compares for enum, const, uniqueItems): the depth is measured first, once per
  // body (attribution asks a send's fifteen candidates about the same one).
  // The last few bodies, not a WeakMap: one ephemeron per body slowed every scavenge (see IdentityMemo).
  const depths = new IdentityMemo<object, boolean>(8)
  const tooDeep = (body: unknown): boolean => body !== null && typeof body === 'object' && depths.get(body, isTooDeep)
  // Yes or no: a second compilation that stops at the first error and words nothing, made on first use of each schema.
  let quick: Ajv | undefined
  const quickValidators = new Map<string, ValidateFunction | null>(built ? parsed.map((s) => [s.name, built.quick[s.name]!]) : [])
  /** What each schema pins (see pins.ts), read on first use. */
  const pinsByName = new Map<string, Pin[]>()
  /** The schema object each inline or projected key was compiled from (the quick compiler compiles it again). */
  const sources = new Map<string, object>()
  const quickValidator = (name: string): ValidateFunction | undefined => {
    let v = quickValidators.get(name)
    if (v !== undefined) return v ?? undefined
    if (!quick) {
      // The same schemas the worded compiler already checked against the meta-schema: checking them again cost a
      // second meta-schema compilation (~100 ms of a verify run's start) and found nothing new.
      const { Ajv, addFormats } = ajvLibrary()
      quick = addFormats(new Ajv({ ...QUICK }))
      for (const p of parsed) if (validators.has(p.name)) quick.addSchema(p.schema)
    }
    try {
      const source = sources.get(name)
      v = source ? compile(source, quick) : ids.has(name) ? (quick.getSchema(ids.get(name)!) ?? null) : null
    } catch {
      v = null
    }
    quickValidators.set(name, v)
    return v ?? undefined
  }
  return {
    has: (name) => validators.has(name) || ids.has(name),
    names: () => [...ids.keys()],
    properties: (name) => {
      const props = (byName.get(name) as { properties?: Record<string, unknown> } | undefined)?.properties
      if (!props || typeof props !== 'object') return undefined
      const data = props.data as { items?: { properties?: object } } | undefined
      return data?.items?.properties ? Object.keys(data.items.properties) : Object.keys(props)
    },
    json,
    validate(name, body) {
      const v = validators.get(name)
      if (!v) throw new HarnessError('DW_SCHEMA_INVALID', `schema ${name} is not loaded`)
      if (tooDeep(body)) return [TOO_DEEP_VIOLATION]
      if (v(body)) return []
      return (v.errors ?? []).map(toViolation)
    },
    fits(name, body) {
      // A key the schema pins to other values (a send's `type`) answers no at once: most candidates of a send are ruled out so.
      let pins = pinsByName.get(name)
      if (pins === undefined) pinsByName.set(name, (pins = pinsOf(sources.get(name) ?? byName.get(name))))
      if (ruledOutByPins(pins, body)) return false
      const v = quickValidator(name)
      // A schema the quick compiler could not take is answered by the worded one.
      if (!v) return this.validate(name, body).length === 0
      if (tooDeep(body)) return false
      return v(body) as boolean
    },
    project(name, fields) {
      const key = `${name}#fields=${fields}`
      if (validators.has(key)) return key
      const selection = parseFields(fields)
      const schema = byName.get(name)
      if (!selection || !schema) return name
      const projected = projectSchema(schema, selection) as object
      validators.set(key, compile(projected))
      sources.set(key, projected)
      return key
    },
    addInline(key, schema, problem) {
      const b = built?.inline?.[inlineKey(schema)]
      if (typeof b?.worded === 'function' && typeof b.quick === 'function') {
        validators.set(key, b.worded as ValidateFunction)
        quickValidators.set(key, b.quick as ValidateFunction)
        byName.set(key, schema)
        sources.set(key, schema)
        return
      }
      try {
        validators.set(key, compile(schema))
        byName.set(key, schema)
        sources.set(key, schema)
      } catch (err) {
        problem(`not a valid JSON Schema: ${(err as Error).message}`)
      }
    },
  }
}

/** A body ajv was not given: too deep to validate, and certainly not what any schema describes. */
export const TOO_DEEP_VIOLATION: SchemaViolation = { path: '$', keyword: 'depth', message: `is nested deeper than ${MAX_JSON_DEPTH} levels: not checked against the schema` }

/** Turns an ajv instance path (`/data/0/file_size`) into a JSON path (`$.data[0].file_size`). */
export function toJsonPath(instancePath: string, extra?: string): string {
  const segs = pointerSegments(instancePath)
  if (extra !== undefined) segs.push(extra)
  return (
    '$' +
    segs
      .map((s) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`))
      .join('')
  )
}

function jsonType(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 60 ? `${s.slice(0, 60)}…` : s
}

function toViolation(e: ErrorObject): SchemaViolation {
  const v = violationOf(e)
  return e.schemaPath ? { ...v, schemaPath: e.schemaPath } : v
}

function violationOf(e: ErrorObject): SchemaViolation {
  switch (e.keyword) {
    case 'required':
      return { path: toJsonPath(e.instancePath, (e.params as { missingProperty: string }).missingProperty), keyword: 'required', message: 'is missing (required)' }
    case 'additionalProperties':
      return { path: toJsonPath(e.instancePath, (e.params as { additionalProperty: string }).additionalProperty), keyword: 'additionalProperties', message: 'is not allowed by the schema' }
    case 'type':
      return { path: toJsonPath(e.instancePath), keyword: 'type', message: `must be ${(e.params as { type: string }).type}, is ${jsonType(e.data)} ${short(e.data)}`, allowed: String((e.params as { type: string | string[] }).type).split(',').join(' or '), actual: jsonType(e.data) }
    case 'enum':
      return { path: toJsonPath(e.instancePath), keyword: 'enum', message: `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).map(short).join(', ')}, is ${short(e.data)}` }
    case 'const':
      return { path: toJsonPath(e.instancePath), keyword: 'const', message: `must be ${short((e.params as { allowedValue: unknown }).allowedValue)}, is ${short(e.data)}` }
    default:
      return { path: toJsonPath(e.instancePath), keyword: e.keyword, message: `${e.message ?? 'is invalid'}, is ${short(e.data)}` }
  }
}
