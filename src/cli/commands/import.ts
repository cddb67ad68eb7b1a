import { resolve } from 'node:path'
import { term, untrusted as u } from '../../render/index.ts'
import { HarnessError } from '../../util/errors.ts'
import { shownPath } from '../../util/paths.ts'
import { DEFAULTS, GLOBAL, str, type Command } from '../options.ts'

export const importCommand: Command = {
  name: 'import',
  summary: 'draft operations from an OpenAPI 3.x document (driftwatch import openapi <spec>).',
  usage: ['import openapi <spec.yaml|spec.json> [options]'],
  positionals: true,
  about: `Writes one operation file (<out>/operations/<id>.yaml) and one JSON Schema (<out>/schemas/) per
operation: readable drafts an engineer reviews, edits and commits. They state what the spec says;
\`driftwatch verify <traffic> --contracts <out>\` then shows where the spec and real traffic
disagree. Object schemas are closed (additionalProperties: false) so fields the spec does not list
are reported; path parameters become {<node>_id}; no request body schema nor error codes are
drafted (the spec has neither in a usable form). Operations are never sent: check sends probes.`,
  options: {
    tag: { type: 'string', multiple: true, arg: '<tag>', help: 'only operations with this tag' },
    operation: { type: 'string', multiple: true, arg: '<id>', help: 'only this operationId' },
    out: { type: 'string', arg: '<dir>', help: `where the drafts go (default ${DEFAULTS.importOut}); import writes no report` },
    force: { type: 'boolean', help: 'overwrite drafts that already exist' },
    ...GLOBAL,
  },
  notes: 'A draft that would not load is skipped with a line saying why; the rest are written (exit 0). Exit 2 for an unreadable spec, nothing selected, or drafts that exist without --force.',
  async run(v, positionals, io) {
    const [kind, spec, ...extra] = positionals
    if (kind !== 'openapi') throw new HarnessError('DW_USAGE', `import knows one format: driftwatch import openapi <spec> (got ${kind ? `"${kind}"` : 'nothing'})`)
    if (!spec || extra.length) throw new HarnessError('DW_USAGE', 'import openapi takes one spec file (see driftwatch help import)')
    const { importOpenApi } = await import('../../commands/import-openapi.ts')
    const outDir = resolve(io.cwd, str(v, 'out') ?? DEFAULTS.importOut)
    const tags = v.tag as string[] | undefined
    const operations = v.operation as string[] | undefined
    const r = await importOpenApi({ spec: resolve(io.cwd, spec), outDir, ...(tags ? { tags } : {}), ...(operations ? { operations } : {}), force: v.force === true, cwd: io.cwd })
    if (!v.quiet) for (const s of r.skipped) io.stderr(String(term`  skipped ${u(s.operation)}: ${u(s.reason)}`))
    const where = shownPath(io.cwd, outDir)
    io.stdout(`Drafted ${r.operations.length} operation${r.operations.length === 1 ? '' : 's'} and ${r.schemas.length} schema${r.schemas.length === 1 ? '' : 's'} in ${where}. Review them, then judge traffic against them: driftwatch verify <traffic.har> --contracts ${where}`)
    return 0
  },
}
