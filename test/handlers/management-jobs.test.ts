/**
 * Replay and redrive jobs, against local DynamoDB, EventBridge and SQS, with the hand-over between invocations under
 * the test's control: a job that runs out of time saves its position and continues where it stopped (nothing sent
 * twice, nothing skipped); a cancelled job sends nothing more; a redrive leaves a DLQ message that is not an event
 * alone (and ends) and sends an event that is in the DLQ twice once.
 */

import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../core/config';
import { planTopology } from '../../core/plan';
import type { ManagementRuntime } from '../../core/runtime-config';
import { cursorCodec } from '../../lambdas/management/cursor';
import type { ManagementDeps } from '../../lambdas/management/deps';
import { publish } from '../../lambdas/management/events';
import { cancel, jobView, runJob, startRedrive, startReplay } from '../../lambdas/management/jobs';
import { ApiProblem } from '../../lambdas/management/problem';
import { LOCAL_REGION, localCredentials } from '../../local/services/aws-env';
import { createTargetQueues, type LocalSqs, type QueuePair, startLocalSqs } from '../../local/services/sqs';
import { type LocalAws, startLocalAws } from '../support/aws-local';

const PREFIX = 'jobs-test';
const topology = planTopology(
  parseRouterConfig({
    sources: [{ name: 'github', provider: 'github', secret: { secretName: 'x' } }],
    targets: [
      {
        name: 'sink',
        kind: 'http',
        url: 'https://sink.example/hook',
        filter: { source: [{ prefix: 'webhook.' }] },
      },
    ],
  }),
);
const runtime: ManagementRuntime = {
  targets: [
    {
      name: 'sink',
      kind: 'http',
      endpoint: 'https://sink.example/hook',
      filter: { source: [{ prefix: 'webhook.' }] },
    },
  ],
  retentionDays: 30,
  dedupeDays: 7,
  version: 'test',
};

let aws: LocalAws;
let sqs: LocalSqs;
let queues: QueuePair;
let deps: ManagementDeps;
/** Job ids handed to a "next invocation", in order: the test runs them. */
const handedOver: string[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  sqs = await startLocalSqs();
  queues = await createTargetQueues(sqs.client, PREFIX, topology.targets[0]!);
  deps = {
    runtime,
    doc: aws.doc,
    eventBridge: aws.eventBridge,
    s3: new S3Client({
      endpoint: sqs.endpoint,
      region: LOCAL_REGION,
      credentials: localCredentials,
      forcePathStyle: true,
    }),
    sqs: sqs.client,
    lambda: new LambdaClient({ region: LOCAL_REGION, credentials: localCredentials }),
    tableName: aws.tableName,
    busName: aws.busName,
    payloadBucket: 'unused',
    queuePrefix: PREFIX,
    region: LOCAL_REGION,
    cursors: cursorCodec(async () => Buffer.from('test-key')),
    continueJob: async (id) => {
      handedOver.push(id);
    },
    now: Date.now,
  };
});
afterAll(async () => {
  await sqs.stop();
  await aws.stop();
});

/** Every message now on a queue (received and left invisible), as event ids. */
async function drain(url: string): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const out = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 300,
      }),
    );
    if (!out.Messages?.length) return ids;
    for (const m of out.Messages) ids.push((JSON.parse(m.Body!) as { detail: { id: string } }).detail.id);
  }
}

/** Runs the job's hand-overs until none is left; each chunk gets `chunkMs` of time. */
async function runHandedOver(chunkMs: number): Promise<number> {
  let chunks = 0;
  while (handedOver.length > 0) {
    const id = handedOver.shift()!;
    await runJob(deps, id, Date.now() + chunkMs);
    chunks++;
    if (chunks > 500) throw new Error('the job never ended');
  }
  return chunks;
}

describe('a replay', () => {
  it('continues across invocations where it stopped: every event of the range sent once, in order', async () => {
    const from = new Date().toISOString();
    const published = await publish(
      deps,
      { events: Array.from({ length: 10 }, (_, i) => ({ source: 'ops', type: 'item.made', data: { i } })) },
      runtime,
    );
    const more = await publish(
      deps,
      {
        events: Array.from({ length: 10 }, (_, i) => ({
          source: 'ops',
          type: 'item.made',
          data: { i: i + 10 },
        })),
      },
      runtime,
    );
    const ids = [...published.events, ...more.events].map((e) => e.id);
    const to = new Date().toISOString();
    const job = await startReplay(deps, { from, to, target: 'sink' });
    // No time at all: each invocation sends one event, saves its position and hands over.
    const chunks = await runHandedOver(-1);
    expect(chunks).toBeGreaterThanOrEqual(20);
    expect(await jobView(deps, job.id)).toMatchObject({ status: 'done', scanned: 20, matched: 20, sent: 20 });
    expect(await drain(queues.queueUrl)).toEqual(ids);
  });

  it('sends nothing more once cancelled; a finished job cannot be cancelled', async () => {
    const from = new Date().toISOString();
    await publish(deps, { events: [{ source: 'ops', type: 'a.b', data: {} }] }, runtime);
    const job = await startReplay(deps, { from, to: new Date().toISOString(), target: 'sink' });
    const cancelled = await cancel(deps, job.id, 'replay');
    expect(cancelled.status).toBe('cancelled');
    await runHandedOver(60_000);
    expect(await jobView(deps, job.id)).toMatchObject({ status: 'cancelled', sent: 0 });
    expect(await drain(queues.queueUrl)).toEqual([]);
    await expect(cancel(deps, job.id)).rejects.toMatchObject({ status: 409 });
    await expect(cancel(deps, 'rpl_unknown')).rejects.toBeInstanceOf(ApiProblem);
  });
});

describe('a redrive', () => {
  it('sends an event in the DLQ twice once, leaves a message that is not an event, and ends', async () => {
    const { events } = await publish(
      deps,
      { events: [{ source: 'ops', type: 'a.b', data: { n: 1 } }] },
      runtime,
    );
    const id = events[0]!.id;
    const body = JSON.stringify({ version: '0', id: 'x', source: 'webhook.internal.ops', detail: { id } });
    for (const text of [body, body, 'not an event'])
      await sqs.client.send(new SendMessageCommand({ QueueUrl: queues.dlqUrl, MessageBody: text }));
    const job = await startRedrive(deps, 'sink', undefined);
    await runHandedOver(60_000);
    expect(await jobView(deps, job.id)).toMatchObject({ status: 'done', matched: 1, sent: 1 });
    expect(await drain(queues.queueUrl)).toEqual([id]);
    const left = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: queues.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    expect(left.Messages?.map((m) => m.Body)).toEqual(['not an event']);
  });
});
