/**
 * The shape a recording file must have before anything reads it: recordings are read back from
 * disk (golden for `check`, traffic for `verify <dir>`, replies for `gate`), and a hand-edited or
 * damaged file must fail naming the file and the field, not deep inside a check with a TypeError.
 * Bodies are measured too: a body nested deeper than MAX_JSON_DEPTH is kept unparsed, with the
 * reason, exactly as a body off the wire would be, so it is judged as a finding.
 */
import type { Ajv, ErrorObject } from 'ajv'
import { ajvLibrary, precompiled, type PrecompiledSpec } from '../contracts/precompiled.ts'
import { MAX_JSON_DEPTH, MAX_WALK_DEPTH, TOO_DEEP_TO_PARSE, valueDepth } from '../util/json.ts'
import type { Observation } from '../model/observation.ts'

const str = { type: 'string' }
const num = { type: 'number' }
const header = { type: 'array', items: [str, str], minItems: 2, maxItems: 2 }
const headers = { type: 'array', items: header }

/** What the judge, the reporters and the replay server read of an observation; anything else is free. */
const OBSERVATION = {
  type: 'object',
  required: ['contract', 'sample', 'startedAt', 'request'],
  properties: {
    contract: str,
    sample: num,
    startedAt: str,
    sampleOf: str,
    request: {
      type: 'object',
      required: ['method', 'url', 'headers'],
      properties: { method: str, url: str, headers, bodySize: num, bodyExcerpt: str, tokenSent: { type: 'boolean' } },
    },
    response: {
      type: 'object',
      required: ['status', 'rawHeaders', 'framing', 'body'],
      properties: {
        httpVersion: str,
        statusLine: str,
        status: { type: 'integer' },
        statusText: str,
        rawHeaders: headers,
        framing: { type: 'object', required: ['kind'], properties: { kind: { enum: ['content-length', 'chunked', 'close-delimited', 'none'] }, declaredLength: num, bytesRead: num, wireBytes: num } },
        body: {
          type: 'object',
          required: ['size', 'sha256'],
          properties: { size: num, sha256: str, text: str, base64: str, keptBytes: num, truncated: { type: 'boolean' }, jsonError: str, hexPreview: str },
        },
      },
    },
    transportError: { type: 'object', required: ['code', 'message', 'phase'], properties: { code: str, message: str, phase: { enum: ['connect', 'request', 'headers', 'body'] }, unreachable: { type: 'boolean' } } },
    timings: { type: 'object', properties: { ttfbMs: num, totalMs: num } },
  },
}

/** A recording file around its observations (version, contract and a non-empty list are checked first, in their own words). */
const RECORDING = {
  type: 'object',
  required: ['name', 'target', 'recordedAt'],
  properties: {
    name: str,
    target: str,
    scenario: str,
    apiVersion: str,
    recordedAt: str,
    volatile: { type: 'object', properties: { headers: { type: 'array', items: str }, body: { type: 'array', items: str } } },
    personalData: num,
    redaction: num,
    observations: { type: 'array', items: OBSERVATION },
  },
}

let validate: ReturnType<Ajv['compile']> | undefined

/** The recording schema's validator as scripts/build.mjs generates it into dist/ (check reads the goldens at every start). */
export const PRECOMPILED: readonly PrecompiledSpec[] = [{ name: 'recording', schema: RECORDING, options: { allErrors: false, strict: false } }]

/** `observations[0].response.status` for an ajv error; the missing field's name for `required`. */
function where(e: ErrorObject): string {
  const segs = e.instancePath.split('/').slice(1)
  if (e.keyword === 'required') segs.push((e.params as { missingProperty: string }).missingProperty)
  return segs.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('') || 'the file'
}

/**
 * Checks a parsed recording file (its version, contract and observation list already checked);
 * returns what is wrong ("observations[0].response.status must be integer"), or undefined.
 * Bodies nested too deep are left unparsed in place (json removed, jsonError set).
 */
export function recordingProblem(rec: { observations: unknown[] }): string | undefined {
  for (const o of rec.observations) {
    const body = (o as Partial<Observation> | null)?.response?.body
    if (body && typeof body === 'object' && body.json !== undefined && valueDepth(body.json, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      delete body.json
      body.jsonError = TOO_DEEP_TO_PARSE
    }
  }
  // What is left is a handful of levels of structure; anything deeper is damage (and would overflow ajv and the walkers).
  if (valueDepth(rec, MAX_WALK_DEPTH) > MAX_WALK_DEPTH) return `is nested deeper than ${MAX_WALK_DEPTH} levels`
  validate ??= precompiled(PRECOMPILED[0]!) ?? new (ajvLibrary().Ajv)({ ...PRECOMPILED[0]!.options }).compile(RECORDING)
  if (validate(rec)) return undefined
  const e = validate.errors![0]!
  return e.keyword === 'required' ? `has no "${where(e)}"` : `has ${where(e)} that ${e.message ?? 'is invalid'}`
}
