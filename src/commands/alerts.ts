/**
 * What the long-running commands (watch, proxy, webhook) share about alerts, for their callers:
 * the sinks `--alert-webhook` specs name (a bad spec is a DW_USAGE error before anything starts)
 * and an alert's one line. The delivery itself stays in watch/alerts.ts.
 */
export { alertLine, webhookSink, type Alert, type AlertSink } from '../watch/alerts.ts'
