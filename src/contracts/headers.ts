/** Header expectations as written (a name, or {name, severity}; patterns as a string or {pattern, severity}) in their one loaded form. */
import type { Severity } from '../model/finding.ts'
import type { ProblemAt } from './parse.ts'
import type { HeaderExpectations, HeaderPattern, RequiredHeader } from './types.ts'

/** A header reference as written. */
export type RawHeaderRef = string | { name: string; severity?: Severity }

/** Header expectations as written. */
export interface RawHeaders {
  required?: RawHeaderRef[]
  forbidden?: RawHeaderRef[]
  patterns?: Record<string, string | { pattern: string; severity?: Severity }>
}

function refs(list: RawHeaderRef[] | undefined): RequiredHeader[] {
  return (list ?? []).map((h) => (typeof h === 'string' ? { name: h.toLowerCase(), severity: 'breaking' as const } : { name: h.name.toLowerCase(), severity: h.severity ?? 'breaking' }))
}

/** Normalises header expectations; a pattern that is not a regular expression is a problem at `<at>/patterns/<name>`. */
export function normaliseHeaders(raw: RawHeaders | undefined, pointer: string, at: ProblemAt): HeaderExpectations {
  const patterns: HeaderPattern[] = []
  for (const [name, v] of Object.entries(raw?.patterns ?? {})) {
    const pattern = typeof v === 'string' ? v : v.pattern
    try {
      new RegExp(pattern)
    } catch (err) {
      at(`${pointer}/patterns/${name}`, `not a valid regular expression: ${(err as Error).message}`)
    }
    patterns.push({ name: name.toLowerCase(), pattern, severity: typeof v === 'string' ? 'breaking' : v.severity ?? 'breaking' })
  }
  return { required: refs(raw?.required), forbidden: refs(raw?.forbidden), patterns }
}
