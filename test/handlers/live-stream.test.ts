import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

/** The fields of an API Gateway WebSocket event the connection domain reads. */
type WebSocketEvent = {
  requestContext: { routeKey: string; connectionId: string };
  queryStringParameters?: Record<string, string>;
  body?: string;
};

import type { BusEvent, Envelope } from '../../core/contracts';
import { type BroadcastDeps, broadcastEvent, SubscriptionIndex } from '../../lambdas/broadcast/broadcast';
import { type ConnectionDeps, handleConnectionEvent } from '../../lambdas/connections/connections';
import { listConnections } from '../../lambdas/shared/live-store';
import { LOCAL_REGION, localCredentials } from '../../local/services/aws-env';
import { type LocalWebSocketApi, startLocalWebSocketApi } from '../../local/services/websocket-api';
import { type LocalAws, startLocalAws } from '../support/aws-local';

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
  const deps = (): ConnectionDeps => connectionDeps;
  api = await startLocalWebSocketApi({
    skipDisconnectOnAbruptClose: true,
    function: {
      // The WebSocket API invokes the connection domain with the API Gateway event, as the Lambda handler does.
      invoke: async (event: WebSocketEvent) =>
        handleConnectionEvent(
          {
            routeKey: event.requestContext.routeKey,
            connectionId: event.requestContext.connectionId,
            query: event.queryStringParameters ?? {},
            body: event.body,
          },
          deps(),
        ),
    },
  });
  const management = new ApiGatewayManagementApiClient({
    endpoint: api.managementEndpoint,
    region: LOCAL_REGION,
    credentials: localCredentials,
  });
  connectionDeps = {
    doc: aws.doc,
    accessTokens: async () => ['old-token', TOKEN],
    management,
    tableName: aws.liveTableName,
    connectionTtlSeconds: 7200,
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
    ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
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

describe('live stream: connections + broadcast over a real WebSocket', () => {
  it('refuses the handshake without the access token, or with an invalid pattern', async () => {
    await expect(connect({})).rejects.toThrow(/refused: 401/);
    await expect(connect({ token: 'wrong' })).rejects.toThrow(/refused: 401/);
    await expect(connect({ token: TOKEN, pattern: '{"source":"not-an-array"}' })).rejects.toThrow(
      /refused: 400/,
    );
  });

  it('pushes an event only to the connections whose subscription matches, and removes gone ones', async () => {
    const prs = await connect({
      token: TOKEN,
      pattern: JSON.stringify({ 'detail-type': [{ prefix: 'pull_request.' }] }),
    });
    const pushes = await connect({ token: TOKEN, pattern: JSON.stringify({ 'detail-type': ['push'] }) });
    const everything = await connect({ token: TOKEN });
    expect((await storedConnections()).length).toBe(3);

    const result = await broadcastEvent(busEvent('pull_request.opened'), broadcastDeps);
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
    const early = await broadcastEvent(busEvent('pull_request.edited'), broadcastDeps);
    expect(early).toMatchObject({ matched: 2, sent: 1, gone: 1 });
    expect((await storedConnections()).map((c) => c.connectionId)).toContain(droppedId);
    await prs.next();

    clockOffsetMs = 4_000;
    const second = await broadcastEvent(busEvent('pull_request.closed'), broadcastDeps);
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

    const result = await broadcastEvent(busEvent('issues.opened'), broadcastDeps);
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
