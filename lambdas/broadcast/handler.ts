/**
 * Broadcast Lambda: the broadcast queue (fed by an EventBridge rule) → push each event to the matching WebSocket
 * connections. Events arrive as SQS message text, so the envelope is pushed exactly as it travelled.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { type BusEvent, ENV } from '../../core/contracts';
import { METRIC } from '../../core/metrics';
import { cachedMiddleware, timeouts } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { invocation, logger, metrics, tracer, withCorrelation } from '../shared/observability';
import { rawJsonMember } from '../shared/raw-json';
import {
  type BroadcastDeps,
  broadcastEvent,
  correlationOf,
  SubscriptionIndex,
  syncSubscriptions,
} from './broadcast';

const sqs = tracer.captureAWSv3Client(new SQSClient(timeouts.request));
const broadcastQueueUrl = requireEnv(ENV.broadcastQueueUrl);

const deps: BroadcastDeps = {
  doc: DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient(timeouts.request)), {
    marshallOptions: { removeUndefinedValues: true },
  }),
  management: tracer.captureAWSv3Client(
    new ApiGatewayManagementApiClient(
      cachedMiddleware({ ...timeouts.request, endpoint: requireEnv(ENV.websocketEndpoint) }),
    ),
  ),
  tableName: requireEnv(ENV.liveTableName),
  now: Date.now,
  concurrency: 25,
  subscriptions: new SubscriptionIndex(),
  handOff: async (message) => {
    await sqs.send(new SendMessageCommand({ QueueUrl: broadcastQueueUrl, MessageBody: message }));
  },
};

/**
 * The bus event of a queue message, parsed (for matching) and its `detail` as raw text (for pushing); or a fan-out
 * continuation (`fanout`: the connections still to push to).
 */
function parseBusEvent(
  body: string,
): { bus: BusEvent<unknown>; detail: string; only?: string[] } | undefined {
  try {
    const detail = rawJsonMember(body, 'detail');
    if (detail === undefined) return undefined;
    const parsed = JSON.parse(body) as BusEvent<unknown> & { fanout?: unknown };
    if (Array.isArray(parsed.fanout))
      return {
        bus: parsed,
        detail,
        only: parsed.fanout.filter((id): id is string => typeof id === 'string'),
      };
    return { bus: parsed, detail };
  } catch {
    return undefined;
  }
}

/**
 * Every record succeeds once processed, whatever some connections answered: retrying it would push duplicates to
 * the clients already served. Only a crash (the whole invocation) brings a batch back.
 */
export async function handler(event: SQSEvent, context: Context): Promise<void> {
  return invocation(context, async () => {
    try {
      await syncSubscriptions(deps);
      for (const record of event.Records) {
        const parsed = parseBusEvent(record.body);
        if (!parsed) {
          logger.error('not an EventBridge event; dropped', { messageId: record.messageId });
          continue;
        }
        const { bus, detail, only } = parsed;
        // Every line about this event (a failed push included) carries its id and the provider's delivery id.
        await withCorrelation(correlationOf(bus), async () => {
          const result = await broadcastEvent(
            bus,
            detail,
            deps,
            (connectionId, error) => logger.warn('push failed', { connectionId, error }),
            only,
          );
          logger.info('broadcast', { ...result });
          metrics.addMetric(METRIC.broadcastSent, MetricUnit.Count, result.sent);
          metrics.addMetric(METRIC.broadcastGone, MetricUnit.Count, result.gone);
          // Received by ingest → pushed: what a live agent waited for this event.
          const receivedAt = Date.parse(String((bus.detail as { receivedAt?: unknown }).receivedAt));
          if (result.sent > 0 && Number.isFinite(receivedAt))
            metrics.addMetric(
              METRIC.liveLatency,
              MetricUnit.Milliseconds,
              Math.max(0, Date.now() - receivedAt),
            );
        });
      }
    } finally {
      metrics.publishStoredMetrics();
    }
  });
}
