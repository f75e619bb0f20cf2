/**
 * CPU bench entry of the ingest function (bench/cpu/harness.ts): the reference GitHub webhook through the whole
 * handler, every SDK call answered by the stub. Floor: HMAC-SHA256 + JSON.parse of the same body.
 */
import { createHmac } from 'node:crypto';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handler } from '../../lambdas/ingest/handler';
import { awsJson, type EntryFactory, runIfMain } from './harness';

export const entry: EntryFactory<APIGatewayProxyEventV2> = (fixtures) => {
  const { event, secret } = fixtures as { event: APIGatewayProxyEventV2; secret: string };
  const body = Buffer.from(event.body ?? '');

  return {
    handler,
    NodeHttpHandler,
    event: (i) => ({
      ...event,
      headers: {
        ...event.headers,
        'x-github-delivery': `72d3162e-cc78-11e3-81ab-${String(i).padStart(12, '0')}`,
      },
    }),
    respond(service, operation) {
      if (service === 'secretsmanager')
        return awsJson('1.1', { Name: 'github', SecretString: secret, VersionStages: ['AWSCURRENT'] });
      if (service === 'events')
        return awsJson('1.1', {
          FailedEntryCount: 0,
          Entries: [{ EventId: '11111111-2222-3333-4444-555555555555' }],
        });
      if (service === 'dynamodb') return awsJson('1.0', {});
      throw new Error(`ingest called ${service} ${operation}`);
    },
    check(result) {
      const status = (result as APIGatewayProxyStructuredResultV2).statusCode;
      if (status !== 202) throw new Error(`ingest answered ${status}: ${(result as { body?: string }).body}`);
    },
    floor() {
      createHmac('sha256', secret).update(body).digest();
      JSON.parse(body.toString('utf8'));
    },
  };
};

await runIfMain(import.meta.url, entry);
