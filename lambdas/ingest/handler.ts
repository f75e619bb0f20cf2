/** Ingest Lambda: API Gateway HTTP API (payload v2) → ingest domain. Thin on purpose. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { ENV } from '../../core/contracts';
import { LOG_MESSAGE, type WebhookRejectedFields } from '../../core/logs';
import { DIMENSION, METRIC, rejectReason } from '../../core/metrics';
import { isSourcesRuntime, orderedTargetsOf } from '../../core/runtime-config';
import { cachedMiddleware, lazyClient, timeouts } from '../shared/clients';
import { requireEnv, requirePositiveIntEnv } from '../shared/env';
import { problem } from '../shared/http';
import { liveGateFromEnv } from '../shared/live-gate';
import { correlate, invocation, logger, metrics, tracer, withCorrelation } from '../shared/observability';
import { orderedSender } from '../shared/ordered';
import { readRuntime } from '../shared/runtime';
import { createSecretReader } from '../shared/secrets';
import { type IngestDeps, ingestWebhook } from './ingest';
import { toIngestRequest } from './request';

const runtime = readRuntime(isSourcesRuntime);
const { sources } = runtime;
// Ordered targets only: SQS is loaded on the first send.
const ordered = orderedSender({
  targets: orderedTargetsOf(runtime),
  queuePrefix: process.env[ENV.queuePrefix],
  sqs: lazyClient(async () => new (await import('../shared/aws/sqs')).SQSClient(timeouts.request)),
  region: process.env.AWS_REGION ?? '',
});

const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient(cachedMiddleware(timeouts.request)));
// Whether agents may be connected (live stream on): events are marked for the broadcast rule only then.
const live = liveGateFromEnv({
  dynamodb,
  now: Date.now,
  onError: (error) => logger.warn('live lease unreadable; events are marked for agents meanwhile', { error }),
});

const deps: IngestDeps = {
  sources: new Map(sources.map((s) => [s.name, s])),
  // Loaded with the first read (then cached for minutes), and S3 only for a payload over the inline limit: a cold
  // start loads the clients of every webhook only (bench/cold-start.bench.ts).
  readSecrets: createSecretReader(
    lazyClient(async () =>
      tracer.captureAWSv3Client(
        new (await import('../shared/aws/secrets-manager')).SecretsManagerClient(
          cachedMiddleware(timeouts.request),
        ),
      ),
    ),
  ),
  doc: dynamodb,
  eventBridge: tracer.captureAWSv3Client(new EventBridgeClient(cachedMiddleware(timeouts.request))),
  s3: lazyClient(async () =>
    tracer.captureAWSv3Client(new (await import('../shared/aws/s3')).S3Client(timeouts.requestLarge)),
  ),
  tableName: requireEnv(ENV.tableName),
  busName: requireEnv(ENV.busName),
  payloadBucket: requireEnv(ENV.payloadBucket),
  retentionDays: requirePositiveIntEnv(ENV.retentionDays),
  dedupeDays: requirePositiveIntEnv(ENV.dedupeDays),
  ...(ordered ? { ordered } : {}),
  ...(live ? { live } : {}),
  now: Date.now,
  observe: {
    rejected(source, statusCode, reason, message) {
      // Read by the dashboard's "Rejected webhooks by reason" query (lib/dashboard.ts): keep the fields of core/logs.ts.
      const fields: WebhookRejectedFields = { source, statusCode, reason, detail: message };
      logger.warn(LOG_MESSAGE.webhookRejected, { ...fields });
      if (deps.sources.has(source)) countRejected(source, reason);
    },
    accepted(envelope, duplicate) {
      correlate({ eventId: envelope.id, deliveryId: envelope.deliveryId });
      logger.info(duplicate ? 'duplicate webhook' : 'webhook accepted', {
        eventId: envelope.id,
        source: envelope.source,
        type: envelope.type,
        deliveryId: envelope.deliveryId,
      });
      countFor(duplicate ? METRIC.webhookDuplicate : METRIC.webhookAccepted, envelope.source);
    },
    publishFailed(envelope, error) {
      correlate({ eventId: envelope.id, deliveryId: envelope.deliveryId });
      logger.warn('publish failed; the sweeper will republish', { eventId: envelope.id, error });
      countFor(METRIC.publishFailed, envelope.source);
    },
    storageFailed(source, error) {
      logger.error('storage or secret read failed', { source, error });
    },
  },
};

function countFor(metric: string, source: string): void {
  const single = metrics.singleMetric();
  single.addDimension(DIMENSION.source, source);
  single.addMetric(metric, MetricUnit.Count, 1);
}

/**
 * One rejection, in two dimension sets of one EMF line: per source (the total) and per source and reason (a
 * closed set of codes, so the metric count stays bounded).
 */
function countRejected(source: string, code: string): void {
  const single = metrics.singleMetric();
  single.addDimension(DIMENSION.source, source);
  single.addDimensions({ [DIMENSION.source]: source, [DIMENSION.reason]: rejectReason(code) });
  single.addMetric(METRIC.webhookRejected, MetricUnit.Count, 1);
}

export async function handler(
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> {
  // Counts go out as single metrics (per-source dimension) as they happen: nothing is left to flush.
  // Every line of the request carries API Gateway's request id (as its access log line does), and the event and
  // delivery ids once the webhook is accepted.
  return invocation(context, () =>
    withCorrelation({ requestId: event.requestContext.requestId }, async () => {
      try {
        return await ingestWebhook(toIngestRequest(event, deps.sources), deps);
      } catch (error) {
        // The domain answers every expected failure itself; anything else must still not be acknowledged, and a
        // clean 503 with Retry-After tells the sender to retry where a gateway 500 may not.
        logger.error('unexpected ingest failure', { error });
        return problem(503, 'unavailable', 'the webhook could not be accepted; retry later', {
          'retry-after': '5',
        });
      }
    }),
  );
}
