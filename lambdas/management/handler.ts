/**
 * Management Lambda: the `/v1` API (and `/health`) of the HTTP API, and the continuation of its jobs (invoked
 * asynchronously by itself with `{"job": "<id>"}`).
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { ENV } from '../../core/contracts';
import { isManagementRuntime, orderedTargetsOf } from '../../core/runtime-config';
import { timeouts } from '../shared/clients';
import { requireEnv } from '../shared/env';
import { liveGateFromEnv } from '../shared/live-gate';
import { invocation, logger, tracer } from '../shared/observability';
import { orderedSender } from '../shared/ordered';
import { readRuntime } from '../shared/runtime';
import { createSecretReader } from '../shared/secrets';
import { createApi } from './api';
import { cursorCodec } from './cursor';
import type { ManagementDeps } from './deps';
import { runJob } from './jobs';

const runtime = readRuntime(isManagementRuntime);
const lambda = tracer.captureAWSv3Client(new LambdaClient(timeouts.background));
const functionName = requireEnv('AWS_LAMBDA_FUNCTION_NAME');
const readSecrets = createSecretReader(tracer.captureAWSv3Client(new SecretsManagerClient(timeouts.request)));
const cursorSecret = requireEnv(ENV.cursorKeySecret);

const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient(timeouts.background));
const doc = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
// Whether agents may be connected (live stream on): published events are marked for the broadcast rule only then.
const live = liveGateFromEnv({
  dynamodb,
  now: Date.now,
  onError: (error) => logger.warn('live lease unreadable; events are marked for agents meanwhile', { error }),
});
// Set together when the stack has a live stream (core/plan.ts).
const liveTable = process.env[ENV.liveTableName];
const websocketEndpoint = process.env[ENV.websocketEndpoint];

const sqs = tracer.captureAWSv3Client(new SQSClient(timeouts.background));
const queuePrefix = requireEnv(ENV.queuePrefix);
const region = requireEnv('AWS_REGION');
// Published events go to the ordered targets' FIFO queues too, as from ingest.
const ordered = orderedSender({ targets: orderedTargetsOf(runtime), queuePrefix, sqs, region });

const deps: ManagementDeps = {
  runtime,
  doc,
  eventBridge: tracer.captureAWSv3Client(new EventBridgeClient(timeouts.background)),
  s3: tracer.captureAWSv3Client(new S3Client(timeouts.background)),
  sqs,
  lambda,
  cloudwatch: tracer.captureAWSv3Client(new CloudWatchClient(timeouts.background)),
  tableName: requireEnv(ENV.tableName),
  busName: requireEnv(ENV.busName),
  payloadBucket: requireEnv(ENV.payloadBucket),
  queuePrefix,
  ...(ordered ? { ordered } : {}),
  ...(live ? { live } : {}),
  ...(process.env[ENV.broadcastQueueUrl] ? { broadcastQueueUrl: process.env[ENV.broadcastQueueUrl] } : {}),
  region,
  cursors: cursorCodec(async () => Buffer.from((await readSecrets(cursorSecret))[0] ?? '', 'utf8')),
  continueJob: async (job) => {
    await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify({ job })),
      }),
    );
  },
  now: Date.now,
  ...(liveTable && websocketEndpoint
    ? {
        agents: {
          doc,
          tableName: liveTable,
          management: tracer.captureAWSv3Client(
            new ApiGatewayManagementApiClient({ ...timeouts.request, endpoint: websocketEndpoint }),
          ),
          now: Date.now,
          onError: (connectionId, error) =>
            logger.warn('could not close a connection', { connectionId, error }),
        },
      }
    : {}),
};

const api = createApi(deps, (error) => logger.error('management request failed', { error }));

/** Time kept free at the end of a job's chunk to save its progress and hand over. */
const JOB_RESERVE_MS = 15_000;
/**
 * A chunk runs at most half the function's timeout, then hands over: the `lambda-duration` alarm (core/alarms.ts)
 * fires when the p99 duration nears the timeout, and a long replay must not look like a function about to time out.
 */
const JOB_CHUNK_SHARE = 0.5;

export function handler(event: APIGatewayProxyEventV2 | { job: string }, context: Context) {
  // Lines here are about a request or a job, not one event: no correlation id (a job's lines name it).
  return invocation(context, () => handle(event, context));
}

async function handle(event: APIGatewayProxyEventV2 | { job: string }, context: Context) {
  if ('job' in event) {
    // At the start of the invocation the time left is the timeout.
    const left = context.getRemainingTimeInMillis();
    const budget = Math.min(left - JOB_RESERVE_MS, left * JOB_CHUNK_SHARE);
    await runJob(deps, event.job, Date.now() + budget);
    return { job: event.job };
  }
  const response = await api.resolve(event, context);
  logger.info('management request', {
    method: event.requestContext.http.method,
    path: event.rawPath,
    status: response.statusCode,
    caller: (event.requestContext as { authorizer?: { iam?: { userArn?: string } } }).authorizer?.iam
      ?.userArn,
  });
  return response;
}
