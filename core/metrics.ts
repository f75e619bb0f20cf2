/** Custom metric names and dimensions emitted by the handlers (Powertools EMF) and charted by the dashboard. */
export const METRICS_NAMESPACE = 'EventRouter';

export const METRIC = {
  webhookAccepted: 'WebhookAccepted',
  webhookDuplicate: 'WebhookDuplicate',
  webhookRejected: 'WebhookRejected',
  publishFailed: 'PublishFailed',
  deliverySucceeded: 'DeliverySucceeded',
  deliveryFailed: 'DeliveryFailed',
  deliveryLatency: 'DeliveryLatency',
  broadcastSent: 'BroadcastSent',
  broadcastGone: 'BroadcastGone',
  connectionOpened: 'ConnectionOpened',
} as const;

/** Dimension names; every metric also carries Powertools' `service` dimension. */
export const DIMENSION = { source: 'source', target: 'target' } as const;
