/**
 * Delivery Lambda: SQS batch → each record handed to the target by its kind's sender; records that must come back are
 * batch item failures.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  LambdaClient,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ENV } from '../../core/contracts';
import { DIMENSION, METRIC } from '../../core/metrics';
import { isDeliveryRuntime } from '../../core/runtime-config';
import { timeouts } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { logger, metrics } from '../shared/observability';
import { readRuntime } from '../shared/runtime';
import { type DeliveryDeps, DeliveryRun, RetryLater } from './deliver';
import { senderFor } from './senders';

const { target } = readRuntime(isDeliveryRuntime);
// Default dimensions survive publishStoredMetrics (plain dimensions are cleared after every flush).
metrics.setDefaultDimensions({ [DIMENSION.target]: target.name });

const lambda = new LambdaClient(timeouts.background);
const functionName = requireEnv('AWS_LAMBDA_FUNCTION_NAME');
let queueArn = '';

/**
 * Disables this function's event source mapping: messages wait in the queue (none is received, none is dropped)
 * until someone resumes the target. The mapping is found by function and queue, so no id has to be wired in.
 */
async function pauseConsumption(reason: string): Promise<void> {
  const out = await lambda.send(
    new ListEventSourceMappingsCommand({ FunctionName: functionName, EventSourceArn: queueArn }),
  );
  for (const mapping of out.EventSourceMappings ?? []) {
    if (mapping.UUID)
      await lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping.UUID, Enabled: false }));
  }
  logger.warn('target paused: its queue is no longer consumed until resumed', {
    target: target.name,
    reason,
  });
}

const deps: DeliveryDeps = {
  target,
  sender: await senderFor(target.config, { env: process.env }),
  // Loaded only by targets that have one: JSONata stays out of every other cold start.
  ...(target.config.transform
    ? { transform: (await import('../../core/transform')).compileTransform(target.config.transform) }
    : {}),
  doc: DynamoDBDocumentClient.from(new DynamoDBClient(timeouts.background), {
    marshallOptions: { removeUndefinedValues: true },
  }),
  s3: new S3Client(timeouts.background),
  sqs: new SQSClient(timeouts.background),
  tableName: requireEnv(ENV.tableName),
  queueUrl: requireEnv(ENV.queueUrl),
  deadLetterQueueUrl: requireEnv(ENV.deadLetterQueueUrl),
  now: Date.now,
  pauseConsumption,
  observe: {
    attempted(attempt) {
      const { eventId, attempt: n, outcome, status, error, latencyMs } = attempt;
      const fields = { eventId, target: target.name, attempt: n, outcome, status, latencyMs };
      if (outcome === 'delivered') {
        logger.info('delivered', fields);
        metrics.addMetric(METRIC.deliverySucceeded, MetricUnit.Count, 1);
        metrics.addMetric(METRIC.deliveryLatency, MetricUnit.Milliseconds, latencyMs);
      } else {
        logger.warn('delivery attempt failed', { ...fields, error });
        if (outcome === 'retrying') metrics.addMetric(METRIC.deliveryRetrying, MetricUnit.Count, 1);
      }
    },
    gone(eventId) {
      logger.error('target answered 410 Gone: pausing it', { eventId, target: target.name });
      metrics.addMetric(METRIC.targetGone, MetricUnit.Count, 1);
    },
    failed(eventId, reason) {
      logger.error('delivery failed for good; recorded and moved to the DLQ', {
        eventId,
        target: target.name,
        reason,
      });
      metrics.addMetric(METRIC.deliveryFailed, MetricUnit.Count, 1);
    },
    problem(what, error) {
      logger.error(
        what === 'backoff'
          ? 'could not set the backoff (the retry comes after the queue visibility timeout)'
          : what === 'pause'
            ? 'could not pause the target'
            : 'could not record the delivery attempt',
        { target: target.name, error },
      );
      metrics.addMetric(
        what === 'backoff' ? METRIC.backoffFailed : METRIC.deliveryLogFailed,
        MetricUnit.Count,
        1,
      );
    },
  },
};

const processor = new BatchProcessor(EventType.SQS);

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  const startedAt = Date.now();
  queueArn ||= event.Records[0]?.eventSourceARN ?? '';
  const run = new DeliveryRun(deps, startedAt + context.getRemainingTimeInMillis(), startedAt);
  try {
    // All records failing is an ordinary outcome (target down), not a function error: report them all.
    return await processPartialResponse(
      event,
      async (record: SQSRecord) => {
        try {
          await run.deliver(record);
        } catch (error) {
          if (!(error instanceof RetryLater)) logger.error('unexpected delivery error', { error });
          throw error;
        }
      },
      processor,
      { context, throwOnFullBatchFailure: false },
    );
  } finally {
    metrics.publishStoredMetrics();
  }
}
