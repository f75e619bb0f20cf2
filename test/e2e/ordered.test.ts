/**
 * Ordered delivery per key (a target's `ordering`), end to end on the local stack: the target's queue is FIFO, fed by
 * ingest (no rule), grouped by the envelope's subject. Events of one subject reach the target one at a time, in the
 * order accepted, and a failing one holds those behind it until it succeeds; another subject is not held. The
 * management API's redelivery and publish reach the FIFO queue too.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouterConfigInput } from '../../core/config';
import { githubExample, signGithubWebhook } from '../../local/sample-webhook';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { waitFor } from '../local/helpers';
import { callApi } from './support/management';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

interface Arrival {
  readonly id: string;
  readonly subject: string;
  readonly status: number;
  readonly at: number;
}

/** Every request the target received, in arrival order. */
const arrivals: Arrival[] = [];
/** Event ids the target refuses (503) this many more times. */
const failures = new Map<string, number>();
let server: Server;
let stack: LocalStack;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { subject?: string };
      const left = failures.get(id) ?? 0;
      const status = left > 0 ? 503 : 200;
      if (left > 0) failures.set(id, left - 1);
      arrivals.push({ id, subject: envelope.subject ?? '', status, at: Date.now() });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ordered`;
  const config: RouterConfigInput = {
    sources: [{ name: 'github', provider: 'github', secret: { secretName: 'e2e/github' } }],
    targets: [
      {
        name: 'ordered',
        kind: 'http',
        url,
        allowInsecure: true,
        allowPrivateNetwork: true,
        filter: { source: [{ prefix: 'webhook.' }, 'internal.deploys'] },
        ordering: { key: 'subject' },
        concurrency: 4,
        timeoutSeconds: 5,
        retry: { maxAttempts: 5 },
        circuitBreaker: false,
      },
    ],
  };
  stack = await startLocalStack({
    config,
    sweepIntervalSeconds: null,
    pollWaitSeconds: 1,
    functionLogs: false,
    log: () => {},
    concurrency: { ingest: 2, connections: 1, broadcast: 1 },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

/** A signed GitHub issues.opened webhook of a repository (its subject). */
async function send(repository: string): Promise<string> {
  const payload = githubExample('issues', 'opened') as { repository: { full_name: string } };
  payload.repository.full_name = repository;
  const request = signGithubWebhook(stack.secrets.source('github'), 'issues', JSON.stringify(payload));
  const res = await fetch(stack.webhookUrl('github'), {
    method: 'POST',
    headers: request.headers,
    body: request.body,
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

const delivered = (id: string) => arrivals.find((a) => a.id === id && a.status === 200);
const attemptsOf = (id: string) => arrivals.filter((a) => a.id === id);

describe('ordered delivery per key', () => {
  it('has a FIFO queue and no rule', async () => {
    const queue = stack.queues.ordered!;
    expect(queue.queueName).toBe('event-router-local-ordered.fifo');
    expect(queue.dlqName).toBe('event-router-local-ordered-dlq.fifo');
    const { Attributes } = await stack.sqs.client.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.queueUrl, AttributeNames: ['FifoQueue'] }),
    );
    expect(Attributes?.FifoQueue).toBe('true');
  });

  it('delivers the events of one subject in the order accepted, a failing one holding those behind it', async () => {
    // The first event of acme/one fails twice: the two behind it must wait, while acme/two goes ahead.
    const first = await send('acme/one');
    failures.set(first, 2);
    const second = await send('acme/one');
    const third = await send('acme/one');
    const other = await send('acme/two');

    await waitFor('every event delivered', () => [first, second, third, other].every(delivered), 30_000);
    // One subject: every attempt of the first (two refusals, then success) before the second arrives at all.
    const one = arrivals.filter((a) => a.subject === 'acme/one');
    expect(one.map((a) => [a.id, a.status])).toEqual([
      [first, 503],
      [first, 503],
      [first, 200],
      [second, 200],
      [third, 200],
    ]);
    // The other subject was not held behind the failing event.
    expect(delivered(other)!.at).toBeLessThan(delivered(first)!.at);
    expect(attemptsOf(other)).toHaveLength(1);
  });

  it('redelivers through the management API to the FIFO queue, even within the 5-minute deduplication interval', async () => {
    const id = await send('acme/three');
    await waitFor('first delivery', () => delivered(id) !== undefined, 20_000);
    const answer = await callApi(stack.http.url, 'POST', `/v1/events/${id}/redeliver`, {
      targets: ['ordered'],
    });
    expect(answer.status).toBe(202);
    await waitFor('the redelivery', () => attemptsOf(id).length === 2, 20_000);
    expect(attemptsOf(id).map((a) => a.status)).toEqual([200, 200]);
  });

  it('sends internal events published through the management API to the FIFO queue, grouped by subject', async () => {
    const answer = await callApi(stack.http.url, 'POST', '/v1/events', {
      events: [
        { source: 'deploys', type: 'deploy.started', subject: 'svc-a', data: { step: 1 } },
        { source: 'deploys', type: 'deploy.finished', subject: 'svc-a', data: { step: 2 } },
      ],
    });
    expect(answer.status).toBe(202);
    const ids = (answer.json.events as { id: string }[]).map((e) => e.id);
    await waitFor('both delivered', () => ids.every(delivered), 20_000);
    expect(arrivals.filter((a) => a.subject === 'svc-a').map((a) => a.id)).toEqual(ids);
  });
});
