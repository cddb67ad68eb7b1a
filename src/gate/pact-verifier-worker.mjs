// Runs Pact's own Verifier in a child process. Pact's native core prints its report straight to
// stdout; running it here keeps the gate's own output clean while its JSON result (which carries
// that report too) comes back through a file. Plain JavaScript so it starts without a transpiler.
//
// argv[2]: JSON {providerBaseUrl, pactUrls, logLevel?}; argv[3]: where to write {ok, json, error}.
import { writeFileSync } from 'node:fs'

process.env.PACT_DO_NOT_TRACK = 'true'
const [input, output] = process.argv.slice(2)
const opts = JSON.parse(input)
let result
try {
  const { Verifier } = await import('@pact-foundation/pact')
  const json = await new Verifier({ providerBaseUrl: opts.providerBaseUrl, pactUrls: opts.pactUrls, logLevel: opts.logLevel ?? 'error' }).verifyProvider()
  result = { ok: true, json: typeof json === 'string' ? json : null }
} catch (err) {
  // On failure Pact rejects with Error(<the JSON report>); anything else is a crash worth showing.
  const message = err instanceof Error ? err.message : String(err)
  result = message.trimStart().startsWith('{') ? { ok: false, json: message } : { ok: false, json: null, error: message }
}
writeFileSync(output, JSON.stringify(result))
