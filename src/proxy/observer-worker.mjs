// The proxy's observer in a worker thread (see observer-thread.ts). Plain JavaScript, so it starts
// without a TypeScript loader and registers tsx itself, as cassette-worker.mjs does.
import { register } from 'tsx/esm/api'

register()
const { runObserverWorker } = await import('./observer-thread.ts')
await runObserverWorker()
