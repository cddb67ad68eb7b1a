/**
 * A second process on a state file, for the two-process test: judges `n` exchanges of
 * media.upload, every one drifting, through TrafficIncidents, and prints the alerts it raised as JSON.
 * Usage: tsx suites/live/traffic-child.ts <state.db> <n>
 */
import { TrafficIncidents } from '../../src/live/index.ts'
import type { Alert } from '../../src/watch/alerts.ts'
import { finding } from './fixtures.ts'

const [file, n] = process.argv.slice(2)
const alerts: Alert[] = []
const t = new TrafficIncidents({ state: file!, upstream: 'https://graph.facebook.com', sinks: [], onAlert: (a) => alerts.push(a) })
process.stdout.write('ready\n')
for (let i = 0; i < Number(n); i++) await t.judged('media.upload', [finding('media.upload', { n: i })], Date.now())
await t.close()
process.stdout.write(`${JSON.stringify(alerts.map((a) => a.kind))}\n`)
