// Reads a VCR cassette in a worker thread (see read-cassette.ts): the YAML library parses a
// document in one synchronous pass (about 1 MB/s: 50 s for a 64 MB cassette), during which the
// main thread could not see a SIGTERM. Plain JavaScript, so it starts without a TypeScript loader
// and registers tsx itself.
import { parentPort, workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
const { readCassette } = await import('./vcr.ts')
const { Redactor } = await import('../transport/redact.ts')
const { PersonalDataRedactor } = await import('../recordings/personal-data.ts')
const { HarnessError } = await import('../util/errors.ts')
const { useCredentialSalt } = await import('../transport/credential.ts')
// Credential fingerprints as the main thread makes them.
useCredentialSalt(workerData.salt)
// The redactor is made from the options the caller's was made from; the personal-data redactor arrives as its data.
const redactor = new Redactor(workerData.redactorOptions)
const personal = PersonalDataRedactor.revive(workerData.personal)
try {
  parentPort.postMessage({ entries: readCassette(workerData.file, redactor, personal, workerData.cwd) })
} catch (err) {
  const harness = err instanceof HarnessError
  parentPort.postMessage({ error: { harness, code: harness ? err.code : undefined, message: err instanceof Error ? err.message : String(err), details: harness ? err.details : undefined } })
}
