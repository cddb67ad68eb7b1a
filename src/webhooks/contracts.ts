/**
 * Webhook contracts: `webhooks/<kind>.yaml` in a pack, one per `field` and kind (`messages.text`,
 * `statuses.failed`, `account_update`...), each naming a `$defs` entry of a JSON Schema file in the
 * pack's `schemas/` (webhook-messages.json, webhook-fields.json) with its sources and notes, as
 * operations do. Loading compiles, once per contract, the schema the notification's judged body
 * (the change's value with one message or status) is validated against.
 *
 * Cheap to call: a pack is loaded once per directory and kept while its files are unchanged
 * (looked at again at most once a second), and each contract's schema is compiled on its first
 * body (the receiver asks for the pack per body).
 */
import { packDir } from '../contracts/load.ts'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { Ajv } from 'ajv'
import { ContractError, HarnessError, type ContractProblem } from '../util/errors.ts'
import { parseFile } from '../contracts/parse.ts'
import { fileErrorsToProblems } from '../contracts/problems.ts'
import { loadSchemas } from '../contracts/schemas.ts'
import type { SchemaViolation } from '../contracts/types.ts'

/** One webhook contract: what one kind of notification looks like. */
export interface WebhookContract {
  /** `webhook.statuses.failed`: findings and results are reported under it. */
  id: string
  title: string
  /** The change's `field` (`messages`, `account_update`...), `*` for the envelope. */
  field: string
  /** `messages.text`, `statuses.failed`, `messages.*` (any other type), the field's name for other fields, `envelope`. */
  kind: string
  /** Schema file in the pack's schemas/ and the `$defs` entry in it. */
  schema: string
  def?: string
  description: string
  source: string
  notes: string[]
  /** The file it came from, relative to the working directory. */
  file: string
}

/** Webhook contracts, their compiled schemas, and Meta's error code catalogue. */
export interface WebhookPack {
  dir: string
  contracts: WebhookContract[]
  /** The contract of a kind, or undefined. */
  contract(kind: string): WebhookContract | undefined
  /** Validates a judged body against a contract's compiled schema (key: the contract id). */
  validateBody(schema: string, body: unknown): SchemaViolation[]
  /** Whether a code is in Meta's catalogue (error-codes.yaml). */
  knownErrorCode(code: number): boolean
}

/** The file holding Meta's error code catalogue, next to the contracts (not a contract). */
export const ERROR_CODES_FILE = 'error-codes.yaml'

const SCHEMA_BASE = 'https://driftwatch.invalid/schemas/'

const str = { type: 'string', minLength: 1 }
/** The schema every webhook contract file is validated against. */
export const webhookFileSchema = {
  $id: 'https://driftwatch.invalid/files/webhook.json',
  type: 'object',
  required: ['id', 'title', 'field', 'kind', 'schema', 'source'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^webhook\\.[a-z0-9_*.-]+$' },
    title: str,
    field: { type: 'string', pattern: '^([a-z0-9_]+|\\*)$' },
    kind: { type: 'string', pattern: '^[a-z0-9_.*-]+$' },
    schema: { type: 'string', pattern: '^[A-Za-z0-9_.-]+\\.json$' },
    def: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
    description: { type: 'string' },
    source: str,
    notes: { type: 'array', items: { type: 'string' } },
  },
}

const codesFileSchema = {
  $id: 'https://driftwatch.invalid/files/webhook-error-codes.json',
  type: 'object',
  required: ['codes'],
  additionalProperties: false,
  properties: {
    title: { type: 'string' },
    codes: { type: 'array', items: { type: 'integer' } },
    ranges: { type: 'array', items: { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 2 } },
  },
}

/** The items array a `messages` kind's judged body holds its one item in. */
export function itemsKey(kind: string): 'messages' | 'statuses' | undefined {
  // Webhook-level errors are judged on the value itself: there is no item.
  if (kind === 'messages.errors') return undefined
  return kind.startsWith('messages.') ? 'messages' : kind.startsWith('statuses.') ? 'statuses' : undefined
}

/** The schema a contract's judged body is validated against: for a message or status, the change's value holding that one item. */
function judgedSchema(c: WebhookContract): object {
  const file = `${SCHEMA_BASE}${c.schema}`
  const ref = { $ref: c.def ? `${file}#/$defs/${c.def}` : file }
  const key = itemsKey(c.kind)
  if (!key) return ref
  return {
    allOf: [{ $ref: `${file}#/$defs/value` }, { type: 'object', required: [key], properties: { [key]: { type: 'array', items: ref } } }],
  }
}

const cache = new Map<string, { stamp: string; pack: WebhookPack; checkedAt: number }>()

/** Within this many ms of the last look, a cached pack is returned without looking at its files again. */
const RECHECK_MS = 1000

/** Files' names and modification times: a pack is loaded again only when this changes. */
function stampOf(dirs: readonly string[]): string {
  const parts: string[] = []
  for (const d of dirs) {
    if (!existsSync(d)) continue
    for (const f of readdirSync(d).sort()) {
      const s = statSync(join(d, f))
      parts.push(`${d}/${f}:${s.mtimeMs}:${s.size}`)
    }
  }
  return parts.join('\n')
}

/**
 * Loads the webhook contracts of a pack (`<dir>/webhooks/*.yaml`, schemas from `<dir>/schemas/`).
 * Cached per directory (and working directory) while its files are unchanged. Every problem is reported together, each with
 * file and line, as for operations.
 */
export function loadWebhookContracts(dir: string, cwd: string = process.cwd()): WebhookPack {
  // The default pack in a folder that has none is the one driftwatch ships, as for operations.
  const absDir = packDir(dir, cwd)
  const whDir = join(absDir, 'webhooks')
  const schemaDir = join(absDir, 'schemas')
  // By folder and working directory: the pack's file names are relative to the cwd it was loaded from.
  const key = `${absDir}\u0000${cwd}`
  const hit = cache.get(key)
  const now = Date.now()
  if (hit && now - hit.checkedAt < RECHECK_MS) return hit.pack
  const stamp = stampOf([whDir, schemaDir])
  if (hit && hit.stamp === stamp) {
    hit.checkedAt = now
    return hit.pack
  }
  const rel = (p: string) => relative(cwd, p) || '.'
  if (!existsSync(whDir)) throw new HarnessError('DW_CONTRACTS_NOT_FOUND', `no webhook contracts: ${rel(whDir)} does not exist (pass --contracts <dir>)`, { dir: rel(whDir) })
  const problems: ContractProblem[] = []
  const schemas = loadSchemas(schemaDir, rel, problems)
  const ajv = new Ajv({ allErrors: true, strict: true, verbose: true })
  const validateFile = ajv.compile(webhookFileSchema)
  const validateCodes = ajv.compile(codesFileSchema)
  const contracts: WebhookContract[] = []
  let codes = new Set<number>()
  let ranges: [number, number][] = []
  for (const f of readdirSync(whDir).filter((x) => /\.ya?ml$/.test(x)).sort()) {
    const abs = join(whDir, f)
    const p = parseFile(abs, rel(abs), problems, f === ERROR_CODES_FILE ? 'an object with codes' : 'an object with id, title, field, kind, schema, source')
    if (!p) continue
    if (f === ERROR_CODES_FILE) {
      if (!validateCodes(p.data)) problems.push(...fileErrorsToProblems(validateCodes.errors ?? [], p, codesFileSchema, { anyOf: {}, pattern: {} }))
      else {
        const d = p.data as { codes: number[]; ranges?: [number, number][] }
        codes = new Set(d.codes)
        ranges = d.ranges ?? []
      }
      continue
    }
    if (!validateFile(p.data)) {
      problems.push(...fileErrorsToProblems(validateFile.errors ?? [], p, webhookFileSchema, { anyOf: {}, pattern: { '/id': 'ids are webhook.<kind>, e.g. webhook.statuses.failed' } }))
      continue
    }
    const d = p.data as Omit<WebhookContract, 'file' | 'notes' | 'description'> & { notes?: string[]; description?: string }
    const at = (message: string) => problems.push({ file: p.file, path: '', line: 1, column: 1, message })
    if (!schemas.has(d.schema)) {
      at(`schema ${d.schema} is not in ${rel(schemaDir)}`)
      continue
    }
    if (d.def && !((schemas.json(d.schema) as { $defs?: Record<string, unknown> })?.$defs ?? {})[d.def]) {
      at(`schema ${d.schema} has no $defs entry ${d.def}`)
      continue
    }
    if (contracts.some((c) => c.kind === d.kind)) {
      at(`kind ${d.kind} has two contracts (${contracts.find((c) => c.kind === d.kind)!.file} and this one)`)
      continue
    }
    if (contracts.some((c) => c.id === d.id)) {
      at(`id ${d.id} is used twice`)
      continue
    }
    contracts.push({ ...d, description: (d.description ?? '').trim(), source: d.source.trim(), notes: d.notes ?? [], file: p.file })
  }
  if (problems.length > 0) throw new ContractError(problems)
  const byKind = new Map(contracts.map((c) => [c.kind, c]))
  const byId = new Map(contracts.map((c) => [c.id, c]))
  // Each contract's schema is compiled on its first body (about 50 ms each): a receiver that sees three kinds compiles three.
  const compiled = new Set<string>()
  const compile = (key: string) => {
    const c = byId.get(key)
    if (!c || compiled.has(key)) return
    schemas.addInline(key, judgedSchema(c), (message) => {
      throw new HarnessError('DW_SCHEMA_INVALID', `${c.file}: the schema of ${c.id} does not compile: ${message}`, { file: c.file })
    })
    compiled.add(key)
  }
  const pack: WebhookPack = {
    dir: absDir,
    contracts,
    contract: (kind) => byKind.get(kind),
    validateBody: (schema, body) => {
      compile(schema)
      return schemas.validate(schema, body)
    },
    knownErrorCode: (code) => codes.has(code) || ranges.some(([lo, hi]) => code >= lo && code <= hi),
  }
  cache.set(key, { stamp, pack, checkedAt: now })
  return pack
}
