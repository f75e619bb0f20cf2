/** WebSocket API routes ($connect, $disconnect, $default, subscribe, ping) → connection domain. */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { ENV } from '../../core/contracts';
import { METRIC } from '../../core/metrics';
import { cachedMiddleware, lazyClient, timeouts } from '../shared/clients';
import { requireEnv, requirePositiveIntEnv } from '../shared/env';
import { invocation, logger, metrics, tracer } from '../shared/observability';
import { createSecretReader } from '../shared/secrets';
import { type ConnectionDeps, handleConnectionEvent } from './connections';

// The token secret is read on a connect and cached for minutes: its client loads then, not at init.
const readSecrets = createSecretReader(
  lazyClient(async () =>
    tracer.captureAWSv3Client(
      new (await import('../shared/aws/secrets-manager')).SecretsManagerClient(
        cachedMiddleware(timeouts.request),
      ),
    ),
  ),
);
const tokenSecretId = requireEnv(ENV.streamTokenSecret);

const deps: ConnectionDeps = {
  doc: tracer.captureAWSv3Client(new DynamoDBClient(cachedMiddleware(timeouts.request))),
  accessTokens: () => readSecrets(tokenSecretId),
  management: tracer.captureAWSv3Client(
    new ApiGatewayManagementApiClient(
      cachedMiddleware({ ...timeouts.request, endpoint: requireEnv(ENV.websocketEndpoint) }),
    ),
  ),
  tableName: requireEnv(ENV.liveTableName),
  connectionTtlSeconds: requirePositiveIntEnv(ENV.connectionTtlSeconds),
  now: Date.now,
};

/** $connect events carry query parameters, which the v2 WebSocket event type does not declare. */
type WebSocketEvent = APIGatewayProxyWebsocketEventV2 & {
  queryStringParameters?: Record<string, string | undefined>;
};

export async function handler(event: WebSocketEvent, context: Context): Promise<APIGatewayProxyResultV2> {
  // Lines here are about a connection, not an event: the connection id is their correlation.
  return invocation(context, async () => {
    const { routeKey, connectionId } = event.requestContext;
    const result = await handleConnectionEvent(
      { routeKey, connectionId, query: event.queryStringParameters ?? {}, body: event.body },
      deps,
    );
    logger.info('websocket route', { routeKey, connectionId, statusCode: result.statusCode });
    if (routeKey === '$connect' && result.statusCode === 200) {
      metrics.addMetric(METRIC.connectionOpened, MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
    }
    return result;
  });
}
