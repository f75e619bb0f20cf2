/**
 * Log lines that other code reads by their message and fields: the dashboard's Logs Insights queries
 * (lib/dashboard.ts) and the local terminal's human lines (local/log-format.ts). The functions write them as
 * Powertools JSON — `message` and these fields at the top level, beside Powertools' own keys and the correlation keys
 * (`correlation_id`, `eventId`, `deliveryId`; lambdas/shared/observability.ts) — which is what Logs Insights
 * discovers as fields.
 */

export const LOG_MESSAGE = {
  /** Ingest refused a webhook (any 4xx or 5xx answer of its own). */
  webhookRejected: 'webhook rejected',
  /** A delivery failed for good: recorded in the event store and moved to the target's DLQ. */
  deliveryFailed: 'delivery failed for good; recorded and moved to the DLQ',
} as const;

/** Fields of ingest's "webhook rejected" line. */
export interface WebhookRejectedFields {
  readonly source: string;
  /** The HTTP status of the answer. */
  readonly statusCode: number;
  /** The answer's error code (`invalid_signature`, `payload_too_large`, …). */
  readonly reason: string;
  /** The answer's message. */
  readonly detail: string;
}

/** Fields of the delivery function's "failed for good" line. */
export interface DeliveryFailedFields {
  /** The event's id (`message:<SQS message id>` for a message that was not an event). */
  readonly eventId: string;
  readonly target: string;
  /** The target's HTTP status on the last attempt; absent when it did not answer (timeout, network, refused). */
  readonly status?: number;
  /** Attempts made (0 when none could be: an unreadable message). */
  readonly attempts: number;
  /** Why: the last attempt's error, or why no attempt was made. */
  readonly reason: string;
}

/** What the "Recent failed deliveries" table shows, after the time: its own fields and the provider's delivery id. */
export const FAILED_DELIVERY_COLUMNS = [
  'target',
  'eventId',
  'deliveryId',
  'status',
  'attempts',
  'reason',
] as const satisfies readonly (keyof DeliveryFailedFields | 'deliveryId')[];

/** What the "Rejected webhooks by reason" table counts by. */
export const REJECTED_WEBHOOK_GROUPS = [
  'source',
  'reason',
  'statusCode',
] as const satisfies readonly (keyof WebhookRejectedFields)[];
