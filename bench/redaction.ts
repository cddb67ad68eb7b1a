/**
 * What redaction costs (issue 17: secrets in every encoding). Redaction runs on every header and
 * JSON string of every probe and every captured exchange, so the common case is a short string
 * holding no secret, and the fast negative decides the price. Run by hand:
 * `npm run bench -- --only redaction` or `npx tsx bench/redaction.ts`.
 *
 * Inputs shaped like real traffic: every header value and JSON string of the committed recordings
 * (what the simulator, shaped on Meta's answers, sends), a 1 MB JSON body, and a binary body; then
 * the path users take: a whole `check` against the simulator, with the time spent in redaction
 * measured inside it.
 * Printed per string and per MB, with no goal of its own: the throughput section's target (the
 * probe pipeline within 20% of a bare undici loop) is the bound redaction has to stay inside.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { main } from '../src/cli/index.ts'
import type { Observation } from '../src/model/observation.ts'
import { Redactor } from '../src/transport/redact.ts'

const ROOT = join(import.meta.dirname, '..')
// Shaped like a Meta system-user token (about 200 characters) and a 32-hex app secret.
const TOKEN = `EAAG${'Zm9vYmFyQmF6UXV4'.repeat(12)}ZDZD`
const APP_SECRET = '3f2a9c1e5b7d4086a2c4e6f8b0d1c3e5'

function recordingFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? recordingFiles(p) : f.endsWith('.json') ? [p] : []
  })
}

function strings(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v)
  else if (Array.isArray(v)) for (const x of v) strings(x, out)
  else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out)
}

/** Median of `rounds` timings of `fn`, in ms. */
function time(rounds: number, fn: () => void): number {
  const ts: number[] = []
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now()
    fn()
    ts.push(performance.now() - t0)
  }
  return ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)]!
}

export async function benchRedaction(): Promise<void> {
  const headers: string[] = []
  const json: string[] = []
  for (const f of recordingFiles(join(ROOT, 'recordings/meta'))) {
    const rec = JSON.parse(readFileSync(f, 'utf8')) as { observations: Observation[] }
    for (const o of rec.observations) {
      for (const [, v] of o.response?.rawHeaders ?? []) headers.push(v)
      for (const [, v] of o.request.headers) headers.push(v)
      headers.push(o.request.url)
      strings(o.response?.body.json, json)
    }
  }
  const corpus = [...headers, ...json]
  const built = performance.now()
  const r = new Redactor({ secrets: [TOKEN, APP_SECRET], personal: ['16315550199'] })
  const buildMs = performance.now() - built
  let sink = 0
  const perString = time(31, () => {
    for (let i = 0; i < 20; i++) for (const s of corpus) sink += r.text(s).length
  }) / (20 * corpus.length)

  // A 1 MB JSON body (a template list) that holds no secret, and one that does near its end.
  const item = JSON.stringify({ name: 'order_update', language: 'en_US', status: 'APPROVED', category: 'UTILITY', id: '1234567890123456', components: [{ type: 'BODY', text: 'Hello {{1}}, your order {{2}} has shipped and will arrive on {{3}}.' }] })
  const big = `{"data":[${Array.from({ length: Math.ceil((1024 * 1024) / item.length) }, () => item).join(',')}]}`
  const bigMs = time(9, () => (sink += r.text(big).length))
  const dirty = `${big.slice(0, -2)},"${TOKEN}"]}`
  const dirtyMs = time(9, () => (sink += r.text(dirty).length))
  const mb = big.length / 1024 / 1024

  // A binary body (16 MB of pseudo-random bytes): what the capture scans before keeping or previewing it.
  const bytes = Buffer.alloc(16 * 1024 * 1024)
  let x = 20260120
  for (let i = 0; i < bytes.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    bytes[i] = x >>> 24
  }
  const scan = (r as unknown as { holdsSecret?: (b: Uint8Array) => boolean }).holdsSecret
  const binMs = scan ? time(5, () => (sink += scan.call(r, bytes) ? 1 : 0)) : undefined

  console.log(`redaction (a ${TOKEN.length}-character token and a 32-hex app secret; medians)`)
  console.log(`  building a Redactor: ${buildMs.toFixed(2)} ms (once per run, per target, per token the proxy learns)`)
  console.log(`  ${corpus.length} header values, URLs and JSON strings of the committed recordings: ${(perString * 1e6).toFixed(0)} ns per string`)
  console.log(`  ${mb.toFixed(1)} MB JSON text holding no secret: ${bigMs.toFixed(1)} ms (${(mb / (bigMs / 1000)).toFixed(0)} MB/s); holding the token near its end: ${dirtyMs.toFixed(1)} ms`)
  if (binMs !== undefined) console.log(`  16 MB binary body scanned for every encoding: ${binMs.toFixed(1)} ms (${(16 / (binMs / 1000)).toFixed(0)} MB/s)`)
  else console.log('  binary bodies: not scanned by this Redactor')
  if (sink < 0) console.log(sink)

  // A whole check, as users run it, with the app secret set as well: how much of it is redaction.
  const proto = Redactor.prototype as unknown as { text: (s: string) => string }
  const text = proto.text
  let calls = 0
  let spent = 0
  proto.text = function (this: Redactor, s: string) {
    const t0 = performance.now()
    const out = text.call(this, s)
    spent += performance.now() - t0
    calls++
    return out
  }
  const runs: { ms: number; redaction: number }[] = []
  const quiet = { stdout: () => undefined, stderr: () => undefined, env: { WHATSAPP_APP_SECRET: APP_SECRET }, cwd: ROOT }
  try {
    for (let i = 0; i < 6; i++) {
      const out = mkdtempSync(join(tmpdir(), 'dw-bench-redaction-'))
      calls = 0
      spent = 0
      const t0 = performance.now()
      await main(['check', '--out', out, '--no-history', '--quiet'], quiet)
      if (i > 0) runs.push({ ms: performance.now() - t0, redaction: spent }) // the first run warms up
      rmSync(out, { recursive: true, force: true })
    }
  } finally {
    proto.text = text
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const ms = med(runs.map((r) => r.ms))
  const red = med(runs.map((r) => r.redaction))
  console.log(`  check against the simulator (13 contracts): ${calls} redactions of text, ${red.toFixed(1)} ms of a ${ms.toFixed(0)} ms run (${((red / ms) * 100).toFixed(1)}%)`)
}

if (import.meta.url === `file://${process.argv[1]}`) await benchRedaction()
