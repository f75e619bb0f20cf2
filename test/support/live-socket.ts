/**
 * The live stream's handler tests' tools: a local WebSocket API running the connection domain, a WebSocket test
 * client that opens a connection or resolves with the refusal (status and JSON body), and the bus event a broadcast
 * is given.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import WebSocket from 'ws';
import type { BusEvent, Envelope } from '../../core/contracts';
import { type ConnectionDeps, handleConnectionEvent } from '../../lambdas/connections/connections';
import { LOCAL_REGION, localCredentials } from '../../local/services/aws-env';
import { type LocalWebSocketApi, startLocalWebSocketApi } from '../../local/services/websocket-api';

export interface Client {
  readonly ws: WebSocket;
  next(): Promise<Record<string, unknown>>;
  closed: Promise<number>;
}

export type Refusal = { status: number; body: { error: string; message: string } };

export interface ConnectOptions {
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly protocols?: string[];
}

/** Opens a connection to `apiUrl`, or resolves with the refusal (status and JSON body). */
export function connect(apiUrl: string, options: ConnectOptions = {}): Promise<Client | Refusal> {
  const url = `${apiUrl}${options.query ? `?${new URLSearchParams(options.query)}` : ''}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
    const messages: Record<string, unknown>[] = [];
    const waiters: ((m: Record<string, unknown>) => void)[] = [];
    const closed = new Promise<number>((res) => ws.once('close', (code) => res(code)));
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      const waiter = waiters.shift();
      if (waiter) waiter(message);
      else messages.push(message);
    });
    ws.once('open', () =>
      resolve({
        ws,
        closed,
        next: () =>
          messages.length > 0
            ? Promise.resolve(messages.shift()!)
            : new Promise((res) => {
                waiters.push(res);
              }),
      }),
    );
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
    });
    ws.once('error', reject);
  });
}

export const isClient = (c: Client | Refusal): c is Client => 'ws' in c;

/** A connection that must open. */
export async function open(apiUrl: string, options: ConnectOptions = {}): Promise<Client> {
  const c = await connect(apiUrl, options);
  if (!isClient(c)) throw new Error(`refused: ${c.status} ${JSON.stringify(c.body)}`);
  return c;
}

/** A connection that must be refused. */
export async function refused(apiUrl: string, options: ConnectOptions = {}): Promise<Refusal> {
  const c = await connect(apiUrl, options);
  if (isClient(c)) {
    c.ws.close();
    throw new Error('the connection was accepted');
  }
  return c;
}

export async function close(client: Client): Promise<void> {
  if (client.ws.readyState !== WebSocket.CLOSED) client.ws.close();
  await client.closed;
}

/** A bus event of `type` from `source`, and its detail text, as the broadcast function receives them. */
export function busEvent(type: string, source = 'github'): { bus: BusEvent; detail: string } {
  const detail: Envelope = {
    id: '01JDH8ZQ2K0000000000000000',
    source,
    provider: 'github',
    type,
    deliveryId: 'd',
    providerTime: null,
    receivedAt: '2026-11-23T12:00:00.000Z',
    subject: 'octo/repo',
    headers: {},
    data: {},
  };
  const bus: BusEvent = {
    version: '0',
    id: 'e',
    'detail-type': type,
    source: `webhook.${source}`,
    account: '000000000000',
    time: detail.receivedAt,
    region: 'us-east-1',
    resources: [],
    detail,
  };
  return { bus, detail: JSON.stringify(detail) };
}

/** The `$connect`/route event the local WebSocket API hands its function, as API Gateway does. */
type WebSocketRouteEvent = {
  requestContext: { routeKey: string; connectionId: string };
  queryStringParameters?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
};

/**
 * A local WebSocket API whose routes run the connection domain with `deps()` (read on every call: a test may swap
 * them), as the Lambda handler does; and an `@connections` client for it.
 */
export async function startConnectionsApi(
  deps: () => ConnectionDeps,
  options: { readonly skipDisconnectOnAbruptClose?: boolean } = {},
): Promise<{ api: LocalWebSocketApi; management: ApiGatewayManagementApiClient }> {
  const api = await startLocalWebSocketApi({
    ...options,
    function: {
      invoke: async (event: WebSocketRouteEvent) =>
        handleConnectionEvent(
          {
            routeKey: event.requestContext.routeKey,
            connectionId: event.requestContext.connectionId,
            query: event.queryStringParameters ?? {},
            headers: event.headers ?? {},
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
  return { api, management };
}
