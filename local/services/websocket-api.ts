/**
 * API Gateway WebSocket API, locally, on one loopback port:
 * - `ws://127.0.0.1:<port>/<stage>`: `$connect` is invoked during the handshake (a non-2xx answer rejects the
 *   upgrade with that status and the integration's body), messages are routed by `$request.body.action` (known route
 *   keys, else `$default`), `$disconnect` is invoked after close; inbound frames above 32 KB close the connection
 *   with 1009 (AWS's frame limit), idle timeout 10 min, connection lifetime 2 h. Routes are throttled by their route
 *   throttle, else the stage default, before the function runs: a throttled `$connect` is refused with 429, a
 *   throttled message is answered with `{"message":"Too Many Requests",…}` and not routed.
 * - `http://127.0.0.1:<port>/<stage>/@connections/{id}`: the management API (POST = send raw bytes, GET = info,
 *   DELETE = close; unknown id → 410 with `x-amzn-errortype: GoneException`), what the SDK's
 *   ApiGatewayManagementApiClient calls when its endpoint is `http://127.0.0.1:<port>/<stage>`.
 */
import { isUtf8 } from 'node:buffer';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { BodyTooLargeError, closeServer, LOOPBACK, listenOnLoopback, readBody, sendJson } from '../net';
import { apiGatewayId, apiGatewayTime, type ThrottleSettings, TokenBucket } from './apigateway-common';
import { LOCAL_ACCOUNT } from './aws-env';

/** API Gateway WebSocket message size limit (what `@connections` accepts). */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/**
 * API Gateway WebSocket frame size limit: a bigger frame closes the connection with 1009.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
 * Locally the limit applies to a whole inbound message (the `ws` library bounds messages, not frames): a message of
 * several frames, each ≤ 32 KB, that AWS would accept up to 128 KB is refused here. Clients send small JSON messages.
 */
export const MAX_FRAME_BYTES = 32 * 1024;

export interface WebSocketInvoker {
  invoke(event: unknown): Promise<unknown>;
}

export interface LocalWebSocketApiOptions {
  /** Integration of every route (the connections handler). */
  readonly function: WebSocketInvoker;
  /** @default 0 (random) */
  readonly port?: number;
  /** @default 'local' */
  readonly stage?: string;
  /** Route keys selected by `$request.body.action`; anything else goes to `$default`. @default ['subscribe', 'ping'] */
  readonly routeKeys?: readonly string[];
  /** Routes with a route response (two-way): the integration's `body` is sent back to the client. @default [] */
  readonly routeResponses?: readonly string[];
  /** @default 600 */
  readonly idleTimeoutSeconds?: number;
  /** @default 7200 */
  readonly maxConnectionSeconds?: number;
  /**
   * `$disconnect` is best effort on AWS. When true, a connection that drops without a close handshake (1006) gets
   * no `$disconnect`, so stale-connection cleanup (GoneException on post) can be tested. @default false
   */
  readonly skipDisconnectOnAbruptClose?: boolean;
  /** Throttle of every route without its own (the stage default); undefined = unthrottled. */
  readonly defaultThrottle?: ThrottleSettings;
  /** Route throttles by route key (e.g. `$connect`), as the stage's route settings. */
  readonly routeThrottles?: Readonly<Record<string, ThrottleSettings>>;
  readonly onError?: (error: Error) => void;
}

export interface LocalWebSocketApi {
  readonly port: number;
  readonly stage: string;
  /** `ws://127.0.0.1:<port>/<stage>` */
  readonly url: string;
  /** `http://127.0.0.1:<port>/<stage>`: endpoint for ApiGatewayManagementApiClient. */
  readonly managementEndpoint: string;
  /** Ids of open connections. */
  connectionIds(): string[];
  /** Route keys and throttles, as configured. */
  describe(): {
    routes: string[];
    throttle: ThrottleSettings | undefined;
    routeThrottles: Record<string, ThrottleSettings>;
  };
  stop(): Promise<void>;
}

interface Connection {
  readonly id: string;
  readonly ws: WebSocket;
  readonly connectedAt: number;
  lastActiveAt: number;
  readonly sourceIp: string;
  readonly userAgent: string | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  readonly lifetimeTimer: NodeJS.Timeout;
  /** Close code of a close the API started because the client broke a rule (1009: frame too big). */
  closedWith?: number;
}

function rawHeaders(req: IncomingMessage): {
  headers: Record<string, string>;
  multi: Record<string, string[]>;
} {
  const headers: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    const values = [...(multi[name] ?? []), value];
    multi[name] = values;
    headers[name] = values.join(',');
  }
  return { headers, multi };
}

function statusOf(result: unknown): number {
  if (
    result &&
    typeof result === 'object' &&
    typeof (result as { statusCode?: unknown }).statusCode === 'number'
  ) {
    return (result as { statusCode: number }).statusCode;
  }
  return 200;
}

function rejectUpgrade(socket: Duplex, status: number, body = '', contentType = 'application/json'): void {
  const reason = STATUS_CODES[status] ?? 'Error';
  const bytes = Buffer.from(body);
  socket.end(
    Buffer.concat([
      Buffer.from(
        `HTTP/1.1 ${status} ${reason}\r\n${bytes.length > 0 ? `Content-Type: ${contentType}\r\n` : ''}` +
          `Content-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`,
      ),
      bytes,
    ]),
  );
}

/** The body and content type of an integration's answer, when it has a body. */
function answerBody(result: unknown): { body: string; contentType: string | undefined } {
  const r = (result ?? {}) as { body?: unknown; headers?: Record<string, unknown> };
  const contentType = Object.entries(r.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
  return {
    body: typeof r.body === 'string' ? r.body : '',
    contentType: typeof contentType === 'string' ? contentType : undefined,
  };
}

export async function startLocalWebSocketApi(options: LocalWebSocketApiOptions): Promise<LocalWebSocketApi> {
  const stage = options.stage ?? 'local';
  const routeKeys = new Set(options.routeKeys ?? ['subscribe', 'ping']);
  const routeResponses = new Set(options.routeResponses ?? []);
  const idleMs = (options.idleTimeoutSeconds ?? 600) * 1000;
  const lifetimeMs = (options.maxConnectionSeconds ?? 7200) * 1000;
  const connections = new Map<string, Connection>();
  // One token bucket per route key, from its route throttle or the stage default.
  const buckets = new Map<string, TokenBucket | undefined>();
  const admit = (routeKey: string): boolean => {
    if (!buckets.has(routeKey)) {
      const throttle = options.routeThrottles?.[routeKey] ?? options.defaultThrottle;
      buckets.set(routeKey, throttle ? new TokenBucket(throttle) : undefined);
    }
    return buckets.get(routeKey)?.take() ?? true;
  };
  const apiId = 'localws';
  let stopping = false;
  let domainName = LOOPBACK;

  const baseContext = (connectionId: string, connectedAt: number, sourceIp: string, userAgent?: string) => {
    const now = Date.now();
    return {
      stage,
      requestId: randomUUID(),
      extendedRequestId: randomUUID(),
      requestTime: apiGatewayTime(now),
      requestTimeEpoch: now,
      messageDirection: 'IN',
      connectedAt,
      identity: { sourceIp, ...(userAgent ? { userAgent } : {}) },
      domainName,
      connectionId,
      apiId,
      accountId: LOCAL_ACCOUNT,
    };
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    handleProtocols: (_protocols, req) =>
      (req as IncomingMessage & { chosenProtocol?: string }).chosenProtocol ?? false,
  });

  const touch = (conn: Connection) => {
    conn.lastActiveAt = Date.now();
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    conn.idleTimer = setTimeout(() => conn.ws.close(1001, 'Going away'), idleMs);
    conn.idleTimer.unref();
  };

  const onMessage = async (conn: Connection, data: Buffer, isBinary: boolean) => {
    touch(conn);
    const body = isBinary ? data.toString('base64') : data.toString('utf8');
    let routeKey = '$default';
    if (!isBinary) {
      try {
        const action = (JSON.parse(body) as { action?: unknown } | null)?.action;
        if (typeof action === 'string' && routeKeys.has(action)) routeKey = action;
      } catch {
        // not JSON: $default
      }
    }
    const context = baseContext(conn.id, conn.connectedAt, conn.sourceIp, conn.userAgent);
    if (!admit(routeKey)) {
      if (conn.ws.readyState === WebSocket.OPEN) {
        conn.ws.send(
          JSON.stringify({
            message: 'Too Many Requests',
            connectionId: conn.id,
            requestId: context.requestId,
          }),
        );
      }
      return;
    }
    const event = {
      requestContext: {
        ...context,
        routeKey,
        messageId: randomBytes(8).toString('base64'),
        eventType: 'MESSAGE',
      },
      body,
      isBase64Encoded: isBinary,
    };
    try {
      const result = await options.function.invoke(event);
      const reply = (result as { body?: unknown } | null)?.body;
      if (
        routeResponses.has(routeKey) &&
        typeof reply === 'string' &&
        conn.ws.readyState === WebSocket.OPEN
      ) {
        conn.ws.send(reply);
      }
    } catch (error) {
      options.onError?.(error as Error);
      if (conn.ws.readyState === WebSocket.OPEN) {
        conn.ws.send(
          JSON.stringify({
            message: 'Internal server error',
            connectionId: conn.id,
            requestId: context.requestId,
          }),
        );
      }
    }
  };

  const onClose = async (conn: Connection, closeCode: number, reason: Buffer) => {
    // After a protocol error `ws` stops reading, so the client's close reply never arrives and the socket ends as
    // 1006; the API closed it, with its own code, and says so to `$disconnect`.
    const code = conn.closedWith ?? closeCode;
    connections.delete(conn.id);
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    clearTimeout(conn.lifetimeTimer);
    if (stopping) return;
    if (code === 1006 && options.skipDisconnectOnAbruptClose) return;
    const event = {
      requestContext: {
        ...baseContext(conn.id, conn.connectedAt, conn.sourceIp, conn.userAgent),
        routeKey: '$disconnect',
        eventType: 'DISCONNECT',
        disconnectStatusCode: code,
        disconnectReason: reason.toString('utf8'),
      },
      headers: { Host: domainName, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' },
      isBase64Encoded: false,
    };
    await options.function.invoke(event).catch((error: Error) => options.onError?.(error));
  };

  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}`);
    if (url.pathname.replace(/\/$/, '') !== `/${stage}` || stopping) {
      rejectUpgrade(socket, 403);
      return;
    }
    // Throttling comes before the integration: a throttled connect never invokes the function.
    if (!admit('$connect')) {
      rejectUpgrade(socket, 429, JSON.stringify({ message: 'Too Many Requests' }));
      return;
    }
    const connectionId = apiGatewayId();
    const connectedAt = Date.now();
    const sourceIp = req.socket.remoteAddress ?? LOOPBACK;
    const userAgent = req.headers['user-agent'];
    const { headers, multi } = rawHeaders(req);
    const query: Record<string, string> = {};
    const multiQuery: Record<string, string[]> = {};
    for (const [k, v] of url.searchParams) {
      multiQuery[k] = [...(multiQuery[k] ?? []), v];
      query[k] = v;
    }
    const event = {
      headers: { ...headers, 'X-Forwarded-For': sourceIp, 'X-Forwarded-Proto': 'http' },
      multiValueHeaders: multi,
      ...(url.searchParams.size > 0
        ? { queryStringParameters: query, multiValueQueryStringParameters: multiQuery }
        : {}),
      requestContext: {
        ...baseContext(connectionId, connectedAt, sourceIp, userAgent),
        routeKey: '$connect',
        eventType: 'CONNECT',
      },
      isBase64Encoded: false,
    };
    let result: unknown;
    try {
      result = await options.function.invoke(event);
    } catch (error) {
      options.onError?.(error as Error);
      rejectUpgrade(socket, 500);
      return;
    }
    const status = statusOf(result);
    if (status < 200 || status > 299) {
      const { body, contentType } = answerBody(result);
      rejectUpgrade(socket, status, body, contentType);
      return;
    }
    if (socket.destroyed) return;
    const resultHeaders = ((result as { headers?: Record<string, unknown> } | null)?.headers ?? {}) as Record<
      string,
      unknown
    >;
    const protocolHeader = Object.entries(resultHeaders).find(
      ([k]) => k.toLowerCase() === 'sec-websocket-protocol',
    );
    if (typeof protocolHeader?.[1] === 'string') {
      (req as IncomingMessage & { chosenProtocol?: string }).chosenProtocol = protocolHeader[1];
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn: Connection = {
        id: connectionId,
        ws,
        connectedAt,
        lastActiveAt: connectedAt,
        sourceIp,
        userAgent,
        idleTimer: undefined,
        lifetimeTimer: setTimeout(() => ws.close(1001, 'Going away'), lifetimeMs),
      };
      conn.lifetimeTimer.unref();
      connections.set(connectionId, conn);
      touch(conn);
      ws.on('message', (data: Buffer, isBinary: boolean) => void onMessage(conn, data, isBinary));
      ws.on('close', (code: number, reason: Buffer) => void onClose(conn, code, reason));
      ws.on('error', (error: Error & { code?: string }) => {
        conn.closedWith = error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 1009 : 1002;
      });
    });
  };

  const management = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}`);
    const match = /^\/([^/]+)\/@connections\/([^/]+)$/.exec(url.pathname);
    if (!match || match[1] !== stage) {
      sendJson(res, 403, { message: 'Forbidden' }, { 'x-amzn-errortype': 'ForbiddenException' });
      return;
    }
    const id = decodeURIComponent(match[2]!);
    const gone = () =>
      sendJson(res, 410, {}, { 'x-amzn-errortype': 'GoneException', 'x-amzn-requestid': randomUUID() });
    const conn = connections.get(id);
    if (req.method === 'POST') {
      let data: Buffer;
      try {
        data = await readBody(req, MAX_MESSAGE_BYTES);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          sendJson(
            res,
            413,
            { message: `Message too long. Max message size is ${MAX_MESSAGE_BYTES} bytes` },
            { 'x-amzn-errortype': 'PayloadTooLargeException' },
          );
          return;
        }
        throw error;
      }
      if (!conn || conn.ws.readyState !== WebSocket.OPEN) {
        gone();
        return;
      }
      conn.ws.send(data, { binary: !isUtf8(data) });
      res.writeHead(200, { 'content-length': '0', 'x-amzn-requestid': randomUUID() }).end();
      return;
    }
    req.resume();
    if (!conn || conn.ws.readyState !== WebSocket.OPEN) {
      gone();
      return;
    }
    if (req.method === 'GET') {
      sendJson(res, 200, {
        connectedAt: new Date(conn.connectedAt).toISOString(),
        identity: { sourceIp: conn.sourceIp, ...(conn.userAgent ? { userAgent: conn.userAgent } : {}) },
        lastActiveAt: new Date(conn.lastActiveAt).toISOString(),
      });
      return;
    }
    if (req.method === 'DELETE') {
      conn.ws.close(1000, 'Connection deleted');
      res.writeHead(204, { 'x-amzn-requestid': randomUUID() }).end();
      return;
    }
    sendJson(res, 403, { message: 'Forbidden' }, { 'x-amzn-errortype': 'ForbiddenException' });
  };

  const server = createServer((req, res) => {
    management(req, res).catch((error: Error) => {
      options.onError?.(error);
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal server error' });
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    onUpgrade(req, socket, head).catch((error: Error) => {
      options.onError?.(error);
      socket.destroy();
    });
  });
  const port = await listenOnLoopback(server, options.port ?? 0, 'WebSocket API');
  domainName = `${LOOPBACK}:${port}`;
  return {
    port,
    stage,
    url: `ws://${LOOPBACK}:${port}/${stage}`,
    managementEndpoint: `http://${LOOPBACK}:${port}/${stage}`,
    connectionIds: () => [...connections.keys()],
    describe: () => ({
      routes: ['$connect', '$disconnect', '$default', ...routeKeys].sort(),
      throttle: options.defaultThrottle,
      routeThrottles: { ...options.routeThrottles },
    }),
    async stop() {
      stopping = true;
      for (const conn of connections.values()) conn.ws.terminate();
      connections.clear();
      wss.close();
      await closeServer(server);
    },
  };
}
