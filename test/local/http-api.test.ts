import { request } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalHttpApi, startLocalHttpApi } from '../../local/services/http-api';

let api: LocalHttpApi;
const events: APIGatewayProxyEventV2[] = [];
let nextResult: unknown = {
  statusCode: 202,
  headers: { 'Content-Type': 'application/json' },
  body: '{"id":"x"}',
};

beforeAll(async () => {
  api = await startLocalHttpApi({
    function: {
      async invoke(event) {
        events.push(event);
        if (nextResult instanceof Error) throw nextResult;
        return nextResult;
      },
    },
    throttle: (_route, params) => (params.source === 'limited' ? { rateLimit: 1, burstLimit: 2 } : undefined),
  });
});
afterAll(async () => {
  await api.stop();
});

/** Raw request so duplicate headers and cookies reach the server exactly as written. */
function send(
  method: string,
  path: string,
  headers: [string, string][],
  body?: Buffer,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const flat: string[] = ['host', new URL(api.url).host, ...headers.flat()];
    if (body) flat.push('content-length', String(body.length));
    const req = request(`${api.url}${path}`, { method, headers: flat }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('local HTTP API (payload format 2.0)', () => {
  it('builds the API Gateway v2 event: raw body, lower-cased joined headers, cookies, query, path parameters', async () => {
    nextResult = {
      statusCode: 202,
      headers: { 'Content-Type': 'application/json' },
      cookies: ['a=1; Path=/'],
      body: '{"id":"x"}',
    };
    const body = Buffer.from('{"hello":"wörld"}');
    const res = await send(
      'POST',
      '/webhooks/github?x=1&x=2&y=%20z',
      [
        ['Content-Type', 'application/json'],
        ['X-Dup', 'one'],
        ['X-Dup', 'two'],
        ['Cookie', 'session=abc; theme=dark'],
        ['User-Agent', 'GitHub-Hookshot/abc'],
      ],
      body,
    );
    expect(res.status).toBe(202);
    expect(res.body.toString()).toBe('{"id":"x"}');
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/']);
    expect(res.headers['apigw-requestid']).toBeTruthy();
    const event = events.at(-1)!;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /webhooks/{source}',
      rawPath: '/webhooks/github',
      rawQueryString: 'x=1&x=2&y=%20z',
      cookies: ['session=abc', 'theme=dark'],
      queryStringParameters: { x: '1,2', y: ' z' },
      pathParameters: { source: 'github' },
      body: '{"hello":"wörld"}',
      isBase64Encoded: false,
      requestContext: {
        routeKey: 'POST /webhooks/{source}',
        stage: '$default',
        http: {
          method: 'POST',
          path: '/webhooks/github',
          sourceIp: '127.0.0.1',
          userAgent: 'GitHub-Hookshot/abc',
        },
      },
    });
    expect(event.headers['x-dup']).toBe('one,two');
    expect(event.headers['content-type']).toBe('application/json');
    expect(event.headers.cookie).toBeUndefined();
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(typeof event.requestContext.timeEpoch).toBe('number');
    expect(event.requestContext.requestId).toBeTruthy();
  });

  it('base64-encodes non-text bodies (form posts, binary) and maps base64 results back', async () => {
    nextResult = {
      statusCode: 200,
      isBase64Encoded: true,
      body: Buffer.from([0, 1, 2, 255]).toString('base64'),
    };
    const bytes = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    const res = await send('POST', '/webhooks/bin', [['content-type', 'application/octet-stream']], bytes);
    expect([...res.body]).toEqual([0, 1, 2, 255]);
    expect(events.at(-1)).toMatchObject({ isBase64Encoded: true, body: bytes.toString('base64') });
    nextResult = { statusCode: 200 };
    await send(
      'POST',
      '/webhooks/slack',
      [['content-type', 'application/x-www-form-urlencoded']],
      Buffer.from('a=1&b=2'),
    );
    expect(events.at(-1)).toMatchObject({
      isBase64Encoded: true,
      body: Buffer.from('a=1&b=2').toString('base64'),
    });
  });

  it('answers 404 for other paths, 405 for another method, 500 when the function fails, 200 on /health', async () => {
    expect((await send('POST', '/nope', [])).status).toBe(404);
    expect((await send('POST', '/webhooks/a/b', [])).status).toBe(404);
    const wrong = await send('GET', '/webhooks/github', []);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
    nextResult = new Error('handler crashed');
    const failed = await send(
      'POST',
      '/webhooks/github',
      [['content-type', 'application/json']],
      Buffer.from('{}'),
    );
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body.toString())).toEqual({ message: 'Internal Server Error' });
    expect((await send('GET', '/health', [])).status).toBe(200);
  });

  it('infers a 200 JSON response from a result without statusCode', async () => {
    nextResult = { ok: true };
    const res = await send('POST', '/webhooks/x', [['content-type', 'application/json']], Buffer.from('{}'));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ ok: true });
  });

  it('rejects bodies over 10 MB with 413 without invoking the function', async () => {
    const before = events.length;
    const res = await send(
      'POST',
      '/webhooks/github',
      [['content-type', 'application/json']],
      Buffer.alloc(10 * 1024 * 1024 + 1, 32),
    );
    expect(res.status).toBe(413);
    expect(events.length).toBe(before);
  });

  it('throttles a route with 429 beyond its burst', async () => {
    nextResult = { statusCode: 202 };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await send('POST', '/webhooks/limited', [], Buffer.from('x'))).status);
    expect(statuses.slice(0, 2)).toEqual([202, 202]);
    expect(statuses).toContain(429);
  });
});
