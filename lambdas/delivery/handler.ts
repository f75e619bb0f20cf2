/** Delivery Lambda: SQS batch → one signed POST per record; failed records reported as batch item failures. */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ENV } from '../../core/contracts';
import { DIMENSION, METRIC } from '../../core/metrics';
import { RuntimeTargetSchema } from '../../core/runtime-config';
import { requireEnv, requireJsonEnv } from '../shared/env';
import { logger, metrics } from '../shared/observability';
import { createSecretReader } from '../shared/secrets';
import { type DeliveryDeps, deliverRecord } from './deliver';

const target = requireJsonEnv(ENV.target, RuntimeTargetSchema);
// Default dimensions survive publishStoredMetrics (plain dimensions are cleared after every flush).
metrics.setDefaultDimensions({ [DIMENSION.target]: target.name });

const deps: DeliveryDeps = {
  target,
  readSecrets: createSecretReader(new SecretsManagerClient({})),
  doc: DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  }),
  s3: new S3Client({}),
  sqs: new SQSClient({}),
  tableName: requireEnv(ENV.tableName),
  queueUrl: requireEnv(ENV.queueUrl),
  fetch: globalThis.fetch,
  now: Date.now,
  observe: {
    delivered(envelope, status, durationMs) {
      logger.info('delivered', { eventId: envelope.id, target: target.name, status, durationMs });
      metrics.addMetric(METRIC.deliverySucceeded, MetricUnit.Count, 1);
      metrics.addMetric(METRIC.deliveryLatency, MetricUnit.Milliseconds, durationMs);
    },
    failed(envelope, reason, attempt) {
      logger.warn('delivery failed', { eventId: envelope?.id, target: target.name, reason, attempt });
      metrics.addMetric(METRIC.deliveryFailed, MetricUnit.Count, 1);
    },
    logFailed(error) {
      logger.warn('could not record the delivery attempt or set backoff', { error });
    },
  },
};

const processor = new BatchProcessor(EventType.SQS);
const deliver = (record: SQSRecord) => deliverRecord(record, deps);

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  try {
    // All records failing is an ordinary outcome (target down), not a function error: report them all.
    return await processPartialResponse(event, deliver, processor, {
      context,
      throwOnFullBatchFailure: false,
    });
  } finally {
    metrics.publishStoredMetrics();
  }
}
