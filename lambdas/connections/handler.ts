/** WebSocket API routes ($connect, $disconnect, $default, subscribe, ping) → connection domain. */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { ENV } from '../../core/contracts';
import { METRIC } from '../../core/metrics';
import { isConnectionsRuntime, type OidcRuntime } from '../../core/runtime-config';
import { cachedMiddleware, lazyClient, timeouts } from '../shared/clients';
import { requireEnv, requirePositiveIntEnv } from '../shared/env';
import { invocation, logger, metrics, tracer } from '../shared/observability';
import { readRuntime } from '../shared/runtime';
import { createSecretReader } from '../shared/secrets';
import { type ConnectionDeps, handleConnectionEvent, resumeAfterConnect } from './connections';
import type { OidcVerifier } from './oidc';

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
// Invoked only for a connect with `since` (the replay runs in its own invocation): loaded then, not at init.
const lambda = lazyClient(async () =>
  tracer.captureAWSv3Client(new (await import('../shared/aws/lambda')).LambdaClient(timeouts.request)),
);
const functionName = requireEnv('AWS_LAMBDA_FUNCTION_NAME');
// The OIDC issuer, when the config names one. Its verifier (with jose) loads with the first JWT, not at init, and then
// lives, with the issuer's keys it caches, as long as this instance.
const { oidc } = readRuntime(isConnectionsRuntime);
function lazyVerifier(config: OidcRuntime): OidcVerifier {
  let verifier: Promise<OidcVerifier> | undefined;
  return async (token) => {
    verifier ??= import('./oidc').then(
      (m) => m.createOidcVerifier(config),
      (error: unknown) => {
        verifier = undefined;
        throw error;
      },
    );
    return (await verifier)(token);
  };
}

const deps: ConnectionDeps = {
  doc: DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient(timeouts.request)), {
    marshallOptions: { removeUndefinedValues: true },
  }),
  accessTokens: () => readSecrets(tokenSecretId),
  ...(oidc ? { oidc: lazyVerifier(oidc) } : {}),
  management: tracer.captureAWSv3Client(
    new ApiGatewayManagementApiClient(
      cachedMiddleware({ ...timeouts.request, endpoint: requireEnv(ENV.websocketEndpoint) }),
    ),
  ),
  tableName: requireEnv(ENV.liveTableName),
  connectionTtlSeconds: requirePositiveIntEnv(ENV.connectionTtlSeconds),
  now: Date.now,
  eventsTable: requireEnv(ENV.tableName),
  retentionDays: requirePositiveIntEnv(ENV.retentionDays),
  startResume: async (connectionId, since) => {
    const { InvokeCommand } = await import('../shared/aws/lambda');
    await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify({ resume: { connectionId, since } })),
      }),
    );
  },
};

/** $connect events carry query parameters and headers, which the v2 WebSocket event type does not declare. */
type WebSocketEvent = APIGatewayProxyWebsocketEventV2 & {
  queryStringParameters?: Record<string, string | undefined>;
  headers?: Record<string, string | undefined>;
};

/** The replay a `since` on the URL asked for, handed over by `$connect` (an asynchronous invoke of this function). */
type ResumeRequest = { resume: { connectionId: string; since: string } };

export async function handler(
  event: WebSocketEvent | ResumeRequest,
  context: Context,
): Promise<APIGatewayProxyResultV2 | undefined> {
  if ('resume' in event) {
    return invocation(context, async () => {
      await resumeAfterConnect(deps, event.resume.connectionId, event.resume.since).catch((error: unknown) =>
        // The client's next connection resumes again; nothing to retry here.
        logger.warn('resume after connect failed', { connectionId: event.resume.connectionId, error }),
      );
      return undefined;
    });
  }
  // Lines here are about a connection, not an event: the connection id is their correlation.
  return invocation(context, async () => {
    const { routeKey, connectionId } = event.requestContext;
    const result = await handleConnectionEvent(
      {
        routeKey,
        connectionId,
        query: event.queryStringParameters ?? {},
        headers: event.headers ?? {},
        body: event.body,
      },
      deps,
    );
    // Never the query string or the headers: they may carry the caller's key. A refusal's reason names no credential.
    const refusal = result.statusCode >= 400 ? refusalOf(result.body) : undefined;
    if (result.statusCode >= 500)
      logger.warn('websocket route', { routeKey, connectionId, statusCode: result.statusCode, ...refusal });
    else
      logger.info('websocket route', { routeKey, connectionId, statusCode: result.statusCode, ...refusal });
    if (routeKey === '$connect' && result.statusCode === 200) {
      metrics.addMetric(METRIC.connectionOpened, MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
    }
    return result;
  });
}

/** The `{"error","message"}` of a refused handshake, for its log line. */
function refusalOf(body: string | undefined): { error?: string; reason?: string } | undefined {
  try {
    const { error, message } = JSON.parse(body ?? '') as { error?: unknown; message?: unknown };
    return {
      ...(typeof error === 'string' ? { error } : {}),
      ...(typeof message === 'string' ? { reason: message } : {}),
    };
  } catch {
    return undefined;
  }
}
