/**
 * Where Meta's spec and Meta's API disagree, found by the tool rather than written by hand:
 * draft operations from the spec (import openapi), judge recorded successes against them (the judge),
 * and list (1) fields whose type or presence the traffic contradicts, (2) fields the spec lists
 * that the traffic never sends, (3) what error bodies carry that the spec's GraphAPIError lacks.
 * The README section of the same name is this module's output (`npm run spec-report`), and a
 * test fails when the two differ.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { checks } from '../checks/index.ts'
import { operationExpectation } from '../contracts/expectation.ts'
import { loadContracts } from '../contracts/load.ts'
import { graphError } from '../graph/index.ts'
import { judge } from '../judge/index.ts'
import type { Observation } from '../model/observation.ts'
import { loadRecordings } from '../recordings/store.ts'
import { inferSchema, jsonPathOf, type InferredSchema } from '../schema/infer.ts'
import { importOpenApi } from './import-openapi.ts'

/** The operations the Meta pack's probes exercise, and the operationId each is in Meta's v23.0 spec. */
export const PACK_OPERATIONS: Readonly<Record<string, string>> = {
  'media.retrieve-url': 'retrieveMediaUrl',
  'media.delete': 'deleteMedia',
  'media.upload': 'uploadImage',
  'messages.send-text': 'sendMessage',
  'phone-numbers.get': 'getPhoneNumberById',
  'templates.list': 'getTemplateByNameDefaultFields',
}

/** One disagreement. */
export interface Disagreement {
  operation: string
  field: string
  spec: string
  traffic: string
}

/**
 * Drafts the spec's operations in a temporary directory, judges every recorded success of the
 * pack's probes against the draft of the operation it exercises (mapped by operationId, not
 * guessed), and collects the disagreements.
 */
export async function specVsTraffic(opts: { spec: string; recordingsDir: string; cwd: string; contractsDir?: string }): Promise<Disagreement[]> {
  const work = mkdtempSync(join(tmpdir(), 'dw-spec-'))
  try {
    const draftsDir = join(work, 'contracts')
    await importOpenApi({ spec: opts.spec, outDir: draftsDir, operations: Object.values(PACK_OPERATIONS), cwd: opts.cwd })
    const drafts = loadContracts(draftsDir, { cwd: opts.cwd })
    const pack = loadContracts(opts.contractsDir ?? 'contracts/meta', { cwd: opts.cwd })
    const recordings = loadRecordings(opts.recordingsDir, opts.cwd)
    const out: Disagreement[] = []
    for (const [ours, specId] of Object.entries(PACK_OPERATIONS)) {
      const draft = drafts.operations.find((o) => o.source.includes(`(operationId ${specId})`))
      if (!draft) continue
      // Successes of this operation's probes, sent with the operation's own method (the POST rejection probe is not a retrieve).
      const observations: Observation[] = pack.probes
        .filter((p) => p.operation === ours && p.request.method === draft.request.method)
        .flatMap((p) => (recordings.get(p.id) ?? []).flatMap((r) => r.observations))
        .filter((o) => o.response && o.response.status < 300)
      if (observations.length === 0) continue
      const label = `${draft.request.method} ${draft.request.path}`
      const exp = operationExpectation(draft)
      // (1) Types and fields the traffic contradicts: schema drift against the draft.
      const { findings: drift } = await judge(exp, observations, { pack: drafts, since: new Date(0).toISOString(), checks: [checks['schema-drift']] })
      for (const f of drift) {
        const [field, spec] = splitField(f.expected)
        const [, traffic] = splitField(f.actual)
        out.push({ operation: label, field, spec: spec === 'not allowed' ? 'not listed' : spec, traffic: spec === 'not allowed' ? `sends it (${traffic})` : traffic })
      }
      // (2) Fields the spec lists that no recorded success carries.
      const schema = draft.responses[0]?.bodySchema
      const bodies = observations.map((o) => o.response!.body.json).filter((b) => b !== undefined)
      const specJson = schema ? drafts.schemaJson(schema) : undefined
      if (specJson && bodies.length) for (const path of neverSeen(specJson as SpecNode, inferSchema(bodies), [])) out.push({ operation: label, field: path, spec: 'listed', traffic: `never sent (${bodies.length} recorded response${bodies.length === 1 ? '' : 's'})` })
    }

    // (3) Error bodies against the spec's GraphAPIError.
    if (drafts.schemaJson('openapi.graph-api-error.json')) {
      const errors = [...recordings.values()].flat().flatMap((r) => r.observations).filter((o: Observation) => o.response && o.response.status >= 400 && graphError(o.response.body.json))
      const extra = new Map<string, number>()
      for (const o of errors) {
        for (const v of drafts.validateBody('openapi.graph-api-error.json', o.response!.body.json)) {
          if (v.keyword === 'additionalProperties') extra.set(v.path, (extra.get(v.path) ?? 0) + 1)
        }
      }
      for (const [path, n] of [...extra].sort()) out.push({ operation: 'any error (GraphAPIError)', field: path, spec: 'not listed', traffic: `sent in ${n} of ${errors.length} recorded errors` })
    }
    return out
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

type SpecNode = { properties?: Record<string, SpecNode>; items?: SpecNode }

/** Paths of properties the spec lists under objects the traffic has, which the traffic never has. */
function neverSeen(spec: SpecNode, seen: InferredSchema, keys: string[]): string[] {
  const out: string[] = []
  for (const [k, sub] of Object.entries(spec.properties ?? {})) {
    const s = seen.properties?.[k]
    if (!s) out.push(jsonPathOf([...keys, k]))
    else out.push(...neverSeen(sub, s, [...keys, k]))
  }
  if (spec.items && seen.items) out.push(...neverSeen(spec.items, seen.items, [...keys, '*']))
  return out
}

function splitField(s: string): [string, string] {
  const i = s.indexOf(': ')
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 2)]
}

/** The README section, as markdown. */
export function renderDisagreements(rows: readonly Disagreement[], spec: string, recordings: string, cwd: string): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|')
  return [
    `Produced by \`npm run spec-report\`: drafts operations from \`${relative(cwd, spec)}\` with \`driftwatch import openapi\`, judges the successes recorded in \`${relative(cwd, recordings)}\` against the draft of the operation each exercises, and lists every disagreement. The recordings come from the simulator, which follows recorded traffic as FACTS.md describes it; record the live API (\`driftwatch record --target https://graph.facebook.com --name live\`) and re-run to refresh this from today's traffic.`,
    '',
    '| Operation | Field | Meta\'s spec | Recorded traffic |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${cell(r.operation)} | \`${cell(r.field)}\` | ${cell(r.spec)} | ${cell(r.traffic)} |`),
  ].join('\n')
}

/** Markers around the generated section in README.md. */
export const README_MARKERS = ['<!-- spec-vs-traffic:start (generated by npm run spec-report; do not edit) -->', '<!-- spec-vs-traffic:end -->'] as const
