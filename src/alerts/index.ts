/** Alert sinks (webhook, JSON lines) and the gate that turns decisions into alerts. */
export { AlertGate, alertMessage } from './alert-gate.ts'
export type { AlertGateOptions } from './alert-gate.ts'
export { ALERT_FILE_FAILED, JsonLinesAlertSink } from './jsonl-alert-sink.ts'
export type { JsonLinesAlertSinkOptions } from './jsonl-alert-sink.ts'
export {
  ALERT_DELIVERY_FAILED,
  SIGNATURE_HEADER,
  WEBHOOK_FORMATS,
  WebhookAlertSink,
  backoffDelayMs,
  signBody,
  slackPayload,
} from './webhook-alert-sink.ts'
export type {
  WebhookAlertSinkOptions,
  WebhookFormat,
  WebhookRetry,
  WebhookStats,
} from './webhook-alert-sink.ts'
export { FleetAlertDedupe } from './fleet-alert-dedupe.ts'
export type { FleetAlertDedupeOptions, FleetAlertDedupeStats } from './fleet-alert-dedupe.ts'
export { createAlerting, webhookOrigin } from './from-config.ts'
export type {
  AlertSettings,
  Alerting,
  CreateAlertingOptions,
  WebhookSettings,
} from './from-config.ts'
