import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

/** The fields of an API Gateway WebSocket event the connection domain reads. */
type WebSocketEvent = {
  requestContext: { routeKey: string; connectionId: string };
  queryStringParameters?: Record<string, string>;
  body?: string;
};

import type { BusEvent, Envelope } from '../../core/contracts';
import {
  type BroadcastDeps,
  broadcastEvent,
  SubscriptionIndex,
  syncSubscriptions,
} from '../../lambdas/broadcast/broadcast';
import { type ConnectionDeps, SUBSCRIPTION_LIMITS } from '../../lambdas/connections/connections';
import { listConnections } from '../../lambdas/shared/live-store';
import { type LocalWebSocketApi, startLocalWebSocketApi } from '../../local/services/websocket-api';
import { type LocalAws, startLocalAws } from '../support/aws-local';
import { startConnectionsApi } from '../support/live-socket';

const TOKEN = 'agent-token-123';
let aws: LocalAws;
let api: LocalWebSocketApi;
let connectionDeps: ConnectionDeps;
let broadcastDeps: BroadcastDeps;
/** Added to the broadcast's clock: moves it past the handshake grace period. */
let clockOffsetMs = 0;
/** Added to the connection handler's clock: shows that a ping renews the record's TTL. */
let connectionClockMs = 0;

beforeAll(async () => {
  aws = await startLocalAws();
  let management: ApiGatewayManagementApiClient;
  // The WebSocket API invokes the connection domain with the API Gateway event, as the Lambda handler does.
  ({ api, management } = await startConnectionsApi(() => connectionDeps, {
    skipDisconnectOnAbruptClose: true,
  }));
  connectionDeps = {
    doc: aws.doc,
    accessTokens: async () => ['old-token', TOKEN],
    management,
    tableName: aws.liveTableName,
    connectionTtlSeconds: 7200,
    eventsTable: aws.tableName,
    retentionDays: 7,
    now: () => Date.now() + connectionClockMs,
  };
  broadcastDeps = {
    doc: aws.doc,
    management,
    tableName: aws.liveTableName,
    now: () => Date.now() + clockOffsetMs,
    concurrency: 4,
    subscriptions: new SubscriptionIndex(),
  };
});
afterAll(async () => {
  await api.stop();
  await aws.stop();
});

interface Client {
  readonly ws: WebSocket;
  readonly messages: unknown[];
  next(timeoutMs?: number): Promise<unknown>;
}

function connect(query: Record<string, string>): Promise<Client> {
  const url = `${api.url}?${new URLSearchParams(query)}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: unknown[] = [];
    const waiters: ((m: unknown) => void)[] = [];
    ws.on('message', (data) => {
      const message = JSON.parse(String(data));
      const waiter = waiters.shift();
      if (waiter) waiter(message);
      else messages.push(message);
    });
    ws.once('open', () =>
      resolve({
        ws,
        messages,
        next: (timeoutMs = 3_000) =>
          messages.length > 0
            ? Promise.resolve(messages.shift())
            : new Promise((res, rej) => {
                const timer = setTimeout(() => rej(new Error('no message')), timeoutMs);
                waiters.push((m) => {
                  clearTimeout(timer);
                  res(m);
                });
              }),
      }),
    );
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      res.on('end', () => reject(new Error(`handshake refused: ${res.statusCode} ${body}`)));
    });
    ws.once('error', reject);
  });
}

function busEvent(type: string): BusEvent {
  const detail: Envelope = {
    id: '01JDH8ZQ2K0000000000000000',
    source: 'github',
    provider: 'github',
    type,
    deliveryId: 'd',
    providerTime: null,
    receivedAt: '2026-11-23T12:00:00.000Z',
    subject: 'octo/repo',
    headers: {},
    data: { action: type.split('.')[1] },
  };
  return {
    version: '0',
    id: 'e',
    'detail-type': type,
    source: 'webhook.github',
    account: '000000000000',
    time: detail.receivedAt,
    region: 'us-east-1',
    resources: [],
    detail,
  };
}

const storedConnections = async () => {
  const out = [];
  for await (const c of listConnections(aws.doc, aws.liveTableName, Date.now())) out.push(c);
  return out;
};

/** Closes a client and waits until its `$disconnect` has removed every record of a closed connection. */
async function closeClient(client: Client): Promise<void> {
  if (client.ws.readyState !== WebSocket.CLOSED) {
    await new Promise<void>((resolve) => {
      client.ws.once('close', () => resolve());
      client.ws.close();
    });
  }
  const deadline = Date.now() + 3_000;
  while ((await storedConnections()).length > api.connectionIds().length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  expect((await storedConnections()).length).toBe(api.connectionIds().length);
}

/** What the broadcast handler does per record: refresh the subscriptions, push the event's detail text. */
async function broadcast(event: BusEvent, detailJson = JSON.stringify(event.detail)) {
  await syncSubscriptions(broadcastDeps);
  return broadcastEvent(event, detailJson, broadcastDeps);
}

describe('live stream: connections + broadcast over a real WebSocket', () => {
  it('refuses the handshake without the access token, or with an invalid pattern, and says why', async () => {
    await expect(connect({})).rejects.toThrow(
      /refused: 401 \{"error":"unauthorized","message":"no credentials/,
    );
    await expect(connect({ token: 'wrong' })).rejects.toThrow(/refused: 401/);
    await expect(connect({ token: TOKEN, pattern: '{"source":"not-an-array"}' })).rejects.toThrow(
      /refused: 400 \{"error":"invalid_pattern","message":"invalid pattern: source: a field must map/,
    );
  });

  it('bounds what a subscription may cost: 2,048 characters and 100 $or combinations', async () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
    // Just inside the limit: a long list of event types is fine.
    let fits = JSON.stringify({ 'detail-type': values(300) });
    while (fits.length < SUBSCRIPTION_LIMITS.maxChars - 6) fits = fits.replace(']', ',"x"]');
    expect(fits.length).toBeLessThanOrEqual(SUBSCRIPTION_LIMITS.maxChars);
    const ok = await connect({ token: TOKEN, pattern: fits.slice(0, SUBSCRIPTION_LIMITS.maxChars) });
    await closeClient(ok);

    const tooLong = JSON.stringify({ 'detail-type': values(400) });
    expect(tooLong.length).toBeGreaterThan(SUBSCRIPTION_LIMITS.maxChars);
    await expect(connect({ token: TOKEN, pattern: tooLong })).rejects.toThrow(
      new RegExp(`refused: 400 .*pattern is ${tooLong.length} characters; at most 2048 are allowed`),
    );

    // 7 independent two-way $or's expand to 2^7 = 128 combinations in a few hundred characters.
    const ors = Object.fromEntries(
      Array.from({ length: 7 }, (_, i) => [`f${i}`, { $or: [{ a: ['1'] }, { b: ['2'] }] }]),
    );
    const combos = JSON.stringify({ detail: ors });
    expect(combos.length).toBeLessThan(SUBSCRIPTION_LIMITS.maxChars);
    await expect(connect({ token: TOKEN, pattern: combos })).rejects.toThrow(
      /refused: 400 .*more than 100 combinations/,
    );
    // Six of them (64 combinations) are accepted.
    const six = JSON.stringify({ detail: Object.fromEntries(Object.entries(ors).slice(0, 6)) });
    await closeClient(await connect({ token: TOKEN, pattern: six }));

    // The same limits hold for the subscribe action.
    const client = await connect({ token: TOKEN });
    client.ws.send(JSON.stringify({ action: 'subscribe', pattern: JSON.parse(combos) }));
    expect(await client.next()).toMatchObject({
      kind: 'error',
      error: 'invalid_pattern',
      message: expect.stringMatching(/more than 100 combinations/),
    });
    await closeClient(client);
  });

  it('pushes the detail text as it travelled: integers beyond 2^53 keep every digit', async () => {
    const client = await connect({
      token: TOKEN,
      pattern: JSON.stringify({ 'detail-type': ['big.number'] }),
    });
    const raw: string[] = [];
    client.ws.on('message', (data) => raw.push(String(data)));
    const event = busEvent('big.number');
    const detailJson = JSON.stringify(event.detail).replace('"data":{', '"data":{"id":9223372036854775807,');
    expect(await broadcast(event, detailJson)).toMatchObject({ sent: 1 });
    await client.next();
    const { id, deliveryId } = event.detail as { id: string; deliveryId: string | null };
    expect(raw[0]).toBe(
      `{"kind":"event","id":${JSON.stringify(id)},"deliveryId":${JSON.stringify(deliveryId)},"event":${detailJson}}`,
    );
    expect(raw[0]).toContain('"id":9223372036854775807');
    await closeClient(client);
  });

  it('closes a connection that sends a frame above 32 KB with 1009, as API Gateway does', async () => {
    const client = await connect({ token: TOKEN });
    const closed = new Promise<number>((resolve) => client.ws.once('close', (code) => resolve(code)));
    client.ws.send(JSON.stringify({ action: 'ping', pad: 'x'.repeat(32 * 1024) }));
    expect(await closed).toBe(1009);
    await closeClient(client);
  });

  it('pushes an event only to the connections whose subscription matches, and removes gone ones', async () => {
    const prs = await connect({
      token: TOKEN,
      pattern: JSON.stringify({ 'detail-type': [{ prefix: 'pull_request.' }] }),
    });
    const pushes = await connect({ token: TOKEN, pattern: JSON.stringify({ 'detail-type': ['push'] }) });
    const everything = await connect({ token: TOKEN });
    expect((await storedConnections()).length).toBe(3);

    const result = await broadcast(busEvent('pull_request.opened'));
    expect(result).toMatchObject({ matched: 2, sent: 2, gone: 0, failed: 0 });
    expect(await prs.next()).toMatchObject({ kind: 'event', event: { type: 'pull_request.opened' } });
    expect(await everything.next()).toMatchObject({ kind: 'event', event: { type: 'pull_request.opened' } });
    expect(pushes.messages).toHaveLength(0);

    // An abrupt drop: API Gateway may never run $disconnect; the next push gets 410 and removes that record.
    const droppedId = api.connectionIds().at(-1)!;
    everything.ws.terminate();
    const deadline = Date.now() + 3_000;
    while (api.connectionIds().includes(droppedId) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(api.connectionIds()).not.toContain(droppedId);

    // Within the handshake grace period a 410 may be a connection still opening: the record is kept.
    clockOffsetMs = 0;
    const early = await broadcast(busEvent('pull_request.edited'));
    expect(early).toMatchObject({ matched: 2, sent: 1, gone: 1 });
    expect((await storedConnections()).map((c) => c.connectionId)).toContain(droppedId);
    await prs.next();

    clockOffsetMs = 4_000;
    const second = await broadcast(busEvent('pull_request.closed'));
    expect(second).toMatchObject({ matched: 2, sent: 1, gone: 1 });
    const remaining = (await storedConnections()).map((c) => c.connectionId);
    expect(remaining).not.toContain(droppedId);
    expect(remaining).toHaveLength(2);
    prs.ws.close();
    pushes.ws.close();
  });

  it('answers actions: subscribe replaces the pattern, ping pongs, anything else is explained', async () => {
    const client = await connect({ token: TOKEN, pattern: JSON.stringify({ 'detail-type': ['push'] }) });
    const id = api.connectionIds().at(-1)!;
    const record = async () => (await storedConnections()).find((c) => c.connectionId === id)!;
    const before = await record();

    connectionClockMs = 600_000;
    client.ws.send(JSON.stringify({ action: 'ping' }));
    expect(await client.next()).toEqual({ kind: 'pong' });
    expect((await record()).expiresAt).toBeGreaterThanOrEqual(before.expiresAt + 600);

    client.ws.send(JSON.stringify({ action: 'subscribe', pattern: { 'detail-type': ['issues.opened'] } }));
    expect(await client.next()).toMatchObject({ kind: 'subscribed' });
    expect(await record()).toMatchObject({
      connectedAt: before.connectedAt,
      pattern: { 'detail-type': ['issues.opened'] },
    });
    connectionClockMs = 0;
    client.ws.send('hello');
    expect(await client.next()).toMatchObject({ kind: 'error', error: 'invalid_json' });
    client.ws.send(JSON.stringify({ action: 'subscribe', pattern: { source: 'x' } }));
    expect(await client.next()).toMatchObject({ kind: 'error', error: 'invalid_pattern' });

    const result = await broadcast(busEvent('issues.opened'));
    expect(result.sent).toBeGreaterThanOrEqual(1);
    expect(await client.next()).toMatchObject({ kind: 'event', event: { type: 'issues.opened' } });
    client.ws.close();
  });

  it('removes the record on a clean $disconnect', async () => {
    const client = await connect({ token: TOKEN });
    const id = api.connectionIds().at(-1)!;
    expect((await storedConnections()).map((c) => c.connectionId)).toContain(id);
    await new Promise<void>((resolve) => {
      client.ws.once('close', () => resolve());
      client.ws.close();
    });
    const deadline = Date.now() + 3_000;
    while ((await storedConnections()).some((c) => c.connectionId === id) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await storedConnections()).map((c) => c.connectionId)).not.toContain(id);
  });
});

describe('live stream: the $connect throttle', () => {
  it('answers 429 before invoking the function once the bucket is empty, and refills at the rate', async () => {
    let invoked = 0;
    const throttled = await startLocalWebSocketApi({
      routeThrottles: { $connect: { rateLimit: 5, burstLimit: 2 } },
      function: {
        invoke: async (event: WebSocketEvent) => {
          if (event.requestContext.routeKey === '$connect') invoked++;
          return { statusCode: 200 };
        },
      },
    });
    try {
      const open = (): Promise<number> =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(throttled.url);
          ws.once('open', () => {
            ws.close();
            resolve(101);
          });
          ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          ws.once('error', reject);
        });
      expect([await open(), await open(), await open()]).toEqual([101, 101, 429]);
      expect(invoked).toBe(2);
      await new Promise((r) => setTimeout(r, 300));
      expect(await open()).toBe(101);
      expect(invoked).toBe(3);
    } finally {
      await throttled.stop();
    }
  });
});
