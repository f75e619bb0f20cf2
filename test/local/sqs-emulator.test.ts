/**
 * The local SQS emulator behaves as SQS does, checked with a real SDK v3 SQSClient over HTTP (and the in-process
 * sender where the local stack uses it). Time-dependent behaviour (retention, visibility, delays, deduplication)
 * runs on an injected clock: no test waits for time to pass.
 */
import {
  CancelMessageMoveTaskCommand,
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planTarget } from '../../core/plan';
import { FaultSwitch } from '../../local/faults';
import { LOCAL_REGION, localCredentials } from '../../local/services/aws-env';
import { createTargetQueues, type LocalSqs, queueDepth, startLocalSqs } from '../../local/services/sqs';
import { httpTarget, waitFor } from './helpers';

/** Fault switch that also records the calls the emulator served (a call is checked just before it runs). */
class RecordingFaults extends FaultSwitch {
  readonly calls: string[] = [];
  override check(service: Parameters<FaultSwitch['check']>[0], operation: string) {
    this.calls.push(operation);
    return super.check(service, operation);
  }
}

const T0 = 1_750_000_000_000;
let clock = T0;
const faults = new RecordingFaults();
let sqs: LocalSqs;
let client: SQSClient;
let n = 0;

beforeAll(async () => {
  sqs = await startLocalSqs({ now: () => clock, faults });
  client = sqs.client;
});
afterAll(async () => {
  await sqs.stop();
});

const advance = (seconds: number) => {
  clock += seconds * 1000;
};

async function queue(attributes: Record<string, string> = {}, name = `q${++n}`): Promise<string> {
  const out = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return out.QueueUrl!;
}

async function arnOf(url: string): Promise<string> {
  const out = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return out.Attributes!.QueueArn!;
}

async function receive(
  url: string,
  extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {},
) {
  const out = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
      ...extra,
    }),
  );
  return out.Messages ?? [];
}

describe('queues', () => {
  it('CreateQueue is idempotent with the same attributes and refuses different ones (QueueNameExists / QueueAlreadyExists)', async () => {
    const url = await queue({ VisibilityTimeout: '45' }, 'same-name');
    expect(url).toBe(`${sqs.endpoint}/000000000000/same-name`);
    expect(await queue({ VisibilityTimeout: '45' }, 'same-name')).toBe(url);
    expect(await queue({}, 'same-name')).toBe(url);
    await expect(queue({ VisibilityTimeout: '46' }, 'same-name')).rejects.toMatchObject({
      name: 'QueueNameExists',
      Code: 'QueueAlreadyExists',
      $metadata: { httpStatusCode: 400 },
    });
    const found = await client.send(new GetQueueUrlCommand({ QueueName: 'same-name' }));
    expect(found.QueueUrl).toBe(url);
  });

  it('validates names and attribute values as SQS does', async () => {
    await expect(queue({}, 'bad.name')).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(queue({ FifoQueue: 'true' }, 'no-suffix')).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(queue({ VisibilityTimeout: '43201' })).rejects.toMatchObject({
      name: 'InvalidAttributeValue',
      message: 'Invalid value for the parameter VisibilityTimeout.',
    });
    await expect(queue({ MessageRetentionPeriod: '59' })).rejects.toMatchObject({
      name: 'InvalidAttributeValue',
    });
    await expect(queue({ MaximumMessageSize: '1048577' })).rejects.toMatchObject({
      name: 'InvalidAttributeValue',
    });
    await expect(queue({ ContentBasedDeduplication: 'true' })).rejects.toMatchObject({
      name: 'InvalidAttributeName',
    });
    await expect(
      queue({
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:nope',
          maxReceiveCount: 3,
        }),
      }),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('Dead letter target does not exist'),
    });
  });

  it('answers GetQueueAttributes with All (defaults, counts, ARN, timestamps) or the names asked for', async () => {
    const url = await queue({}, 'attrs');
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'visible' }));
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'delayed', DelaySeconds: 60 }));
    const all = (await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })))
      .Attributes;
    expect(all).toEqual({
      QueueArn: 'arn:aws:sqs:us-east-1:000000000000:attrs',
      ApproximateNumberOfMessages: '1',
      ApproximateNumberOfMessagesNotVisible: '0',
      ApproximateNumberOfMessagesDelayed: '1',
      CreatedTimestamp: String(Math.floor(clock / 1000)),
      LastModifiedTimestamp: String(Math.floor(clock / 1000)),
      DelaySeconds: '0',
      MaximumMessageSize: '1048576',
      MessageRetentionPeriod: '345600',
      ReceiveMessageWaitTimeSeconds: '0',
      VisibilityTimeout: '30',
      SqsManagedSseEnabled: 'true',
    });
    const some = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'],
      }),
    );
    expect(some.Attributes).toEqual({ VisibilityTimeout: '30' });
    await expect(
      client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['Nope' as 'All'] })),
    ).rejects.toMatchObject({ name: 'InvalidAttributeName' });
  });

  it('SetQueueAttributes changes attributes (LastModifiedTimestamp follows) and removes a redrive policy with ""', async () => {
    const dlq = await queue();
    const url = await queue();
    advance(5);
    const policy = JSON.stringify({ deadLetterTargetArn: await arnOf(dlq), maxReceiveCount: '4' });
    await client.send(
      new SetQueueAttributesCommand({
        QueueUrl: url,
        Attributes: { VisibilityTimeout: '10', RedrivePolicy: policy },
      }),
    );
    const a = (await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })))
      .Attributes!;
    expect(a.VisibilityTimeout).toBe('10');
    expect(JSON.parse(a.RedrivePolicy!)).toEqual({
      deadLetterTargetArn: await arnOf(dlq),
      maxReceiveCount: 4,
    });
    expect(Number(a.LastModifiedTimestamp)).toBe(Number(a.CreatedTimestamp) + 5);
    await client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { RedrivePolicy: '' } }));
    const b = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }),
    );
    expect(b.Attributes).toBeUndefined();
  });

  it('lists queues by prefix, page by page', async () => {
    for (const suffix of ['a', 'b', 'c']) await queue({}, `listed-${suffix}`);
    const first = await client.send(new ListQueuesCommand({ QueueNamePrefix: 'listed-', MaxResults: 2 }));
    expect(first.QueueUrls).toEqual([
      `${sqs.endpoint}/000000000000/listed-a`,
      `${sqs.endpoint}/000000000000/listed-b`,
    ]);
    const second = await client.send(
      new ListQueuesCommand({ QueueNamePrefix: 'listed-', MaxResults: 2, NextToken: first.NextToken! }),
    );
    expect(second.QueueUrls).toEqual([`${sqs.endpoint}/000000000000/listed-c`]);
    expect(second.NextToken).toBeUndefined();
  });

  it('deletes a queue: it no longer exists, and its name is free again only after 60 seconds', async () => {
    const url = await queue({}, 'short-lived');
    await client.send(new DeleteQueueCommand({ QueueUrl: url }));
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })),
    ).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
      Code: 'AWS.SimpleQueueService.NonExistentQueue',
      message: 'The specified queue does not exist.',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(client.send(new GetQueueUrlCommand({ QueueName: 'short-lived' }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
    await expect(queue({}, 'short-lived')).rejects.toMatchObject({ name: 'QueueDeletedRecently' });
    advance(60);
    expect(await queue({}, 'short-lived')).toBe(url);
  });

  it('answers InvalidAddress for a queue URL that names no queue, QueueDoesNotExist for another account', async () => {
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: `${sqs.endpoint}/just-a-name`, MessageBody: 'x' })),
    ).rejects.toMatchObject({
      name: 'InvalidAddress',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(
      sqs.direct.send(new SendMessageCommand({ QueueUrl: 'nonsense', MessageBody: 'x' })),
    ).rejects.toMatchObject({
      name: 'InvalidAddress',
    });
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: `${sqs.endpoint}/123456789012/q1`, MessageBody: 'x' })),
    ).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
  });

  it('createTargetQueues updates existing queues whose plan changed (a persisted queue, a new config)', async () => {
    const first = planTarget(
      httpTarget({
        name: 'replanned',
        retry: { maxAttempts: 3, initialDelaySeconds: 1, maxDelaySeconds: 2 },
      }),
      30,
    );
    const pair = await createTargetQueues(client, 'plan', first);
    const second = planTarget(
      httpTarget({
        name: 'replanned',
        retry: { maxAttempts: 5, initialDelaySeconds: 1, maxDelaySeconds: 2 },
      }),
      30,
    );
    expect(await createTargetQueues(client, 'plan', second)).toEqual(pair);
    const out = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: pair.queueUrl, AttributeNames: ['RedrivePolicy'] }),
    );
    expect(JSON.parse(out.Attributes!.RedrivePolicy!)).toEqual({
      deadLetterTargetArn: pair.dlqArn,
      maxReceiveCount: second.queue.maxReceiveCount,
    });
    expect(second.queue.maxReceiveCount).not.toBe(first.queue.maxReceiveCount);
  });

  it('purges every message, and refuses a second purge within 60 seconds', async () => {
    const url = await queue();
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'a' }));
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'b' }));
    await receive(url, { MaxNumberOfMessages: 1 });
    await client.send(new PurgeQueueCommand({ QueueUrl: url }));
    expect(await queueDepth(client, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    await expect(client.send(new PurgeQueueCommand({ QueueUrl: url }))).rejects.toMatchObject({
      name: 'PurgeQueueInProgress',
    });
    advance(60);
    await client.send(new PurgeQueueCommand({ QueueUrl: url }));
  });
});

describe('messages', () => {
  it('round-trips body, String/Number/Binary attributes and system attributes, with the digests SQS computes', async () => {
    const url = await queue();
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'héllo ✓ 𝄞',
        MessageAttributes: {
          timestamp: { DataType: 'Number', StringValue: '1493147359900' },
        },
      }),
    );
    // Published reference value for exactly this attribute (moto's SQS tests, checked against AWS).
    expect(sent.MD5OfMessageAttributes).toBe('235c5c510d26fb653d073faed50ae77c');
    const binary = new Uint8Array([0, 1, 2, 254, 255]);
    await client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'second',
        MessageAttributes: {
          s: { DataType: 'String.label', StringValue: 'text' },
          b: { DataType: 'Binary', BinaryValue: binary },
        },
        MessageSystemAttributes: {
          AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe1be46a994272793' },
        },
      }),
    );
    advance(2);
    const [first, second] = await receive(url);
    expect(first).toMatchObject({
      MessageId: sent.MessageId,
      Body: 'héllo ✓ 𝄞',
      MD5OfBody: sent.MD5OfMessageBody,
      MD5OfMessageAttributes: '235c5c510d26fb653d073faed50ae77c',
      MessageAttributes: { timestamp: { DataType: 'Number', StringValue: '1493147359900' } },
      Attributes: {
        SenderId: expect.any(String),
        SentTimestamp: String(clock - 2000),
        ApproximateReceiveCount: '1',
        ApproximateFirstReceiveTimestamp: String(clock),
      },
    });
    expect(second?.MessageAttributes?.b?.BinaryValue).toEqual(binary);
    expect(second?.MessageAttributes?.s?.StringValue).toBe('text');
    expect(second?.Attributes?.AWSTraceHeader).toBe('Root=1-5759e988-bd862e3fe1be46a994272793');
  });

  it('returns only the attributes asked for (names, prefix.*)', async () => {
    const url = await queue();
    await client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'x',
        MessageAttributes: {
          'app.id': { DataType: 'String', StringValue: '1' },
          'app.kind': { DataType: 'String', StringValue: '2' },
          other: { DataType: 'String', StringValue: '3' },
        },
      }),
    );
    const [m] = await receive(url, {
      MessageAttributeNames: ['app.*'],
      MessageSystemAttributeNames: ['SentTimestamp'],
    });
    expect(Object.keys(m?.MessageAttributes ?? {}).sort()).toEqual(['app.id', 'app.kind']);
    expect(Object.keys(m?.Attributes ?? {})).toEqual(['SentTimestamp']);
  });

  it('refuses invalid characters, empty bodies, bad attributes and messages over MaximumMessageSize (1 MiB)', async () => {
    const url = await queue();
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'bad \u0001' })),
    ).rejects.toMatchObject({
      name: 'InvalidMessageContents',
    });
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'lone \ud800' })),
    ).rejects.toMatchObject({
      name: 'InvalidMessageContents',
    });
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '' })),
    ).rejects.toMatchObject({
      name: 'MissingParameter',
    });
    await expect(
      client.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: 'x',
          MessageAttributes: { n: { DataType: 'Number', StringValue: 'twelve' } },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(
      client.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: 'x',
          MessageAttributes: Object.fromEntries(
            Array.from({ length: 11 }, (_, i) => [`a${i}`, { DataType: 'String', StringValue: 'v' }]),
          ),
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    const max = 1_048_576;
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(max) }));
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(max + 1) })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: 'One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.',
    });
    // Attributes count towards the size: name + type + value.
    const small = await queue({ MaximumMessageSize: '1024' });
    await client.send(new SendMessageCommand({ QueueUrl: small, MessageBody: 'x'.repeat(1024) }));
    await expect(
      client.send(
        new SendMessageCommand({
          QueueUrl: small,
          MessageBody: 'x'.repeat(1000),
          MessageAttributes: { name: { DataType: 'String', StringValue: 'y'.repeat(20) } },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('validates ReceiveMessage parameters: MaxNumberOfMessages 1-10, WaitTimeSeconds 0-20, VisibilityTimeout 0-43200', async () => {
    const url = await queue();
    for (const bad of [
      { MaxNumberOfMessages: 11 },
      { MaxNumberOfMessages: 0 },
      { WaitTimeSeconds: 21 },
      { VisibilityTimeout: 43_201 },
    ])
      await expect(client.send(new ReceiveMessageCommand({ QueueUrl: url, ...bad }))).rejects.toMatchObject({
        name: 'InvalidParameterValue',
      });
  });

  it('delays messages per message and per queue (DelaySeconds 0-900)', async () => {
    const url = await queue({ DelaySeconds: '30' });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'queue delay' }));
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'own delay', DelaySeconds: 5 }));
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'no delay', DelaySeconds: 0 }));
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: 901 })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    expect(await queueDepth(client, url)).toEqual({ visible: 1, inFlight: 0, delayed: 2 });
    const take = async () => (await receive(url, { VisibilityTimeout: 900 })).map((m) => m.Body);
    expect(await take()).toEqual(['no delay']);
    advance(5);
    expect(await take()).toEqual(['own delay']);
    advance(25);
    expect(await take()).toEqual(['queue delay']);
  });

  it('expires messages MessageRetentionPeriod after they were sent, received or not', async () => {
    const url = await queue({ MessageRetentionPeriod: '60' });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'old' }));
    advance(30);
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'young' }));
    await receive(url, { VisibilityTimeout: 0 });
    advance(30);
    expect(await queueDepth(client, url)).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    expect((await receive(url)).map((m) => m.Body)).toEqual(['young']);
    advance(30);
    expect(await queueDepth(client, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });
});

describe('visibility', () => {
  it('hides a received message for the visibility timeout (queue default or the receive override)', async () => {
    const url = await queue({ VisibilityTimeout: '30' });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'a' }));
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'b' }));
    expect(await receive(url, { MaxNumberOfMessages: 1 })).toHaveLength(1);
    expect(await receive(url, { MaxNumberOfMessages: 1, VisibilityTimeout: 100 })).toHaveLength(1);
    expect(await queueDepth(client, url)).toEqual({ visible: 0, inFlight: 2, delayed: 0 });
    advance(30);
    const again = await receive(url);
    expect(again.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([['a', '2']]);
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: again[0]!.ReceiptHandle! }));
    advance(70);
    expect((await receive(url)).map((m) => m.Body)).toEqual(['b']);
  });

  it('ChangeMessageVisibility counts from now, but never past 12 hours after the receive', async () => {
    const url = await queue();
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'long job' }));
    const [m] = await receive(url);
    const handle = m!.ReceiptHandle!;
    await client.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: handle, VisibilityTimeout: 43_200 }),
    );
    advance(6 * 3600);
    await expect(
      client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: handle,
          VisibilityTimeout: 43_200,
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message:
        'Value 43200 for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds].',
    });
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: handle,
        VisibilityTimeout: 6 * 3600,
      }),
    );
    await expect(
      client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: handle,
          VisibilityTimeout: 43_201,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    // Visibility 0: visible again at once.
    await client.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: handle, VisibilityTimeout: 0 }),
    );
    expect((await receive(url)).map((x) => x.Body)).toEqual(['long job']);
  });

  it('fails as SQS does for handles that are not in flight, superseded, gone or never issued', async () => {
    const url = await queue({ VisibilityTimeout: '10' });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }));
    const [first] = await receive(url);
    advance(10);
    // Visible again, not received since: not in flight.
    await expect(
      client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: first!.ReceiptHandle!,
          VisibilityTimeout: 5,
        }),
      ),
    ).rejects.toMatchObject({
      name: 'MessageNotInflight',
      Code: 'AWS.SimpleQueueService.MessageNotInflight',
    });
    const [second] = await receive(url);
    // Received again: the first handle no longer changes visibility.
    await expect(
      client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: first!.ReceiptHandle!,
          VisibilityTimeout: 5,
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining(
        'Reason: Message does not exist or is not available for visibility timeout change.',
      ),
    });
    await expect(
      client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'not-a-receipt-handle' })),
    ).rejects.toMatchObject({ name: 'ReceiptHandleIsInvalid', $metadata: { httpStatusCode: 404 } });
    // Standard queues: an older handle of the message still deletes it; deleting again succeeds.
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first!.ReceiptHandle! }));
    expect(await queueDepth(client, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second!.ReceiptHandle! }));
    await expect(
      client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: second!.ReceiptHandle!,
          VisibilityTimeout: 5,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });
});

describe('batches', () => {
  it('sends a batch entry by entry: valid entries succeed, invalid ones are reported in Failed', async () => {
    const url = await queue();
    const out = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'ok', MessageBody: 'fine' },
          { Id: 'bad', MessageBody: 'bad \u0000' },
          { Id: 'delayed', MessageBody: 'later', DelaySeconds: 10 },
        ],
      }),
    );
    expect(out.Successful?.map((s) => s.Id)).toEqual(['ok', 'delayed']);
    expect(out.Failed).toEqual([
      { Id: 'bad', SenderFault: true, Code: 'InvalidMessageContents', Message: expect.any(String) },
    ]);
  });

  it('refuses empty, oversized, duplicate-id and malformed-id batches as a whole', async () => {
    const url = await queue();
    const batch = (Entries: { Id: string; MessageBody: string }[]) =>
      client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries }));
    await expect(batch([])).rejects.toMatchObject({ name: 'EmptyBatchRequest' });
    await expect(
      batch(Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: 'x' }))),
    ).rejects.toMatchObject({
      name: 'TooManyEntriesInBatchRequest',
      Code: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
    });
    await expect(
      batch([
        { Id: 'a', MessageBody: 'x' },
        { Id: 'a', MessageBody: 'y' },
      ]),
    ).rejects.toMatchObject({
      name: 'BatchEntryIdsNotDistinct',
    });
    await expect(batch([{ Id: 'has space', MessageBody: 'x' }])).rejects.toMatchObject({
      name: 'InvalidBatchEntryId',
    });
    await expect(
      batch([
        { Id: 'a', MessageBody: 'x'.repeat(600_000) },
        { Id: 'b', MessageBody: 'x'.repeat(600_000) },
      ]),
    ).rejects.toMatchObject({ name: 'BatchRequestTooLong' });
    expect(await queueDepth(client, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('deletes and changes visibility per entry, reporting bad receipt handles in Failed', async () => {
    const url = await queue();
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: '1', MessageBody: 'a' },
          { Id: '2', MessageBody: 'b' },
        ],
      }),
    );
    const [a, b] = await receive(url);
    const changed = await client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', ReceiptHandle: a!.ReceiptHandle!, VisibilityTimeout: 0 },
          { Id: 'junk', ReceiptHandle: 'junk', VisibilityTimeout: 0 },
        ],
      }),
    );
    expect(changed.Successful).toEqual([{ Id: 'a' }]);
    expect(changed.Failed?.[0]).toMatchObject({
      Id: 'junk',
      Code: 'ReceiptHandleIsInvalid',
      SenderFault: true,
    });
    const deleted = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'b', ReceiptHandle: b!.ReceiptHandle! },
          { Id: 'junk', ReceiptHandle: 'junk' },
        ],
      }),
    );
    expect(deleted.Successful).toEqual([{ Id: 'b' }]);
    expect(deleted.Failed?.map((f) => f.Code)).toEqual(['ReceiptHandleIsInvalid']);
    expect((await receive(url)).map((m) => m.Body)).toEqual(['a']);
  });
});

describe('dead-letter queues', () => {
  async function pair(maxReceiveCount: number, dlqAttributes: Record<string, string> = {}, fifo = false) {
    const suffix = fifo ? '.fifo' : '';
    const fifoAttrs: Record<string, string> = fifo
      ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' }
      : {};
    const dlq = await queue({ ...fifoAttrs, ...dlqAttributes }, `dlq${++n}${suffix}`);
    const source = await queue(
      {
        ...fifoAttrs,
        VisibilityTimeout: '10',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await arnOf(dlq), maxReceiveCount }),
      },
      `src${++n}${suffix}`,
    );
    return { dlq, source };
  }

  it('moves a message received maxReceiveCount times to the DLQ on its next receive, with its history', async () => {
    const { dlq, source } = await pair(2);
    const sent = await client.send(new SendMessageCommand({ QueueUrl: source, MessageBody: 'poison' }));
    const sentAt = clock;
    for (let i = 1; i <= 2; i++) {
      const [m] = await receive(source);
      expect(m?.Attributes?.ApproximateReceiveCount).toBe(String(i));
      advance(10);
    }
    expect(await receive(source)).toEqual([]);
    const [dead] = await receive(dlq);
    expect(dead).toMatchObject({
      MessageId: sent.MessageId,
      Body: 'poison',
      Attributes: {
        DeadLetterQueueSourceArn: await arnOf(source),
        SentTimestamp: String(sentAt),
        ApproximateReceiveCount: '3',
      },
    });
  });

  it('standard queues: DLQ retention counts from the first enqueue, not from the move', async () => {
    const { dlq, source } = await pair(1, { MessageRetentionPeriod: '3600' });
    await client.send(new SendMessageCommand({ QueueUrl: source, MessageBody: 'aging' }));
    await receive(source);
    advance(3000);
    expect(await receive(source)).toEqual([]);
    expect(await queueDepth(client, dlq)).toMatchObject({ visible: 1 });
    advance(600);
    expect(await queueDepth(client, dlq)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('FIFO queues: the enqueue timestamp resets when the message moves to the DLQ', async () => {
    const { dlq, source } = await pair(1, { MessageRetentionPeriod: '3600' }, true);
    await client.send(
      new SendMessageCommand({ QueueUrl: source, MessageBody: 'aging', MessageGroupId: 'g' }),
    );
    await receive(source);
    advance(3000);
    expect(await receive(source)).toEqual([]);
    advance(600);
    const [dead] = await receive(dlq);
    expect(dead?.Body).toBe('aging');
    // Deduplication id of a message moved to a FIFO DLQ: its message id.
    expect(dead?.Attributes?.MessageDeduplicationId).toBe(dead?.MessageId);
  });

  it('redrives DLQ messages back to their source queue with StartMessageMoveTask, as new messages', async () => {
    const { dlq, source } = await pair(1);
    for (const body of ['one', 'two', 'three'])
      await client.send(new SendMessageCommand({ QueueUrl: source, MessageBody: body }));
    await receive(source);
    advance(10);
    expect(await receive(source)).toEqual([]);
    const dead = await receive(dlq, { VisibilityTimeout: 0 });
    expect(dead).toHaveLength(3);
    const dlqArn = await arnOf(dlq);
    await expect(
      client.send(new StartMessageMoveTaskCommand({ SourceArn: await arnOf(source) })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: 'Source queue must be configured as a Dead Letter Queue.',
    });
    const { TaskHandle } = await client.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
    expect(TaskHandle).toBeTruthy();
    const done = await waitFor('move task completed', async () => {
      const out = await client.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
      return out.Results?.[0]?.Status === 'COMPLETED' ? out.Results[0] : undefined;
    });
    expect(done).toMatchObject({
      SourceArn: dlqArn,
      ApproximateNumberOfMessagesMoved: 3,
      ApproximateNumberOfMessagesToMove: 3,
    });
    expect(done.TaskHandle).toBeUndefined();
    const back = await receive(source);
    expect(back.map((m) => m.Body).sort()).toEqual(['one', 'three', 'two']);
    expect(back.every((m) => m.Attributes?.ApproximateReceiveCount === '1')).toBe(true);
    expect(back.map((m) => m.MessageId)).not.toContain(dead[0]?.MessageId);
    expect(await queueDepth(client, dlq)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('moves to a DestinationArn at MaxNumberOfMessagesPerSecond; one active task per source; cancel keeps the rest', async () => {
    const { dlq, source } = await pair(1);
    const elsewhere = await queue();
    for (let i = 0; i < 5; i++)
      await client.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: `m${i}` }));
    const dlqArn = await arnOf(dlq);
    const { TaskHandle } = await client.send(
      new StartMessageMoveTaskCommand({
        SourceArn: dlqArn,
        DestinationArn: await arnOf(elsewhere),
        MaxNumberOfMessagesPerSecond: 1,
      }),
    );
    await expect(client.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('Only one active task is allowed'),
    });
    const running = await client.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
    expect(running.Results?.[0]).toMatchObject({
      Status: 'RUNNING',
      TaskHandle,
      MaxNumberOfMessagesPerSecond: 1,
    });
    await client.send(new CancelMessageMoveTaskCommand({ TaskHandle: TaskHandle! }));
    const cancelled = await waitFor('task cancelled', async () => {
      const out = await client.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
      return out.Results?.[0]?.Status === 'CANCELLED' ? out.Results[0] : undefined;
    });
    const moved = cancelled.ApproximateNumberOfMessagesMoved!;
    expect(moved).toBeLessThan(5);
    expect((await queueDepth(client, elsewhere)).visible).toBe(moved);
    expect((await queueDepth(client, dlq)).visible).toBe(5 - moved);
    expect((await queueDepth(client, source)).visible).toBe(0);
  });
});

describe('FIFO queues', () => {
  const fifo = (name: string, extra: Record<string, string> = {}) =>
    queue({ FifoQueue: 'true', ...extra }, `${name}${++n}.fifo`);

  it('keeps order within a group and locks a group while one of its messages is in flight', async () => {
    const url = await fifo('order', { ContentBasedDeduplication: 'true' });
    for (const [group, body] of [
      ['g1', 'g1-a'],
      ['g2', 'g2-a'],
      ['g1', 'g1-b'],
      ['g2', 'g2-b'],
    ])
      await client.send(
        new SendMessageCommand({ QueueUrl: url, MessageBody: body!, MessageGroupId: group! }),
      );
    const first = await receive(url, { MaxNumberOfMessages: 1 });
    expect(first.map((m) => m.Body)).toEqual(['g1-a']);
    // g1 is locked while g1-a is in flight; g2 is not.
    const second = await receive(url);
    expect(second.map((m) => m.Body)).toEqual(['g2-a', 'g2-b']);
    expect(await receive(url)).toEqual([]);
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first[0]!.ReceiptHandle! }));
    const third = await receive(url);
    expect(third.map((m) => [m.Body, m.Attributes?.MessageGroupId])).toEqual([['g1-b', 'g1']]);
    const sequence = (m: { Attributes?: Record<string, string> }) => BigInt(m.Attributes!.SequenceNumber!);
    // Sequence numbers grow in the order messages were sent.
    expect(sequence(third[0]!)).toBeGreaterThan(sequence(second[0]!));
    expect(sequence(second[1]!)).toBeGreaterThan(sequence(third[0]!));
  });

  it('deduplicates within 5 minutes (explicit id or content-based SHA-256), answering with the first message id', async () => {
    const url = await fifo('dedup', { ContentBasedDeduplication: 'true' });
    const a = await client.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'same', MessageGroupId: 'g' }),
    );
    const b = await client.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'same', MessageGroupId: 'g' }),
    );
    expect(b.MessageId).toBe(a.MessageId);
    expect(b.SequenceNumber).toBe(a.SequenceNumber);
    const c = await client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'same',
        MessageGroupId: 'g',
        MessageDeduplicationId: 'explicit',
      }),
    );
    expect(c.MessageId).not.toBe(a.MessageId);
    const [m] = await receive(url, { MaxNumberOfMessages: 1 });
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m!.ReceiptHandle! }));
    // Still deduplicated after the delete, until the interval ends.
    advance(299);
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'same', MessageGroupId: 'g' }));
    expect(await queueDepth(client, url)).toMatchObject({ visible: 1 });
    advance(1);
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'same', MessageGroupId: 'g' }));
    expect(await queueDepth(client, url)).toMatchObject({ visible: 2 });
  });

  it('requires MessageGroupId and a deduplication id, and refuses per-message delays', async () => {
    const url = await fifo('rules');
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageDeduplicationId: 'd' })),
    ).rejects.toMatchObject({
      name: 'MissingParameter',
    });
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g' })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('ContentBasedDeduplication'),
    });
    await expect(
      client.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: 'x',
          MessageGroupId: 'g',
          MessageDeduplicationId: 'd',
          DelaySeconds: 5,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    const standard = await queue();
    await expect(
      client.send(
        new SendMessageCommand({ QueueUrl: standard, MessageBody: 'x', MessageDeduplicationId: 'd' }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('refuses a delete whose receipt handle expired (visibility ended or received again)', async () => {
    const url = await fifo('expired', { ContentBasedDeduplication: 'true', VisibilityTimeout: '10' });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g' }));
    const [m] = await receive(url);
    advance(10);
    await expect(
      client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m!.ReceiptHandle! })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('The receipt handle has expired.'),
    });
  });
});

describe('long polling', () => {
  it('answers as soon as a message arrives, with everything a batch sent', async () => {
    const url = await queue();
    const polling = client.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 }),
    );
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [1, 2, 3].map((i) => ({ Id: `m${i}`, MessageBody: `b${i}` })),
      }),
    );
    expect((await polling).Messages?.map((m) => m.Body)).toEqual(['b1', 'b2', 'b3']);
  });

  it('answers a waiting poll when a delayed message becomes visible', async () => {
    const url = await queue();
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'soon', DelaySeconds: 1 }));
    const polling = client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }));
    advance(1);
    expect((await polling).Messages?.map((m) => m.Body)).toEqual(['soon']);
  });

  it('serves waiting polls one by one, in arrival order', async () => {
    const url = await queue();
    const receives = () => faults.calls.filter((c) => c === 'ReceiveMessage').length;
    const before = receives();
    const first = client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }));
    await waitFor('first poll waiting', () => receives() === before + 1);
    const second = client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }));
    await waitFor('second poll waiting', () => receives() === before + 2);
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'one' }));
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'two' }));
    expect([(await first).Messages?.[0]?.Body, (await second).Messages?.[0]?.Body]).toEqual(['one', 'two']);
  });

  it('in-process: an aborted long poll rejects with AbortError and takes no message', async () => {
    const url = await queue();
    const abort = new AbortController();
    const polling = sqs.direct.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }), {
      abortSignal: abort.signal,
    });
    abort.abort();
    await expect(polling).rejects.toMatchObject({ name: 'AbortError' });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'kept' }));
    expect(await queueDepth(client, url)).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
  });

  it('releases waiting polls with no messages when the emulator stops', async () => {
    const probe = new RecordingFaults();
    const other = await startLocalSqs({ faults: probe });
    const url = (await other.client.send(new CreateQueueCommand({ QueueName: 'stopping' }))).QueueUrl!;
    const viaHttp = new SQSClient({
      endpoint: other.endpoint,
      region: LOCAL_REGION,
      credentials: localCredentials,
    });
    const waiting = [
      viaHttp.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 })),
      other.direct.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 })),
    ];
    await waitFor('both polls waiting', () => probe.calls.filter((c) => c === 'ReceiveMessage').length === 2);
    await other.stop();
    const answers = await Promise.all(waiting);
    expect(answers.map((a) => a.Messages ?? [])).toEqual([[], []]);
    viaHttp.destroy();
  });
});

describe('in-process sender and faults', () => {
  it('validates and fails like the HTTP endpoint, with SDK-shaped errors and bytes for binary attributes', async () => {
    const url = await queue();
    await expect(
      sqs.direct.send(
        new SendMessageCommand({ QueueUrl: `${sqs.endpoint}/000000000000/missing`, MessageBody: 'x' }),
      ),
    ).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      sqs.direct.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    const bytes = new Uint8Array([9, 8, 7]);
    const sent = await sqs.direct.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'x',
        MessageAttributes: { b: { DataType: 'Binary', BinaryValue: bytes } },
      }),
    );
    const viaHttp = await receive(url);
    expect(viaHttp[0]?.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    expect(viaHttp[0]?.MessageAttributes?.b?.BinaryValue).toEqual(bytes);
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: viaHttp[0]!.ReceiptHandle!,
        VisibilityTimeout: 0,
      }),
    );
    const direct = await sqs.direct.send(
      new ReceiveMessageCommand({ QueueUrl: url, MessageAttributeNames: ['All'] }),
    );
    expect(direct.Messages[0].MessageAttributes.b.BinaryValue).toEqual(bytes);
  });

  it('answers every call a fault switch covers with that AWS error, over HTTP and in-process', async () => {
    const url = await queue();
    const once = new SQSClient({
      endpoint: sqs.endpoint,
      region: LOCAL_REGION,
      credentials: localCredentials,
      maxAttempts: 1,
    });
    faults.set('sqs', { status: 403, code: 'RequestThrottled', operations: ['SendMessage'] });
    try {
      await expect(
        once.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })),
      ).rejects.toMatchObject({
        name: 'RequestThrottled',
        $metadata: { httpStatusCode: 403 },
      });
      await expect(
        sqs.direct.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })),
      ).rejects.toMatchObject({
        name: 'RequestThrottled',
      });
      // Other operations are not covered.
      await once.send(new ReceiveMessageCommand({ QueueUrl: url }));
      faults.set('sqs', { status: 503, code: 'ServiceUnavailable', message: 'down for a test' });
      await expect(once.send(new ReceiveMessageCommand({ QueueUrl: url }))).rejects.toMatchObject({
        name: 'ServiceUnavailable',
        message: 'down for a test',
        $fault: 'server',
      });
    } finally {
      faults.clear();
      once.destroy();
    }
    expect(await queueDepth(client, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });
});
