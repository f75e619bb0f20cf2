/**
 * Routes Lambda: keeps each source's tokened route in line with its URL-token secret.
 * - As a CloudFormation custom resource (every deploy): creates and throttles the routes, removes stale ones, and
 *   removes them all when the stack is deleted.
 * - Invoked with `{"rotate": "<source>"}`: a new token becomes current while the old one keeps working;
 *   `{"finishRotation": "<source>"}` retires the old one. The answer never contains a token: read the secret.
 */
import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { ENV } from '../../core/contracts';
import { isSourcesRuntime } from '../../core/runtime-config';
import { timeouts } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { invocation, logger, tracer } from '../shared/observability';
import { readRuntime } from '../shared/runtime';
import { finishRotation, type RoutesDeps, reconcileRoutes, rotateToken } from './routes';

const { sources } = readRuntime(isSourcesRuntime);

const deps: RoutesDeps = {
  api: tracer.captureAWSv3Client(new ApiGatewayV2Client(timeouts.background)),
  secrets: tracer.captureAWSv3Client(new SecretsManagerClient(timeouts.background)),
  apiId: requireEnv(ENV.httpApiId),
  stageName: '$default',
  integrationId: requireEnv(ENV.httpIntegrationId),
  secretId: requireEnv(ENV.urlTokenSecret),
  sources: sources.map((s) => ({
    name: s.name,
    rateLimitPerSecond: s.config.rateLimitPerSecond,
    burstLimit: s.config.burstLimit,
  })),
};

type Command = { rotate?: string; finishRotation?: string };

export async function handler(
  event: CloudFormationCustomResourceEvent | Command,
  context: Context,
): Promise<unknown> {
  return invocation(context, () => route(event, context));
}

async function route(event: CloudFormationCustomResourceEvent | Command, context: Context): Promise<unknown> {
  if ('RequestType' in event) return customResource(event, context);
  if (typeof event.rotate === 'string') {
    const tokens = await rotateToken(deps, event.rotate);
    logger.info('URL token rotation started', { source: event.rotate });
    return { source: event.rotate, rotating: tokens.previous !== undefined };
  }
  if (typeof event.finishRotation === 'string') {
    await finishRotation(deps, event.finishRotation);
    logger.info('URL token rotation finished', { source: event.finishRotation });
    return { source: event.finishRotation, rotating: false };
  }
  const result = await reconcileRoutes(deps);
  logger.info('routes reconciled', { ...result });
  return result;
}

/** CloudFormation waits for an answer on the pre-signed URL — on failure too, or the stack hangs for an hour. */
async function customResource(event: CloudFormationCustomResourceEvent, context: Context): Promise<void> {
  let status: 'SUCCESS' | 'FAILED' = 'SUCCESS';
  let reason = 'routes reconciled';
  try {
    const result = await reconcileRoutes(deps, event.RequestType === 'Delete');
    logger.info('routes reconciled for CloudFormation', { requestType: event.RequestType, ...result });
  } catch (error) {
    // Deleting the stack must not fail because the API is already gone.
    if (event.RequestType === 'Delete' && (error as Error).name === 'NotFoundException') {
      reason = 'API already deleted';
    } else {
      status = 'FAILED';
      reason = `${(error as Error).name}: ${(error as Error).message}`.slice(0, 500);
      logger.error('route reconciliation failed', { error });
    }
  }
  const body = JSON.stringify({
    Status: status,
    Reason: `${reason} (log stream ${context.logStreamName})`,
    PhysicalResourceId:
      'PhysicalResourceId' in event ? event.PhysicalResourceId : `${deps.apiId}-source-routes`,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  const response = await fetch(event.ResponseURL, {
    method: 'PUT',
    // The pre-signed URL was signed without a content type.
    headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
    body,
  });
  if (!response.ok) throw new Error(`CloudFormation refused the answer: ${response.status}`);
}
