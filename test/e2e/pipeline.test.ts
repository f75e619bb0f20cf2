/**
 * End to end over real sockets, with the real handlers: signed GitHub webhook → ingest → DynamoDB → EventBridge →
 * SQS → delivery → HTTP targets (Standard Webhooks signature), and → broadcast → WebSocket clients.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RouterConfigInput } from '../../core/config';
import { EVENTS_TABLE, keys, liveKeys } from '../../core/contracts';
import { HANDSHAKE_GRACE_MS } from '../../lambdas/broadcast/broadcast';
import { getDedupe, listFailures } from '../../lambdas/shared/event-store';
import { samplePullRequestOpened, signGithubWebhook } from '../../local/sample-webhook';
import { LOCAL_NAMES, type LocalStack, startLocalStack } from '../../local/stack';
import { LOCAL_DIFFERENCES, localTopology } from '../../local/topology';
import { waitFor } from '../local/helpers';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

interface Received {
  readonly target: string;
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** One HTTP server standing in for every target: `/good`, `/flaky` (fails twice per event), `/down`. */
const received: Received[] = [];
const attempts = new Map<string, number>();
let targetServer: Server;
let stack: LocalStack;
let doc: DynamoDBDocumentClient;
const sockets: WebSocket[] = [];

const PR_FILTER = { source: ['webhook.github'], 'detail-type': [{ prefix: 'pull_request.' }] };

beforeAll(async () => {
  targetServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = (req.url ?? '/').slice(1);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const key = `${target}:${headers['webhook-id']}`;
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      const status = target === 'down' || (target === 'flaky' && n <= 2) ? 503 : 200;
      received.push({ target, status, body: Buffer.concat(chunks).toString('utf8'), headers });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => targetServer.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(targetServer.address() as AddressInfo).port}`;
  const config: RouterConfigInput = {
    sources: [{ name: 'github', provider: 'github', secret: { secretName: 'e2e/github' } }],
    targets: [
      {
        name: 'good',
        kind: 'http',
        url: `${base}/good`,
        allowInsecure: true,
        allowPrivateNetwork: true,
        filter: PR_FILTER,
        concurrency: 2,
        timeoutSeconds: 5,
      },
      {
        name: 'flaky',
        kind: 'http',
        url: `${base}/flaky`,
        allowInsecure: true,
        allowPrivateNetwork: true,
        filter: PR_FILTER,
        concurrency: 2,
        timeoutSeconds: 5,
      },
      {
        name: 'down',
        kind: 'http',
        url: `${base}/down`,
        allowInsecure: true,
        allowPrivateNetwork: true,
        filter: PR_FILTER,
        concurrency: 2,
        timeoutSeconds: 5,
        retry: { maxAttempts: 2 },
      },
    ],
  };
  stack = await startLocalStack({
    config,
    sweepIntervalSeconds: null,
    pollWaitSeconds: 2,
    functionLogs: false,
    log: () => {},
    concurrency: { ingest: 1, connections: 1, broadcast: 1 },
    websocket: { skipDisconnectOnAbruptClose: true },
  });
  doc = DynamoDBDocumentClient.from(stack.dynamodb.client);
});

afterAll(async () => {
  for (const s of sockets) s.terminate();
  await stack?.stop();
  await new Promise((resolve) => targetServer?.close(resolve));
});

async function post(request: { headers: Record<string, string>; body: string }) {
  const res = await fetch(stack.webhookUrl('github'), {
    method: 'POST',
    headers: request.headers,
    body: request.body,
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as { id?: string } | null };
}

/** A message as pushed to a WebSocket client: the envelope and its correlation. */
interface LiveMessage {
  kind: string;
  eventId?: string;
  deliveryId?: string | null;
  event?: { id: string };
}

function connect(pattern: unknown): Promise<{ ws: WebSocket; messages: LiveMessage[] }> {
  const url = `${stack.websocketUrl}?token=${encodeURIComponent(stack.secrets.streamToken)}&pattern=${encodeURIComponent(JSON.stringify(pattern))}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    sockets.push(ws);
    const messages: LiveMessage[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

const deliveriesOf = (target: string, eventId: string) =>
  received.filter((r) => r.target === target && r.headers['webhook-id'] === eventId);

/** The stored event item of a GitHub delivery id, found through its dedupe record. */
const storedEvent = async (deliveryId: string) => {
  const dedupe = await getDedupe(
    doc,
    stack.tableName,
    { source: 'github', dedupeKey: deliveryId },
    Date.now(),
  );
  if (!dedupe) return undefined;
  return (await doc.send(new GetCommand({ TableName: stack.tableName, Key: keys.event(dedupe.eventId) })))
    .Item;
};

describe('Event Router end to end (real handlers, local services)', () => {
  it('runs the planned topology, read back from the running services, with only the documented differences', async () => {
    const running = await stack.describeTopology();
    expect(running).toEqual(
      localTopology(stack.topology, { retryDelays: LOCAL_DIFFERENCES.defaultRetryDelays }),
    );
    // Read back, not copied: the routes function made each source's tokened route with its throttle.
    expect(running.http.sourceRoutes).toEqual([
      { routeKey: 'POST /webhooks/github/{token}', throttle: { rateLimit: 50, burstLimit: 100 } },
    ]);
    expect(running.functions.map((f) => f.name)).toEqual([
      'broadcast',
      'connections',
      'delivery-down',
      'delivery-flaky',
      'delivery-good',
      'ingest',
      'management',
      'routes',
      'sweeper',
    ]);
  });

  let firstId = '';
  const firstDelivery = crypto.randomUUID();

  it('accepts a signed GitHub pull_request, stores it, delivers it signed, and streams it to matching clients only', async () => {
    const matching = await connect({ 'detail-type': [{ prefix: 'pull_request.' }] });
    const other = await connect({ 'detail-type': ['issues.opened'] });
    const res = await post(samplePullRequestOpened(stack.secrets.source('github'), firstDelivery));
    expect(res.status).toBe(202);
    expect(res.body?.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    firstId = res.body!.id!;

    const item = await storedEvent(firstDelivery);
    expect(item).toMatchObject({
      ...keys.bySource('github', firstId),
      sk: firstId,
      type: 'pull_request.opened',
    });

    const [delivery] = await waitFor('delivery to the good target', () => {
      const d = deliveriesOf('good', firstId);
      return d.length > 0 ? d : undefined;
    });
    const verified = new Webhook(stack.secrets.target('good')).verify(delivery!.body, delivery!.headers) as {
      id: string;
      type: string;
    };
    expect(verified).toMatchObject({ id: firstId, type: 'pull_request.opened' });
    // One correlation id end to end: the event id and GitHub's delivery id travel in the delivery headers…
    expect(delivery!.headers['x-event-router-id']).toBe(firstId);
    expect(delivery!.headers['x-event-router-delivery-id']).toBe(firstDelivery);

    const live = await waitFor('live event on the matching client', () =>
      matching.messages.find((m) => m.event?.id === firstId),
    );
    // …and in the WebSocket message.
    expect(live).toMatchObject({ kind: 'event', id: firstId, deliveryId: firstDelivery });
    await stack.drain();
    await new Promise((r) => setTimeout(r, 300));
    expect(other.messages.filter((m) => m.kind === 'event')).toEqual([]);
  });

  it('delivers exactly once to a target that fails twice, then succeeds', async () => {
    await waitFor(
      'three attempts at the flaky target',
      () => deliveriesOf('flaky', firstId).length >= 3,
      20_000,
    );
    await new Promise((r) => setTimeout(r, 1_500));
    const attemptsSeen = deliveriesOf('flaky', firstId);
    expect(attemptsSeen.map((d) => d.status)).toEqual([503, 503, 200]);
  });

  it('records the final failure of an always-failing target durably and moves its message to the DLQ', async () => {
    const dlqUrl = stack.queues.down!.dlqUrl;
    const message = await waitFor(
      'event in the down target DLQ',
      async () => {
        const out = await stack.sqs.client.send(
          new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        return out.Messages?.find(
          (m) => (JSON.parse(m.Body ?? '{}') as { detail?: { id?: string } }).detail?.id === firstId,
        );
      },
      20_000,
    );
    expect(message).toBeTruthy();
    expect(deliveriesOf('down', firstId)).toHaveLength(2);
    const failures = await listFailures(doc, stack.tableName, 'down');
    expect(failures.find((f) => f.eventId === firstId)).toMatchObject({ attempts: 2, status: 503 });
  });

  it('rejects a bad signature with 401 and stores and delivers nothing', async () => {
    const deliveryId = crypto.randomUUID();
    const before = received.length;
    const forged = samplePullRequestOpened('not-the-secret', deliveryId);
    const res = await post(forged);
    expect(res.status).toBe(401);
    expect(await storedEvent(deliveryId)).toBeUndefined();
    await stack.drain();
    await new Promise((r) => setTimeout(r, 500));
    expect(received.slice(before).filter((r) => r.target === 'good')).toEqual([]);
  });

  it('deduplicates a redelivered webhook: one event, one delivery', async () => {
    const deliveryId = crypto.randomUUID();
    const request = samplePullRequestOpened(stack.secrets.source('github'), deliveryId);
    const first = await post(request);
    const second = await post(request);
    expect(first.status).toBe(202);
    expect(second.status).toBeLessThan(300);
    expect(second.body?.id).toBe(first.body?.id);
    const id = first.body!.id!;
    const bySource = keys.bySource('github', id);
    const events = await doc.send(
      new QueryCommand({
        TableName: stack.tableName,
        IndexName: EVENTS_TABLE.indexes[0].name,
        KeyConditionExpression: 'gsi1pk = :s AND gsi1sk = :id',
        ExpressionAttributeValues: { ':s': bySource.gsi1pk, ':id': id },
      }),
    );
    expect(events.Count).toBe(1);
    await waitFor('delivery of the deduplicated event', () => deliveriesOf('good', id).length > 0);
    await stack.drain();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(deliveriesOf('good', id)).toHaveLength(1);
  });

  it('removes an abruptly disconnected WebSocket client on the next broadcast', async () => {
    const before = new Set(stack.connectionIds());
    const client = await connect({ source: ['webhook.github'] });
    const connectionId = stack.connectionIds().find((id) => !before.has(id))!;
    const row = () =>
      doc
        .send(new GetCommand({ TableName: LOCAL_NAMES.liveTable, Key: liveKeys.connection(connectionId) }))
        .then((r) => r.Item);
    expect(await row()).toBeTruthy();
    client.ws.terminate();
    await waitFor('socket gone server-side', () => !stack.connectionIds().includes(connectionId));
    // No $disconnect arrived (best effort on AWS; dropped here): the record is still there.
    const record = await row();
    expect(record).toBeTruthy();
    // A 410 within the handshake grace may be a connection still opening, so its record is kept: age it past that.
    const connectedAt = Date.parse(String(record?.connectedAt));
    await new Promise((r) => setTimeout(r, Math.max(0, connectedAt + HANDSHAKE_GRACE_MS + 100 - Date.now())));
    const push = signGithubWebhook(
      stack.secrets.source('github'),
      'pull_request',
      JSON.stringify({ action: 'closed', number: 1, repository: { full_name: 'o/r' } }),
    );
    expect((await post(push)).status).toBe(202);
    await waitFor('stale connection record deleted', async () => (await row()) === undefined);
  });

  it('gives WebSocket clients and HTTP targets the same JSON value with the same digits (integers past 2^53)', async () => {
    const raw: string[] = [];
    const client = await connect({ 'detail-type': ['pull_request.labeled'] });
    client.ws.on('message', (data) => raw.push(data.toString()));
    // Pretty-printed, as some providers send: whitespace may change on the way (EventBridge may re-serialise), the
    // value and every digit may not.
    const body = `{\n  "action": "labeled",\n  "number": 7,\n  "id": 9007199254740993,\n  "big": 1234567890123456789,\n  "repository": { "full_name": "o/r" }\n}`;
    const githubDelivery = crypto.randomUUID();
    const response = await post(
      signGithubWebhook(stack.secrets.source('github'), 'pull_request', body, githubDelivery),
    );
    expect(response.status).toBe(202);
    const id = response.body!.id!;
    const delivered = await waitFor('delivered to the good target', () => deliveriesOf('good', id)[0]);
    await waitFor('pushed to the client', () => raw.find((m) => m.includes(id)));
    const pushed = raw.find((m) => m.includes(id))!;
    for (const text of [delivered.body, pushed]) {
      expect(text).toContain('"id":9007199254740993');
      expect(text).toContain('"big":1234567890123456789');
    }
    // The pushed event is exactly the delivered envelope, wrapped with its id (the resume point) and correlation.
    expect(pushed).toBe(
      `{"kind":"event","id":"${id}","deliveryId":"${githubDelivery}","event":${delivered.body}}`,
    );
    client.ws.close();
  });

  it("rotates a source's URL token with an overlap: both URLs work, then only the new one", async () => {
    const oldUrl = stack.webhookUrl('github');
    const send = (url: string) =>
      fetch(url, { method: 'POST', ...samplePullRequestOpened(stack.secrets.source('github')) }).then(
        (r) => r.status,
      );
    await stack.functions.routes!.invoke({ rotate: 'github' });
    const newUrl = stack.webhookUrl('github');
    expect(newUrl).not.toBe(oldUrl);
    expect(await send(oldUrl)).toBe(202);
    expect(await send(newUrl)).toBe(202);
    await stack.functions.routes!.invoke({ finishRotation: 'github' });
    expect(await send(oldUrl)).toBe(404);
    expect(await send(newUrl)).toBe(202);
  });
});
