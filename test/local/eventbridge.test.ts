import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusEvent } from '../../core/contracts';
import { planTarget } from '../../core/plan';
import { localCredentials } from '../../local/services/aws-env';
import {
  busEventJson,
  compactJson,
  type LocalEventBridge,
  startLocalEventBridge,
} from '../../local/services/eventbridge';
import { sqsRuleTarget } from '../../local/services/rule-targets';
import { createTargetQueues, type LocalSqs, startLocalSqs } from '../../local/services/sqs';
import { httpTarget, waitFor } from './helpers';

const BUS = 'test-bus';
let bus: LocalEventBridge;
let sqs: LocalSqs;
let client: EventBridgeClient;
const received: BusEvent<unknown>[] = [];
let flakyCalls = 0;
const deadLettered: string[] = [];
let queueUrl = '';

beforeAll(async () => {
  sqs = await startLocalSqs();
  const pair = await createTargetQueues(
    sqs.client,
    'eb',
    planTarget(httpTarget({ name: 'queue-target' }), 30),
  );
  bus = await startLocalEventBridge({
    busName: BUS,
    retryBaseDelayMs: 5,
    deliveryAttempts: 3,
    rules: [
      {
        name: 'orders',
        pattern: { source: ['shop'], 'detail-type': ['order.created'] },
        deliver: async (event) => {
          received.push(event);
        },
      },
      {
        name: 'flaky',
        pattern: { source: ['flaky'] },
        deliver: async () => {
          flakyCalls++;
          if (flakyCalls <= 2) throw new Error('target unavailable');
        },
      },
      {
        name: 'broken',
        pattern: { source: ['broken'] },
        deliver: async () => {
          throw new Error('always down');
        },
        deadLetter: async (event) => {
          deadLettered.push(event.id);
        },
      },
      {
        name: 'big-numbers',
        // Matching sees the parsed detail: 2^53 + 1 rounds to 2^53 there, as in any JSON.parse.
        pattern: { source: ['numbers'], detail: { n: [9007199254740992] } },
        deliver: async (event) => {
          received.push(event);
        },
      },
      sqsRuleTarget({
        ruleName: 'to-queue',
        pattern: { source: ['queued'] },
        client: sqs.client,
        queueUrl: pair.queueUrl,
        queueArn: pair.queueArn,
      }),
    ],
  });
  client = new EventBridgeClient({
    endpoint: bus.endpoint,
    region: 'us-east-1',
    credentials: localCredentials,
  });
  queueUrl = pair.queueUrl;
});
afterAll(async () => {
  client.destroy();
  await bus.stop();
  await sqs.stop();
});

const entry = (over: Record<string, unknown> = {}) => ({
  EventBusName: BUS,
  Source: 'shop',
  DetailType: 'order.created',
  Detail: JSON.stringify({ orderId: 1 }),
  ...over,
});

describe('local EventBridge PutEvents', () => {
  it('answers with event ids, builds the bus event and routes matches after answering', async () => {
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          entry({ Time: new Date('2024-05-01T10:11:12.345Z'), Resources: ['arn:x'] }),
          entry({ DetailType: 'order.cancelled' }),
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries).toHaveLength(2);
    await bus.drain();
    expect(received).toHaveLength(1);
    const event = received[0]!;
    expect(event).toEqual({
      version: '0',
      id: out.Entries?.[0]?.EventId,
      'detail-type': 'order.created',
      source: 'shop',
      account: '000000000000',
      time: '2024-05-01T10:11:12Z',
      region: 'us-east-1',
      resources: ['arn:x'],
      detail: { orderId: 1 },
    });
  });

  it('reports per-entry errors for missing fields, malformed detail and unknown buses', async () => {
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          entry({ DetailType: undefined }),
          entry({ Detail: '[1,2]' }),
          entry({ EventBusName: 'nope' }),
          entry(),
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(3);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'InvalidArgument',
      'MalformedDetail',
      'ResourceNotFoundException',
      'ok',
    ]);
  });

  it('rejects more than 10 entries and entries over 256 KB', async () => {
    await expect(
      client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry()) })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    const big = JSON.stringify({ blob: 'x'.repeat(256 * 1024) });
    await expect(
      client.send(new PutEventsCommand({ Entries: [entry({ Detail: big })] })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('retries failed deliveries and dead-letters what never succeeds', async () => {
    await client.send(
      new PutEventsCommand({ Entries: [entry({ Source: 'flaky' }), entry({ Source: 'broken' })] }),
    );
    await bus.drain();
    expect(flakyCalls).toBe(3);
    expect(deadLettered).toHaveLength(1);
  });

  it('sends matched events as JSON to an SQS rule target', async () => {
    const out = await client.send(new PutEventsCommand({ Entries: [entry({ Source: 'queued' })] }));
    const message = await waitFor('message on the target queue', async () => {
      const r = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
      return r.Messages?.[0];
    });
    expect(JSON.parse(message.Body ?? '{}')).toMatchObject({
      id: out.Entries?.[0]?.EventId,
      source: 'queued',
    });
  });

  it('puts the Detail text in the SQS message, whitespace dropped as AWS may (digits and spellings kept)', async () => {
    const detail =
      '{"n":9007199254740993,"big":123456789012345678901234567890,"f":1.0,"s":"\\u00e9 \\" x","detail":{"x":[1e2]}}';
    const spaced = detail.replace('"n":', '"n" :\n  ').replace(',"f"', ',\t"f"');
    const out = await client.send(
      new PutEventsCommand({ Entries: [entry({ Source: 'queued', Detail: `  ${spaced}\n` })] }),
    );
    const message = await waitFor('raw message on the target queue', async () => {
      const r = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
      return r.Messages?.find((m) => m.Body?.includes(out.Entries![0]!.EventId!));
    });
    const body = message.Body!;
    expect(body.endsWith(`,"detail":${detail}}`)).toBe(true);
    const { detail: parsed, ...rest } = JSON.parse(body) as BusEvent<unknown>;
    expect(parsed).toEqual(JSON.parse(detail));
    expect(rest).toMatchObject({
      version: '0',
      id: out.Entries?.[0]?.EventId,
      source: 'queued',
      resources: [],
    });
  });

  it('matches rules on the parsed detail while targets get the Detail text', async () => {
    const before = received.length;
    await client.send(
      new PutEventsCommand({ Entries: [entry({ Source: 'numbers', Detail: '{"n":9007199254740993}' })] }),
    );
    await bus.drain();
    const event = received.at(-1)!;
    expect(received.length).toBe(before + 1);
    expect(event.detail).toEqual({ n: 9007199254740992 });
    expect(busEventJson(event).endsWith(',"detail":{"n":9007199254740993}}')).toBe(true);
    // A detail replaced after the fact is serialised as it now is; an event from elsewhere with JSON.stringify.
    expect(busEventJson({ ...event })).toBe(JSON.stringify(event));
    const replaced = { ...event, detail: { other: true } };
    expect(busEventJson(replaced)).toBe(JSON.stringify(replaced));
  });
});

describe('compactJson', () => {
  it('drops whitespace outside strings and keeps strings, escapes and number spellings as they are', () => {
    expect(
      compactJson('{ "a" : [ 1.0 , 1e3 , -0 ],\n\t"s": "x  \\" y\\\\" , "n" : 12345678901234567890 }'),
    ).toBe('{"a":[1.0,1e3,-0],"s":"x  \\" y\\\\","n":12345678901234567890}');
    const compact = '{"a":1}';
    expect(compactJson(compact)).toBe(compact);
  });
});
