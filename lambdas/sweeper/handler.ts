/**
 * Sweeper Lambda, on a schedule: publishes accepted events whose publish failed or is in doubt. Invoked with
 * `{"republish": ["<event id>", …]}` it first puts those poisoned events back in line (after the cause was fixed).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import { ENV } from '../../core/contracts';
import { METRIC } from '../../core/metrics';
import { isSweeperRuntime, orderedTargetsOf } from '../../core/runtime-config';
import { cachedMiddleware, lazyClient, timeouts } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { republishPoisoned } from '../shared/event-store';
import { liveGateFromEnv } from '../shared/live-gate';
import { correlationKeys, invocation, logger, metrics, tracer } from '../shared/observability';
import { orderedSender } from '../shared/ordered';
import { readRuntime } from '../shared/runtime';
import { type SweeperDeps, type SweepResult, sweepPending } from './sweeper';

const runtime = readRuntime(isSweeperRuntime);
const { backoff } = runtime;
// Ordered targets only: SQS is loaded on the first send.
const ordered = orderedSender({
  targets: orderedTargetsOf(runtime),
  queuePrefix: process.env[ENV.queuePrefix],
  sqs: lazyClient(async () => new (await import('../shared/aws/sqs')).SQSClient(timeouts.background)),
  region: process.env.AWS_REGION ?? '',
});

/** A pending event's correlation: its id, and its dedupe key when that is the provider's delivery id. */
const correlationOf = (marker: { eventId: string; dedupeKey: string }) =>
  correlationKeys({
    eventId: marker.eventId,
    deliveryId: marker.dedupeKey.startsWith('sha256:') ? null : marker.dedupeKey,
  });

const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient(cachedMiddleware(timeouts.background)));
// Whether agents may be connected (live stream on): republished events are marked for the broadcast rule only then.
const live = liveGateFromEnv({
  dynamodb,
  now: Date.now,
  onError: (error) => logger.warn('live lease unreadable; events are marked for agents meanwhile', { error }),
});

const deps: SweeperDeps = {
  doc: dynamodb,
  eventBridge: tracer.captureAWSv3Client(new EventBridgeClient(cachedMiddleware(timeouts.background))),
  tableName: requireEnv(ENV.tableName),
  busName: requireEnv(ENV.busName),
  ...(ordered ? { ordered } : {}),
  ...(live ? { live } : {}),
  now: Date.now,
  batchSize: 100,
  backoff,
  observe: {
    poisoned: (marker, error) =>
      logger.error('EventBridge refused the event for good; set aside as poisoned', {
        ...correlationOf(marker),
        error,
      }),
    abandoned: (marker) => logger.error('event expired before it could be published', correlationOf(marker)),
    bookkeepingFailed: (error) =>
      logger.warn('published, but the pending marker could not be cleared (it may be published again)', {
        error,
      }),
  },
};

/** Time left unused at the end of a run: a sweep never runs into the function's timeout. */
const SAFETY_MS = 10_000;

export async function handler(
  event: { republish?: unknown } | undefined,
  context: Context,
): Promise<SweepResult & { requeued: string[] }> {
  return invocation(context, () => sweep(event, context));
}

async function sweep(
  event: { republish?: unknown } | undefined,
  context: Context,
): Promise<SweepResult & { requeued: string[] }> {
  const requeued: string[] = [];
  const ids = Array.isArray(event?.republish) ? event.republish.filter((id) => typeof id === 'string') : [];
  for (const id of ids) {
    if (await republishPoisoned(deps.doc, deps.tableName, id, deps.now())) requeued.push(id);
  }
  if (ids.length > 0) logger.info('poisoned events put back in line', { requested: ids, requeued });
  const result = await sweepPending(deps, Date.now() + context.getRemainingTimeInMillis() - SAFETY_MS);
  if (result.republished + result.retrying + result.poisoned + result.abandoned > 0)
    logger.info('sweep', { ...result });
  metrics.addMetric(METRIC.eventsRepublished, MetricUnit.Count, result.republished);
  metrics.addMetric(METRIC.publishRetrying, MetricUnit.Count, result.retrying);
  metrics.addMetric(METRIC.eventsPoisoned, MetricUnit.Count, result.poisoned);
  metrics.addMetric(METRIC.eventsAbandoned, MetricUnit.Count, result.abandoned);
  metrics.addMetric(
    METRIC.oldestPendingAge,
    MetricUnit.Seconds,
    Math.round(result.oldestPendingAgeMs / 1000),
  );
  metrics.publishStoredMetrics();
  return { ...result, requeued };
}
