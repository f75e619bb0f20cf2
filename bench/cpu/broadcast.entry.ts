/**
 * CPU bench entry of the broadcast function (bench/cpu/harness.ts): one queued event pushed to the connections the
 * stubbed live table holds (all subscribed to it), the connections' version unchanged between batches. Floor:
 * JSON.parse of the queue message.
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { SQSEvent } from 'aws-lambda';
import { handler } from '../../lambdas/broadcast/handler';
import { awsJson, type EntryFactory, runIfMain } from './harness';

export const entry: EntryFactory<SQSEvent> = (fixtures) => {
  const { event, connections } = fixtures as { event: SQSEvent; connections: unknown[] };
  const message = event.Records[0]!.body;

  return {
    handler,
    NodeHttpHandler,
    event: () => event,
    respond(service, operation) {
      // The connections' version: unchanged after the first read, so the index is kept (steady state: this read
      // per batch, the connections read once).
      if (service === 'dynamodb' && operation === 'GetItem')
        return awsJson('1.0', { Item: { v: { N: '1' } } });
      if (service === 'dynamodb' && operation === 'Query')
        return awsJson('1.0', {
          Items: connections,
          Count: connections.length,
          ScannedCount: connections.length,
        });
      if (service === 'execute-api') return { status: 200 };
      throw new Error(`broadcast called ${service} ${operation}`);
    },
    check() {},
    floor() {
      JSON.parse(message);
    },
  };
};

await runIfMain(import.meta.url, entry);
