/**
 * `driftwatch sim` as a library call: the embedded Meta Graph API simulator on its own, its
 * webhooks (when a URL is given) signed with WHATSAPP_APP_SECRET from the environment when set,
 * else with the simulator's public dev secret. The CLI (cli/commands/sim.ts) parses the flags and
 * prints the credentials to export; the fixed values it names come from here.
 */
import { startSimulator, type RunningSimulator } from '../simulator/server.ts'
import type { WebhookDeliveryEvent, WebhookRetryPolicy } from '../simulator/webhooks.ts'

export { DEV_APP_SECRET, INBOUND_PATH, UNDELIVERABLE_RECIPIENT } from '../simulator/server.ts'
export type { RunningSimulator, WebhookDeliveryEvent, WebhookRetryPolicy }

/** How to run the simulator on its own. */
export interface SimOptions {
  /** Default 0 (a free port). */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /** The behaviour to simulate (default baseline). */
  scenario?: string
  /** POST signed webhooks here: statuses after each send, inbound messages on request. */
  webhookUrl?: string
  /** WHATSAPP_APP_SECRET, when set, signs the webhooks. */
  env: Readonly<Record<string, string | undefined>>
  /** How webhook deliveries are retried (tests make it fast). */
  webhookRetry?: Partial<WebhookRetryPolicy>
  /** Each webhook delivery's outcome. */
  onWebhook?: (e: WebhookDeliveryEvent) => void
}

/** Starts the simulator; resolves once it listens (DW_SIMULATOR_FAILED when it cannot). */
export function startSim(opts: SimOptions): Promise<RunningSimulator> {
  const appSecret = opts.env.WHATSAPP_APP_SECRET || undefined
  const webhooks =
    opts.webhookUrl === undefined
      ? undefined
      : { url: opts.webhookUrl, ...(appSecret ? { appSecret, appSecretSource: 'env' as const } : {}), ...(opts.webhookRetry ? { retry: opts.webhookRetry } : {}), ...(opts.onWebhook ? { onEvent: opts.onWebhook } : {}) }
  return startSimulator({ ...(opts.port !== undefined ? { port: opts.port } : {}), ...(opts.host ? { host: opts.host } : {}), ...(opts.scenario ? { scenario: opts.scenario } : {}), ...(webhooks ? { webhooks } : {}) })
}
