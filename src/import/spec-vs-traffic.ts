/**
 * Where Meta's spec and Meta's API disagree, found by the tool rather than written by hand:
 * draft contracts from the spec (import openapi), judge recorded traffic against them (verify),
 * and list (1) fields whose type or presence the traffic contradicts, (2) fields the spec lists
 * that the traffic never sends, (3) what error bodies carry that the spec's GraphAPIError lacks.
 * The README section of the same name is this module's output (`npm run spec-report`), and a
 * test fails when the two differ.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { graphError } from '../checks/check.ts'
import { loadContracts } from '../contracts/load.ts'
import type { Observation } from '../observation.ts'
import { loadRecordings } from '../recordings/store.ts'
import { inferSchema, jsonPathOf, type InferredSchema } from '../schema/infer.ts'
import { runVerify } from '../verify/verify.ts'
import { importOpenApi } from './openapi.ts'

/** The operations the Meta pack exercises, by operationId in Meta's v23.0 spec. */
export const PACK_OPERATIONS = ['retrieveMediaUrl', 'deleteMedia', 'uploadImage', 'sendMessage', 'getPhoneNumberById', 'getTemplateByNameDefaultFields']

/** One disagreement. */
export interface Disagreement {
  operation: string
  field: string
  spec: string
  traffic: string
}

/** Runs import + verify in a temporary directory and collects the disagreements. */
export async function specVsTraffic(opts: { spec: string; recordingsDir: string; cwd: string; operations?: readonly string[] }): Promise<Disagreement[]> {
  const work = mkdtempSync(join(tmpdir(), 'dw-spec-'))
  try {
    const contractsDir = join(work, 'contracts')
    await importOpenApi({ spec: opts.spec, outDir: contractsDir, operations: opts.operations ?? PACK_OPERATIONS, cwd: opts.cwd })
    const pack = loadContracts(contractsDir, { cwd: opts.cwd })
    const { report, matched } = await runVerify({ input: opts.recordingsDir, contractsDir, outDir: join(work, 'reports'), formats: ['json'], env: {}, cwd: opts.cwd })
    const opOf = (id: string) => pack.contracts.find((c) => c.id === id)?.source?.match(/\.(get|post|delete|put|patch)$/)?.[1]?.toUpperCase() + ' ' + (pack.contracts.find((c) => c.id === id)?.request.path ?? id)
    const out: Disagreement[] = []

    // (1) Types and fields the traffic contradicts (schema-drift against the drafted contracts).
    for (const f of report.findings.filter((x) => x.check === 'schema-drift')) {
      const [field, spec] = splitField(f.expected)
      const [, traffic] = splitField(f.actual)
      out.push({ operation: opOf(f.contract), field, spec: spec === 'not allowed' ? 'not listed' : spec, traffic: spec === 'not allowed' ? `sends it (${traffic})` : traffic })
    }

    // (2) Fields the spec lists that no recorded success carries.
    for (const [id, observations] of matched) {
      const c = pack.contracts.find((x) => x.id === id)!
      const bodies = observations.filter((o) => o.response && c.expect.status.includes(o.response.status) && o.response.body.json !== undefined).map((o) => o.response!.body.json)
      if (!c.expect.bodySchema || bodies.length === 0) continue
      const spec = pack.schemaJson(c.expect.bodySchema)
      if (!spec) continue
      for (const path of neverSeen(spec as SpecNode, inferSchema(bodies), [])) out.push({ operation: opOf(id), field: path, spec: 'listed', traffic: `never sent (${bodies.length} recorded response${bodies.length === 1 ? '' : 's'})` })
    }

    // (3) Error bodies against the spec's GraphAPIError.
    if (pack.schemaJson('openapi.graph-api-error.json')) {
      const errors = [...loadRecordings(opts.recordingsDir, opts.cwd).values()].flat().flatMap((r) => r.observations).filter((o: Observation) => o.response && o.response.status >= 400 && graphError(o.response.body.json))
      const extra = new Map<string, number>()
      for (const o of errors) {
        for (const v of pack.validateBody('openapi.graph-api-error.json', o.response!.body.json)) {
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
    `Produced by \`npm run spec-report\`: drafts contracts from \`${relative(cwd, spec)}\` with \`driftwatch import openapi\`, judges \`${relative(cwd, recordings)}\` against them with \`driftwatch verify\`, and lists every disagreement. The recordings come from the simulator, which follows recorded traffic as FACTS.md describes it; record the live API (\`driftwatch record --target https://graph.facebook.com --name live\`) and re-run to refresh this from today's traffic.`,
    '',
    '| Operation | Field | Meta\'s spec | Recorded traffic |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${cell(r.operation)} | \`${cell(r.field)}\` | ${cell(r.spec)} | ${cell(r.traffic)} |`),
  ].join('\n')
}

/** Markers around the generated section in README.md. */
export const README_MARKERS = ['<!-- spec-vs-traffic:start (generated by npm run spec-report; do not edit) -->', '<!-- spec-vs-traffic:end -->'] as const
