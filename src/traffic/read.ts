/**
 * Captured traffic from whatever a team has: a HAR 1.2 file (browsers, mitmproxy, Charles), a VCR
 * cassette (Ruby VCR or Python vcrpy, how most SDKs keep Meta's answers in their tests), or a
 * directory of driftwatch recordings. The format is told from the content, not the extension.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { loadContracts } from '../contracts/load.ts'
import type { ContractPack } from '../contracts/types.ts'
import { HarnessError } from '../errors.ts'
import { PersonalDataRedactor } from '../recordings/personal-data.ts'
import { loadRecordings, type Recording } from '../recordings/store.ts'
import { Redactor } from '../transport/redact.ts'
import type { TrafficEntry } from './entry.ts'
import { readHar } from './har.ts'

/** What kind of capture it was. */
export type TrafficKind = 'har' | 'cassette' | 'recordings'

/** Recordings as traffic: each observation tagged with the probe or operation it was recorded for, in the order the requests were made. */
export function recordingsAsTraffic(all: Map<string, Recording[]>, rel: string): TrafficEntry[] {
  const out: TrafficEntry[] = []
  for (const [contract, list] of all) {
    for (const rec of list) {
      rec.observations.forEach((o, i) => {
        const body = o.response?.body
        out.push({ source: `${rel}/${contract}/${rec.name}.json sample ${i + 1}`, observation: o, hasBody: !body || body.size === 0 || body.text !== undefined || body.base64 !== undefined, hint: contract })
      })
    }
  }
  // A download follows the retrieve that named its sha256.
  return out.sort((a, b) => a.observation.startedAt.localeCompare(b.observation.startedAt))
}

/** Reads a HAR, a cassette or a recordings directory into entries, redacted. */
export async function readTraffic(input: string, redactor: Redactor, personal: PersonalDataRedactor, cwd: string): Promise<{ kind: TrafficKind; entries: TrafficEntry[] }> {
  const rel = relative(cwd, input) || input
  let isDir: boolean
  try {
    isDir = statSync(input).isDirectory()
  } catch {
    throw new HarnessError('DW_USAGE', `${rel} does not exist: give a HAR file (exported from a browser, mitmproxy, Charles), a VCR cassette, or a recordings directory`)
  }
  if (isDir) return { kind: 'recordings', entries: recordingsAsTraffic(loadRecordings(input, cwd), rel) }
  // A HAR is one JSON object with "log"; anything else is read as a cassette (YAML, or JSON-serialised VCR).
  const head = Buffer.alloc(4096)
  const fd = openSync(input, 'r')
  const n = readSync(fd, head, 0, head.length, 0)
  closeSync(fd)
  const text = head.subarray(0, n).toString('utf8')
  const har = /^\s*\{/.test(text) && !/"(http_)?interactions"\s*:/.test(text)
  if (har) return { kind: 'har', entries: readHar(input, redactor, personal, cwd) }
  // Loaded on demand: most runs read HARs or recordings.
  const { readCassette } = await import('./vcr.ts')
  return { kind: 'cassette', entries: readCassette(input, redactor, personal, cwd) }
}

/** Captured traffic opened for judging: the pack, a redactor for every output, the entries. */
export interface OpenedTraffic {
  /** The input as messages name it (relative to cwd). */
  rel: string
  pack: ContractPack
  redactor: Redactor
  kind: TrafficKind
  entries: TrafficEntry[]
}

/** Loads the pack and reads the input with the environment's secrets and test recipient redacted. */
export async function openTraffic(opts: { input: string; contractsDir: string; env: Readonly<Record<string, string | undefined>>; cwd: string }): Promise<OpenedTraffic> {
  const input = resolve(opts.cwd, opts.input)
  const rel = relative(opts.cwd, input) || input
  const pack = loadContracts(opts.contractsDir, { cwd: opts.cwd })
  const redactor = new Redactor({ secrets: [opts.env.WHATSAPP_ACCESS_TOKEN], personal: [opts.env.WHATSAPP_TEST_RECIPIENT] })
  const { kind, entries } = await readTraffic(input, redactor, new PersonalDataRedactor(), opts.cwd)
  return { rel, pack, redactor, kind, entries }
}
