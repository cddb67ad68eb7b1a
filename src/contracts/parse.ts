/**
 * Contract files parsed with positions: YAML or JSON into data, plus a way back from a JSON
 * pointer to the line and column it came from, so every problem names where to fix it.
 *
 * The pack driftwatch ships is parsed at build time too (scripts/build.mjs, prebuiltParses()): a
 * file whose text is byte for byte one parsed then gets that data, and its positions are parsed only
 * if a problem asks where something is. Parsing cold is most of what loading the pack costs (the YAML
 * parser's code is not yet optimised at a run's start: ~250 ms for the shipped pack).
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import type { Document, LineCounter } from 'yaml'
import type { ContractProblem } from '../util/errors.ts'
import { PRECOMPILED_DIR, precompiledHeader } from './precompiled.ts'

/** A parsed file and what is needed to locate a path inside it. */
export interface ParsedFile {
  /** Path relative to the working directory, for messages. */
  file: string
  abs: string
  doc: Document
  lines: LineCounter
  data: unknown
}

const require = createRequire(import.meta.url)
// Loaded when a file is parsed here, not at start-up: a run whose files were all parsed at build never needs it.
let yamlLib: typeof import('yaml') | undefined
const yaml = (): typeof import('yaml') => (yamlLib ??= require('yaml') as typeof import('yaml'))

const PARSE_OPTIONS = { prettyErrors: false, uniqueKeys: true } as const

/** A text parsed with positions. */
function parseText(text: string): { doc: Document; lines: LineCounter } {
  const { LineCounter, parseDocument } = yaml()
  const lines = new LineCounter()
  return { doc: parseDocument(text, { lineCounter: lines, ...PARSE_OPTIONS }), lines }
}

/** What a table of build-time parses is valid for: the parser's version and options. */
function prebuiltKey(): string {
  const version = (require('yaml/package.json') as { version: string }).version
  return createHash('sha256').update(JSON.stringify(['contract-files', version, PARSE_OPTIONS])).digest('hex')
}

/** The key of one file's text in the table. */
const textKey = (text: string): string => createHash('sha256').update(text).digest('hex')

/** Build-time parses by text: each entry the JSON of a file's data. */
export type PrebuiltParses = ReadonlyMap<string, string>

/** The file the build writes the table to. */
export const PREBUILT_FILE = 'contract-files.json'

/**
 * The table of build-time parses in `dir`, when it was made by this parser with these options and is
 * intact (its first line's checksum); otherwise an empty table: every file is parsed here.
 */
export function loadPrebuiltParses(dir: string = PRECOMPILED_DIR): PrebuiltParses {
  const file = join(dir, PREBUILT_FILE)
  try {
    if (!existsSync(file)) return new Map()
    const text = readFileSync(file, 'utf8')
    const nl = text.indexOf('\n')
    if (nl < 0 || text.slice(0, nl + 1) !== precompiledHeader(prebuiltKey(), text.slice(nl + 1))) return new Map()
    const entries = JSON.parse(text.slice(nl + 1)) as unknown
    if (!entries || typeof entries !== 'object' || Array.isArray(entries)) return new Map()
    return new Map(Object.entries(entries as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'))
  } catch {
    return new Map()
  }
}

/**
 * The table for `texts`: the data of each one that parses without a problem into a mapping that JSON
 * carries exactly (a -0 or an .inf would not survive, and such a file is left to be parsed at run time).
 */
export function prebuiltParses(texts: readonly string[]): string {
  const entries: Record<string, string> = {}
  for (const text of texts) {
    const { doc } = parseText(text)
    if (doc.errors.length > 0) continue
    const data: unknown = doc.toJS()
    if (!data || typeof data !== 'object' || Array.isArray(data)) continue
    const json = JSON.stringify(data)
    if (isDeepStrictEqual(JSON.parse(json), data)) entries[textKey(text)] = json
  }
  const body = `${JSON.stringify(entries)}\n`
  return precompiledHeader(prebuiltKey(), body) + body
}

let shipped: PrebuiltParses | undefined

/** A file whose data came from the table: its positions are parsed on first use (a problem to locate). */
function fromTable(file: string, abs: string, text: string, data: unknown): ParsedFile {
  let positions: { doc: Document; lines: LineCounter } | undefined
  return {
    file,
    abs,
    data,
    get doc() {
      return (positions ??= parseText(text)).doc
    },
    get lines() {
      return (positions ??= parseText(text)).lines
    },
  }
}

// Parsing with positions is most of what loading a pack costs (a run that loads it more than once:
// the test suite's in-process commands, verify's reader and its judge). A file is parsed again only
// when its text changed; the document and line index are only read, the data is a fresh copy each
// time (loaders normalise it in place). Bounded, so a process loading many packs does not grow.
const parsedTexts = new Map<string, { text: string; doc: Document; lines: LineCounter; data: unknown }>()
const PARSED_TEXTS_MAX = 2_000

/**
 * Parses a YAML/JSON mapping; problems (syntax, not a mapping) are pushed and undefined returned.
 * `prebuilt` is the table of build-time parses (default: the one shipped in dist/).
 */
export function parseFile(abs: string, file: string, problems: ContractProblem[], shape = 'an object with id, title, request, expect', prebuilt: PrebuiltParses = (shipped ??= loadPrebuiltParses())): ParsedFile | undefined {
  const text = readFileSync(abs, 'utf8')
  const built = prebuilt.size > 0 ? prebuilt.get(textKey(text)) : undefined
  // A fresh copy each time, as below.
  if (built !== undefined) return fromTable(file, abs, text, JSON.parse(built))
  const seen = parsedTexts.get(abs)
  if (seen && seen.text === text) return { file, abs, doc: seen.doc, lines: seen.lines, data: structuredClone(seen.data) }
  const { doc, lines } = parseText(text)
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = lines.linePos(e.pos[0])
      problems.push({ file, path: '', line: pos.line, column: pos.col, message: `not valid YAML/JSON: ${e.message.split('\n')[0]}` })
    }
    return undefined
  }
  const data: unknown = doc.toJS()
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    problems.push({ file, path: '', line: 1, column: 1, message: `must be a mapping (${shape})` })
    return undefined
  }
  if (parsedTexts.size >= PARSED_TEXTS_MAX) parsedTexts.delete(parsedTexts.keys().next().value!)
  parsedTexts.set(abs, { text, doc, lines, data: structuredClone(data) })
  return { file, abs, doc, lines, data }
}

/** JSON pointer segments, numbers for array indices. */
export function pointerSegments(pointer: string): (string | number)[] {
  if (!pointer) return []
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
}

/** Line/column of the node at `pointer`, or of the key `key` inside it. Falls back to the nearest existing parent. */
export function locate(p: ParsedFile, pointer: string, key?: string): { line: number; column: number } {
  let segs = pointerSegments(pointer)
  for (;;) {
    const node = segs.length === 0 ? p.doc.contents : p.doc.getIn(segs, true)
    if (node && typeof node === 'object') {
      const { isMap, isPair, isScalar } = yaml()
      if (key !== undefined && isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === key)
        const keyNode = pair?.key as { range?: [number, number, number] } | undefined
        if (keyNode?.range) {
          const pos = p.lines.linePos(keyNode.range[0])
          return { line: pos.line, column: pos.col }
        }
      }
      const range = (node as { range?: [number, number, number] }).range
      if (range) {
        const pos = p.lines.linePos(range[0])
        return { line: pos.line, column: pos.col }
      }
    }
    if (segs.length === 0) return { line: 1, column: 1 }
    segs = segs.slice(0, -1)
    key = undefined
  }
}

/** A function that records a problem at a pointer (or a key inside it) of one file. */
export type ProblemAt = (path: string, message: string, key?: string) => void

/** `at(path, message)` for one parsed file. */
export function problemsAt(p: ParsedFile, problems: ContractProblem[]): ProblemAt {
  return (path, message, key) => problems.push({ file: p.file, path, ...locate(p, path, key), message })
}
