/** The Graph API's own rules, in one place: error envelopes and common codes, availability and credentials, `fields=`, versioned paths. */
export { describeStatus, errorCodeLabel, graphError, GRAPH_COMMON_CODES, isCommonGraphCode, type GraphErrorInfo } from './errors.ts'
export { availabilityOf, credentialFailure, SESSION_SUBCODE_MEANING, type Availability, type PreflightFlag } from './availability.ts'
export { describeFields, knownFields, parseFields, projectSchema, type FieldSelection } from './fields.ts'
export { apiVersionIn, decodeSegment, isVersionSegment, pathSegments } from './paths.ts'
