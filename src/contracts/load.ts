/**
 * Loads a contract pack: operations (YAML under `operations/`), probes (YAML anywhere else but `webhooks/`,
 * `schemas/` and `fixtures/`, subfolders included) and
 * body schemas (`schemas/*.json`). Each file is parsed with positions, validated against its file
 * schema and normalised; cross-file rules run last. Every problem found is reported together,
 * each with file, path and line, before anything is sent.
 */
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, extname, join, resolve } from 'node:path'
import type { ValidateFunction } from 'ajv'
import { ContractError, HarnessError, type ContractProblem } from '../util/errors.ts'
import { operationFileSchema, probeFileSchema } from './file-schemas.ts'
import { crossCheckOperations, normaliseOperation } from './operations.ts'
import { parseFile, type ParsedFile } from './parse.ts'
import { ajvLibrary, precompiled, type PrecompiledSpec } from './precompiled.ts'
import { crossCheckProbes, normaliseProbe, orderProbes } from './probes.ts'
import { fileErrorsToProblems, type FileHints } from './problems.ts'
import { loadSchemas } from './schemas.ts'
import { shownPath } from '../util/paths.ts'
import type { ContractPack, Operation, Probe } from './types.ts'

const CONTRACT_EXTENSIONS = new Set(['.yaml', '.yml', '.json'])

/** Options for loading a contract pack. */
export interface LoadOptions {
  /** Base for the relative file names used in messages (default: process.cwd()). */
  cwd?: string
}

const PROBE_HINTS: FileHints = {
  anyOf: {
    '#/properties/expect/properties/status/anyOf': 'must be a status code or a list of them, e.g. [200] or [400, 405]',
    '#/properties/capture/additionalProperties/anyOf': 'must be a JSON pointer such as /id, or {pointer: /id} / {header: name}, with optional: true|false',
  },
  pattern: {
    '/id': 'ids are lowercase words joined by dots, e.g. media.retrieve-url',
    '/operation': 'an operation id, e.g. media.retrieve-url (operations/<id>.yaml)',
    '/request/path': 'a path starts with /, e.g. /{api_version}/{media_id}',
  },
}

const OPERATION_HINTS: FileHints = {
  anyOf: {},
  pattern: {
    '/id': 'ids are lowercase words joined by dots, e.g. media.retrieve-url',
    '/request/path': 'a path starts with /, e.g. /{api_version}/{media_id}',
    '/request/host': 'a host name, e.g. lookaside.fbsbx.com',
  },
}

/** The file schemas' yes-or-no validators, generated at build time (precompiled.ts): most files are valid, and say no more. */
export const PRECOMPILED: readonly PrecompiledSpec[] = [
  { name: 'operation-file', schema: operationFileSchema, options: { allErrors: false, strict: true } },
  { name: 'probe-file', schema: probeFileSchema, options: { allErrors: false, strict: true } },
]

// The file schemas are constants: compiled once per process, not once per pack loaded.
let fileValidators: { operation: ValidateFunction; probe: ValidateFunction } | undefined
function fileSchemaValidators(): { operation: ValidateFunction; probe: ValidateFunction } {
  if (!fileValidators) {
    const { Ajv } = ajvLibrary()
    const ajv = new Ajv({ allErrors: true, strict: true, verbose: true, code: { optimize: false } })
    fileValidators = { operation: ajv.compile(operationFileSchema), probe: ajv.compile(probeFileSchema) }
  }
  return fileValidators
}

/** Validates a file's data; only a file that fails is validated again by the worded validator (compiled then), for its errors. */
interface FileCheck {
  quick: ValidateFunction | undefined
  worded: () => ValidateFunction
}

let fileChecks: { operation: FileCheck; probe: FileCheck } | undefined
function fileSchemaChecks(): { operation: FileCheck; probe: FileCheck } {
  fileChecks ??= {
    operation: { quick: precompiled(PRECOMPILED[0]!), worded: () => fileSchemaValidators().operation },
    probe: { quick: precompiled(PRECOMPILED[1]!), worded: () => fileSchemaValidators().probe },
  }
  return fileChecks
}

/** Folders of a pack that hold something other than probes. */
const NOT_PROBES = new Set(['operations', 'schemas', 'fixtures', 'webhooks'])

/**
 * Contract files under `dir`, subfolders included (a pack may group its files in folders: a file
 * silently ignored is a contract silently not checked). `skipTop` names top-level folders that
 * hold other kinds of file. Hidden files and folders are skipped.
 */
function filesIn(dir: string, skipTop: ReadonlySet<string> = new Set()): string[] {
  if (!existsSync(dir)) return []
  const out: string[] = []
  const walk = (sub: string) => {
    for (const e of readdirSync(join(dir, sub), { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue
      const relPath = sub ? join(sub, e.name) : e.name
      if (e.isDirectory()) {
        if (!(sub === '' && skipTop.has(e.name))) walk(relPath)
      } else if (CONTRACT_EXTENSIONS.has(extname(e.name)) && statSync(join(dir, relPath)).isFile()) out.push(relPath)
    }
  }
  walk('')
  return out.sort()
}

function parseAll(dir: string, files: readonly string[], check: FileCheck, fileSchema: object, hints: FileHints, rel: (p: string) => string, problems: ContractProblem[]): ParsedFile[] {
  const out: ParsedFile[] = []
  for (const f of files) {
    const abs = join(dir, f)
    const p = parseFile(abs, rel(abs), problems)
    if (!p) continue
    if (!check.quick?.(p.data)) {
      const validate = check.worded()
      if (validate(p.data)) {
        out.push(p)
        continue
      }
      problems.push(...fileErrorsToProblems(validate.errors ?? [], p, fileSchema, hints))
      continue
    }
    out.push(p)
  }
  return out
}

/** The pack driftwatch ships (this checkout's or the installed package's contracts/meta). */
export const SHIPPED_PACK = fileURLToPath(new URL('../../contracts/meta', import.meta.url))

/**
 * Where a pack is: `dir` under `cwd`; for the default `contracts/meta` in a folder that has none
 * (an application's repository), the pack driftwatch ships. A --contracts given is never replaced.
 */
export function packDir(dir: string, cwd: string): string {
  const abs = resolve(cwd, dir)
  if (dir === 'contracts/meta' && !existsSync(abs) && existsSync(SHIPPED_PACK)) return SHIPPED_PACK
  return abs
}

// Compiling a pack's schemas and normalising its files is ~90 ms a load, and a process loads the same pack
// many times (check --targets per target, verify's reader and its judge, the test suite's in-process commands).
// A pack is loaded again only when a file under it changed: the key is every contract file's path and bytes
// (hidden files too: schemas/ reads them), not their times, which a quick rewrite can leave equal. Packs are only read once loaded
// (their arrays are frozen); a failed load is not kept. Bounded, so a process loading many packs does not grow.
const loadedPacks = new Map<string, ContractPack>()
const LOADED_PACKS_MAX = 8

/** What a load of `absDir` from `cwd` depends on: the folders, and every contract file's path and bytes. */
function packKey(absDir: string, cwd: string): string {
  const hash = createHash('sha256').update(`${absDir}\0${cwd}\0`)
  const walk = (sub: string) => {
    const entries = readdirSync(join(absDir, sub), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const e of entries) {
      const relPath = sub ? join(sub, e.name) : e.name
      if (e.isDirectory()) {
        if (!e.name.startsWith('.')) walk(relPath)
      } else if (CONTRACT_EXTENSIONS.has(extname(e.name)) && statSync(join(absDir, relPath)).isFile()) {
        hash.update(`${relPath}\0`).update(readFileSync(join(absDir, relPath))).update('\0')
      }
    }
  }
  walk('')
  return hash.digest('hex')
}

/** Loads and validates a pack: operations in `dir/operations`, probes at the top of `dir`, schemas in `dir/schemas`. */
export function loadContracts(dir: string, options: LoadOptions = {}): ContractPack {
  const cwd = options.cwd ?? process.cwd()
  const absDir = packDir(dir, cwd)
  const rel = (p: string) => shownPath(cwd, p)
  if (!existsSync(absDir) || !statSync(absDir).isDirectory()) {
    throw new HarnessError('DW_CONTRACTS_NOT_FOUND', `contract directory not found: ${rel(absDir)} (pass --contracts <dir>)`, { dir: rel(absDir) })
  }
  const key = packKey(absDir, cwd)
  const kept = loadedPacks.get(key)
  if (kept) return kept
  const pack = loadPack(absDir, rel)
  if (loadedPacks.size >= LOADED_PACKS_MAX) loadedPacks.delete(loadedPacks.keys().next().value!)
  loadedPacks.set(key, pack)
  return pack
}

function loadPack(absDir: string, rel: (p: string) => string): ContractPack {
  const opDir = join(absDir, 'operations')
  const probeFiles = filesIn(absDir, NOT_PROBES)
  const opFiles = filesIn(opDir)
  if (probeFiles.length === 0 && opFiles.length === 0) {
    throw new HarnessError('DW_CONTRACTS_NOT_FOUND', `no contract files in ${rel(absDir)}: operations go in ${rel(opDir)}/*.yaml, probes in ${rel(absDir)}/*.yaml`, { dir: rel(absDir) })
  }

  const problems: ContractProblem[] = []
  const checks = fileSchemaChecks()
  const schemas = loadSchemas(join(absDir, 'schemas'), rel, problems)

  const opParsed = parseAll(opDir, opFiles, checks.operation, operationFileSchema, OPERATION_HINTS, rel, problems)
  const operations: Operation[] = []
  for (const p of opParsed) {
    const op = normaliseOperation(p, problems, schemas)
    if (op) operations.push(op)
  }
  crossCheckOperations(operations, new Map(opParsed.map((p) => [p.file, p])), problems)
  const byId = new Map(operations.map((o) => [o.id, o]))

  const probeParsed = parseAll(absDir, probeFiles, checks.probe, probeFileSchema, PROBE_HINTS, rel, problems)
  const parsedByFile = new Map(probeParsed.map((p) => [p.file, p]))
  const probes: Probe[] = []
  for (const p of probeParsed) {
    const c = normaliseProbe(p, problems, byId)
    if (c) probes.push(c)
  }
  // Files that failed earlier: references to them get a pointer to the real problem, not a bare "unknown".
  const broken = probeFiles.filter((f) => !probes.some((c) => c.file === rel(join(absDir, f)))).map((f) => basename(f, extname(f)))
  crossCheckProbes(probes, parsedByFile, schemas, problems, broken)
  if (problems.length > 0) throw new ContractError(problems)

  const ordered = orderProbes(probes, parsedByFile, problems)
  if (problems.length > 0) throw new ContractError(problems)

  return {
    dir: absDir,
    probes: Object.freeze(ordered) as Probe[],
    operations: Object.freeze(operations) as Operation[],
    operation: (id) => byId.get(id),
    validateBody: (schema, body) => schemas.validate(schema, body),
    projectedSchema: (schema, fields) => schemas.project(schema, fields),
    bodyFits: (schema, body) => schemas.fits(schema, body),
    requestFits: (op, body) => !op.request.body?.schema || schemas.fits(op.request.body.schema, body),
    requestViolations: (op, body) => (op.request.body?.schema ? schemas.validate(op.request.body.schema, body) : []),
    schemaProperties: (schema) => schemas.properties(schema),
    schemaJson: (schema) => schemas.json(schema),
  }
}
