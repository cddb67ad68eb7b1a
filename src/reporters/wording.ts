/**
 * Words every report format shares: durations, "since when", what a run cleared, findings grouped
 * by cause. They quote report values (times, titles), so what they return is Untrusted: each format
 * escapes it for its medium.
 */
import { causeKey, worstFirst } from '../finding.ts'
import type { Finding } from '../finding.ts'
import type { Report } from '../report.ts'
import { untrusted, type Untrusted, type Untrusting } from '../render/index.ts'

/** `188 ms`, `1.4 s`. */
export function duration(ms: number): Untrusted {
  return untrusted(ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`)
}

/** `2 findings open before this run are gone (1 breaking, 1 warning)`. */
export function clearedSummary(r: Pick<Untrusting<Report>, 'cleared'>): Untrusted {
  const c = r.cleared ?? []
  const by = (['breaking', 'warning', 'info'] as const).map((v) => [v, c.filter((x) => x.severity === v).length] as const).filter(([, n]) => n > 0)
  return untrusted(`${c.length} finding${c.length === 1 ? '' : 's'} open before this run ${c.length === 1 ? 'is' : 'are'} gone (${by.map(([v, n]) => `${n} ${v}`).join(', ')})`)
}

type SinceOf = Pick<Untrusting<Finding>, 'new' | 'since' | 'recurring'>

/** `new this run`, `since <time>`; with the history, whether it came back: `…; back after clearing 2× (last cleared <time>)`. */
export function sinceText(f: SinceOf): Untrusted {
  const back = f.recurring ? `; back after clearing ${f.recurring.cleared}× (last cleared ${f.recurring.lastClearedAt})` : ''
  return untrusted(`${f.new ? 'new this run' : `since ${f.since}`}${back}`)
}

/** The table's short form: `new`, `new (back, 3rd time)`, `<time>`, `<time> (3rd time)`. */
export function sinceCell(f: SinceOf): Untrusted {
  const nth = f.recurring ? ordinal(f.recurring.cleared + 1) : undefined
  if (f.new) return untrusted(nth ? `new (back, ${nth} time)` : 'new')
  return untrusted(nth ? `${f.since} (${nth} time)` : f.since)
}

function ordinal(n: number): string {
  const tail = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th'
  return `${n}${tail}`
}

/** Findings with the same check, severity and title: one cause, possibly seen on many contracts. */
export interface Group<F extends Pick<Finding, 'severity' | 'check' | 'title'> = Untrusting<Finding>> {
  first: F
  all: F[]
}

/** Groups findings by cause, worst first, keeping report order within a severity. */
export function groupFindings<F extends Pick<Finding, 'severity' | 'check' | 'title'>>(findings: readonly F[]): Group<F>[] {
  const groups = new Map<string, Group<F>>()
  for (const f of findings) {
    const key = causeKey(f)
    const g = groups.get(key)
    if (g) g.all.push(f)
    else groups.set(key, { first: f, all: [f] })
  }
  return [...groups.values()].sort((a, b) => worstFirst(a.first, b.first))
}

/** Samples that showed a cause, of samples taken, over every contract it was seen on. */
export function groupSamples(g: Group): { seen: number; of: number } {
  return { seen: g.all.reduce((n, f) => n + f.samples, 0), of: g.all.reduce((n, f) => n + f.of, 0) }
}
