/**
 * Malformed captures for `verify`: HAR files and VCR cassettes (and recordings directories) mutated
 * at random from real fixtures. Structured mutations (a field of the wrong type, a broken URL, a
 * body nested 50,000 levels deep, bad base64, binary text), the HAR's own structure nested far past
 * 256 levels (up to 400,000), strings of megabytes (a header, a URL, a body, base64 of up to 16 MB,
 * one the file ends inside), and textual ones (truncation, stray bytes, YAML anchor bombs, deep flow
 * collections), so both the parsers and everything after them meet hostile input.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import YAML from 'yaml'
import { deepJson } from './malformed-http.ts'
import type { Rng } from './seed.ts'

const ROOT = join(import.meta.dirname, '..', '..')

/** Deep values cannot be built with JSON.stringify: a marker is spliced with the raw text afterwards. */
const DEEP_MARK = '@@DEEP@@'

/** Where the HAR's own structure goes deep (not a body string): replaced by raw nesting after JSON.stringify. */
const NEST_MARK = '@@NEST@@'
/** Where a string of megabytes goes: replaced after JSON.stringify, so the generator never builds the value twice. */
const LONG_MARK = '@@LONG@@'
/** Where the file ends inside a string of megabytes. */
const CUT_MARK = '@@CUT@@'

/** Raw JSON nested `depth` levels, arrays or objects. */
function nesting(rng: Rng, depth: number): string {
  return rng.chance(0.5) ? `${'['.repeat(depth)}0${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}`
}

/** The text of a JSON string of megabytes: plain, escaped binary, or base64 (for a base64 body). */
function longString(rng: Rng, base64: boolean): string {
  const mb = rng.int(1, base64 ? 16 : 4)
  if (base64) return JSON.stringify(rng.bytes(1024).toString('base64').repeat(mb * 768))
  return JSON.stringify(rng.pick(['x', 'é', '\u0000', 'QUJD', rng.bytes(64).toString('latin1')]).repeat(mb * 1024 * 64).slice(0, mb * 1024 * 1024))
}

/** URLs a broken exporter or a hand-edited capture may hold. */
export const BAD_URLS = [
  'https://graph.facebook.com/v23.0/%E0%A4%A',
  'https://graph.facebook.com/v23.0/%zz?fields=%',
  'https://graph.facebook.com/v23.0/1390000000004242?access_token=%',
  'http://[::1',
  '',
  'not a url',
  '/v23.0/me',
  'https://graph.facebook.com:99999/v23.0/1',
  'javascript:alert(1)',
  `https://graph.facebook.com/v23.0/${'a/'.repeat(5000)}`,
  'https://graph.facebook.com/v23.0/1?fields=' + '{'.repeat(2000),
  'https://graph.facebook.com/v23.0/\u0000/\ud800',
]

/** Values of the wrong type, or hostile values of the right one. */
function hostileValue(rng: Rng): unknown {
  return rng.pick<unknown>([null, 0, -1, 1.5, 1e300, '', 'x', [], {}, true, false, DEEP_MARK, 'x'.repeat(100_000), '\u0000\ud800', ['a', 1], { name: 1, value: [] }, rng.pick(BAD_URLS)])
}

/** A random path to a node of `doc` (a container and a key in it). */
function randomSlot(rng: Rng, doc: unknown): { parent: Record<string, unknown> | unknown[]; key: string | number } | undefined {
  let node = doc
  let slot: { parent: Record<string, unknown> | unknown[]; key: string | number } | undefined
  for (let depth = 0; depth < 12 && node && typeof node === 'object'; depth++) {
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node)
    if (keys.length === 0) break
    const key = rng.pick(keys)
    slot = { parent: node as Record<string, unknown>, key }
    node = (node as Record<string | number, unknown>)[key]
    if (rng.chance(0.2)) break
  }
  return slot
}

function setSlot(slot: { parent: Record<string, unknown> | unknown[]; key: string | number }, v: unknown): void {
  ;(slot.parent as Record<string | number, unknown>)[slot.key] = v
}

/** Bytes that break a text format in the middle: truncation, garbage, a BOM, NULs, invalid UTF-8. */
function textMutation(rng: Rng, text: string): Buffer {
  const at = rng.int(0, text.length)
  switch (rng.int(0, 4)) {
    case 0:
      return Buffer.from(text.slice(0, at))
    case 1:
      return Buffer.concat([Buffer.from(text.slice(0, at)), rng.bytes(rng.int(1, 64)), Buffer.from(text.slice(at))])
    case 2:
      return Buffer.from(`\ufeff${text}`)
    case 3:
      return Buffer.from(text.slice(0, at) + '\u0000'.repeat(rng.int(1, 8)) + text.slice(at))
    default:
      return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(text.slice(at))])
  }
}

/** One HAR entry mutation: what it did (for the failure message) and the change. */
type Mutation<D> = { name: string; apply(rng: Rng, doc: D): void }

interface HarDoc {
  log: { entries: Record<string, any>[] }
}

const entryOf = (rng: Rng, doc: HarDoc) => (Array.isArray(doc.log?.entries) && doc.log.entries.length ? rng.pick(doc.log.entries) : undefined)

const HAR_MUTATIONS: Mutation<HarDoc>[] = [
  { name: 'a field of the wrong type', apply: (rng, doc) => { const s = randomSlot(rng, doc); if (s) setSlot(s, hostileValue(rng)) } },
  { name: 'a field removed', apply: (rng, doc) => { const s = randomSlot(rng, doc); if (s && !Array.isArray(s.parent)) delete s.parent[s.key as string] } },
  { name: 'a bad request URL', apply: (rng, doc) => { const e = entryOf(rng, doc); if (e?.request) e.request.url = rng.pick(BAD_URLS) } },
  { name: 'a response body nested deep', apply: (rng, doc) => { const e = entryOf(rng, doc); if (e?.response?.content) Object.assign(e.response.content, { mimeType: 'application/json', text: DEEP_MARK, encoding: undefined }) } },
  { name: 'a request body nested deep', apply: (rng, doc) => { const e = entryOf(rng, doc); if (e?.request) e.request.postData = { mimeType: 'application/json', text: DEEP_MARK } } },
  { name: 'a deep value in a field', apply: (rng, doc) => { const e = entryOf(rng, doc); if (e) e[rng.pick(['comment', 'cache', 'timings', '_extra'])] = DEEP_MARK } },
  {
    name: 'bad base64',
    apply: (rng, doc) => {
      const e = entryOf(rng, doc)
      if (e?.response?.content) Object.assign(e.response.content, { encoding: 'base64', mimeType: rng.pick(['application/json', 'image/png', 'text/plain']), text: rng.pick(['!!!not base64!!!', '====', 'QUJ', '\u0000', rng.bytes(40).toString('latin1'), rng.bytes(300).toString('base64')]) })
    },
  },
  { name: 'binary text in a JSON body', apply: (rng, doc) => { const e = entryOf(rng, doc); if (e?.response?.content) Object.assign(e.response.content, { mimeType: 'application/json', text: rng.bytes(200).toString('latin1') + '\ud800' }) } },
  { name: 'invalid JSON in a JSON body', apply: (rng, doc) => { const e = entryOf(rng, doc); if (e?.response?.content) e.response.content.text = rng.pick(['{"id":', '{"a":1}{', '[', 'null', '"str"', '{"__proto__":{"polluted":1}}']) } },
  { name: 'a weird status', apply: (rng, doc) => { const e = entryOf(rng, doc); if (e?.response) e.response.status = rng.pick([0, -1, 99, 600, 999, 1e10, 200.5, NaN]) } },
  { name: 'odd headers', apply: (rng, doc) => { const e = entryOf(rng, doc); if (e?.response) e.response.headers = rng.pick<unknown>([[{ name: '', value: '' }], [{ name: 'Content-Length', value: '-1' }, { name: 'Transfer-Encoding', value: 'chunked, gzip' }], [{ name: 'Content-Type', value: 'application/json; charset=ebcdic' }], [{ name: 1, value: null }], [{ name: 'X', value: 'x'.repeat(200_000) }], [null]]) } },
  { name: 'structure nested far past 256 levels', apply: (rng, doc) => { const e = entryOf(rng, doc); if (e) { const where = rng.pick(['request', 'response', 'content', 'entry', '_extra', 'headers']); if (where === 'content' && e.response?.content) e.response.content.text = NEST_MARK; else if (where === 'headers' && Array.isArray(e.request?.headers)) e.request.headers.push({ name: 'X-Deep', value: NEST_MARK }); else if (where === 'entry') doc.log.entries[doc.log.entries.indexOf(e)] = NEST_MARK as never; else e[where] = NEST_MARK } } },
  { name: 'a string of megabytes', apply: (rng, doc) => { const e = entryOf(rng, doc); if (!e?.request) return; const where = rng.pick(['url', 'header', 'postData', 'content', 'comment']); if (where === 'url') e.request.url = LONG_MARK; else if (where === 'header' && Array.isArray(e.response?.headers)) e.response.headers.push({ name: 'X-Long', value: LONG_MARK }); else if (where === 'postData') e.request.postData = { mimeType: 'application/json', text: LONG_MARK }; else if (where === 'content' && e.response?.content) Object.assign(e.response.content, { text: LONG_MARK, encoding: undefined }); else e.comment = LONG_MARK } },
  { name: 'a huge base64 body', apply: (rng, doc) => { const e = entryOf(rng, doc); if (e?.response?.content) Object.assign(e.response.content, { encoding: 'base64', mimeType: rng.pick(['image/png', 'application/json', 'video/mp4']), text: `${LONG_MARK}64` }) } },
  { name: 'the file ends inside a string of megabytes', apply: (rng, doc) => { const e = entryOf(rng, doc); if (e?.response?.content) e.response.content.text = CUT_MARK } },
  { name: 'entries duplicated', apply: (rng, doc) => { const e = entryOf(rng, doc); if (e) for (let i = 0; i < 50; i++) doc.log.entries.push(e) } },
  { name: 'a weird method', apply: (rng, doc) => { const e = entryOf(rng, doc); if (e?.request) e.request.method = rng.pick(['', 'get', 'PROPFIND', 'G E T', '\u0000', 'CONNECT']) } },
]

/** A hostile HAR built from a real one; `what` says which mutations it carries. */
export function hostileHar(rng: Rng): { what: string; bytes: Buffer } {
  const base = rng.pick(['suites/verify/fixtures/meta-media.har', 'suites/verify/fixtures/cloud-api-traffic.har'])
  const doc = JSON.parse(readFileSync(join(ROOT, base), 'utf8')) as HarDoc
  if (base.includes('cloud-api')) doc.log.entries = doc.log.entries.filter(() => rng.chance(0.15))
  const applied: string[] = []
  for (let i = rng.int(1, 3); i > 0; i--) {
    const m = rng.pick(HAR_MUTATIONS)
    applied.push(m.name)
    m.apply(rng, doc)
  }
  let text = JSON.stringify(doc, null, 1).replaceAll(JSON.stringify(DEEP_MARK), () => JSON.stringify(deepJson(rng.pick([300, 50_000]), 'mixed')))
  text = text.replaceAll(JSON.stringify(NEST_MARK), () => nesting(rng, rng.int(257, rng.chance(0.5) ? 2_000 : 400_000)))
  // One string of megabytes each (an entry duplicated 50 times holds the mark 51 times): the others are short.
  text = text.replace(JSON.stringify(`${LONG_MARK}64`), () => longString(rng, true)).replace(JSON.stringify(LONG_MARK), () => longString(rng, false))
  text = text.replaceAll(JSON.stringify(`${LONG_MARK}64`), '"QUJD"').replaceAll(JSON.stringify(LONG_MARK), '"long"')
  const cut = text.indexOf(JSON.stringify(CUT_MARK))
  if (cut >= 0) text = `${text.slice(0, cut)}${longString(rng, rng.chance(0.5)).slice(0, -1)}`
  // Also deep as raw structure rather than as a body string, now and then.
  if (rng.chance(0.1)) text = text.replace('"cache"', `"deep": ${deepJson(50_000)}, "cache"`)
  if (rng.chance(0.25)) {
    applied.push('text damaged')
    return { what: `${base}: ${applied.join(', ')}`, bytes: textMutation(rng, text) }
  }
  return { what: `${base}: ${applied.join(', ')}`, bytes: Buffer.from(text) }
}

/** YAML snippets a cassette should never hold, each replacing a scalar or prepended. */
function yamlBomb(rng: Rng): string {
  switch (rng.int(0, 3)) {
    case 0: {
      // Billion laughs: each level aliases the previous ten times.
      const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
      for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(',')}]`)
      return lines.join('\n')
    }
    case 1:
      return `deep: ${'['.repeat(50_000)}${']'.repeat(50_000)}`
    case 2:
      return `deep: ${'{a: '.repeat(20_000)}1${'}'.repeat(20_000)}`
    default:
      return `self: &s\n  loop: *s`
  }
}

interface CassetteDoc {
  http_interactions?: Record<string, any>[]
  interactions?: Record<string, any>[]
}

const interactionOf = (rng: Rng, doc: CassetteDoc) => {
  const list = doc.http_interactions ?? doc.interactions
  return Array.isArray(list) && list.length ? rng.pick(list) : undefined
}

const CASSETTE_MUTATIONS: Mutation<CassetteDoc>[] = [
  { name: 'a field of the wrong type', apply: (rng, doc) => { const s = randomSlot(rng, doc); if (s) setSlot(s, hostileValue(rng)) } },
  { name: 'a field removed', apply: (rng, doc) => { const s = randomSlot(rng, doc); if (s && !Array.isArray(s.parent)) delete s.parent[s.key as string] } },
  { name: 'a bad URI', apply: (rng, doc) => { const i = interactionOf(rng, doc); if (i?.request) i.request.uri = rng.pick(BAD_URLS) } },
  { name: 'a response body nested deep', apply: (rng, doc) => { const i = interactionOf(rng, doc); if (i?.response) i.response.body = { encoding: 'UTF-8', string: DEEP_MARK } } },
  { name: 'bad base64', apply: (rng, doc) => { const i = interactionOf(rng, doc); if (i?.response) i.response.body = { encoding: 'ASCII-8BIT', base64_string: rng.pick(['!!!not base64', '====', 'QUJ', rng.bytes(300).toString('base64')]) } } },
  { name: 'binary text in a body', apply: (rng, doc) => { const i = interactionOf(rng, doc); if (i?.response) i.response.body = { encoding: 'UTF-8', string: rng.bytes(200).toString('latin1') } } },
  { name: 'a weird status', apply: (rng, doc) => { const i = interactionOf(rng, doc); if (i?.response) i.response.status = rng.pick<unknown>([{ code: 'abc' }, { code: -1 }, { code: 99999 }, 200, null, { code: 1.5 }]) } },
  { name: 'a body of megabytes', apply: (rng, doc) => { const i = interactionOf(rng, doc); if (i?.response) i.response.body = rng.chance(0.5) ? { encoding: 'ASCII-8BIT', base64_string: rng.bytes(1024).toString('base64').repeat(rng.int(700, 3000)) } : { encoding: 'UTF-8', string: 'é{"'.repeat(rng.int(200_000, 700_000)) } } },
  { name: 'odd headers', apply: (rng, doc) => { const i = interactionOf(rng, doc); if (i?.response) i.response.headers = rng.pick<unknown>([{ 'Content-Length': ['-1'] }, { 'Content-Type': [null] }, { '': [''] }, ['not', 'a', 'map'], { X: [['nested']] }, { 'Content-Encoding': ['gzip'] }]) } },
]

/** A hostile cassette built from a real one (Ruby VCR or vcrpy). */
export function hostileCassette(rng: Rng): { what: string; bytes: Buffer } {
  const base = rng.pick(['suites/traffic/fixtures/ruby-whatsapp.yml', 'suites/traffic/fixtures/vcrpy-whatsapp.yaml', 'suites/verify/fixtures/cloud-api-traffic.cassette.yml'])
  const source = readFileSync(join(ROOT, base), 'utf8')
  const applied: string[] = []
  let text: string
  if (rng.chance(0.2)) {
    // The YAML itself is hostile: a bomb or deep collection before the interactions.
    applied.push('YAML bomb')
    text = `${yamlBomb(rng)}\n${source.replace(/^---\n/m, '')}`
  } else {
    const doc = YAML.parse(source, { version: '1.1', logLevel: 'silent' }) as CassetteDoc
    if (base.includes('cloud-api')) for (const k of ['http_interactions', 'interactions'] as const) if (doc[k]) doc[k] = doc[k]!.filter(() => rng.chance(0.15))
    for (let i = rng.int(1, 3); i > 0; i--) {
      const m = rng.pick(CASSETTE_MUTATIONS)
      applied.push(m.name)
      m.apply(rng, doc)
    }
    // The marker comes back quoted or plain; the deep JSON goes in single-quoted (it holds no `'`).
    text = YAML.stringify(doc, { lineWidth: 0 }).replace(/(["'])@@DEEP@@\1|@@DEEP@@/g, () => `'${deepJson(rng.pick([300, 50_000]))}'`)
  }
  if (rng.chance(0.2)) {
    applied.push('text damaged')
    return { what: `${base}: ${applied.join(', ')}`, bytes: textMutation(rng, text) }
  }
  return { what: `${base}: ${applied.join(', ')}`, bytes: Buffer.from(text) }
}

interface RecordingDoc {
  observations: Record<string, any>[]
}

const observationOf = (rng: Rng, doc: RecordingDoc) => (Array.isArray(doc.observations) && doc.observations.length ? rng.pick(doc.observations) : undefined)

const RECORDING_MUTATIONS: Mutation<RecordingDoc>[] = [
  { name: 'a field of the wrong type', apply: (rng, doc) => { const s = randomSlot(rng, doc); if (s) setSlot(s, hostileValue(rng)) } },
  { name: 'a field removed', apply: (rng, doc) => { const s = randomSlot(rng, doc); if (s && !Array.isArray(s.parent)) delete s.parent[s.key as string] } },
  { name: 'a body nested deep', apply: (rng, doc) => { const o = observationOf(rng, doc); if (o?.response?.body) Object.assign(o.response.body, { json: DEEP_MARK, text: undefined }) } },
  { name: 'a value nested deep', apply: (rng, doc) => { const s = randomSlot(rng, doc); if (s) setSlot(s, DEEP_MARK) } },
  { name: 'a bad URL', apply: (rng, doc) => { const o = observationOf(rng, doc); if (o?.request) o.request.url = rng.pick(BAD_URLS) } },
]

/** Recordings (as `verify <dir>` reads them) from the repository's own, mutated: file name and bytes per file. */
export function hostileRecordings(rng: Rng): { what: string; contracts: string[]; files: Record<string, Buffer> } {
  const dir = join(ROOT, 'recordings', 'meta')
  const contracts = rng.pick([['media.upload', 'media.retrieve-url', 'media.download'], ['phone-numbers.get', 'templates.list'], ['auth.invalid-token', 'graph.unknown-object']])
  const files: Record<string, Buffer> = {}
  const applied: string[] = []
  // One contract's file is hostile: several at once would mostly show that the first refusal stops the run.
  const victim = rng.pick(contracts)
  for (const c of contracts) {
    const doc = JSON.parse(readFileSync(join(dir, c, 'sim-baseline.json'), 'utf8')) as RecordingDoc
    if (c === victim) {
      const m = rng.pick(RECORDING_MUTATIONS)
      applied.push(`${c}: ${m.name}`)
      m.apply(rng, doc)
    }
    const text = JSON.stringify(doc, null, 1).replaceAll(JSON.stringify(DEEP_MARK), () => deepJson(rng.pick([300, 50_000])))
    files[`${c}/sim-baseline.json`] = c === victim && rng.chance(0.1) ? (applied.push(`${c}: text damaged`), textMutation(rng, text)) : Buffer.from(text)
  }
  return { what: `recordings ${contracts.join(', ')}: ${applied.join(', ')}`, contracts, files }
}
