/**
 * Custom metric names and dimensions emitted by the handlers (Powertools EMF), charted by the dashboard, watched by
 * the alarms (core/alarms.ts) and counted by the local stack (local/metrics.ts reads the same EMF lines).
 */
export const METRICS_NAMESPACE = 'EventRouter';

export const METRIC = {
  webhookAccepted: 'WebhookAccepted',
  webhookDuplicate: 'WebhookDuplicate',
  webhookRejected: 'WebhookRejected',
  /**
   * Webhooks the HTTP API answered 429 (throttled before any function ran) and 503 (storage or secret store down):
   * counted from the API's access log by metric filters (lib/webhook-ingest.ts), locally by the HTTP API.
   */
  webhookThrottled: 'WebhookThrottled',
  webhookUnavailable: 'WebhookUnavailable',
  publishFailed: 'PublishFailed',
  eventsRepublished: 'EventsRepublished',
  publishRetrying: 'PublishRetrying',
  eventsPoisoned: 'EventsPoisoned',
  eventsAbandoned: 'EventsAbandoned',
  /** Age of the oldest accepted event still waiting to be published (the sweeper reports it on every run). */
  oldestPendingAge: 'OldestPendingAge',
  deliverySucceeded: 'DeliverySucceeded',
  deliveryFailed: 'DeliveryFailed',
  deliveryRetrying: 'DeliveryRetrying',
  deliveryLatency: 'DeliveryLatency',
  /** Received by ingest → delivered to the target (the envelope's `receivedAt` to the target's 2xx). */
  endToEndLatency: 'EndToEndLatency',
  targetGone: 'TargetGone',
  /**
   * Whether the target's queue is paused (1: breaker open or half-open, or the target answered 410 Gone) or consumed
   * (0). Emitted when it changes and by every breaker probe; the alarm keeps its state while no data arrives.
   */
  targetPaused: 'TargetPaused',
  /** A target's circuit breaker opened: its queue is no longer consumed until a probe succeeds. */
  breakerOpened: 'BreakerOpened',
  breakerClosed: 'BreakerClosed',
  /** A delivery waited for, or was put back for, the target's rate limit. */
  rateLimited: 'RateLimited',
  /** A ChangeMessageVisibility that implements backoff failed (the retry then comes after the queue's timeout). */
  backoffFailed: 'BackoffFailed',
  deliveryLogFailed: 'DeliveryLogFailed',
  broadcastSent: 'BroadcastSent',
  broadcastGone: 'BroadcastGone',
  /** Received by ingest → pushed to a WebSocket connection. */
  liveLatency: 'LiveLatency',
  connectionOpened: 'ConnectionOpened',
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Dimension names; every metric also carries Powertools' `service` dimension. */
export const DIMENSION = { source: 'source', target: 'target', reason: 'reason' } as const;

/**
 * Why ingest refused a webhook: the error codes of its answers (lambdas/ingest), a closed set so that the `reason`
 * dimension cannot grow (every value is a metric of its own, billed per month). Anything else counts as `other`.
 */
export const REJECT_REASONS = [
  'method_not_allowed',
  'unknown_endpoint',
  'payload_too_large',
  'invalid_signature',
  'unsupported_media_type',
  'invalid_utf8',
  'byte_order_mark',
  'invalid_json',
  'json_too_deep',
  'other',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export const rejectReason = (code: string): RejectReason =>
  (REJECT_REASONS as readonly string[]).includes(code) ? (code as RejectReason) : 'other';

/**
 * How each metric behaves, for the Prometheus view of the local stack (`/metrics`) and the dashboard's statistics:
 * a count of occurrences (summed), a gauge (its latest value), or a distribution of durations (percentiles).
 */
export type MetricKind = 'counter' | 'gauge' | 'distribution';

export const METRIC_INFO: Readonly<Record<MetricName, { readonly kind: MetricKind; readonly help: string }>> =
  {
    WebhookAccepted: { kind: 'counter', help: 'Webhooks accepted (stored and published or marked pending)' },
    WebhookDuplicate: { kind: 'counter', help: 'Webhooks answered as duplicates of an accepted one' },
    WebhookRejected: { kind: 'counter', help: 'Webhooks refused by ingest, by reason' },
    WebhookThrottled: { kind: 'counter', help: 'Webhook requests the HTTP API answered 429 (throttled)' },
    WebhookUnavailable: {
      kind: 'counter',
      help: 'Webhook requests answered 503 (storage or secret store unavailable)',
    },
    PublishFailed: { kind: 'counter', help: 'Accepted events whose publish failed (left to the sweeper)' },
    EventsRepublished: { kind: 'counter', help: 'Pending events the sweeper published' },
    PublishRetrying: { kind: 'counter', help: 'Pending events whose republish failed and will be retried' },
    EventsPoisoned: { kind: 'counter', help: 'Events EventBridge refused for good, set aside as poisoned' },
    EventsAbandoned: { kind: 'counter', help: 'Pending events that expired before they could be published' },
    OldestPendingAge: {
      kind: 'gauge',
      help: 'Age of the oldest accepted event not yet published, in seconds',
    },
    DeliverySucceeded: { kind: 'counter', help: 'Delivery attempts the target took' },
    DeliveryFailed: { kind: 'counter', help: 'Deliveries that failed for good (recorded, moved to the DLQ)' },
    DeliveryRetrying: { kind: 'counter', help: 'Delivery attempts that failed and will be retried' },
    DeliveryLatency: { kind: 'distribution', help: 'Duration of one delivery attempt' },
    EndToEndLatency: { kind: 'distribution', help: 'Webhook received by ingest to delivered to the target' },
    TargetGone: { kind: 'counter', help: 'Times a target answered 410 Gone and was paused' },
    TargetPaused: {
      kind: 'gauge',
      help: "1 while a target's queue is paused (breaker open or 410 Gone), else 0",
    },
    BreakerOpened: { kind: 'counter', help: "Times a target's circuit breaker opened" },
    BreakerClosed: { kind: 'counter', help: "Times a target's circuit breaker closed after a probe" },
    RateLimited: { kind: 'counter', help: "Deliveries that waited for the target's rate limit" },
    BackoffFailed: { kind: 'counter', help: 'Failed deliveries whose backoff could not be set' },
    DeliveryLogFailed: { kind: 'counter', help: 'Delivery bookkeeping writes that failed' },
    BroadcastSent: { kind: 'counter', help: 'Events pushed to WebSocket connections' },
    BroadcastGone: { kind: 'counter', help: 'WebSocket connections found gone (410) and removed' },
    LiveLatency: {
      kind: 'distribution',
      help: 'Webhook received by ingest to pushed to a WebSocket connection',
    },
    ConnectionOpened: { kind: 'counter', help: 'WebSocket connections accepted' },
  };
