/**
 * API Gateway HTTP API (payload format 2.0), locally: routes such as `POST /webhooks/{source}` invoke a function
 * with the event HTTP API builds — raw body (base64 + `isBase64Encoded` for non-text content types), lower-cased
 * headers with duplicates joined by ",", `cookies`, `rawPath`, `rawQueryString`, `queryStringParameters`,
 * `pathParameters`, `requestContext` — and map the function's result back to HTTP. Bodies over 10 MB → 413
 * (API Gateway's payload limit); an event over Lambda's 6 MB invoke limit → 413 too (see invokeTooLarge).
 *
 * Routes are matched as API Gateway does: the most specific route key wins, a method beats ANY, and `$default`
 * takes whatever matched nothing (without it: 404 `{"message":"Not Found"}`, as HTTP API answers). Each route is
 * throttled by its route settings, else by the stage default — before the function runs, as on AWS — and a
 * throttled request gets 429 `{"message":"Too Many Requests"}` without `Retry-After` (HTTP API sends none).
 *
 * Routes can change while the API runs: `control` serves the API Gateway v2 operations the routes function calls
 * (GetRoutes, CreateRoute, DeleteRoute, UpdateStage route settings, DeleteRouteSettings) on its own port, the
 * endpoint for `AWS_ENDPOINT_URL_APIGATEWAYV2`.
 */
import { isUtf8 } from 'node:buffer';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { BodyTooLargeError, closeServer, LOOPBACK, listenOnLoopback, readBody, sendJson } from '../net';
import {
  apiGatewayId,
  apiGatewayTime,
  type ThrottleSettings,
  TokenBucket,
  traceId,
} from './apigateway-common';
import { LOCAL_ACCOUNT } from './aws-env';
import { type Credentials, SIGV4_MESSAGES, verifyRequest } from './sigv4';

/** A request's headers, lower-cased, repeated ones joined by "," (as SigV4 canonicalises them). */
function lowerCaseHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = Object.create(null);
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return headers;
}

/** API Gateway's request payload limit. */
export const MAX_HTTP_API_BODY_BYTES = 10 * 1024 * 1024;

export interface HttpInvoker {
  invoke(event: APIGatewayProxyEventV2): Promise<unknown>;
}

export type { ThrottleSettings };

/** A route with its own integration and authorization (the management API's routes). */
export interface LocalRouteSpec {
  readonly routeKey: string;
  /** The function it invokes, by name. @default the API's `function` */
  readonly integration?: { readonly name: string; readonly invoker: HttpInvoker };
  /** `AWS_IAM`: the request must be SigV4-signed with one of `iam.credentials` (see ./sigv4.ts). @default 'NONE' */
  readonly authorization?: 'NONE' | 'AWS_IAM';
}

export interface LocalHttpApiOptions {
  /** The integration of routes that name none (the routes function's, `$default`). */
  readonly function: HttpInvoker;
  /** Name of `function`, as `describeRoutes` reports it. @default 'ingest' */
  readonly functionName?: string;
  /** Routes at start, e.g. `$default`, `POST /webhooks/{source}`, `ANY /v1/{proxy+}`. @default ['$default'] */
  readonly routes?: readonly (string | LocalRouteSpec)[];
  /** The identities `AWS_IAM` routes accept, and the region they must be signed for. */
  readonly iam?: { readonly credentials: readonly Credentials[]; readonly region: string };
  /** Throttle of routes without route settings (the stage default); undefined = unthrottled. */
  readonly defaultThrottle?: ThrottleSettings;
  /** @default 0 (random) */
  readonly port?: number;
  /** @default 10 MB */
  readonly maxBodyBytes?: number;
  /**
   * Called after each request (for logs and the local metrics), with the route key it matched (none when no route
   * did).
   */
  readonly onRequest?: (info: {
    method: string;
    path: string;
    routeKey: string | undefined;
    status: number;
    ms: number;
  }) => void;
  readonly onError?: (error: Error) => void;
}

export interface LocalHttpApi {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** API Gateway v2 control endpoint (routes and route settings of this API, id `localhttp`, stage `$default`). */
  readonly controlEndpoint: string;
  /** Route keys now, sorted. */
  routeKeys(): string[];
  /** Throttle of a route now (its route settings, else the stage default). */
  throttleOf(routeKey: string): ThrottleSettings | undefined;
  /** Every route now: its integration's function and its authorization. */
  describeRoutes(): { routeKey: string; function: string; authorization: 'NONE' | 'AWS_IAM' }[];
  stop(): Promise<void>;
}

/** The local HTTP API's id, as in `requestContext.apiId` and the control endpoint's paths. */
export const LOCAL_HTTP_API_ID = 'localhttp';

interface Route {
  readonly routeKey: string;
  readonly integration?: { readonly name: string; readonly invoker: HttpInvoker };
  readonly authorization?: 'NONE' | 'AWS_IAM';
  readonly method: string;
  readonly segments: readonly string[];
  readonly literalCount: number;
}

const DEFAULT_ROUTE: Route = { routeKey: '$default', method: 'ANY', segments: [], literalCount: -1 };

function parseRoute(routeKey: string): Route {
  if (routeKey === '$default') return DEFAULT_ROUTE;
  const [method, path] = routeKey.split(' ');
  if (!method || !path?.startsWith('/')) throw new Error(`invalid route key "${routeKey}"`);
  const segments = path.split('/').slice(1);
  return {
    routeKey,
    method: method.toUpperCase(),
    segments,
    literalCount: segments.filter((s) => !s.startsWith('{')).length,
  };
}

function matchPath(route: Route, parts: readonly string[]): Record<string, string> | undefined {
  const last = route.segments[route.segments.length - 1];
  const greedy = last?.endsWith('+}') === true;
  if (greedy ? parts.length < route.segments.length : parts.length !== route.segments.length)
    return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const segment = route.segments[i]!;
    const part = parts[i]!;
    if (greedy && i === route.segments.length - 1) {
      params[segment.slice(1, -2)] = parts.slice(i).join('/');
      break;
    }
    if (segment.startsWith('{') && segment.endsWith('}')) {
      if (part === '') return undefined;
      let value = part;
      try {
        value = decodeURIComponent(part);
      } catch {
        // keep raw
      }
      params[segment.slice(1, -1)] = value;
    } else if (segment !== part) return undefined;
  }
  return params;
}

/** Content types HTTP API passes as text; every other body arrives base64-encoded. */
export function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    type === 'application/json' ||
    type.endsWith('+json') ||
    type === 'application/xml' ||
    type.endsWith('+xml') ||
    type === 'application/javascript' ||
    type === 'application/graphql'
  );
}

/** A fresh map without a prototype: header and parameter names such as `__proto__` or `constructor` are just keys. */
function emptyMap(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

/** The API Gateway v2 event for a request (exported for tests and for invoking the handler directly). */
export function toHttpApiEvent(
  req: IncomingMessage,
  body: Buffer,
  routeKey: string,
  pathParameters: Record<string, string> | undefined,
  domainName: string,
): APIGatewayProxyEventV2 {
  const rawUrl = req.url ?? '/';
  const queryIndex = rawUrl.indexOf('?');
  const rawPath = queryIndex >= 0 ? rawUrl.slice(0, queryIndex) : rawUrl;
  const rawQueryString = queryIndex >= 0 ? rawUrl.slice(queryIndex + 1) : '';
  // Null-prototype while merging (`headers[name] === undefined` must not see Object.prototype), plain in the event.
  const headers = emptyMap();
  const cookies: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter(Boolean),
      );
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const sourceIp = req.socket.remoteAddress ?? LOOPBACK;
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']},${sourceIp}`
    : sourceIp;
  headers['x-forwarded-port'] = String(req.socket.localPort ?? '');
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] ??= traceId();
  const query = emptyMap();
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    query[key] = query[key] === undefined ? value : `${query[key]},${value}`;
  }
  const now = Date.now();
  // Text content types arrive as a string — unless the bytes are not UTF-8: decoding would replace them with U+FFFD
  // and the function would see (and verify signatures over) other bytes, so such a body stays base64.
  const text = isTextContentType(headers['content-type']) && isUtf8(body);
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers: Object.fromEntries(Object.entries(headers)),
    ...(rawQueryString !== '' ? { queryStringParameters: Object.fromEntries(Object.entries(query)) } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT,
      apiId: LOCAL_HTTP_API_ID,
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method: req.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: apiGatewayId(),
      routeKey,
      stage: '$default',
      time: apiGatewayTime(now),
      timeEpoch: now,
    },
    ...(pathParameters && Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    ...(body.length > 0 ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !text,
  };
  return event;
}

/** Writes a Lambda result the way HTTP API (format 2.0) does. */
export function writeHttpApiResult(res: ServerResponse, result: unknown, requestId: string): number {
  const structured =
    result !== null &&
    typeof result === 'object' &&
    typeof (result as { statusCode?: unknown }).statusCode === 'number';
  if (!structured) {
    // Format 2.0 infers a 200 JSON response from anything without a statusCode.
    const text = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    res.writeHead(200, { 'content-type': 'application/json', 'apigw-requestid': requestId }).end(text);
    return 200;
  }
  const r = result as APIGatewayProxyStructuredResultV2 & { statusCode: number };
  const headers: Record<string, string | string[]> = { 'apigw-requestid': requestId };
  for (const [name, value] of Object.entries(r.headers ?? {})) headers[name.toLowerCase()] = String(value);
  if (r.cookies?.length) headers['set-cookie'] = r.cookies;
  const body =
    r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8');
  headers['content-length'] = String(body.length);
  res.writeHead(r.statusCode, headers).end(body);
  return r.statusCode;
}

/**
 * Lambda refused the invoke because the event exceeds its 6 MB synchronous payload limit (the function never ran):
 * `RequestEntityTooLargeException` from the local runtime or the SDK.
 */
export function invokeTooLarge(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { name, errorType } = error as { name?: unknown; errorType?: unknown };
  return name === 'RequestEntityTooLargeException' || errorType === 'RequestEntityTooLargeException';
}

export async function startLocalHttpApi(options: LocalHttpApiOptions): Promise<LocalHttpApi> {
  // Route table: route key → route id (the control endpoint's handle), and the route settings' throttles.
  const routes = new Map<string, { id: string; route: Route }>();
  const routeSettings = new Map<string, ThrottleSettings>();
  let nextRouteId = 1;
  const addRoute = (spec: string | LocalRouteSpec) => {
    const { routeKey, ...extra } = typeof spec === 'string' ? { routeKey: spec } : spec;
    const existing = routes.get(routeKey);
    if (existing) return existing.id;
    const id = `r${(nextRouteId++).toString(36)}`;
    const parsed = parseRoute(routeKey);
    routes.set(routeKey, { id, route: parsed === DEFAULT_ROUTE ? DEFAULT_ROUTE : { ...parsed, ...extra } });
    return id;
  };
  for (const spec of options.routes ?? ['$default']) addRoute(spec);
  // API Gateway: the most specific path wins; a method beats ANY; `$default` only when nothing else matched.
  const ordered = () =>
    [...routes.values()]
      .map((r) => r.route)
      .filter((r) => r !== DEFAULT_ROUTE && r.routeKey !== '$default')
      .sort(
        (a, b) =>
          b.literalCount - a.literalCount || (a.method === 'ANY' ? 1 : 0) - (b.method === 'ANY' ? 1 : 0),
      );
  const maxBody = options.maxBodyBytes ?? MAX_HTTP_API_BODY_BYTES;
  const buckets = new Map<string, TokenBucket>();
  const throttleOf = (routeKey: string) => routeSettings.get(routeKey) ?? options.defaultThrottle;
  let domainName = LOOPBACK;

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    matched: { routeKey?: string },
  ): Promise<number> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const rawPath = (req.url ?? '/').split('?')[0]!;
    const parts = rawPath.split('/').slice(1);
    let route: Route | undefined;
    let params: Record<string, string> | undefined;
    for (const candidate of ordered()) {
      const p = matchPath(candidate, parts);
      if (p && (candidate.method === method || candidate.method === 'ANY')) {
        route = candidate;
        params = p;
        break;
      }
    }
    if (!route && routes.has('$default')) {
      route = DEFAULT_ROUTE;
      params = {};
    }
    if (!route || !params) {
      req.resume();
      sendJson(res, 404, { message: 'Not Found' });
      return 404;
    }
    matched.routeKey = route.routeKey;
    const throttle = throttleOf(route.routeKey);
    if (throttle) {
      let bucket = buckets.get(route.routeKey);
      if (!bucket) {
        bucket = new TokenBucket(throttle);
        buckets.set(route.routeKey, bucket);
      }
      if (!bucket.take()) {
        req.resume();
        sendJson(res, 429, { message: 'Too Many Requests' });
        return 429;
      }
    }
    let body: Buffer;
    try {
      body = await readBody(req, maxBody);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        sendJson(res, 413, { message: 'Request Entity Too Large' });
        return 413;
      }
      throw error;
    }
    let caller: string | undefined;
    if (route.authorization === 'AWS_IAM') {
      // Checked before the function runs and after throttling, as API Gateway does.
      const verified = options.iam
        ? await verifyRequest(
            {
              method,
              url: new URL(req.url ?? '/', `http://${req.headers.host ?? domainName}`),
              headers: lowerCaseHeaders(req),
              body,
            },
            options.iam.credentials,
            options.iam.region,
          )
        : ({ ok: false, message: SIGV4_MESSAGES.missing } as const);
      if (!verified.ok) {
        sendJson(res, 403, { message: verified.message });
        return 403;
      }
      caller = verified.accessKeyId;
    }
    const event = toHttpApiEvent(req, body, route.routeKey, params, domainName);
    if (caller !== undefined) {
      // What HTTP API puts in the event for an IAM-authorized request.
      (event.requestContext as unknown as { authorizer: unknown }).authorizer = {
        iam: {
          accessKey: caller,
          accountId: LOCAL_ACCOUNT,
          callerId: caller,
          cognitoIdentity: null,
          principalOrgId: null,
          userArn: `arn:aws:iam::${LOCAL_ACCOUNT}:user/${caller}`,
          userId: caller,
        },
      };
    }
    let result: unknown;
    try {
      result = await (route.integration?.invoker ?? options.function).invoke(event);
    } catch (error) {
      if (invokeTooLarge(error)) {
        // The body is under the HTTP API's 10 MB but the event exceeds Lambda's 6 MB invoke limit. AWS documents no
        // status for this case (the function never runs); the README promises 413 for any body above a source's
        // maxBodyBytes (at most 4 MiB), and a client's oversized body must never look like a server fault.
        sendJson(
          res,
          413,
          { message: 'Request Entity Too Large' },
          { 'apigw-requestid': event.requestContext.requestId },
        );
        return 413;
      }
      options.onError?.(error as Error);
      sendJson(
        res,
        500,
        { message: 'Internal Server Error' },
        { 'apigw-requestid': event.requestContext.requestId },
      );
      return 500;
    }
    return writeHttpApiResult(res, result, event.requestContext.requestId);
  };

  const server = createServer((req, res) => {
    const started = Date.now();
    const matched: { routeKey?: string } = {};
    handle(req, res, matched)
      .then((status) =>
        options.onRequest?.({
          method: req.method ?? '',
          path: (req.url ?? '').split('?')[0] ?? '',
          routeKey: matched.routeKey,
          status,
          ms: Date.now() - started,
        }),
      )
      .catch((error: Error) => {
        options.onError?.(error);
        if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
      });
  });
  server.requestTimeout = 30_000;
  const port = await listenOnLoopback(server, options.port ?? 0, 'HTTP API');
  domainName = `${LOOPBACK}:${port}`;

  const control = createServer((req, res) => {
    controlRequest(req, res).catch((error: Error) => {
      if (!res.headersSent) sendJson(res, 500, { message: error.message });
    });
  });
  /** The API Gateway v2 REST-JSON operations the routes function uses, on this API only. */
  const controlRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}`);
    const method = req.method ?? 'GET';
    const raw = (await readBody(req, 1024 * 1024)).toString('utf8');
    const input = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const notFound = () =>
      sendJson(
        res,
        404,
        { message: 'Invalid API identifier specified' },
        { 'x-amzn-errortype': 'NotFoundException' },
      );
    const prefix = `/v2/apis/${LOCAL_HTTP_API_ID}`;
    if (!url.pathname.startsWith(prefix)) return notFound();
    const rest = url.pathname.slice(prefix.length);
    if (rest === '/routes' && method === 'GET') {
      const items = [...routes].map(([routeKey, r]) => ({
        routeId: r.id,
        routeKey,
        target: 'integrations/local',
      }));
      return sendJson(res, 200, { items });
    }
    if (rest === '/routes' && method === 'POST') {
      const routeKey = String(input.routeKey ?? '');
      try {
        parseRoute(routeKey);
      } catch {
        return sendJson(
          res,
          400,
          { message: `Invalid route key ${routeKey}` },
          { 'x-amzn-errortype': 'BadRequestException' },
        );
      }
      if (routes.has(routeKey))
        return sendJson(
          res,
          409,
          { message: 'Route already exists' },
          { 'x-amzn-errortype': 'ConflictException' },
        );
      const routeId = addRoute(routeKey);
      return sendJson(res, 201, { routeId, routeKey, target: input.target });
    }
    const routeMatch = /^\/routes\/([^/]+)$/.exec(rest);
    if (routeMatch && method === 'DELETE') {
      const entry = [...routes].find(([, r]) => r.id === decodeURIComponent(routeMatch[1]!));
      if (!entry)
        return sendJson(
          res,
          404,
          { message: 'Route not found' },
          { 'x-amzn-errortype': 'NotFoundException' },
        );
      routes.delete(entry[0]);
      buckets.delete(entry[0]);
      res.writeHead(204).end();
      return;
    }
    if (rest === '/stages/%24default' || rest === '/stages/$default') {
      if (method !== 'PATCH') return notFound();
      const settings = (input.routeSettings ?? {}) as Record<
        string,
        { throttlingRateLimit?: number; throttlingBurstLimit?: number }
      >;
      for (const [routeKey, s] of Object.entries(settings)) {
        if (s.throttlingRateLimit !== undefined && s.throttlingBurstLimit !== undefined) {
          routeSettings.set(routeKey, {
            rateLimit: s.throttlingRateLimit,
            burstLimit: s.throttlingBurstLimit,
          });
          buckets.delete(routeKey);
        }
      }
      return sendJson(res, 200, { stageName: '$default' });
    }
    const settingsMatch = /^\/stages\/(?:%24|\$)default\/routesettings\/(.+)$/.exec(rest);
    if (settingsMatch && method === 'DELETE') {
      const routeKey = decodeURIComponent(settingsMatch[1]!);
      if (!routeSettings.delete(routeKey))
        return sendJson(
          res,
          404,
          { message: 'Route settings not found' },
          { 'x-amzn-errortype': 'NotFoundException' },
        );
      buckets.delete(routeKey);
      res.writeHead(204).end();
      return;
    }
    return notFound();
  };
  const controlPort = await listenOnLoopback(control, 0, 'HTTP API control');

  return {
    port,
    url: `http://${LOOPBACK}:${port}`,
    controlEndpoint: `http://${LOOPBACK}:${controlPort}`,
    routeKeys: () => [...routes.keys()].sort(),
    throttleOf,
    describeRoutes: () =>
      [...routes.values()]
        .map(({ route }) => ({
          routeKey: route.routeKey,
          function: route.integration?.name ?? options.functionName ?? 'ingest',
          authorization: route.authorization ?? 'NONE',
        }))
        .sort((a, b) => (a.routeKey < b.routeKey ? -1 : a.routeKey > b.routeKey ? 1 : 0)),
    async stop() {
      await closeServer(control);
      await closeServer(server);
    },
  };
}
