/**
 * Schema drift: what today's bodies look like, compared with the contract's schema and with the
 * golden recording, in words ("`$.file_size` was integer, is now string").
 *
 * Against the contract (widened: values the contract never allowed, breaking) the judge is ajv, the
 * contract's own validator: json-schema-diff ignores `pattern`, `format`, `enum` and `const`, which
 * contracts rely on. Against the recording (narrowed: values the upstream used to send and no
 * longer does) both sides are inferred schemas of types and presence, exactly what json-schema-diff
 * compares by set arithmetic: it classifies each changed field as added, removed or both.
 *
 * Async (json-schema-diff is), so it runs in the runner before the checks; the `schema-drift` check
 * turns its deltas into findings and stays pure. It costs nothing when nothing changed: the
 * library is only asked about fields whose inferred shape differs.
 */
import { isDeepStrictEqual } from 'node:util'
import type { SchemaViolation } from '../contracts/types.ts'
import { describeTypes, inferSchema, jsonPathOf, type InferredSchema } from './infer.ts'

/** One difference, located and worded. */
export interface SchemaDelta {
  /** `$.file_size`, array items as `[*]`. */
  path: string
  /** widened: values never allowed (contract) or never seen (recording); narrowed: values no longer sent; changed: both. */
  kind: 'widened' | 'narrowed' | 'changed'
  against: 'contract' | 'recording'
  /** What it was (contract's allowed types, or the recording's). */
  before: string
  /** What it is now. */
  after: string
  /** The sentence an on-call engineer reads. */
  words: string
  /** Samples showing it, of how many bodies judged. */
  samples: number
  of: number
  /** Index (into the bodies given) of a sample showing it, for evidence. */
  sampleIndex: number
  /** The schema (key) judged against, when a response's bodies are judged in cohorts (`fields=` projections). */
  schema?: string
}

/** Inputs: today's bodies (expected status, parsed JSON), the recording's, and the contract's validator. */
export interface SchemaDriftInput {
  bodies: readonly unknown[]
  golden?: { bodies: readonly unknown[]; recordedAt: string }
  /** Violations of the contract's schema for one body (ajv, JSON paths). */
  validate(body: unknown): SchemaViolation[]
}

/** Computes the deltas against the contract and, when given, the recording. */
export async function schemaDeltas(input: SchemaDriftInput): Promise<SchemaDelta[]> {
  if (input.bodies.length === 0) return []
  // Inferred only when needed (a violation to word, or a recording to compare with): most runs need neither.
  let now: InferredSchema | undefined
  const inferred = () => (now ??= inferSchema(input.bodies))
  const contract = againstContract(input, inferred)
  const covered = new Set(contract.map((d) => d.path))
  const recording = input.golden && input.golden.bodies.length > 0 ? await againstRecording(input.golden, input.bodies, inferred(), covered) : []
  return [...contract, ...recording]
}

/** Groups ajv violations across samples by field and says what the field was and is. */
function againstContract(input: SchemaDriftInput, inferred: () => InferredSchema): SchemaDelta[] {
  const groups = new Map<string, { v: SchemaViolation; samples: Set<number> }>()
  input.bodies.forEach((body, i) => {
    for (const v of input.validate(body)) {
      const path = v.path.replace(/\[\d+\]/g, '[*]')
      const key = `${path}\u0000${v.keyword}`
      const g = groups.get(key) ?? { v: { ...v, path }, samples: new Set<number>() }
      g.samples.add(i)
      groups.set(key, g)
    }
  })
  const of = input.bodies.length
  return [...groups.values()].map(({ v, samples }) => {
    const node = nodeAt(inferred(), v.path)
    const nowTypes = node ? describeTypes(node) : 'absent'
    const inSamples = samples.size === of ? '' : ` (in ${samples.size} of ${of} samples)`
    let before: string
    let words: string
    if (v.keyword === 'type') {
      before = v.allowed ?? 'another type'
      words = `\`${v.path}\` was ${before}, is now ${nowTypes}${inSamples}`
    } else if (v.keyword === 'required') {
      before = 'present (required)'
      words = `\`${v.path}\` is required by the contract and is now missing${inSamples}`
    } else if (v.keyword === 'depth') {
      before = 'checked against the schema'
      words = `\`${v.path}\` ${v.message}${inSamples}`
    } else if (v.keyword === 'additionalProperties') {
      before = 'not allowed'
      words = `\`${v.path}\` (${nowTypes}) is new, and the contract allows no fields it does not list${inSamples}`
    } else {
      before = `${v.keyword} in the contract`
      words = `\`${v.path}\` now has values the contract never allowed: ${v.message}${inSamples}`
    }
    return { path: v.path, kind: 'widened' as const, against: 'contract' as const, before, after: v.keyword === 'required' ? 'missing' : nowTypes, words, samples: samples.size, of, sampleIndex: [...samples][0]! }
  })
}

/** Walks both inferred trees; for each field whose shape differs, asks json-schema-diff what was added and removed. */
async function againstRecording(golden: NonNullable<SchemaDriftInput['golden']>, bodies: readonly unknown[], now: InferredSchema, covered: Set<string>): Promise<SchemaDelta[]> {
  const was = inferSchema(golden.bodies)
  if (isDeepStrictEqual(was, now)) return []
  // Loaded here, on the first shape that changed: the library and its dependencies are ~70 ms of every
  // run's start-up, and most runs never get this far.
  const { default: jsonSchemaDiff } = await import('json-schema-diff')
  const out: SchemaDelta[] = []
  const since = `in the recording of ${golden.recordedAt.slice(0, 10)}`
  const visit = async (a: InferredSchema, b: InferredSchema, keys: string[]): Promise<void> => {
    const path = jsonPathOf(keys)
    if (!isDeepStrictEqual(a.type, b.type) && !covered.has(path)) {
      const d = await jsonSchemaDiff.diffSchemas({ sourceSchema: { type: a.type }, destinationSchema: { type: b.type } })
      out.push(delta(path, d, describeTypes(a), describeTypes(b), `\`${path}\` was ${describeTypes(a)} ${since}, is now ${describeTypes(b)}`))
    }
    const keysA = Object.keys(a.properties ?? {})
    const keysB = Object.keys(b.properties ?? {})
    for (const k of [...new Set([...keysA, ...keysB])].sort()) {
      const pa = a.properties?.[k]
      const pb = b.properties?.[k]
      const childPath = jsonPathOf([...keys, k])
      const reqA = a.required?.includes(k) ?? false
      const reqB = b.required?.includes(k) ?? false
      if (pa && pb && reqA === reqB) {
        await visit(pa, pb, [...keys, k])
        continue
      }
      if (covered.has(childPath)) continue
      // Presence changed: compare one-field object schemas so the library classifies it.
      const side = (p: InferredSchema | undefined, req: boolean) => ({ type: 'object', properties: { [k]: p ? { type: p.type } : false }, required: req ? [k] : [] })
      const d = await jsonSchemaDiff.diffSchemas({ sourceSchema: side(pa, reqA) as never, destinationSchema: side(pb, reqB) as never })
      const missingIn = bodiesMissing(bodies, [...keys, k])
      const words = !pb
        ? `\`${childPath}\` (${describeTypes(pa!)}) was ${reqA ? 'in every sample' : 'sent'} ${since}, and is no longer sent`
        : !pa
          ? `\`${childPath}\` (${describeTypes(pb)}) is new since the recording of ${golden.recordedAt.slice(0, 10)}; the contract allows it`
          : reqA
            ? `\`${childPath}\` was in every sample ${since}, is now missing in ${missingIn} of ${bodies.length}`
            : `\`${childPath}\` was sometimes missing ${since}, is now always present`
      out.push(delta(childPath, d, pa ? describeTypes(pa) : 'absent', pb ? describeTypes(pb) : 'absent', words))
      if (pa && pb) await visit(pa, pb, [...keys, k])
    }
    if (a.items && b.items) await visit(a.items, b.items, [...keys, '*'])
  }
  await visit(was, now, [])
  return out.map((d) => ({ ...d, of: bodies.length, samples: d.samples || bodies.length }))
}

function delta(path: string, d: { additionsFound: boolean; removalsFound: boolean }, before: string, after: string, words: string): SchemaDelta {
  // A field that appeared or disappeared is, to set arithmetic, both an addition and a removal
  // (objects with and without it); to a consumer it is a field gained (widened) or lost (narrowed).
  // Type and presence changes of a field on both sides are the library's call.
  const kind = after === 'absent' ? 'narrowed' : before === 'absent' ? 'widened' : d.additionsFound && d.removalsFound ? 'changed' : d.removalsFound ? 'narrowed' : 'widened'
  return { path, kind, against: 'recording', before, after, words, samples: 0, of: 0, sampleIndex: 0 }
}

/** How many bodies lack the field at a key path (`*` = any array element). */
function bodiesMissing(bodies: readonly unknown[], keys: readonly string[]): number {
  return bodies.filter((b) => !present(b, keys)).length
}

function present(v: unknown, keys: readonly string[]): boolean {
  if (keys.length === 0) return true
  const [k, ...rest] = keys
  if (k === '*') return Array.isArray(v) && v.every((x) => present(x, rest))
  return !!v && typeof v === 'object' && !Array.isArray(v) && k! in v && present((v as Record<string, unknown>)[k!], rest)
}

/** The inferred node at a JSON path like `$.contacts[*].wa_id`. */
function nodeAt(s: InferredSchema, path: string): InferredSchema | undefined {
  let node: InferredSchema | undefined = s
  for (const m of path.slice(1).matchAll(/\.([A-Za-z_][A-Za-z0-9_]*)|\[\*\]|\[("(?:[^"\\]|\\.)*")\]/g)) {
    if (!node) return undefined
    if (m[0] === '[*]') node = node.items
    else node = node.properties?.[m[1] ?? (JSON.parse(m[2]!) as string)]
  }
  return node
}
