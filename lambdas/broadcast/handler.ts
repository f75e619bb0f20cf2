/** Broadcast Lambda: EventBridge rule target → push to matching WebSocket connections. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { type BusEvent, ENV } from '../../core/contracts';
import { METRIC } from '../../core/metrics';
import { timeouts } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { logger, metrics } from '../shared/observability';
import { type BroadcastDeps, broadcastEvent, SubscriptionIndex } from './broadcast';

const deps: BroadcastDeps = {
  doc: DynamoDBDocumentClient.from(new DynamoDBClient(timeouts.request)),
  management: new ApiGatewayManagementApiClient({
    ...timeouts.request,
    endpoint: requireEnv(ENV.websocketEndpoint),
  }),
  tableName: requireEnv(ENV.liveTableName),
  now: Date.now,
  concurrency: 25,
  subscriptions: new SubscriptionIndex(),
};

export async function handler(event: BusEvent, context: Context): Promise<void> {
  logger.addContext(context);
  try {
    const result = await broadcastEvent(event, deps, (connectionId, error) =>
      logger.warn('push failed', { connectionId, error }),
    );
    logger.info('broadcast', { eventId: event.detail?.id, ...result });
    metrics.addMetric(METRIC.broadcastSent, MetricUnit.Count, result.sent);
    metrics.addMetric(METRIC.broadcastGone, MetricUnit.Count, result.gone);
  } finally {
    metrics.publishStoredMetrics();
  }
}
