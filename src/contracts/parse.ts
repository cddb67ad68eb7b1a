/**
 * Contract files parsed with positions: YAML or JSON into data, plus a way back from a JSON
 * pointer to the line and column it came from, so every problem names where to fix it.
 */
import { readFileSync } from 'node:fs'
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml'
import type { ContractProblem } from '../util/errors.ts'

/** A parsed file and what is needed to locate a path inside it. */
export interface ParsedFile {
  /** Path relative to the working directory, for messages. */
  file: string
  abs: string
  doc: Document
  lines: LineCounter
  data: unknown
}

// Parsing with positions is most of what loading a pack costs (a run that loads it more than once:
// the test suite's in-process commands, verify's reader and its judge). A file is parsed again only
// when its text changed; the document and line index are only read, the data is a fresh copy each
// time (loaders normalise it in place). Bounded, so a process loading many packs does not grow.
const parsedTexts = new Map<string, { text: string; doc: Document; lines: LineCounter; data: unknown }>()
const PARSED_TEXTS_MAX = 2_000

/** Parses a YAML/JSON mapping; problems (syntax, not a mapping) are pushed and undefined returned. */
export function parseFile(abs: string, file: string, problems: ContractProblem[], shape = 'an object with id, title, request, expect'): ParsedFile | undefined {
  const text = readFileSync(abs, 'utf8')
  const seen = parsedTexts.get(abs)
  if (seen && seen.text === text) return { file, abs, doc: seen.doc, lines: seen.lines, data: structuredClone(seen.data) }
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
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
