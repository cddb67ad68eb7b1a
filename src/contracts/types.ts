/**
 * The normalised, validated forms of contract files. Two kinds:
 *
 * - An **operation** (`operations/<id>.yaml`) is what Meta documents: one method on one path
 *   template, the node it acts on, its parameters (including `fields=`), and its responses by
 *   status, errors included. It judges any traffic that calls it, whoever sent it.
 * - A **probe** (`<id>.yaml`) is what `check` sends: it names an operation and adds the request,
 *   the status it expects, samples and captures. Anything else it says narrows the operation.
 *
 * Loading turns shorthands (a header name as a plain string, a capture as a plain pointer) into
 * these shapes, so checks see one form only.
 */
import type { Severity } from '../model/finding.ts'

/** HTTP methods a contract may send or name in method expectations. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS'

/** How the bearer token is attached: the real one, none, or a deliberately unparsable one. */
export type AuthMode = 'bearer' | 'none' | 'invalid'

/** Expected body framing. */
export type FramingExpectation = 'content-length' | 'chunked' | 'any'

/**
 * What a Graph node is: `media`, `phone_number`, `waba`, `template`, `message`... A path parameter
 * names its node: `{media_id}` is a media node. Ids of the kinds below are learned from
 * configuration and earlier answers; any other `<kind>_id` names a node all the same.
 */
export type NodeKind = string

/** The node kinds the Cloud API pack uses, for messages. */
export const NODE_KINDS: readonly NodeKind[] = ['media', 'phone_number', 'waba', 'template', 'message', 'business_profile', 'subscribed_app', 'analytics']

/** A multipart file part read from disk, relative to the contract file. */
export interface MultipartFile {
  field: string
  /** Absolute path after loading. */
  path: string
  filename: string
  type: string
}

/** Request body forms a probe can send. */
export type RequestBody =
  | { kind: 'json'; json: unknown }
  | { kind: 'form'; form: Record<string, string> }
  | { kind: 'multipart'; fields: Record<string, string>; file?: MultipartFile }

/** The request a probe sends, with `{var}` templates still unresolved. */
export interface RequestSpec {
  method: HttpMethod
  /** Path template under the target base URL, e.g. `/{api_version}/{media_id}`. Exactly one of path or url. */
  path?: string
  /** Absolute URL template, e.g. `{media_url}` (a URL captured from an earlier response). */
  url?: string
  query: Record<string, string>
  headers: Record<string, string>
  auth: AuthMode
  body?: RequestBody
}

/** A header the response must carry, with how bad its absence is. */
export interface RequiredHeader {
  name: string
  severity: Severity
}

/** A header whose value must match a regular expression. */
export interface HeaderPattern {
  name: string
  pattern: string
  severity: Severity
}

/** Header expectations. Names are lowercase after loading. */
export interface HeaderExpectations {
  required: RequiredHeader[]
  forbidden: RequiredHeader[]
  patterns: HeaderPattern[]
}

/**
 * Graph error expectations: Meta reorders validation, so codes are a set. `severity` is how bad a
 * code outside the set is: breaking when a probe pins the set, warning when it is an operation's
 * documented set (Meta adds codes; clients take their default path).
 */
export interface ErrorExpectation {
  codes: number[]
  subcodes?: number[]
  types?: string[]
  severity: Severity
  /** Graph-wide codes (token, rate limits, downtime) count as documented too: operations list only their own. */
  includesCommon: boolean
}

/** Media integrity expectations, templated from values captured earlier (sha256, size, mime). */
export interface MediaExpectation {
  sha256?: string
  size?: string
  mimeType?: string
}

/** Methods the endpoint accepts and rejects (method conformance). */
export interface MethodExpectation {
  accepts: HttpMethod[]
  rejects: HttpMethod[]
}

/** What one response of an operation looks like, for the statuses it describes. */
export interface ResponseExpectation {
  /** The statuses described: a list, or `error` for any 4xx/5xx (the Graph error envelope). */
  statuses: readonly number[] | 'error'
  framing: FramingExpectation
  /** Media type and parameters, e.g. `application/json; charset=UTF-8`. */
  contentType?: string
  headers: HeaderExpectations
  /** Schema file name relative to the pack's `schemas/` directory. */
  bodySchema?: string
  error?: ErrorExpectation
}

/** A documented query parameter. */
export interface QueryParameter {
  required: boolean
  /** For `fields`: names the selection must include for a request to be this operation (analytics vs the default read). */
  includes: string[]
}

/** How to tell an operation's requests apart from others on the same method and path. */
export interface RequestDescription {
  method: HttpMethod
  /** Path template, e.g. `/{api_version}/{media_id}`; a leading `{api_version}` is optional in traffic. */
  path: string
  /** A host other than the Graph API's (the media download is on lookaside.fbsbx.com). */
  host?: string
  query: Record<string, QueryParameter>
  /** Content type of the body, and the JSON Schema (compiled) a body of this operation fits. */
  body?: { type: 'json' | 'form' | 'multipart'; schema?: string }
}

/** A documented operation: what any traffic that calls it is judged against. */
export interface Operation {
  id: string
  title: string
  /** What the operation reads or acts on. */
  node: NodeKind
  description: string
  source: string
  notes: string[]
  tags: string[]
  request: RequestDescription
  /** Success and documented non-error responses, by status. */
  responses: ResponseExpectation[]
  /** The Graph error envelope for any 4xx/5xx, with this operation's documented codes; absent when errors are not Graph envelopes (the media host's 404). */
  error?: ResponseExpectation
  /** Ids a success names, and what they are: `/id` of an upload is a media id. Pointers use `*` for array items. */
  yields: { pointer: string; node: NodeKind }[]
  /** The response is a media item's bytes; its id is in this query parameter (checked against that media's metadata). */
  downloads?: { query: string }
  file: string
}

/** A value to capture from a response for later probes. */
export interface Capture {
  /** Variable name, used as `{name}` in later probes. */
  name: string
  from: 'body' | 'header'
  /** JSON pointer into the body, or a header name. */
  pointer: string
  /** When true, a missing value skips dependents instead of failing this probe. */
  optional: boolean
}

/** What a probe expects: the statuses, plus anything it narrows from its operation. */
export interface ProbeExpectations {
  status: number[]
  methods?: MethodExpectation
  headers?: HeaderExpectations
  contentType?: string
  framing?: FramingExpectation
  bodySchema?: string
  error?: Omit<ErrorExpectation, 'severity' | 'includesCommon'>
  media?: MediaExpectation
}

/** A loaded, validated probe. */
export interface Probe {
  id: string
  title: string
  /** The operation it exercises. */
  operation: string
  description: string
  /** Where the expectation comes from (FACTS.md section, seed, spec), so a reader can re-check it. */
  source: string
  /** Deliberate departures from Meta's published spec, with why. */
  notes: string[]
  tags: string[]
  /** Probes that must run before this one, explicit or implied by captured variables. */
  after: string[]
  /**
   * This probe is another probe's request with a difference (an optional parameter, say). When the
   * base passes and this fails, findings name the difference as the trigger (Jan 20 2026: the
   * optional phone_number_id alone broke media retrieval).
   */
  variant?: { of: string; differences: string[] }
  /**
   * Runs before everything else; if it answers Graph error 190 the token is rejected and nothing
   * else runs: one credentials finding instead of a wall of per-probe failures.
   */
  preflight: boolean
  /** Samples to take by default. */
  samples: number
  /** False for side-effecting calls (upload, delete, send): they always take one sample. */
  repeatable: boolean
  /**
   * Undoes what earlier probes did (deletes the uploaded media). It still runs after the first
   * Ctrl-C, when its inputs were captured, so an interrupted run leaves nothing on the account.
   */
  cleanup: boolean
  request: RequestSpec
  expect: ProbeExpectations
  capture: Capture[]
  /** Variables this probe's templates use. */
  uses: string[]
  /** Variables supplied from outside the pack (neither configuration nor a capture). Unset, the probe is skipped. */
  inputs: string[]
  /** The file it came from, relative to the working directory. */
  file: string
}

/** A pack: operations, the probes that exercise them, and their compiled schemas. */
export interface ContractPack {
  /** Directory the pack was loaded from. */
  dir: string
  /** Probes in a valid run order (dependencies first, then file order). */
  probes: Probe[]
  /** Operations, by file order. */
  operations: Operation[]
  /** An operation by id. */
  operation(id: string): Operation | undefined
  /** Validates a body against a schema file name (or a key from `projectedSchema`); returns ajv-style errors or an empty list. */
  validateBody(schema: string, body: unknown): SchemaViolation[]
  /** Whether a body fits a schema: validateBody's answer without its words (stops at the first violation). */
  bodyFits(schema: string, body: unknown): boolean
  /** A schema key for `schema` narrowed to a `fields=` selection (compiled once per selection). */
  projectedSchema(schema: string, fields: string): string
  /** Whether a request body fits the operation's request body schema (true when it has none). */
  requestFits(op: Operation, body: unknown): boolean
  /** Where a request body departs from the operation's request body schema (none when it has no schema). */
  requestViolations(op: Operation, body: unknown): SchemaViolation[]
  /** Top-level property names a schema declares (an edge's item properties), or undefined. */
  schemaProperties(schema: string): readonly string[] | undefined
  /** A schema file's JSON as loaded, or undefined. */
  schemaJson(schema: string): unknown
}

/** One body-schema violation, located by JSON path. */
export interface SchemaViolation {
  /** JSON path into the body, e.g. `$.data[0].file_size`. */
  path: string
  /** What the schema demanded, e.g. `must be integer`. */
  message: string
  /** ajv keyword, e.g. `type`, `required`. */
  keyword: string
  /** For `type`: the type(s) the schema allows, e.g. `integer`. */
  allowed?: string
  /** For `type`: the JSON type the value has, e.g. `string`. */
  actual?: string
  /** Where in the schema the rule is, as ajv says it: `#/anyOf/2/properties/image/required`. */
  schemaPath?: string
}

/** Variables the runner provides from configuration, not from captures. */
export const CONFIG_VARIABLES = ['api_version', 'phone_number_id', 'waba_id', 'test_recipient'] as const

/** Configuration variables that may be absent; probes needing them are skipped, not failed. */
export const OPTIONAL_CONFIG_VARIABLES = ['test_recipient'] as const

const NODE_WORDS: Record<string, string> = { media: 'media item', phone_number: 'phone number', waba: 'WABA', business_profile: 'business profile', subscribed_app: 'app subscription' }

/** A node kind in words: `media` -> `media item`, `phone_number` -> `phone number`. */
export function describeNode(kind: NodeKind): string {
  return NODE_WORDS[kind] ?? kind.replace(/_/g, ' ')
}

/** The node a path parameter names: `{media_id}` -> media; undefined for `{api_version}` and parameters that are not ids. */
export function nodeOfParameter(name: string): NodeKind | undefined {
  return /^([a-z][a-z0-9_]*)_id$/.exec(name)?.[1]
}
