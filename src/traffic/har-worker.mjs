// Reads a HAR in a worker thread (see read-har-thread.ts): scanning, parsing and redacting entries
// there while the main thread attributes and judges the ones before them. Plain JavaScript, so it
// starts without a TypeScript loader and registers tsx itself.
import { parentPort, workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
const { streamHar } = await import('./har.ts')
const { Redactor } = await import('../transport/redact.ts')
const { PersonalDataRedactor } = await import('../recordings/personal-data.ts')
const { HarnessError } = await import('../util/errors.ts')
const { useCredentialSalt } = await import('../transport/credential.ts')

const { file, cwd, redactorOptions, salt, wholeEntryBytes, batchEntries, batchChars, window } = workerData
// Batches posted and not yet taken by the main thread: past `window`, reading waits (memory stays flat).
let waiting = 0
let wake
parentPort.on('message', (m) => {
  if (m === 'taken') {
    waiting--
    wake?.()
  }
})
// Credential fingerprints as the main thread makes them (a request read here and one read there are told apart the same way).
useCredentialSalt(salt)
const progress = { bytesRead: 0, totalBytes: 0 }
let batch = []
let chars = 0
const send = () => {
  parentPort.postMessage({ entries: batch, bytesRead: progress.bytesRead })
  batch = []
  chars = 0
  waiting++
}
const post = async () => {
  send()
  while (waiting >= window) await new Promise((r) => (wake = r))
}
// Entries never wait long for their batch to fill: while one huge entry is read (a 200 MB body), those before it
// are judged, and a signal that ends the run finds them counted.
const flush = setInterval(() => {
  if (batch.length > 0 && waiting < window) send()
}, 50)
try {
  const opts = { progress, ...(wholeEntryBytes !== undefined ? { wholeEntryBytes } : {}) }
  for await (const e of streamHar(file, new Redactor(redactorOptions), new PersonalDataRedactor(), cwd, opts)) {
    batch.push(e)
    chars += (e.observation.response?.body.text?.length ?? 0) + (e.requestBody?.length ?? 0) + 2048
    if (batch.length >= batchEntries || chars >= batchChars) await post()
  }
  clearInterval(flush)
  parentPort.postMessage({ entries: batch, bytesRead: progress.bytesRead, done: true })
} catch (err) {
  clearInterval(flush)
  const harness = err instanceof HarnessError
  parentPort.postMessage({ entries: batch, bytesRead: progress.bytesRead, error: { harness, code: harness ? err.code : undefined, message: err instanceof Error ? err.message : String(err), details: harness ? err.details : undefined } })
}
