/**
 * `body-schema-conformance`: the JSON body validates against the contract's schema. One finding
 * per JSON path, so the title says which field changed and how. When the runner computed schema
 * deltas (ctx.schemaDrift), the `schema-drift` check words the same violations across samples
 * ("`$.file_size` was integer, is now string") and this check only reports bodies that are not
 * JSON at all: one cause, one finding.
 */
import { MAX_JSON_DEPTH, TOO_DEEP_TO_PARSE } from '../util/json.ts'
import { expectedResponse, perObservation } from './check.ts'

const MAX_VIOLATIONS = 12

/** Flags a non-JSON body or each schema violation, located by JSON path. */
export const bodySchemaCheck = perObservation('body-schema-conformance', 'the body validates against its JSON Schema', 'body', (o, exp, ctx) => {
  const hit = expectedResponse(o, exp)
  const schema = hit && ctx.bodySchema(o, hit.spec)
  if (!hit || !schema) return []
  const { r } = hit
  if (r.body.jsonError === TOO_DEEP_TO_PARSE) {
    const actual = `a body nested deeper than ${MAX_JSON_DEPTH} levels: not checked against the schema`
    return [{ severity: 'breaking', title: `Body nested deeper than ${MAX_JSON_DEPTH} levels`, message: `Received: a ${r.body.size}-byte JSON body nested deeper than ${MAX_JSON_DEPTH} levels (no API answer nests this deep): not parsed, not checked against the schema\nContract: JSON matching ${schema}\nClients that walk the body recursively overflow their stack.`, expected: `JSON matching ${schema}`, actual }]
  }
  if (r.body.json === undefined && r.body.truncated && r.body.hexPreview === undefined && r.body.keptBytes > 0) {
    // Larger than driftwatch keeps (1 MiB of text): whether it is JSON is unknown, so it is said, not judged.
    const actual = `a ${r.body.size}-byte body, of which the first ${r.body.keptBytes} bytes were kept: not parsed, not checked against the schema`
    return [{ severity: 'info', title: `Body larger than the ${r.body.keptBytes} bytes kept: not checked`, message: `Received: ${actual}\nContract: JSON matching ${schema}\nNothing is known to be wrong; bodies this large are hashed and counted, not parsed.`, expected: `JSON matching ${schema}`, actual }]
  }
  if (r.body.json === undefined) {
    // Bytes that are not text are described (first bytes in hex), never quoted.
    const why = r.body.hexPreview !== undefined ? `is not UTF-8 text, so not JSON (first bytes: ${r.body.hexPreview.slice(0, 47)})` : r.body.jsonError ? `does not parse: ${r.body.jsonError}` : r.body.size === 0 ? 'is empty' : 'is not JSON'
    return [{ severity: 'breaking', title: `Body ${r.body.size === 0 ? 'is empty' : 'is not JSON'}`, message: `Received: a ${r.body.size}-byte body that ${why}\nContract: JSON matching ${schema}\nClients that parse the body throw.`, expected: `JSON matching ${schema}`, actual: why }]
  }
  if (ctx.schemaDrift) return []
  const violations = ctx.validateBody(schema, r.body.json)
  const shown = violations.slice(0, MAX_VIOLATIONS).map((v) => ({
    severity: 'breaking' as const,
    title: `Body ${v.path} ${v.message}`,
    message: `Received: ${v.path} ${v.message}\nContract: ${schema}\nClients that read ${v.path} with the contracted type or presence break.`,
    expected: `${schema} (${v.keyword})`,
    actual: `${v.path} ${v.message}`,
  }))
  if (violations.length > MAX_VIOLATIONS) {
    shown.push({ severity: 'breaking', title: `Body has ${violations.length - MAX_VIOLATIONS} more schema violations`, message: violations.slice(MAX_VIOLATIONS).map((v) => `${v.path} ${v.message}`).join('\n'), expected: schema, actual: `${violations.length} violations` })
  }
  return shown
}, (o, exp, ctx) => {
  const hit = expectedResponse(o, exp)
  if (!hit || !ctx.bodySchema(o, hit.spec)) return ''
  const b = hit.r.body
  if (b.jsonError === TOO_DEEP_TO_PARSE) return 'deep'
  if (b.json === undefined && b.truncated && b.hexPreview === undefined && b.keptBytes > 0) return `kept ${b.keptBytes}`
  if (b.json === undefined) return b.size === 0 ? 'empty' : 'not json'
  // Violations are the body's own: no projection short of the body says them. Beside schema-drift they are its to say.
  return ctx.schemaDrift ? 'json' : undefined
})
