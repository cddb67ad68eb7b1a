/**
 * One exchange of captured traffic, whatever it was captured with (a HAR, a VCR cassette, a
 * driftwatch recording, the proxy): the observation as `check` would have recorded it, already
 * redacted, plus what only attribution needs.
 */
import type { Observation } from '../model/observation.ts'

/** An exchange read from captured traffic. */
export interface TrafficEntry {
  /** Where it came from, for messages: `traffic.har entry 3`, `cassette.yml interaction 2`. */
  source: string
  /** Secrets and personal data already out. */
  observation: Observation
  /** False when the capture left the response body out: judged on status, headers and framing only. */
  hasBody: boolean
  /**
   * The request body as sent, for attribution only (`"status": "read"` vs `"type": "text"`); never written
   * anywhere. A HAR's is whole up to KEPT_BODY_BYTES (1 MiB), its first 1 MiB beyond (a multipart upload of a video).
   */
  requestBody?: string
  /** What the capture says it is (a recording names its probe or operation); attribution is skipped. */
  hint?: string
}
