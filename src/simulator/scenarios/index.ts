/**
 * Every named simulator scenario. Stateful ones (a fleet's request counter, a downtime window) are
 * built fresh for each server, so two runs of the same scenario behave the same.
 */
import type { Scenario } from '../scenario.ts'
import { SCENARIO_NAMES } from './names.ts'
import { apiUpdateDowntime } from './api-update-downtime.ts'
import { authExpired } from './auth-expired.ts'
import { baseline } from './baseline.ts'
import { errorCodeReorder, errorCodeUnknown } from './error-codes.ts'
import { mediaChunked } from './media-chunked.ts'
import { mediaPhoneNumberIdRejected } from './media-phone-number-id-rejected.ts'
import { mediaPostIntermittent } from './media-post-intermittent.ts'
import { webhookErrorsReshaped, webhookStatusFieldRemoved, webhookTypeChange } from './webhook-drift.ts'
import { webhookDeliveredThenFailed, webhookDuplicates, webhookOutOfOrder } from './webhook-sequences.ts'
import { graphRequestIdDropped, jsonServedAsJavascript, mediaFileSizeString, mediaSha256Missing, mediaUrlForeignHost } from './shape-drift.ts'

/** Builders of every scenario by name. */
export const scenarios: Readonly<Record<string, () => Scenario>> = {
  baseline: () => baseline,
  'media-chunked': () => mediaChunked,
  'media-phone-number-id-rejected': () => mediaPhoneNumberIdRejected,
  'media-post-intermittent': mediaPostIntermittent,
  'error-code-reorder': () => errorCodeReorder,
  'error-code-unknown': () => errorCodeUnknown,
  'api-update-downtime': () => apiUpdateDowntime(),
  'auth-expired': () => authExpired,
  'media-file-size-string': () => mediaFileSizeString,
  'media-sha256-missing': () => mediaSha256Missing,
  'graph-request-id-dropped': () => graphRequestIdDropped,
  'json-served-as-javascript': () => jsonServedAsJavascript,
  'media-url-foreign-host': () => mediaUrlForeignHost,
  'webhook-status-field-removed': () => webhookStatusFieldRemoved,
  'webhook-type-change': () => webhookTypeChange,
  'webhook-errors-reshaped': () => webhookErrorsReshaped,
  'webhook-out-of-order': () => webhookOutOfOrder,
  'webhook-duplicates': () => webhookDuplicates,
  'webhook-delivered-then-failed': () => webhookDeliveredThenFailed,
}

// names.ts lists them for --help without loading the simulator: the two must not differ.
if (Object.keys(scenarios).join() !== SCENARIO_NAMES.join()) throw new Error(`src/simulator/scenarios/names.ts lists ${SCENARIO_NAMES.join(', ')}; the registry has ${Object.keys(scenarios).join(', ')}: make them the same`)

/** Names of the scenarios that change webhooks (they declare `webhooks.expects`), in registry order. */
export function webhookScenarioNames(): string[] {
  return scenarioNames().filter((n) => scenarios[n]!().webhooks !== undefined)
}

/** Names of every scenario, in registry order. */
export function scenarioNames(): string[] {
  return Object.keys(scenarios)
}

export { unknownScenario } from './names.ts'
export { apiUpdateDowntime, mediaPostIntermittent }
export type { Scenario } from '../scenario.ts'
