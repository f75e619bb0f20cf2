/**
 * What the benches run, as it is deployed: the reference workload's config, each function's environment as
 * lib/router-function.ts sets it (resources named by placeholders), and the reference webhook.
 *
 * Reference workload (README, Performance and cost): GitHub `pull_request.opened` from @octokit/webhooks-examples (21,370
 * bytes of JSON), one source, one HTTP target.
 */
import { createHmac } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { RouterConfigInput } from '../core/config';
import { type FunctionSpec, RESOURCE_REFS, resolveEnvironment } from '../core/plan';
import { FUNCTION_NODE_OPTIONS } from '../lib/bundling';
import { LAMBDA_RUNTIME, tracingEnvironment, tracingFor } from '../lib/router-function';
import { STAGES } from '../lib/stages';
import { githubExample } from '../local/sample-webhook';

export const REFERENCE_SECRET = 'bench-github-secret';
/** A Standard Webhooks signing secret (24 random bytes, base64). */
export const REFERENCE_SIGNING_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
export const REFERENCE_URL_TOKEN = 'Kq7vN2pXc9RtY4wLm8ZsB3dF6gH1jUeA';
export const WEBSOCKET_ENDPOINT = 'https://abc123defg.execute-api.us-east-1.amazonaws.com/prod';

/** The reference webhook's body: compact JSON, as GitHub sends it. */
export const referenceBody = (): string => JSON.stringify(githubExample('pull_request', 'opened'));

/** The reference config; `targetUrl` is where the HTTP target is (a loopback receiver in the benches). */
export function referenceConfig(targetUrl: string): RouterConfigInput {
  return {
    sources: [{ name: 'github', provider: 'github', secret: { secretName: 'bench/github' } }],
    targets: [
      {
        name: 'agent',
        kind: 'http',
        url: targetUrl,
        allowInsecure: targetUrl.startsWith('http:'),
        allowPrivateNetwork: true,
        filter: { source: ['webhook.github'], 'detail-type': [{ prefix: 'pull_request.' }] },
      },
    ],
  };
}

/** The stage whose settings the benches measure: what runs in production. */
export const REFERENCE_STAGE = STAGES.prod;

/** How a function traces in the reference stage (lib/stages.ts `activeTracing`). */
export const deployedTracing = (spec: FunctionSpec): 'Active' | 'PassThrough' =>
  tracingFor(spec, REFERENCE_STAGE.activeTracing);

/**
 * The environment a function is deployed with (lib/router-function.ts) in the reference stage, its resources named by
 * placeholders, plus what Lambda itself sets. `tracing` overrides the stage's mode (the cold-start suite measures a
 * traced function untraced too).
 */
export function deployedEnvironment(
  spec: FunctionSpec,
  codeDir: string,
  tracing: 'Active' | 'PassThrough' = deployedTracing(spec),
): NodeJS.ProcessEnv {
  const refs = Object.fromEntries(
    RESOURCE_REFS.map((ref) => [ref, ref === 'websocketEndpoint' ? WEBSOCKET_ENDPOINT : `bench-${ref}`]),
  );
  return {
    PATH: process.env.PATH,
    NODE_OPTIONS: FUNCTION_NODE_OPTIONS,
    POWERTOOLS_SERVICE_NAME: spec.serviceName,
    POWERTOOLS_METRICS_NAMESPACE: 'EventRouter',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    ...tracingEnvironment(tracing),
    ...resolveEnvironment(spec, refs),
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    // Lambda's own: Powertools' Tracer (and so lambdas/shared/observability.ts) tells Lambda by it.
    AWS_EXECUTION_ENV: `AWS_Lambda_${LAMBDA_RUNTIME.name}`,
    AWS_LAMBDA_FUNCTION_NAME: spec.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    LAMBDA_TASK_ROOT: codeDir,
  };
}

/** The reference webhook as API Gateway (HTTP API, payload 2.0) hands it to ingest. */
export function ingestEvent(body: string): APIGatewayProxyEventV2 {
  const path = `/webhooks/github/${REFERENCE_URL_TOKEN}`;
  const signature = createHmac('sha256', REFERENCE_SECRET).update(body).digest('hex');
  return {
    version: '2.0',
    routeKey: `POST ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: {
      accept: '*/*',
      'content-length': String(Buffer.byteLength(body)),
      'content-type': 'application/json',
      host: 'abc123defg.execute-api.us-east-1.amazonaws.com',
      'user-agent': 'GitHub-Hookshot/a1b2c3d',
      'x-amzn-trace-id': 'Root=1-674c6a1e-0a1b2c3d4e5f60718293a4b5',
      'x-forwarded-for': '140.82.115.1',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
      'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'x-github-event': 'pull_request',
      'x-github-hook-id': '123456789',
      'x-github-hook-installation-target-id': '79929171',
      'x-github-hook-installation-target-type': 'repository',
      'x-hub-signature': `sha1=${createHmac('sha1', REFERENCE_SECRET).update(body).digest('hex')}`,
      'x-hub-signature-256': `sha256=${signature}`,
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123defg',
      domainName: 'abc123defg.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123defg',
      http: {
        method: 'POST',
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '140.82.115.1',
        userAgent: 'GitHub-Hookshot/a1b2c3d',
      },
      requestId: 'Bq3xYh2sIAMEVxw=',
      routeKey: `POST ${path}`,
      stage: '$default',
      time: '01/Dec/2026:15:00:00 +0000',
      timeEpoch: 1796137200000,
    },
    body,
    isBase64Encoded: false,
  };
}
