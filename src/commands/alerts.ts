/**
 * What the long-running commands (watch, proxy, webhook) share about alerts, for their callers:
 * the sinks `--alert-webhook` specs name (a bad spec is a DW_USAGE error before anything starts),
 * an alert's one line, and when a drift live traffic saw clears by default. Light on purpose: the
 * CLI's help reads TRAFFIC_RECOVERY without loading a command (delivery stays in watch/alerts.ts,
 * incidents in live/).
 */
export { alertLine, webhookSink, type Alert, type AlertSink } from '../watch/alerts.ts'
export { TRAFFIC_RECOVERY, type RecoveryRule } from '../live/incidents.ts'
