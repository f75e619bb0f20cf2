/** Custom metric names and dimensions emitted by the handlers (Powertools EMF) and charted by the dashboard. */
export const METRICS_NAMESPACE = 'EventRouter';

export const METRIC = {
  webhookAccepted: 'WebhookAccepted',
  webhookDuplicate: 'WebhookDuplicate',
  webhookRejected: 'WebhookRejected',
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
  targetGone: 'TargetGone',
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
  connectionOpened: 'ConnectionOpened',
} as const;

/** Dimension names; every metric also carries Powertools' `service` dimension. */
export const DIMENSION = { source: 'source', target: 'target' } as const;
