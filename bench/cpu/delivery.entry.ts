/**
 * CPU bench entry of a delivery function (bench/cpu/harness.ts): one queued event POSTed to an HTTP target on
 * 127.0.0.1 (the parent answers 200; the POST is real, as deployed: the SSRF-guarded client, a new connection per
 * POST), every SDK call answered by the stub. Floor: JSON.parse of the queue message + an HMAC-SHA256 over it
 * (the Standard Webhooks signature covers the envelope, nearly all of the message).
 */
import { createHmac } from 'node:crypto';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { handler } from '../../lambdas/delivery/handler';
import { awsJson, type EntryFactory, runIfMain } from './harness';

export const entry: EntryFactory<SQSEvent> = (fixtures) => {
  const { event, signingSecret } = fixtures as { event: SQSEvent; signingSecret: string };
  const record = event.Records[0]!;
  const key = Buffer.from(signingSecret.replace(/^whsec_/, ''), 'base64');

  return {
    handler,
    NodeHttpHandler,
    event: (i) => ({
      Records: [{ ...record, messageId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }],
    }),
    respond(service, operation) {
      if (service === 'secretsmanager')
        return awsJson('1.1', {
          Name: 'signing',
          SecretString: signingSecret,
          VersionStages: ['AWSCURRENT'],
        });
      if (service === 'dynamodb') return awsJson('1.0', {});
      throw new Error(`delivery called ${service} ${operation}`);
    },
    check(result) {
      const failures = (result as SQSBatchResponse).batchItemFailures ?? [];
      if (failures.length > 0) throw new Error('the delivery failed (batch item failure)');
    },
    floor() {
      JSON.parse(record.body);
      createHmac('sha256', key).update(record.body).digest('base64');
    },
  };
};

await runIfMain(import.meta.url, entry);
