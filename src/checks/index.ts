/**
 * The registry of checks, in the order their findings read best: transport first (nothing else is
 * meaningful without a response), then status and method, then the response's parts.
 */
import { apiVersionCheck } from './api-version.ts'
import { availabilityCheck } from './availability.ts'
import { bodySchemaCheck } from './body-schema.ts'
import type { Check } from './check.ts'
import { contentTypeCheck } from './content-type.ts'
import { credentialsCheck } from './credentials.ts'
import { errorCodeCheck } from './error-code.ts'
import { errorEnvelopeCheck } from './error-envelope.ts'
import { framingCheck } from './framing.ts'
import { goldenDiffCheck } from './golden-diff.ts'
import { graphErrorCheck } from './graph-error.ts'
import { headersCheck } from './headers.ts'
import { hostAllowlistCheck } from './host-allowlist.ts'
import { mediaIntegrityCheck } from './media-integrity.ts'
import { methodCheck } from './method.ts'
import { parameterRejectionCheck } from './parameter-rejection.ts'
import { sampleConsistencyCheck } from './sample-consistency.ts'
import { schemaDriftCheck } from './schema-drift.ts'
import { statusCheck } from './status.ts'
import { transportCheck } from './transport.ts'

/** Every check by id. */
export const checks = {
  transport: transportCheck,
  availability: availabilityCheck,
  credentials: credentialsCheck,
  'host-allowlist': hostAllowlistCheck,
  'status-conformance': statusCheck,
  'parameter-rejection': parameterRejectionCheck,
  'method-conformance': methodCheck,
  'sample-consistency': sampleConsistencyCheck,
  'framing-conformance': framingCheck,
  'header-conformance': headersCheck,
  'content-type-conformance': contentTypeCheck,
  'body-schema-conformance': bodySchemaCheck,
  'schema-drift': schemaDriftCheck,
  'error-envelope': errorEnvelopeCheck,
  'error-code-conformance': errorCodeCheck,
  'graph-error': graphErrorCheck,
  'media-integrity': mediaIntegrityCheck,
  'api-version': apiVersionCheck,
  'golden-diff': goldenDiffCheck,
} as const satisfies Record<string, Check>

/** Id of a registered check. */
export type CheckId = keyof typeof checks

/** Checks in report order. */
export const allChecks: readonly Check[] = Object.values(checks)

export type { Check, CheckContext } from './check.ts'
