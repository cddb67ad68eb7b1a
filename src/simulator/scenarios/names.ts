/**
 * The scenarios' names, in registry order, without loading the simulator: `--help` lists them and a
 * usage error names them at start-up, before anything heavy is loaded. index.ts refuses to load if
 * its registry and this list differ, so a scenario added there and not here fails every test.
 */
import { closest, distance } from 'fastest-levenshtein'

export const SCENARIO_NAMES: readonly string[] = [
  'baseline',
  'media-chunked',
  'media-phone-number-id-rejected',
  'media-post-intermittent',
  'error-code-reorder',
  'error-code-unknown',
  'api-update-downtime',
  'auth-expired',
  'media-file-size-string',
  'media-sha256-missing',
  'graph-request-id-dropped',
  'json-served-as-javascript',
  'media-url-foreign-host',
  'webhook-status-field-removed',
  'webhook-type-change',
  'webhook-errors-reshaped',
  'webhook-out-of-order',
  'webhook-duplicates',
  'webhook-delivered-then-failed',
]

/** `unknown scenario "media-chunkd"; did you mean "media-chunked"? (available: …)`: one wording wherever a scenario is named. */
export function unknownScenario(name: string): string {
  const best = closest(name, [...SCENARIO_NAMES])
  const near = distance(name, best) <= Math.max(2, Math.floor(name.length / 3))
  return `unknown scenario "${name}"${near ? `; did you mean "${best}"?` : ''} (available: ${SCENARIO_NAMES.join(', ')})`
}
