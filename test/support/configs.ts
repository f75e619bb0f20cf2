/** Router configs shared by tests. */
import type { RouterConfigInput } from '../../core/config';
import exampleConfig from '../../router.config';

/** One target of every kind (the HTTP one from the example config). */
export const allKindsConfig: RouterConfigInput = {
  ...exampleConfig,
  targets: [
    ...(exampleConfig.targets ?? []),
    {
      name: 'orders-queue',
      kind: 'sqs',
      queueArn: 'arn:aws:sqs:eu-west-1:222222222222:orders.fifo',
      kmsKeyArn: 'arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      filter: { source: ['webhook.github'] },
    },
    {
      name: 'triage-fn',
      kind: 'lambda',
      functionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:triage:live',
      filter: { 'detail-type': [{ prefix: 'issues.' }] },
      // Ordered per repository: its queue is FIFO, fed by ingest, the sweeper and the management API.
      ordering: { key: 'subject' },
    },
    {
      name: 'partner-bus',
      kind: 'eventbridge',
      eventBusArn: 'arn:aws:events:us-east-1:333333333333:event-bus/partner',
      filter: { source: ['webhook.github'] },
      retry: { maxAttempts: 3 },
    },
  ],
};
