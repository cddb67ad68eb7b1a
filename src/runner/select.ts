/**
 * `--only` selection: probes matching any glob, plus the probes they depend on (an upload must run
 * before a download can), plus the cleanup probes that undo what those create (the delete of the
 * uploaded media: a rerun against Meta must not leave a file behind), in pack order.
 */
import picomatch from 'picomatch'
import { prerequisitesOf } from '../contracts/probes.ts'
import type { Probe } from '../contracts/types.ts'
import { HarnessError } from '../util/errors.ts'

/** A selected probe and whether it was asked for or pulled in as a prerequisite. */
export interface Selected {
  probe: Probe
  requested: boolean
}

const matchers = new Map<string, (id: string) => boolean>()

/**
 * Selects by id globs (comma-separated allowed); empty or undefined selects everything. The
 * preflight probe joins every selection unless `preflight: false` (watch runs it only when it
 * needs to know whether the token still works).
 */
export function selectProbes(contracts: readonly Probe[], globs: readonly string[] | undefined, opts: { preflight?: boolean } = {}): Selected[] {
  const patterns = (globs ?? []).flatMap((g) => g.split(',')).map((g) => g.trim()).filter(Boolean)
  if (patterns.length === 0) return contracts.map((probe) => ({ probe, requested: true }))
  const key = patterns.join('\u0000')
  let match = matchers.get(key)
  if (!match) matchers.set(key, (match = picomatch(patterns)))
  const requested = new Set(contracts.filter((c) => match(c.id)).map((c) => c.id))
  if (requested.size === 0) {
    throw new HarnessError('DW_USAGE', `--only ${patterns.join(',')} matches no probe (ids: ${contracts.map((c) => c.id).join(', ')})`)
  }
  // Preflight contracts always run: they tell a rejected token from drift before anything else.
  const needed = new Set([...requested, ...(opts.preflight === false ? [] : contracts.filter((c) => c.preflight).map((c) => c.id))])
  const stack = [...needed]
  while (stack.length > 0) {
    const id = stack.pop()!
    const c = contracts.find((x) => x.id === id)!
    for (const d of prerequisitesOf(c, contracts)) {
      if (!needed.has(d)) {
        needed.add(d)
        stack.push(d)
      }
    }
  }
  for (const id of cleanupsFor(contracts, needed)) needed.add(id)
  return contracts.filter((c) => needed.has(c.id)).map((probe) => ({ probe, requested: requested.has(probe.id) }))
}

/**
 * The cleanup probes (`cleanup: true`) that undo what the chosen probes create: each one whose
 * prerequisites (the probes capturing what it uses: media.delete needs media.upload's id) are all
 * chosen. A cleanup needs nothing but them, so the choice stays closed over its prerequisites.
 */
export function cleanupsFor(contracts: readonly Probe[], chosen: ReadonlySet<string>): string[] {
  return contracts
    .filter((c) => c.cleanup && !chosen.has(c.id))
    .filter((c) => {
      const deps = prerequisitesOf(c, contracts)
      return deps.length > 0 && deps.every((d) => chosen.has(d))
    })
    .map((c) => c.id)
}
