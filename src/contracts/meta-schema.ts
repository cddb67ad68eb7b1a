/**
 * JSON Schema (draft-07) of a contract file as written by people: shorthands allowed. Unknown
 * fields are rejected so a typo (`expct`) fails loudly instead of silently checking nothing.
 */

const severity = { enum: ['breaking', 'warning', 'info'] }
const method = { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] }
const headerName = { type: 'string', pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" }
const stringMap = { type: 'object', additionalProperties: { type: 'string' } }

const headerRef = {
  anyOf: [
    headerName,
    {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: { name: headerName, severity },
    },
  ],
}

const headerPattern = {
  anyOf: [
    { type: 'string', minLength: 1 },
    {
      type: 'object',
      required: ['pattern'],
      additionalProperties: false,
      properties: { pattern: { type: 'string', minLength: 1 }, severity },
    },
  ],
}

/** The meta-schema every contract file is validated against on load. */
export const contractMetaSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://driftwatch.invalid/meta/contract.json',
  type: 'object',
  required: ['id', 'title', 'request', 'expect'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*(\\.[a-z0-9][a-z0-9-]*)*$' },
    title: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    source: { type: 'string' },
    notes: { type: 'array', items: { type: 'string' } },
    tags: { type: 'array', items: { type: 'string' } },
    after: { type: 'array', items: { type: 'string' } },
    inputs: { type: 'array', items: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' } },
    draft: { type: 'boolean' },
    variantOf: { type: 'string' },
    preflight: { type: 'boolean' },
    samples: { type: 'integer', minimum: 1, maximum: 100 },
    repeatable: { type: 'boolean' },
    request: {
      type: 'object',
      required: ['method'],
      additionalProperties: false,
      properties: {
        method,
        path: { type: 'string', pattern: '^/' },
        url: { type: 'string', minLength: 1 },
        query: stringMap,
        headers: stringMap,
        auth: { enum: ['bearer', 'none', 'invalid'] },
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          maxProperties: 1,
          properties: {
            json: {},
            form: stringMap,
            multipart: {
              type: 'object',
              additionalProperties: false,
              properties: {
                fields: stringMap,
                file: {
                  type: 'object',
                  required: ['field', 'path', 'type'],
                  additionalProperties: false,
                  properties: {
                    field: { type: 'string', minLength: 1 },
                    path: { type: 'string', minLength: 1 },
                    filename: { type: 'string', minLength: 1 },
                    type: { type: 'string', pattern: '^[a-z]+/[A-Za-z0-9.+-]+$' },
                  },
                },
              },
            },
          },
        },
      },
    },
    expect: {
      type: 'object',
      required: ['status'],
      additionalProperties: false,
      properties: {
        status: {
          anyOf: [
            { type: 'integer', minimum: 100, maximum: 599 },
            { type: 'array', minItems: 1, items: { type: 'integer', minimum: 100, maximum: 599 } },
          ],
        },
        methods: {
          type: 'object',
          additionalProperties: false,
          properties: {
            accepts: { type: 'array', items: method },
            rejects: { type: 'array', items: method },
          },
        },
        headers: {
          type: 'object',
          additionalProperties: false,
          properties: {
            required: { type: 'array', items: headerRef },
            forbidden: { type: 'array', items: headerRef },
            patterns: { type: 'object', additionalProperties: headerPattern },
          },
        },
        contentType: { type: 'string', pattern: '^[a-z]+/[A-Za-z0-9.+-]+' },
        framing: { enum: ['content-length', 'chunked', 'any'] },
        body: {
          type: 'object',
          required: ['schema'],
          additionalProperties: false,
          properties: { schema: { type: 'string', pattern: '\\.json$' } },
        },
        error: {
          type: 'object',
          required: ['codes'],
          additionalProperties: false,
          properties: {
            codes: { type: 'array', minItems: 1, items: { type: 'integer' } },
            subcodes: { type: 'array', minItems: 1, items: { type: 'integer' } },
            types: { type: 'array', minItems: 1, items: { type: 'string' } },
          },
        },
        media: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            sha256: { type: 'string' },
            size: { type: 'string' },
            mimeType: { type: 'string' },
          },
        },
      },
    },
    capture: {
      type: 'object',
      propertyNames: { pattern: '^[a-z][a-z0-9_]*$' },
      additionalProperties: {
        anyOf: [
          { type: 'string', pattern: '^(/.*)?$' },
          {
            type: 'object',
            additionalProperties: false,
            properties: {
              pointer: { type: 'string', pattern: '^(/.*)?$' },
              header: headerName,
              optional: { type: 'boolean' },
            },
          },
        ],
      },
    },
  },
} as const

/** Field names allowed at each object path, for "did you mean" suggestions on unknown fields. */
export function allowedFields(schemaPath: string): string[] {
  // ajv reports the parent schema path, e.g. `#/properties/expect/additionalProperties`.
  const parts = schemaPath.replace(/^#\//, '').split('/').slice(0, -1)
  let node: unknown = contractMetaSchema
  for (const p of parts) {
    if (node && typeof node === 'object') node = (node as Record<string, unknown>)[p]
  }
  const props = node && typeof node === 'object' ? (node as { properties?: Record<string, unknown> }).properties : undefined
  return props ? Object.keys(props) : []
}
