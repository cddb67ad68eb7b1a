/** Webhooks under contract: what others may use of src/webhooks (the receiver and the simulator are their own modules). */
export { isWebhookBody, messageKind, notificationsOf, statusKind, timestampOf, WEBHOOK_OBJECT, type Notification } from './body.ts'
export { ERROR_CODES_FILE, itemsKey, loadWebhookContracts, type WebhookContract, type WebhookPack } from './contracts.ts'
export { expectationOf, KIND_CHECK, observationOf, SEQUENCE_CHECK, WEBHOOK_CHECKS, WebhookJudge, type WebhookBodyInfo, type WebhookCounts, type WebhookJudgeOptions, type WebhookVerdict } from './judge.ts'
export { redactWebhook } from './redact.ts'
export { failedStatusDrafts, MAX_MESSAGES, StatusSequences, type SequenceDraft, type SequenceFigures, type StatusEvent } from './sequences.ts'
