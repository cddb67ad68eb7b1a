/**
 * `schema-drift`: the shape of today's bodies against the contract's schema (widened: values the
 * contract never allowed, breaking) and against the golden recording (narrowed: fields or types the
 * upstream used to send and no longer does, warning; new fields the contract allows, info). The
 * deltas are computed before the checks run (src/schema/drift.ts, async); this check words them.
 */
import type { SchemaDelta } from '../schema/drift.ts'
import type { Check } from './check.ts'

function severity(d: SchemaDelta): 'breaking' | 'warning' | 'info' {
  if (d.against === 'contract') return 'breaking'
  return d.kind === 'widened' ? 'info' : 'warning'
}

function consequence(d: SchemaDelta): string {
  if (d.against === 'contract') return `Clients that read ${d.path} as the contract says (${d.before}) break: a typed client rejects the body, an untyped one computes with the wrong type.`
  if (d.kind === 'widened') return 'Nothing breaks yet; add the field to the contract\'s schema once it is understood.'
  return `Code that relies on ${d.path} as recorded breaks or silently takes a default. If the change is intended, re-record (driftwatch record) and update the contract.`
}

/** Words each schema delta the runner computed for this contract. */
export const schemaDriftCheck: Check = {
  id: 'schema-drift',
  title: 'the body shape matches the contract and the golden recording',
  needs: 'body',
  run(_observations, _exp, ctx) {
    const drift = ctx.schemaDrift
    if (!drift) return []
    return drift.deltas.map((d) => ({
      check: 'schema-drift',
      severity: severity(d),
      title: d.against === 'contract' ? d.words : `${d.words} (${d.kind} since the recording)`,
      message: `${d.words}.\nCompared with: ${d.against === 'contract' ? `the contract's schema ${(d.schema ?? 'of this response').replace('#fields=', ' narrowed to fields=')}` : 'the golden recording'}; judged on ${d.samples} of ${d.of} bodies.\n${consequence(d)}`,
      expected: `${d.path}: ${d.before}`,
      actual: `${d.path}: ${d.after}`,
      observationIndex: drift.observationIndex[d.sampleIndex] ?? 0,
      samples: d.samples,
    }))
  },
}
