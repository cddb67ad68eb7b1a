/**
 * Findings are data: the upstream (or our client) did something the contract does not allow.
 * A check returns them; it never throws for a mismatch.
 */
import { isBinaryText, PREVIEW_WITHHELD, type Observation, type RawHeader } from './observation.ts'
import { curlFor } from './reproduce.ts'

/** How bad a finding is. `breaking`: clients following the contract fail. `warning`: they will soon, or some do. `info`: worth knowing. */
export type Severity = 'breaking' | 'warning' | 'info'

/** Severities from worst to least. */
export const SEVERITIES: readonly Severity[] = ['breaking', 'warning', 'info'] as const

/** Numeric rank of a severity (higher is worse), for thresholds. */
export function severityRank(s: Severity): number {
  return s === 'breaking' ? 3 : s === 'warning' ? 2 : 1
}

/** Status, headers and a body excerpt from the response that showed the problem, redacted. */
export interface Evidence {
  /** `METHOD url` of the request (redacted). */
  request?: string
  status?: number
  /** Response headers in wire order, original case. */
  headers?: RawHeader[]
  bodyExcerpt?: string
  /** A curl command that sends the same request (token as $WHATSAPP_ACCESS_TOKEN). */
  curl?: string
  /** For a finding against the golden recording: what the recording holds for the same status, to put side by side. */
  golden?: { recording: string; recordedAt: string; status?: number; bodyExcerpt?: string; /** Its response headers in wire order (framing findings show its framing beside this run's). */ headers?: RawHeader[] }
}

/** What a check returns for one problem, before the runner adds sampling and timing. */
export interface FindingDraft {
  check: string
  severity: Severity
  /** One line, readable at 3 a.m.: what changed. */
  title: string
  /** Detail: received vs contract, the consequence, what to do. */
  message: string
  expected: string
  actual: string
  /** Index into the observations given to the check, for evidence; defaults to the first. */
  observationIndex?: number
  /** For checks that judge samples together: how many samples the finding is about (else counted by folding). */
  samples?: number
}

/** A finding as it appears in the report: the check's draft plus where, evidence, sampling and history. */
export interface Finding extends Omit<FindingDraft, 'observationIndex' | 'samples'> {
  contract: string
  /** The target's name, in a report of several targets. */
  target?: string
  evidence: Evidence
  /** Samples that showed this finding. */
  samples: number
  /** Samples taken. */
  of: number
  /** ISO time this finding was first reported: this run, or an earlier run whose report still showed it. */
  since: string
  /** False when the finding was already open: in the history's latest run of the contract, else in the previous report in the same output directory. */
  new: boolean
  /** From the history: earlier episodes of this finding (same contract and check) that cleared, and when the last one did. */
  recurring?: { cleared: number; lastClearedAt: string }
  /** One driftwatch command line that re-runs just what this finding needs against the same target and shows it again. */
  rerun?: string
  /** ISO time of the last run (history or previous report) in which this contract passed, when known. */
  lastGood?: string
}

/** Identity of a finding across runs: same contract, check and title (titles carry the essential values). */
export function findingKey(f: Pick<Finding, 'contract' | 'check' | 'title' | 'target'>): string {
  return `${f.target ?? ''}\u0000${f.contract}\u0000${f.check}\u0000${f.title}`
}

/** One cause, whatever the contract: the same finding on eleven contracts is one row in report.md. */
export function causeKey(f: Pick<Finding, 'severity' | 'check' | 'title'>): string {
  return `${f.severity}\u0000${f.check}\u0000${f.title}`
}

/**
 * Drafts that fold into one finding across samples: same check, severity and title (titles carry
 * the essential values). Details that differ per sample (a parse error's position in random bytes)
 * do not split one cause into rows; the first sample's detail stands for them.
 */
export function foldKey(d: Pick<FindingDraft, 'check' | 'severity' | 'title'>): string {
  return `${d.check}\u0000${d.severity}\u0000${d.title}`
}

/** Contract label of findings about exchanges whose operation the traffic does not settle (never judged on a guess). */
export const UNATTRIBUTED = '(unattributed)'
/** Contract label of findings about exchanges no operation describes. */
export const NO_OPERATION = '(no operation)'

/** Drift is anything above info: info findings are worth knowing, never a failure. */
export function isDrift(f: Pick<Finding, 'severity'>): boolean {
  return f.severity !== 'info'
}

/** Orders findings worst first (stable for equal severities). */
export function worstFirst(a: Pick<Finding, 'severity'>, b: Pick<Finding, 'severity'>): number {
  return severityRank(b.severity) - severityRank(a.severity)
}

/** Builds evidence from an observation; headers and bodies are already redacted by the transport. */
export function evidenceFrom(o: Observation | undefined, maxBody = 600): Evidence {
  if (!o) return {}
  const ev: Evidence = { request: `${o.request.method} ${o.request.url}`, curl: curlFor(o.request) }
  if (o.response) {
    ev.status = o.response.status
    ev.headers = o.response.rawHeaders
    const b = o.response.body
    if (b.text !== undefined && b.hexPreview === undefined && !isBinaryText(b.text.slice(0, maxBody))) {
      ev.bodyExcerpt = b.text.length > maxBody ? `${b.text.slice(0, maxBody)}… (${b.size} bytes in all)` : b.text
    } else if (b.size > 0) {
      // Bytes are described, never dumped: size, hash, and the first bytes in hex as the redactor
      // let them through (never recomputed from base64 here: this function does not know the secrets).
      const preview = b.hexPreview === PREVIEW_WITHHELD ? 'withheld, they hold a secret' : b.hexPreview
      ev.bodyExcerpt = `<${b.text !== undefined ? 'not UTF-8 text' : 'binary'}, ${b.size} bytes, sha256 ${b.sha256}${preview ? `; first bytes: ${preview}` : ''}>`
    }
  } else if (o.transportError) {
    ev.bodyExcerpt = `<no response: ${o.transportError.code}: ${o.transportError.message}>`
  }
  return ev
}
