/**
 * A HAR as large as asked, of realistic Cloud API traffic: the 72 exchanges of
 * suites/verify/fixtures/cloud-api-traffic.har (every kind of send, mark-as-read, the media chain
 * with a base64 download, phone numbers, templates, errors the application asked for, other hosts)
 * repeated in order, each copy later in time, pretty-printed as browsers export. Written as a
 * stream, so a 1 GB file costs the writer no memory. Used by the streaming tests and the bench.
 */
import { once } from 'node:events'
import { createWriteStream, readFileSync } from 'node:fs'
import { join } from 'node:path'

const FIXTURE = join(import.meta.dirname, '..', 'verify', 'fixtures', 'cloud-api-traffic.har')

/** How large: a number of entries, or of bytes (whichever is reached first). */
export interface LargeHarOptions {
  entries?: number
  bytes?: number
}

/** Writes the HAR; returns the entries and bytes written. */
export async function writeLargeHar(file: string, opts: LargeHarOptions): Promise<{ entries: number; bytes: number }> {
  const har = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { log: { entries: { startedDateTime: string }[] } }
  const base = har.log.entries
  const t0 = Date.parse(base[0]!.startedDateTime)
  const span = Date.parse(base[base.length - 1]!.startedDateTime) - t0 + 1000
  const maxEntries = opts.entries ?? Number.POSITIVE_INFINITY
  const maxBytes = opts.bytes ?? Number.POSITIVE_INFINITY
  const out = createWriteStream(file)
  let bytes = 0
  const write = async (s: string) => {
    bytes += Buffer.byteLength(s)
    if (!out.write(s)) await once(out, 'drain')
  }
  await write('{\n  "log": {\n    "version": "1.2",\n    "creator": { "name": "driftwatch large-har", "version": "1" },\n    "entries": [\n')
  let n = 0
  // Each copy of the traffic shifted in time: the same application, later.
  while (n < maxEntries && bytes < maxBytes) {
    const copy = Math.floor(n / base.length)
    const e = base[n % base.length]!
    const at = new Date(Date.parse(e.startedDateTime) + copy * span).toISOString()
    await write(`${n ? ',\n' : ''}${JSON.stringify({ ...e, startedDateTime: at }, null, 2)}`)
    n++
  }
  await write('\n    ]\n  }\n}\n')
  out.end()
  await once(out, 'close')
  return { entries: n, bytes }
}
