/**
 * Errors of the harness itself (bad configuration, bad contract, simulator failed to start).
 * Upstream misbehaviour is never thrown: it is a Finding. Users match on `code`, which is stable.
 */

/** Stable codes for harness errors; scripts may match on them. */
export type HarnessErrorCode =
  | 'DW_USAGE'
  | 'DW_CONFIG_MISSING_ENV'
  | 'DW_CONFIG_INVALID'
  | 'DW_CONTRACT_INVALID'
  | 'DW_CONTRACTS_NOT_FOUND'
  | 'DW_SCHEMA_INVALID'
  | 'DW_RECORDING_INVALID'
  | 'DW_RECORDINGS_MISSING'
  | 'DW_PACT_INVALID'
  | 'DW_HAR_INVALID'
  | 'DW_CASSETTE_INVALID'
  | 'DW_CASSETTE_TOO_LARGE'
  | 'DW_SPEC_INVALID'
  | 'DW_REPORT_INVALID'
  | 'DW_SIMULATOR_FAILED'
  | 'DW_OUTPUT_FAILED'
  | 'DW_STATE_FAILED'
  | 'DW_INTERNAL'

/** One problem inside a contract or schema file, located precisely enough to fix it. */
export interface ContractProblem {
  /** File path relative to the working directory. */
  file: string
  /** JSON-pointer-like path inside the file, e.g. `/expect/framing`; `` for the whole file. */
  path: string
  /** 1-based line and column when the file is YAML/JSON we parsed ourselves. */
  line?: number
  column?: number
  /** What is wrong and, where we can tell, how to fix it. */
  message: string
}

/** Base class of every error the harness throws on purpose. */
export class HarnessError extends Error {
  /** Stable machine-readable code. */
  readonly code: HarnessErrorCode
  /** Structured details (never secrets). */
  readonly details: Record<string, unknown>

  constructor(code: HarnessErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message)
    this.name = 'HarnessError'
    this.code = code
    this.details = details
  }
}

/** Thrown when one or more contract files are invalid; lists every problem found, not just the first. */
export class ContractError extends HarnessError {
  /** Each problem with file, path, line and message. */
  readonly problems: ContractProblem[]

  constructor(problems: ContractProblem[]) {
    super('DW_CONTRACT_INVALID', formatProblems(problems), { count: problems.length })
    this.name = 'ContractError'
    this.problems = problems
  }
}

/** Renders problems one per line as `file:line:col path: message`, the format editors can jump to. */
export function formatProblems(problems: ContractProblem[]): string {
  const lines = problems.map((p) => {
    const where = p.line ? `${p.file}:${p.line}:${p.column ?? 1}` : p.file
    const path = p.path ? ` at ${p.path}` : ''
    return `  ${where}${path}: ${p.message}`
  })
  const noun = problems.length === 1 ? 'problem' : 'problems'
  return `invalid contracts (${problems.length} ${noun}):\n${lines.join('\n')}`
}

/** True when `err` is a HarnessError (works across module copies, by duck-typing the code). */
export function isHarnessError(err: unknown): err is HarnessError {
  return err instanceof HarnessError || (typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' && String((err as { code: string }).code).startsWith('DW_'))
}
