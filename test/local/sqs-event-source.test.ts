import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpTargetConfig } from '../../core/config';
import { planTarget } from '../../core/plan';
import { createTargetQueues, type LocalSqs, queueDepth, startLocalSqs } from '../../local/services/sqs';
import { type BatchOutcome, SqsEventSource } from '../../local/services/sqs-event-source';
import { httpTarget, waitFor } from './helpers';

let sqs: LocalSqs;
const sources: SqsEventSource[] = [];

beforeAll(async () => {
  sqs = await startLocalSqs();
});
afterAll(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  await sqs.stop();
});

/** A target's plan whose queue moves a message to the DLQ after exactly `maxAttempts` receives. */
const withReceiveLimit = (target: HttpTargetConfig) => {
  const plan = planTarget(target, 30);
  return { ...plan, queue: { ...plan.queue, maxReceiveCount: target.retry.maxAttempts } };
};

describe('SQS event source (Lambda SQS integration semantics)', () => {
  it('creates queue and DLQ with the planned visibility timeout, retention and redrive policy', async () => {
    const plan = withReceiveLimit(
      httpTarget({ name: 'attrs', retry: { maxAttempts: 4, initialDelaySeconds: 1, maxDelaySeconds: 2 } }),
    );
    const pair = await createTargetQueues(sqs.client, 'test', plan);
    const { GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
    const out = await sqs.client.send(
      new GetQueueAttributesCommand({ QueueUrl: pair.queueUrl, AttributeNames: ['All'] }),
    );
    expect(out.Attributes?.VisibilityTimeout).toBe(String(plan.queue.visibilityTimeoutSeconds));
    expect(out.Attributes?.MessageRetentionPeriod).toBe(String(plan.queue.retentionSeconds));
    expect(JSON.parse(out.Attributes?.RedrivePolicy ?? '{}')).toMatchObject({
      deadLetterTargetArn: pair.dlqArn,
      maxReceiveCount: 4,
    });
  });

  it('deletes successes, redelivers batchItemFailures, and moves a poison message to the DLQ after maxReceiveCount', async () => {
    const plan = withReceiveLimit(
      httpTarget({
        name: 'partial',
        retry: { maxAttempts: 3, initialDelaySeconds: 1, maxDelaySeconds: 2 },
        batchSize: 10,
        concurrency: 2,
      }),
    );
    const pair = await createTargetQueues(sqs.client, 'test', plan);
    const seen = new Map<string, number>();
    const outcomes: BatchOutcome[] = [];
    const source = new SqsEventSource({
      client: sqs.client,
      queueUrl: pair.queueUrl,
      queueArn: pair.queueArn,
      batchSize: 10,
      maxConcurrency: 2,
      waitTimeSeconds: 1,
      retryDelaySeconds: 0,
      itemFailureRetryDelaySeconds: 0,
      onBatch: (o) => outcomes.push(o),
      function: {
        async invoke(event: SQSEvent): Promise<SQSBatchResponse> {
          const failures: { itemIdentifier: string }[] = [];
          for (const record of event.Records) {
            const n = (seen.get(record.body) ?? 0) + 1;
            seen.set(record.body, n);
            expect(record.eventSource).toBe('aws:sqs');
            expect(record.eventSourceARN).toBe(pair.queueArn);
            expect(record.attributes.ApproximateReceiveCount).toBe(String(n));
            if (record.body === 'poison' || (record.body === 'flaky' && n <= 2)) {
              failures.push({ itemIdentifier: record.messageId });
            }
          }
          return { batchItemFailures: failures };
        },
      },
    }).start();
    sources.push(source);
    for (const body of ['ok-1', 'ok-2', 'flaky', 'poison']) {
      await sqs.client.send(new SendMessageCommand({ QueueUrl: pair.queueUrl, MessageBody: body }));
    }
    const dead = await waitFor('poison message in the DLQ', async () => {
      const out = await sqs.client.send(
        new ReceiveMessageCommand({ QueueUrl: pair.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      return out.Messages?.length ? out.Messages : undefined;
    });
    expect(dead.map((m) => m.Body)).toEqual(['poison']);
    await waitFor('main queue empty', async () => {
      const depth = await queueDepth(sqs.client, pair.queueUrl);
      return depth.visible + depth.inFlight === 0;
    });
    expect(seen.get('ok-1')).toBe(1);
    expect(seen.get('ok-2')).toBe(1);
    expect(seen.get('flaky')).toBe(3);
    expect(seen.get('poison')).toBe(3);
    expect(outcomes.every((o) => o.messageIds.length <= 10)).toBe(true);
  });

  it('retries the whole batch when the invocation throws, and a bogus itemIdentifier fails the whole batch', async () => {
    const plan = withReceiveLimit(
      httpTarget({ name: 'throws', retry: { maxAttempts: 5, initialDelaySeconds: 1, maxDelaySeconds: 2 } }),
    );
    const pair = await createTargetQueues(sqs.client, 'test', plan);
    let calls = 0;
    const received: string[] = [];
    const source = new SqsEventSource({
      client: sqs.client,
      queueUrl: pair.queueUrl,
      queueArn: pair.queueArn,
      batchSize: 10,
      maxConcurrency: 1,
      waitTimeSeconds: 1,
      retryDelaySeconds: 0,
      itemFailureRetryDelaySeconds: 0,
      function: {
        async invoke(event: SQSEvent) {
          calls++;
          received.push(...event.Records.map((r) => r.body));
          if (calls === 1) throw new Error('handler crashed');
          if (calls === 2) return { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] };
          return { batchItemFailures: [] };
        },
      },
    }).start();
    sources.push(source);
    const { SendMessageBatchCommand } = await import('@aws-sdk/client-sqs');
    await sqs.client.send(
      new SendMessageBatchCommand({
        QueueUrl: pair.queueUrl,
        Entries: [
          { Id: '1', MessageBody: 'a' },
          { Id: '2', MessageBody: 'b' },
        ],
      }),
    );
    await waitFor('three invocations and an empty queue', async () => {
      const depth = await queueDepth(sqs.client, pair.queueUrl);
      return calls >= 3 && depth.visible + depth.inFlight === 0;
    });
    expect(received.filter((b) => b === 'a')).toHaveLength(3);
    expect(received.filter((b) => b === 'b')).toHaveLength(3);
  });
});
