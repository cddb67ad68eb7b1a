/**
 * What live traffic covers. The proxy records each operation it judged (store.cover); `watch`
 * reads which were judged within --traffic-window and does not probe those: traffic sees a drift
 * on them within seconds, a probe at the default budget within half an hour, so the budget goes
 * to what traffic does not exercise.
 *
 * A probe is covered by its operation's traffic only when traffic does what the probe does: it
 * expects a success (2xx) and is not a variant of another probe. Probes of error answers (a
 * rejected token, an unknown object, a method the endpoint refuses) and of optional parameters
 * keep being probed: applications do not send those on purpose.
 */
import type { ContractPack, Probe } from '../contracts/types.ts'

/**
 * Traffic judged within the last 15 minutes covers an operation. At the default budget (960/day)
 * one pass over every probe takes about 37 minutes; traffic fresher than half of that is better
 * evidence than the next probe would be, and a proxy that stops is noticed within one window.
 */
export const DEFAULT_TRAFFIC_WINDOW_MS = 15 * 60_000

/** The operation whose live traffic stands for `probe`, or undefined when traffic does not do what it does. */
export function trafficOperation(probe: Probe): string | undefined {
  if (probe.variant) return undefined
  return probe.expect.status.every((s) => s >= 200 && s < 300) ? probe.operation : undefined
}

/** A contract id (a probe's or an operation's) to the operation traffic judges it by; an operation is its own. */
export function operationOf(pack: Pick<ContractPack, 'probes' | 'operation'>): (contract: string) => string | undefined {
  const byProbe = new Map(pack.probes.map((p) => [p.id, trafficOperation(p)]))
  return (contract) => (byProbe.has(contract) ? byProbe.get(contract) : pack.operation(contract) ? contract : undefined)
}

/** The probes whose operation live traffic judged (`covered`: operation -> when, from store.coveredSince). */
export function coveredProbes(probes: readonly Probe[], covered: ReadonlyMap<string, number>): Set<string> {
  const out = new Set<string>()
  for (const p of probes) {
    const op = trafficOperation(p)
    if (op !== undefined && covered.has(op)) out.add(p.id)
  }
  return out
}
