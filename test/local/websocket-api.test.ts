import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { localCredentials } from '../../local/services/aws-env';
import { type LocalWebSocketApi, startLocalWebSocketApi } from '../../local/services/websocket-api';
import { waitFor } from './helpers';

interface WsEvent {
  requestContext: {
    routeKey: string;
    eventType: string;
    connectionId: string;
    disconnectStatusCode?: number;
  };
  body?: string;
  queryStringParameters?: Record<string, string>;
}

const events: WsEvent[] = [];
let api: LocalWebSocketApi;
let mgmt: ApiGatewayManagementApiClient;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  api = await startLocalWebSocketApi({
    routeResponses: ['ping'],
    function: {
      async invoke(raw: unknown) {
        const event = raw as WsEvent;
        events.push(event);
        const route = event.requestContext.routeKey;
        if (route === '$connect' && event.queryStringParameters?.token === 'bad') return { statusCode: 401 };
        if (route === '$connect' && event.queryStringParameters?.token === 'crash') throw new Error('boom');
        if (route === 'ping') return { statusCode: 200, body: JSON.stringify({ kind: 'pong' }) };
        if (event.body === 'explode') throw new Error('handler failed');
        return { statusCode: 200 };
      },
    },
  });
  mgmt = new ApiGatewayManagementApiClient({
    endpoint: api.managementEndpoint,
    region: 'us-east-1',
    credentials: localCredentials,
  });
});
afterAll(async () => {
  for (const s of sockets) s.terminate();
  mgmt.destroy();
  await api.stop();
});

function connect(query = ''): Promise<{ ws: WebSocket; messages: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${api.url}${query}`);
    sockets.push(ws);
    const messages: string[] = [];
    ws.on('message', (data) => messages.push(data.toString()));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

const connectionOf = (ws: WebSocket) => {
  void ws;
  const connect = events.filter((e) => e.requestContext.routeKey === '$connect').at(-1);
  return connect!.requestContext.connectionId;
};

describe('local API Gateway WebSocket API', () => {
  it('rejects the upgrade with the $connect status and with 500 when $connect throws', async () => {
    await expect(connect('?token=bad')).rejects.toThrow('status 401');
    await expect(connect('?token=crash')).rejects.toThrow('status 500');
    expect(api.connectionIds()).toHaveLength(0);
  });

  it('routes by $request.body.action, sends route responses and reports handler errors', async () => {
    const { ws, messages } = await connect('?token=good');
    const id = connectionOf(ws);
    expect(id).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    ws.send(JSON.stringify({ action: 'subscribe', pattern: { source: ['webhook.github'] } }));
    ws.send(JSON.stringify({ action: 'unknown-action' }));
    ws.send('not json');
    ws.send(JSON.stringify({ action: 'ping' }));
    await waitFor('pong', () => messages.some((m) => m.includes('pong')));
    const routes = () =>
      events.filter((e) => e.requestContext.connectionId === id).map((e) => e.requestContext.routeKey);
    await waitFor('all routes invoked', () => routes().length === 5);
    expect(routes()).toEqual(['$connect', 'subscribe', '$default', '$default', 'ping']);
    ws.send('explode');
    await waitFor('error reply', () => messages.some((m) => m.includes('Internal server error')));
  });

  it('serves @connections: post, get, delete, and 410 GoneException for an unknown id', async () => {
    const { ws, messages } = await connect();
    const id = connectionOf(ws);
    await mgmt.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('{"hello":1}') }));
    await waitFor('pushed message', () => messages.includes('{"hello":1}'));
    const info = await mgmt.send(new GetConnectionCommand({ ConnectionId: id }));
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(info.LastActiveAt).toBeInstanceOf(Date);
    expect(info.Identity?.SourceIp).toBe('127.0.0.1');
    const tooBig = Buffer.alloc(128 * 1024 + 1, 'a');
    await expect(
      mgmt.send(new PostToConnectionCommand({ ConnectionId: id, Data: tooBig })),
    ).rejects.toMatchObject({
      name: 'PayloadTooLargeException',
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await mgmt.send(new DeleteConnectionCommand({ ConnectionId: id }));
    await closed;
    await waitFor('$disconnect', () =>
      events.some((e) => e.requestContext.connectionId === id && e.requestContext.routeKey === '$disconnect'),
    );
    await expect(
      mgmt.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('x') })),
    ).rejects.toMatchObject({ name: 'GoneException', $metadata: { httpStatusCode: 410 } });
    await expect(
      mgmt.send(new GetConnectionCommand({ ConnectionId: 'bm9wZW5vcGVub3A=' })),
    ).rejects.toMatchObject({
      name: 'GoneException',
    });
  });

  it('closes a connection with 1009 when a client message exceeds 128 KB', async () => {
    const { ws } = await connect();
    const id = connectionOf(ws);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send('x'.repeat(128 * 1024 + 1));
    expect(await closed).toBe(1009);
    await waitFor('connection removed', () => !api.connectionIds().includes(id));
  });
});
