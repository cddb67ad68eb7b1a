/**
 * An operation file for a small test pack: `extra` is more of the request (query, body) and `schema`
 * the success's body schema file, so a test writes only what its rule needs.
 */
export function operationYaml(id: string, node: string, method: string, path: string, extra = '', schema?: string): string {
  return `id: ${id}
title: ${id}
node: ${node}
source: a test pack
request:
  method: ${method}
  path: ${path}
${extra}responses:
  200:
    framing: content-length${schema ? `\n    body: { schema: ${schema} }` : ''}
  error:
    codes: [100]
`
}
