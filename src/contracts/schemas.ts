/**
 * The pack's JSON Schemas: body schemas from `schemas/*.json` and operations' inline request body
 * schemas, compiled once by ajv at load (a broken schema fails the load, not the fifth probe).
 * `fields=` projections of a body schema are compiled on first use and kept.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { ContractProblem } from '../errors.ts'
import { HarnessError } from '../errors.ts'
import { MAX_JSON_DEPTH, valueDepth } from '../json.ts'
import { parseFields, projectSchema } from '../graph/index.ts'
import { parseFile, pointerSegments } from './parse.ts'
import type { SchemaViolation } from './types.ts'

// ajv-formats is CommonJS with a default export; under NodeNext the default lands on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv

const SCHEMA_BASE = 'https://driftwatch.invalid/schemas/'

/** Compiled schemas by name. */
export interface SchemaRegistry {
  has(name: string): boolean
  names(): string[]
  /** Top-level property names a schema declares (an edge's `data[*]` item properties), or undefined. */
  properties(name: string): readonly string[] | undefined
  json(name: string): unknown
  validate(name: string, body: unknown): SchemaViolation[]
  /** The key of `name` projected to a `fields=` value; `name` itself when the value does not parse. */
  project(name: string, fields: string): string
  /** Compiles an inline schema under `key`; a problem is pushed when it does not compile. */
  addInline(key: string, schema: object, problem: (message: string) => void): void
}

/** Loads and compiles every `*.json` in `dir`. */
export function loadSchemas(dir: string, rel: (p: string) => string, problems: ContractProblem[]): SchemaRegistry {
  const ajv = new Ajv({ allErrors: true, strict: false, verbose: true })
  addFormats(ajv)
  const ids = new Map<string, string>()
  const validators = new Map<string, ValidateFunction>()
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : []
  const parsed: { name: string; file: string; schema: Record<string, unknown> }[] = []
  for (const name of files) {
    const abs = join(dir, name)
    const p = parseFile(abs, rel(abs), problems, 'a JSON Schema object')
    if (!p) continue
    const schema = p.data as Record<string, unknown>
    if (typeof schema.$id !== 'string') schema.$id = `${SCHEMA_BASE}${name}`
    ids.set(name, schema.$id as string)
    parsed.push({ name, file: rel(abs), schema })
  }
  for (const s of parsed) {
    try {
      ajv.addSchema(s.schema)
    } catch (err) {
      problems.push({ file: s.file, path: '', line: 1, column: 1, message: `not a valid JSON Schema: ${(err as Error).message}` })
    }
  }
  for (const s of parsed) {
    try {
      const v = ajv.getSchema(ids.get(s.name)!)
      if (v) validators.set(s.name, v)
    } catch (err) {
      problems.push({ file: s.file, path: '', line: 1, column: 1, message: `schema does not compile: ${(err as Error).message}` })
    }
  }
  // Files by name, and operations' inline request schemas by key (attribution reads what decides an operation from them).
  const byName = new Map<string, object>(parsed.map((s) => [s.name, s.schema]))
  const json = (name: string): unknown => byName.get(name)
  const compile = (schema: object): ValidateFunction => {
    const { $id: _id, ...rest } = schema as Record<string, unknown>
    return ajv.compile(rest)
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
      // ajv recurses with the data (and deep-compares for enum, const, uniqueItems): measure first.
      if (valueDepth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return [TOO_DEEP_VIOLATION]
      if (v(body)) return []
      return (v.errors ?? []).map(toViolation)
    },
    project(name, fields) {
      const key = `${name}#fields=${fields}`
      if (validators.has(key)) return key
      const selection = parseFields(fields)
      const schema = byName.get(name)
      if (!selection || !schema) return name
      validators.set(key, compile(projectSchema(schema, selection) as object))
      return key
    },
    addInline(key, schema, problem) {
      try {
        validators.set(key, compile(schema))
        byName.set(key, schema)
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
