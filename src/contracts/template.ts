/**
 * `{name}` templates in contract requests and expectations. Names are lowercase snake_case, which
 * keeps them apart from JSON braces in bodies and regex quantifiers in header patterns.
 */

const VAR = /\{([a-z][a-z0-9_]*)\}/g

/** Variable names a template string uses, in order of first use. */
export function templateVariables(template: string): string[] {
  const names: string[] = []
  for (const m of template.matchAll(VAR)) {
    const name = m[1]!
    if (!names.includes(name)) names.push(name)
  }
  return names
}

/** Every variable used anywhere inside a JSON-like value (strings are scanned, keys are not). */
export function deepTemplateVariables(value: unknown): string[] {
  const names = new Set<string>()
  const visit = (v: unknown): void => {
    if (typeof v === 'string') for (const n of templateVariables(v)) names.add(n)
    else if (Array.isArray(v)) v.forEach(visit)
    else if (v && typeof v === 'object') Object.values(v).forEach(visit)
  }
  visit(value)
  return [...names]
}

/** Thrown by `fill` when a variable has no value; the runner turns it into a skip. */
export class MissingVariableError extends Error {
  readonly variable: string
  constructor(variable: string) {
    super(`no value for {${variable}}`)
    this.variable = variable
  }
}

/** Replaces `{name}` with values; `encode` applies to each value (e.g. encodeURIComponent for paths). */
export function fill(template: string, vars: Readonly<Record<string, string | undefined>>, encode: (s: string) => string = (s) => s): string {
  if (!template.includes('{')) return template
  return template.replace(VAR, (_, name: string) => {
    const v = vars[name]
    if (v === undefined) throw new MissingVariableError(name)
    return encode(v)
  })
}

/** `fill` applied to every string inside a JSON-like value. */
export function deepFill(value: unknown, vars: Readonly<Record<string, string | undefined>>): unknown {
  if (typeof value === 'string') return fill(value, vars)
  if (Array.isArray(value)) return value.map((v) => deepFill(v, vars))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepFill(v, vars)]))
  }
  return value
}
