/**
 * The client of the proxy benchmark's large body (see proxy.ts): downloads one URL, streaming,
 * hashing every byte, and prints one JSON object on stdout: bytes, sha256, seconds, status.
 * Run alone: `tsx bench/big-client.ts <url>`.
 */
import { createHash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { request } from 'undici'

const url = process.argv[2]!
const t0 = performance.now()
const res = await request(url, { bodyTimeout: 120_000 })
const hash = createHash('sha256')
let bytes = 0
for await (const chunk of res.body) {
  hash.update(chunk as Buffer)
  bytes += (chunk as Buffer).length
}
process.stdout.write(JSON.stringify({ status: res.statusCode, bytes, sha256: hash.digest('hex'), seconds: (performance.now() - t0) / 1000 }))
