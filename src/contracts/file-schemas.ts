/**
 * JSON Schemas (draft-07) of the contract files as people write them: shorthands allowed. Unknown
 * fields are rejected so a typo (`expct`) fails loudly instead of silently checking nothing.
 * Probes are `<pack>/<id>.yaml`; operations are `<pack>/operations/<id>.yaml`.
 */

const severity = { enum: ['breaking', 'warning', 'info'] }
const method = { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] }
const headerName = { type: 'string', pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" }
const stringMap = { type: 'object', additionalProperties: { type: 'string' } }
const id = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*(\\.[a-z0-9][a-z0-9-]*)*$' }
const node = { type: 'string', pattern: '^[a-z][a-z0-9_]*$' }

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

const headers = {
  type: 'object',
  additionalProperties: false,
  properties: {
    required: { type: 'array', items: headerRef },
    forbidden: { type: 'array', items: headerRef },
    patterns: { type: 'object', additionalProperties: headerPattern },
  },
}

const status = {
  anyOf: [
    { type: 'integer', minimum: 100, maximum: 599 },
    { type: 'array', minItems: 1, items: { type: 'integer', minimum: 100, maximum: 599 } },
  ],
}
const contentType = { type: 'string', pattern: '^[a-z]+/[A-Za-z0-9.+-]+' }
const framing = { enum: ['content-length', 'chunked', 'any'] }
const bodyRef = {
  type: 'object',
  required: ['schema'],
  additionalProperties: false,
  properties: { schema: { type: 'string', pattern: '\\.json$' } },
}
const codes = { type: 'array', items: { type: 'integer' } }
const errorSet = {
  type: 'object',
  required: ['codes'],
  additionalProperties: false,
  properties: {
    codes: { ...codes, minItems: 1 },
    subcodes: { ...codes, minItems: 1 },
    types: { type: 'array', minItems: 1, items: { type: 'string' } },
  },
}

/** The schema every probe file is validated against on load. */
export const probeFileSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://driftwatch.invalid/files/probe.json',
  type: 'object',
  required: ['id', 'title', 'operation', 'expect'],
  additionalProperties: false,
  properties: {
    id,
    title: { type: 'string', minLength: 1 },
    operation: id,
    description: { type: 'string' },
    source: { type: 'string' },
    notes: { type: 'array', items: { type: 'string' } },
    tags: { type: 'array', items: { type: 'string' } },
    after: { type: 'array', items: { type: 'string' } },
    inputs: { type: 'array', items: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' } },
    variantOf: { type: 'string' },
    preflight: { type: 'boolean' },
    samples: { type: 'integer', minimum: 1, maximum: 100 },
    repeatable: { type: 'boolean' },
    cleanup: { type: 'boolean' },
    request: {
      type: 'object',
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
        status,
        methods: {
          type: 'object',
          additionalProperties: false,
          properties: {
            accepts: { type: 'array', items: method },
            rejects: { type: 'array', items: method },
          },
        },
        headers,
        contentType,
        framing,
        body: bodyRef,
        error: errorSet,
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

const response = {
  type: 'object',
  additionalProperties: false,
  properties: {
    description: { type: 'string' },
    body: bodyRef,
    framing,
    contentType,
    headers,
  },
}

/** The schema every operation file is validated against on load. */
export const operationFileSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://driftwatch.invalid/files/operation.json',
  type: 'object',
  required: ['id', 'title', 'node', 'source', 'request', 'responses'],
  additionalProperties: false,
  properties: {
    id,
    title: { type: 'string', minLength: 1 },
    node,
    description: { type: 'string' },
    source: { type: 'string', minLength: 1 },
    notes: { type: 'array', items: { type: 'string' } },
    tags: { type: 'array', items: { type: 'string' } },
    request: {
      type: 'object',
      required: ['method', 'path'],
      additionalProperties: false,
      properties: {
        method,
        path: { type: 'string', pattern: '^/' },
        host: { type: 'string', pattern: '^[a-z0-9.-]+$' },
        query: {
          type: 'object',
          propertyNames: { pattern: '^[A-Za-z0-9_.\\[\\]-]+$' },
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            properties: {
              required: { type: 'boolean' },
              description: { type: 'string' },
              includes: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[A-Za-z0-9_]+$' } },
            },
          },
        },
        body: {
          type: 'object',
          required: ['type'],
          additionalProperties: false,
          properties: {
            type: { enum: ['json', 'form', 'multipart'] },
            description: { type: 'string' },
            schema: { type: 'object' },
          },
        },
      },
    },
    responses: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^([1-5][0-9][0-9]|error)$' },
      additionalProperties: response,
      properties: {
        error: {
          type: 'object',
          required: ['codes'],
          additionalProperties: false,
          properties: {
            description: { type: 'string' },
            codes,
            subcodes: { ...codes, minItems: 1 },
            types: { type: 'array', minItems: 1, items: { type: 'string' } },
            body: bodyRef,
            framing,
            contentType,
            headers,
          },
        },
      },
    },
    yields: {
      type: 'object',
      propertyNames: { pattern: '^(/([^/]+))+$' },
      additionalProperties: node,
    },
    downloads: {
      type: 'object',
      required: ['query'],
      additionalProperties: false,
      properties: { query: { type: 'string', minLength: 1 } },
    },
  },
} as const

/** Field names allowed at each object path of a file schema, for "did you mean" suggestions on unknown fields. */
export function allowedFields(fileSchema: object, schemaPath: string): string[] {
  // ajv reports the parent schema path, e.g. `#/properties/expect/additionalProperties`.
  const parts = schemaPath.replace(/^#\//, '').split('/').slice(0, -1)
  let node: unknown = fileSchema
  for (const p of parts) {
    if (node && typeof node === 'object') node = (node as Record<string, unknown>)[p]
  }
  const props = node && typeof node === 'object' ? (node as { properties?: Record<string, unknown> }).properties : undefined
  return props ? Object.keys(props) : []
}
