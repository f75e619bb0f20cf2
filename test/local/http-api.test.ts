import { request } from 'node:http';
import {
  ApiGatewayV2Client,
  CreateRouteCommand,
  DeleteRouteCommand,
  DeleteRouteSettingsCommand,
  GetRoutesCommand,
  UpdateStageCommand,
} from '@aws-sdk/client-apigatewayv2';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_REGION, localCredentials } from '../../local/services/aws-env';
import { LOCAL_HTTP_API_ID, type LocalHttpApi, startLocalHttpApi } from '../../local/services/http-api';

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
    routes: ['$default', 'POST /webhooks/{source}', 'POST /limited'],
  });
  const control = new ApiGatewayV2Client({
    endpoint: api.controlEndpoint,
    region: LOCAL_REGION,
    credentials: localCredentials,
  });
  await control.send(
    new UpdateStageCommand({
      ApiId: LOCAL_HTTP_API_ID,
      StageName: '$default',
      RouteSettings: { 'POST /limited': { ThrottlingRateLimit: 1, ThrottlingBurstLimit: 2 } },
    }),
  );
  control.destroy();
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

  it('sends what matches no route to $default, and answers 500 when the function fails', async () => {
    nextResult = { statusCode: 404, body: 'not here' };
    for (const [method, path] of [
      ['POST', '/nope'],
      ['POST', '/webhooks/a/b'],
      ['GET', '/webhooks/github'],
    ] as const) {
      expect((await send(method, path, [])).status).toBe(404);
      expect(events.at(-1)).toMatchObject({
        routeKey: '$default',
        rawPath: path,
        requestContext: { routeKey: '$default' },
      });
    }
    nextResult = new Error('handler crashed');
    const failed = await send(
      'POST',
      '/webhooks/github',
      [['content-type', 'application/json']],
      Buffer.from('{}'),
    );
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body.toString())).toEqual({ message: 'Internal Server Error' });
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

  it('throttles a route by its route settings before invoking, with 429 and no Retry-After (as HTTP API)', async () => {
    nextResult = { statusCode: 202 };
    const before = events.length;
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await send('POST', '/limited', [], Buffer.from('x')));
    expect(answers.slice(0, 2).map((r) => r.status)).toEqual([202, 202]);
    const throttled = answers.filter((r) => r.status === 429);
    expect(throttled.length).toBeGreaterThanOrEqual(1);
    expect(events.length - before).toBe(4 - throttled.length);
    expect(JSON.parse(throttled[0]!.body.toString())).toEqual({ message: 'Too Many Requests' });
    for (const r of answers) expect(r.headers['retry-after']).toBeUndefined();
  });

  it('passes a text-typed body that is not UTF-8 base64-encoded, byte for byte', async () => {
    nextResult = { statusCode: 200 };
    const bytes = Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
    for (const type of ['application/json', 'text/plain; charset=utf-8']) {
      await send('POST', '/webhooks/github', [['content-type', type]], bytes);
      const event = events.at(-1)!;
      expect(event.isBase64Encoded, type).toBe(true);
      expect(Buffer.from(event.body!, 'base64').equals(bytes), type).toBe(true);
    }
    // Valid UTF-8 (multi-byte included) stays text.
    await send('POST', '/webhooks/github', [['content-type', 'application/json']], Buffer.from('{"é":"😀"}'));
    expect(events.at(-1)).toMatchObject({ isBase64Encoded: false, body: '{"é":"😀"}' });
  });

  it("answers 413 (JSON) when the event exceeds Lambda's invoke limit, 500 for other invoke failures", async () => {
    nextResult = Object.assign(
      new Error('Request must be smaller than 6291456 bytes for the InvokeFunction operation'),
      {
        errorType: 'RequestEntityTooLargeException',
      },
    );
    const tooLarge = await send(
      'POST',
      '/webhooks/github',
      [['content-type', 'application/json']],
      Buffer.from('{}'),
    );
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers['content-type']).toBe('application/json');
    expect(JSON.parse(tooLarge.body.toString())).toEqual({ message: 'Request Entity Too Large' });
    expect(tooLarge.headers['apigw-requestid']).toBeTruthy();
    // The SDK's spelling of the same refusal.
    nextResult = Object.assign(new Error('too large'), { name: 'RequestEntityTooLargeException' });
    expect((await send('POST', '/webhooks/github', [], Buffer.from('{}'))).status).toBe(413);
    nextResult = Object.assign(new Error('boom'), { errorType: 'Runtime.ExitError' });
    expect((await send('POST', '/webhooks/github', [], Buffer.from('{}'))).status).toBe(500);
  });

  it('keeps header and query names such as __proto__, constructor and toString as plain keys', async () => {
    nextResult = { statusCode: 204 };
    await send(
      'POST',
      '/webhooks/github?__proto__=p&constructor=c&toString=t&hasOwnProperty=h&constructor=d',
      [
        ['__proto__', 'polluted'],
        ['Constructor', 'one'],
        ['toString', 'two'],
        ['valueOf', 'three'],
        ['constructor', 'four'],
      ],
      Buffer.from('{}'),
    );
    const event = events.at(-1)!;
    expect(Object.getPrototypeOf(event.headers)).toBe(Object.prototype);
    expect(Object.hasOwn(event.headers, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(event.headers, '__proto__')?.value).toBe('polluted');
    expect(event.headers.constructor).toBe('one,four');
    expect(event.headers.tostring).toBe('two');
    expect(event.headers.valueof).toBe('three');
    const query = event.queryStringParameters!;
    expect(Object.getPrototypeOf(query)).toBe(Object.prototype);
    expect(Object.hasOwn(query, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(query, '__proto__')?.value).toBe('p');
    expect(query.constructor).toBe('c,d');
    expect(query.toString).toBe('t');
    expect(query.hasOwnProperty).toBe('h');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('local HTTP API control endpoint (API Gateway v2 operations, real SDK client)', () => {
  it('creates, lists, throttles and deletes routes while the API runs', async () => {
    const throttled = await startLocalHttpApi({
      function: { invoke: async () => ({ statusCode: 202 }) },
      routes: ['$default'],
      defaultThrottle: { rateLimit: 1000, burstLimit: 1000 },
    });
    const control = new ApiGatewayV2Client({
      endpoint: throttled.controlEndpoint,
      region: LOCAL_REGION,
      credentials: localCredentials,
    });
    try {
      const created = await control.send(
        new CreateRouteCommand({
          ApiId: LOCAL_HTTP_API_ID,
          RouteKey: 'POST /webhooks/a/tok',
          Target: 'integrations/x',
        }),
      );
      expect(created.RouteKey).toBe('POST /webhooks/a/tok');
      await control.send(
        new UpdateStageCommand({
          ApiId: LOCAL_HTTP_API_ID,
          StageName: '$default',
          RouteSettings: { 'POST /webhooks/a/tok': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 7 } },
        }),
      );
      expect(throttled.routeKeys()).toEqual(['$default', 'POST /webhooks/a/tok']);
      expect(throttled.throttleOf('POST /webhooks/a/tok')).toEqual({ rateLimit: 5, burstLimit: 7 });
      expect(throttled.throttleOf('$default')).toEqual({ rateLimit: 1000, burstLimit: 1000 });
      const listed = await control.send(new GetRoutesCommand({ ApiId: LOCAL_HTTP_API_ID }));
      expect(listed.Items?.map((r) => r.RouteKey).sort()).toEqual(['$default', 'POST /webhooks/a/tok']);
      await control.send(new DeleteRouteCommand({ ApiId: LOCAL_HTTP_API_ID, RouteId: created.RouteId! }));
      await control.send(
        new DeleteRouteSettingsCommand({
          ApiId: LOCAL_HTTP_API_ID,
          StageName: '$default',
          RouteKey: 'POST /webhooks/a/tok',
        }),
      );
      expect(throttled.routeKeys()).toEqual(['$default']);
      await expect(
        control.send(new DeleteRouteCommand({ ApiId: LOCAL_HTTP_API_ID, RouteId: created.RouteId! })),
      ).rejects.toMatchObject({ name: 'NotFoundException' });
    } finally {
      control.destroy();
      await throttled.stop();
    }
  });
});
