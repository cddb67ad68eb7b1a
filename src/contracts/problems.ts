/**
 * ajv's errors about a contract file, in words a person can act on: one message per problem, with
 * the line, what was expected, what was found, and "did you mean" for typos.
 */
import type { ErrorObject } from 'ajv'
import type { ContractProblem } from '../util/errors.ts'
import { allowedFields } from './file-schemas.ts'
import { locate, type ParsedFile } from './parse.ts'

/** Hints for one file kind: what an anyOf failure or a pattern means, by schema or instance path. */
export interface FileHints {
  anyOf: Record<string, string>
  pattern: Record<string, string>
}

const HEADER_REF_HINT = 'must be a header name, or {name, severity} with severity breaking|warning|info'

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`
  return `${typeof value} ${String(value)}`
}

/** Closest candidate by edit distance, for "did you mean". */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase())
    if (d < bestD) {
      bestD = d
      best = c
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length]!
}

/** ajv errors for one file as located problems, sorted by line. */
export function fileErrorsToProblems(errors: ErrorObject[], p: ParsedFile, fileSchema: object, hints: FileHints): ContractProblem[] {
  // Collapse anyOf failures: one message per failing anyOf, none of its branch noise.
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf')
  const anyOfRoots = anyOfs.map((e) => e.schemaPath)
  const out: ContractProblem[] = []
  const seen = new Set<string>()
  const push = (problem: ContractProblem) => {
    const k = `${problem.path}|${problem.message}`
    if (!seen.has(k)) {
      seen.add(k)
      out.push(problem)
    }
  }
  for (const e of anyOfs) {
    const hint = hints.anyOf[e.schemaPath] ?? (e.schemaPath.includes('/headers/properties/') ? HEADER_REF_HINT : 'has the wrong shape')
    push({ file: p.file, path: e.instancePath, ...locate(p, e.instancePath), message: `${hint} (got ${describe(e.data)})` })
  }
  for (const e of errors) {
    if (e.keyword === 'anyOf' || anyOfRoots.some((root) => e.schemaPath.startsWith(root))) continue
    const path = e.instancePath
    switch (e.keyword) {
      case 'required': {
        const missing = (e.params as { missingProperty: string }).missingProperty
        push({ file: p.file, path, ...locate(p, path), message: `missing required field "${missing}"` })
        break
      }
      case 'additionalProperties': {
        const extra = (e.params as { additionalProperty: string }).additionalProperty
        const allowed = allowedFields(fileSchema, e.schemaPath)
        const guess = closest(extra, allowed)
        const fix = guess ? `; did you mean "${guess}"?` : allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''
        push({ file: p.file, path: `${path}/${extra}`, ...locate(p, path, extra), message: `unknown field "${extra}"${fix}` })
        break
      }
      case 'enum': {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String)
        const guess = typeof e.data === 'string' ? closest(e.data, allowed) : undefined
        const fix = guess ? `; did you mean "${guess}"?` : ''
        push({ file: p.file, path, ...locate(p, path), message: `must be one of ${allowed.join(', ')} (got ${describe(e.data)})${fix}` })
        break
      }
      case 'type':
        push({ file: p.file, path, ...locate(p, path), message: `must be ${(e.params as { type: string }).type} (got ${describe(e.data)})` })
        break
      case 'pattern': {
        if (e.schemaPath.includes('/propertyNames/')) {
          const name = String(e.data)
          const hint = e.schemaPath.startsWith('#/properties/capture/')
            ? `capture name "${name}" must be lowercase snake_case, e.g. media_id (it is used as {${name.toLowerCase()}})`
            : e.schemaPath.startsWith('#/properties/responses/')
              ? `response key "${name}" must be a status code such as 200, or "error" for every 4xx/5xx`
              : e.schemaPath.startsWith('#/properties/yields/')
                ? `yields key "${name}" must be a JSON pointer such as /id or /data/*/id`
                : `"${name}" is not a valid name here`
          push({ file: p.file, path: `${path}/${name}`, ...locate(p, path, name), message: hint })
          break
        }
        const hint = hints.pattern[path] ?? `must match ${(e.params as { pattern: string }).pattern}`
        push({ file: p.file, path, ...locate(p, path), message: `${hint} (got ${describe(e.data)})` })
        break
      }
      case 'propertyNames':
        break // reported through the nested pattern error with the offending name
      default:
        push({ file: p.file, path, ...locate(p, path), message: `${e.message ?? 'is invalid'} (got ${describe(e.data)})` })
    }
  }
  return out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0))
}
