/**
 * The JSON Schema of report.json (version 1), and the check every report driftwatch reads goes
 * through: `merge` and `diff` take report.json files from other machines (CI artifacts, shards),
 * and the previous report in --out says since when a finding is open. A report is input like any
 * capture: a crafted one put markup where a count was expected and script where a severity was. So
 * types are checked, enums are closed, objects are closed (a field this version does not know is
 * named, not carried), and the first problem is reported with its JSON path.
 *
 * A test validates every report the commands write against this schema, so the two cannot drift.
 */
import type { Ajv, ErrorObject } from 'ajv'
import { ajvLibrary, precompiled, type PrecompiledSpec } from '../contracts/precompiled.ts'
import { MAX_WALK_DEPTH, valueDepth } from '../util/json.ts'
import type { Report } from './report.ts'

const str = { type: 'string' } as const
// Counts and durations: whole, not negative, and of a size a run can reach (a crafted 1e30 reads as nonsense).
const int = { type: 'integer', minimum: 0, maximum: 1e12 } as const
const num = { type: 'number', minimum: 0, maximum: 1e12 } as const
const iso = { type: 'string', format: 'date-time' } as const
const severity = { enum: ['breaking', 'warning', 'info'] } as const
const outcome = { enum: ['pass', 'drift', 'inconclusive', 'error', 'interrupted'] } as const
const closed = (properties: Record<string, unknown>, required: readonly string[]) => ({ type: 'object', additionalProperties: false, properties, required })

const SUMMARY = closed(
  { contracts: int, probes: int, passed: int, failed: int, skipped: int, inconclusive: int, breaking: int, warning: int, info: int, entries: int, attributed: int, unattributed: int },
  ['contracts', 'probes', 'passed', 'failed', 'skipped', 'inconclusive', 'breaking', 'warning', 'info'],
)

const HEADER = { type: 'array', minItems: 2, maxItems: 2, items: str }

const EVIDENCE = closed(
  {
    request: str,
    status: { type: 'integer', minimum: 0, maximum: 999 },
    headers: { type: 'array', items: HEADER },
    bodyExcerpt: str,
    curl: str,
    golden: closed({ recording: str, recordedAt: str, status: { type: 'integer', minimum: 0, maximum: 999 }, bodyExcerpt: str, headers: { type: 'array', items: HEADER } }, ['recording', 'recordedAt']),
  },
  [],
)

const FINDING = closed(
  {
    contract: str,
    target: str,
    check: str,
    severity,
    title: str,
    message: str,
    expected: str,
    actual: str,
    evidence: EVIDENCE,
    samples: int,
    of: int,
    since: iso,
    new: { type: 'boolean' },
    recurring: closed({ cleared: int, lastClearedAt: iso }, ['cleared', 'lastClearedAt']),
    rerun: str,
    lastGood: iso,
  },
  ['contract', 'check', 'severity', 'title', 'message', 'expected', 'actual', 'evidence', 'samples', 'of', 'since', 'new'],
)

const RESULT = closed(
  { contract: str, target: str, title: str, file: str, request: str, status: { enum: ['passed', 'failed', 'skipped', 'inconclusive'] }, reason: str, probes: int, durationMs: num },
  ['contract', 'title', 'file', 'request', 'status', 'probes', 'durationMs'],
)

const ERROR = closed({ code: str, message: str }, ['code', 'message'])

const TARGET = closed({ name: str, target: str, scenario: str, outcome, summary: SUMMARY, error: ERROR }, ['name', 'target', 'outcome', 'summary'])

const CLEARED = closed({ contract: str, target: str, check: str, severity, title: str, since: iso }, ['contract', 'check', 'severity', 'title', 'since'])

/** report.json, version 1, as a JSON Schema (draft-07). */
export const REPORT_SCHEMA = closed(
  {
    version: { const: 1 },
    target: str,
    origin: str,
    scenario: str,
    apiVersion: str,
    startedAt: iso,
    finishedAt: iso,
    captured: closed({ from: iso, to: iso }, ['from', 'to']),
    outcome,
    summary: SUMMARY,
    findings: { type: 'array', items: FINDING },
    results: { type: 'array', items: RESULT },
    interrupted: { type: 'boolean' },
    failOn: { enum: ['breaking', 'warning', 'info', 'never'] },
    error: ERROR,
    targets: { type: 'array', items: TARGET },
    cleared: { type: 'array', items: CLEARED },
    shard: closed({ index: { type: 'integer', minimum: 1 }, of: { type: 'integer', minimum: 1 } }, ['index', 'of']),
    ci: closed({ run: str, files: str }, ['run']),
  },
  ['version', 'target', 'apiVersion', 'startedAt', 'finishedAt', 'outcome', 'summary', 'findings', 'results'],
)

let validate: ReturnType<Ajv['compile']> | undefined

/** The report schema's validator as scripts/build.mjs generates it into dist/ (a previous report is read at every run's start). */
export const PRECOMPILED: readonly PrecompiledSpec[] = [{ name: 'report', schema: REPORT_SCHEMA, options: { allErrors: false, strict: true }, formats: ['date-time'] }]

/** The validator compiled here (no build-time one for this schema and ajv). */
function compiled(): ReturnType<Ajv['compile']> {
  const { Ajv, addFormats } = ajvLibrary()
  return addFormats(new Ajv({ ...PRECOMPILED[0]!.options }), ['date-time']).compile(REPORT_SCHEMA)
}

/** `findings[0].evidence.status`, from an ajv error (the missing or unknown field's name included). */
function path(e: ErrorObject): string {
  const segs = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (e.keyword === 'required') segs.push((e.params as { missingProperty: string }).missingProperty)
  if (e.keyword === 'additionalProperties') segs.push((e.params as { additionalProperty: string }).additionalProperty)
  return segs.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('') || 'the document'
}

/** A value as a message quotes it: JSON, cut short (it may be long, and it is someone else's text). */
function quoted(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

/** The value at an ajv instance path. */
function at(doc: unknown, instancePath: string): unknown {
  let v = doc
  for (const seg of instancePath.split('/').slice(1)) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined
  return v
}

function words(e: ErrorObject, doc: unknown): string {
  const got = `(got ${quoted(at(doc, e.instancePath))})`
  switch (e.keyword) {
    case 'required':
      return `${path(e)} is missing`
    case 'additionalProperties':
      return `${path(e)} is not a field of report.json version 1 (written by another driftwatch version, or edited?)`
    case 'enum':
      return `${path(e)} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')} ${got}`
    case 'const':
      return `${path(e)} must be ${quoted((e.params as { allowedValue: unknown }).allowedValue)} ${got}`
    default:
      return `${path(e)} ${e.message ?? 'is invalid'} ${got}`
  }
}

/**
 * What is wrong with a parsed report.json, in words naming the field ("findings[2].severity must be
 * one of breaking, warning, info (got "<img src=x>")"), or undefined when it is a valid report.
 */
export function reportProblem(doc: unknown): string | undefined {
  if (valueDepth(doc, MAX_WALK_DEPTH) > MAX_WALK_DEPTH) return `it is nested deeper than ${MAX_WALK_DEPTH} levels; no report.json is`
  validate ??= precompiled(PRECOMPILED[0]!) ?? compiled()
  if (validate(doc)) return undefined
  return words(validate.errors![0]!, doc)
}

/** Narrows a parsed value to a Report when it is one. */
export function isReport(doc: unknown): doc is Report {
  return reportProblem(doc) === undefined
}
