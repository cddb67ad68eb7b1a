/**
 * The normalised, validated form of a contract file. Loading turns shorthands (a header name as a
 * plain string, a capture as a plain pointer) into these shapes, so checks see one form only.
 */
import type { Severity } from '../finding.ts'

/** HTTP methods a contract may send or name in method expectations. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS'

/** How the bearer token is attached: the real one, none, or a deliberately unparsable one. */
export type AuthMode = 'bearer' | 'none' | 'invalid'

/** Expected body framing. */
export type FramingExpectation = 'content-length' | 'chunked' | 'any'

/** A multipart file part read from disk, relative to the contract file. */
export interface MultipartFile {
  field: string
  /** Absolute path after loading. */
  path: string
  filename: string
  type: string
}

/** Request body forms a contract can send. */
export type RequestBody =
  | { kind: 'json'; json: unknown }
  | { kind: 'form'; form: Record<string, string> }
  | { kind: 'multipart'; fields: Record<string, string>; file?: MultipartFile }

/** The request, with `{var}` templates still unresolved. */
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

/** Graph error expectations: Meta reorders validation, so codes are a set. */
export interface ErrorExpectation {
  codes: number[]
  subcodes?: number[]
  types?: string[]
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

/** Everything the response must satisfy. */
export interface Expectations {
  status: number[]
  methods?: MethodExpectation
  headers: HeaderExpectations
  /** Media type and parameters, e.g. `application/json; charset=UTF-8`. */
  contentType?: string
  framing: FramingExpectation
  /** Schema file name relative to the pack's `schemas/` directory. */
  bodySchema?: string
  error?: ErrorExpectation
  media?: MediaExpectation
}

/** A value to capture from a response for later probes. */
export interface Capture {
  /** Variable name, used as `{name}` in later contracts. */
  name: string
  from: 'body' | 'header'
  /** JSON pointer into the body, or a header name. */
  pointer: string
  /** When true, a missing value skips dependents instead of failing this contract. */
  optional: boolean
}

/** A loaded, validated contract. */
export interface Contract {
  id: string
  title: string
  description: string
  /** Where the expectation comes from (FACTS.md section, seed, spec), so a reader can re-check it. */
  source: string
  /** Deliberate departures from Meta's published spec, with why. */
  notes: string[]
  tags: string[]
  /** Contracts that must run before this one, explicit or implied by captured variables. */
  after: string[]
  /**
   * This contract is another contract's request with a difference (an optional parameter, say).
   * When the base passes and this fails, findings name the difference as the trigger (Jan 20 2026:
   * the optional phone_number_id alone broke media retrieval).
   */
  variant?: { of: string; differences: string[] }
  /**
   * Runs before everything else; if it answers Graph error 190 the token is rejected and nothing
   * else runs: one credentials finding instead of a wall of per-contract failures.
   */
  preflight: boolean
  /** Samples to take by default. */
  samples: number
  /** False for side-effecting calls (upload, delete, send): they always take one sample. */
  repeatable: boolean
  request: RequestSpec
  expect: Expectations
  capture: Capture[]
  /** Variables this contract's templates use. */
  uses: string[]
  /** An unreviewed draft (from import openapi): verify and proxy judge traffic with it; check and record never send it. */
  draft: boolean
  /** Variables supplied from outside the pack (neither configuration nor a capture): an imported draft's ids. Unset, the contract is skipped. */
  inputs: string[]
  /** The file it came from, relative to the working directory. */
  file: string
}

/** A set of contracts plus their compiled body schemas. */
export interface ContractPack {
  /** Directory the pack was loaded from. */
  dir: string
  /** Contracts in a valid run order (dependencies first, then file order). */
  contracts: Contract[]
  /** Validates a body against a schema file name; returns ajv-style errors or an empty list. */
  validateBody(schema: string, body: unknown): SchemaViolation[]
  /** Top-level property names a schema declares (what a body of that kind is made of), or undefined. */
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
}

/** Variables the runner provides from configuration, not from captures. */
export const CONFIG_VARIABLES = ['api_version', 'phone_number_id', 'waba_id', 'test_recipient'] as const

/** Configuration variables that may be absent; probes needing them are skipped, not failed. */
export const OPTIONAL_CONFIG_VARIABLES = ['test_recipient'] as const
