/**
 * Delivery Lambda: SQS batch → each record handed to the target by its kind's sender; records that must come back are
 * batch item failures.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ENV } from '../../core/contracts';
import { type DeliveryFailedFields, LOG_MESSAGE } from '../../core/logs';
import { DIMENSION, METRIC } from '../../core/metrics';
import { isDeliveryRuntime } from '../../core/runtime-config';
import { cachedMiddleware, lazyClient, timeouts } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { getTargetState, halfOpenBreaker } from '../shared/event-store';
import { correlate, invocation, logger, metrics, tracer, withCorrelation } from '../shared/observability';
import { readRuntime } from '../shared/runtime';
import { type DeliveryDeps, DeliveryRun, RetryLater } from './deliver';
import { senderFor } from './senders';

const { target } = readRuntime(isDeliveryRuntime);
// Default dimensions survive publishStoredMetrics (plain dimensions are cleared after every flush).
metrics.setDefaultDimensions({ [DIMENSION.target]: target.name });

// Lambda, S3 and SQS are called only when a target is paused or resumed, for a payload over the inline limit, and on
// a failed delivery: each loads on first use, not at init (bench/cold-start.bench.ts), traced once created.
const lambda = lazyClient(async () =>
  tracer.captureAWSv3Client(new (await import('../shared/aws/lambda')).LambdaClient(timeouts.background)),
);
const functionName = requireEnv('AWS_LAMBDA_FUNCTION_NAME');

/**
 * Enables or disables this function's event source mapping (its one queue): disabled, messages wait in the queue —
 * none is received, none is dropped. The mapping is found by function, so no id has to be wired in.
 */
async function setConsumption(enabled: boolean): Promise<void> {
  const { ListEventSourceMappingsCommand, UpdateEventSourceMappingCommand } = await import(
    '../shared/aws/lambda'
  );
  const out = await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: functionName }));
  for (const mapping of out.EventSourceMappings ?? []) {
    if (mapping.UUID)
      await lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping.UUID, Enabled: enabled }));
  }
}

/** Whether the target's queue is paused (1) or consumed (0): the target-paused alarm's gauge. */
function reportPaused(paused: boolean): void {
  metrics.addMetric(METRIC.targetPaused, MetricUnit.Count, paused ? 1 : 0);
}

async function pauseConsumption(reason: string): Promise<void> {
  await setConsumption(false);
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
  doc: tracer.captureAWSv3Client(new DynamoDBClient(cachedMiddleware(timeouts.background))),
  s3: lazyClient(async () =>
    tracer.captureAWSv3Client(new (await import('../shared/aws/s3')).S3Client(timeouts.background)),
  ),
  sqs: lazyClient(async () =>
    tracer.captureAWSv3Client(new (await import('../shared/aws/sqs')).SQSClient(timeouts.background)),
  ),
  tableName: requireEnv(ENV.tableName),
  queueUrl: requireEnv(ENV.queueUrl),
  deadLetterQueueUrl: requireEnv(ENV.deadLetterQueueUrl),
  now: Date.now,
  pauseConsumption,
  observe: {
    received(envelope) {
      // From here on, every line of this record carries the event's id and the provider's delivery id.
      correlate({ eventId: envelope.id, deliveryId: envelope.deliveryId });
    },
    attempted(attempt, envelope) {
      const { eventId, attempt: n, outcome, status, error, latencyMs } = attempt;
      const fields = { eventId, target: target.name, attempt: n, outcome, status, latencyMs };
      if (outcome === 'delivered') {
        logger.info('delivered', fields);
        metrics.addMetric(METRIC.deliverySucceeded, MetricUnit.Count, 1);
        metrics.addMetric(METRIC.deliveryLatency, MetricUnit.Milliseconds, latencyMs);
        // Received by ingest → taken by the target: what a provider's event waited, retries and pauses included.
        const receivedAt = Date.parse(envelope.receivedAt);
        if (Number.isFinite(receivedAt))
          metrics.addMetric(
            METRIC.endToEndLatency,
            MetricUnit.Milliseconds,
            Math.max(0, Date.now() - receivedAt),
          );
      } else {
        logger.warn('delivery attempt failed', { ...fields, error });
        if (outcome === 'retrying') metrics.addMetric(METRIC.deliveryRetrying, MetricUnit.Count, 1);
      }
    },
    gone(eventId) {
      logger.error('target answered 410 Gone: pausing it', { eventId, target: target.name });
      metrics.addMetric(METRIC.targetGone, MetricUnit.Count, 1);
      reportPaused(true);
    },
    resumed() {
      logger.warn('target resumed: it delivered again after 410 Gone', { target: target.name });
      reportPaused(false);
    },
    failed(eventId, reason, { status, attempts }) {
      // Read by the dashboard's "Recent failed deliveries" query (lib/dashboard.ts): keep the fields of core/logs.ts.
      const fields: DeliveryFailedFields = { eventId, target: target.name, status, attempts, reason };
      logger.error(LOG_MESSAGE.deliveryFailed, { ...fields });
      metrics.addMetric(METRIC.deliveryFailed, MetricUnit.Count, 1);
    },
    problem(what, error) {
      const messages = {
        backoff: 'could not set the backoff (the retry comes after the queue visibility timeout)',
        pause: 'could not pause the target',
        log: 'could not record the delivery attempt',
        breaker: 'could not read or update the circuit breaker (deliveries go on)',
        rate: 'could not reach the rate limit counter (the delivery went ahead)',
      } as const;
      logger.error(messages[what], { target: target.name, error });
      metrics.addMetric(
        what === 'backoff' ? METRIC.backoffFailed : METRIC.deliveryLogFailed,
        MetricUnit.Count,
        1,
      );
    },
    breakerOpened(reason, reopenAt) {
      logger.error('circuit breaker opened: the queue is paused; a probe follows', {
        target: target.name,
        reason,
        reopenAt: new Date(reopenAt).toISOString(),
      });
      metrics.addMetric(METRIC.breakerOpened, MetricUnit.Count, 1);
      reportPaused(true);
    },
    breakerClosed() {
      logger.warn('circuit breaker closed: the probe was delivered', { target: target.name });
      metrics.addMetric(METRIC.breakerClosed, MetricUnit.Count, 1);
      reportPaused(false);
    },
    rateLimited(waitedMs, putBack) {
      metrics.addMetric(METRIC.rateLimited, MetricUnit.Count, 1);
      if (putBack) logger.info('rate limit: put back for a later second', { target: target.name, waitedMs });
    },
  },
};

/**
 * The scheduled probe (`{"probe": true}`, every minute): an open breaker whose rest is over becomes half-open and
 * the queue is consumed again, so that the next delivery is the probe.
 */
async function probe(): Promise<{ resumed: boolean }> {
  const status = await getTargetState(deps.doc, deps.tableName, target.name);
  // Every minute, the target's state as the target-paused alarm sees it: an alarm created (or redeployed) while the
  // target was already paused learns it within a minute instead of at the next change.
  reportPaused(status.state !== 'active');
  metrics.publishStoredMetrics();
  if (status.state !== 'open' || (status.reopenAt ?? 0) > Date.now()) return { resumed: false };
  if (!(await halfOpenBreaker(deps.doc, deps.tableName, target.name, Date.now()))) return { resumed: false };
  await setConsumption(true);
  logger.warn('circuit breaker half-open: the queue is consumed again; the next delivery is the probe', {
    target: target.name,
  });
  return { resumed: true };
}

const processor = new BatchProcessor(EventType.SQS);

export async function handler(
  event: SQSEvent | { probe: true },
  context: Context,
): Promise<SQSBatchResponse | { resumed: boolean }> {
  return invocation(context, async () => {
    if (!('Records' in event)) return probe();
    const startedAt = Date.now();
    const run = new DeliveryRun(deps, startedAt + context.getRemainingTimeInMillis(), startedAt);
    try {
      // All records failing is an ordinary outcome (target down), not a function error: report them all.
      return await processPartialResponse(
        event,
        // Records are handled in parallel: each under its own correlation and trace subsegment.
        (record: SQSRecord) =>
          withCorrelation(
            {},
            async () => {
              try {
                await run.deliver(record);
              } catch (error) {
                if (!(error instanceof RetryLater)) logger.error('unexpected delivery error', { error });
                throw error;
              }
            },
            { trace: '### deliver' },
          ),
        processor,
        { context, throwOnFullBatchFailure: false },
      );
    } finally {
      await run.finish();
      // A batch that only held records back has nothing to report (Powertools would warn about an empty flush).
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  });
}
