/**
 * Locally nothing leaves the machine unless asked: with `outbound: 'pause'` (what `npm start` does without
 * `--allow-outbound`) a target outside 127.0.0.1 starts paused; its events are kept in its queue, untouched.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAttempts } from '../../lambdas/shared/event-store';
import { samplePullRequestOpened } from '../../local/sample-webhook';
import { isLoopbackUrl, type LocalStack, startLocalStack } from '../../local/stack';
import { waitFor } from '../local/helpers';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({
    config: {
      sources: [{ name: 'github', provider: 'github', secret: { secretName: 'outbound/github' } }],
      targets: [
        {
          name: 'internet',
          kind: 'http',
          url: 'https://agent.example.com/webhooks',
          filter: { source: ['webhook.github'] },
        },
      ],
      liveStream: { enabled: false },
    },
    outbound: 'pause',
    sweepIntervalSeconds: null,
    pollWaitSeconds: 1,
    functionLogs: false,
    log: () => {},
  });
});
afterAll(async () => {
  await stack?.stop();
});

describe('outbound deliveries from the local stack', () => {
  it('tells loopback URLs from the rest', () => {
    for (const url of [
      'http://127.0.0.1:3000/x',
      'http://localhost/x',
      'http://[::1]:8080/',
      'http://127.9.9.9/',
    ])
      expect(isLoopbackUrl(url), url).toBe(true);
    for (const url of [
      'https://agent.example.com/',
      'http://10.0.0.1/',
      'http://128.0.0.1/',
      'http://localhost.evil/',
    ])
      expect(isLoopbackUrl(url), url).toBe(false);
  });

  it('pauses a target outside this machine and keeps its events in its queue', async () => {
    expect(stack.pausedTargets).toEqual(['internet']);
    const sample = samplePullRequestOpened(stack.secrets.source('github'));
    const response = await fetch(stack.webhookUrl('github'), {
      method: 'POST',
      headers: sample.headers,
      body: sample.body,
    });
    expect(response.status).toBe(202);
    await stack.drain();
    const depth = async () =>
      Number(
        (
          await stack.sqs.client.send(
            new GetQueueAttributesCommand({
              QueueUrl: stack.queues.internet!.queueUrl,
              AttributeNames: ['ApproximateNumberOfMessages'],
            }),
          )
        ).Attributes?.ApproximateNumberOfMessages,
      );
    await waitFor('the event in the paused queue', async () => (await depth()) === 1, 5_000);
    // Two poll intervals later it is still there, never received: its event source mapping is disabled, and no
    // delivery was attempted (the delivery log of the event is empty).
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await depth()).toBe(1);
    expect(
      stack.lambdaApi
        .mappings()
        .find((m) => m.uuid === 'local-internet')
        ?.isEnabled(),
    ).toBe(false);
    const { id } = (await response.json()) as { id: string };
    expect(
      await listAttempts(DynamoDBDocumentClient.from(stack.dynamodb.client), stack.tableName, id),
    ).toEqual([]);
  });
});
