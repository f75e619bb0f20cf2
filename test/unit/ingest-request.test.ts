import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { CATCH_ALL_ROUTE, sourceNameOf, toIngestRequest, webhookPath } from '../../lambdas/ingest/request';

function event(overrides: Partial<APIGatewayProxyEventV2>): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/github',
    rawPath: '/webhooks/github',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
    requestContext: {
      accountId: '1',
      apiId: 'a',
      domainName: 'abc.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc',
      http: {
        method: 'POST',
        path: '/webhooks/github',
        protocol: 'HTTP/1.1',
        sourceIp: '1.2.3.4',
        userAgent: 'x',
      },
      requestId: 'r',
      routeKey: 'POST /webhooks/github',
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    body: '{"a":1}',
    isBase64Encoded: false,
    ...overrides,
  };
}

const TOKEN = 'Tok3nTok3nTok3nTok3nTok3nTok3n12';
const tokened = (path = `/webhooks/github/${TOKEN}`) => ({
  routeKey: `POST ${path}`,
  rawPath: path,
  requestContext: {
    ...event({}).requestContext,
    routeKey: `POST ${path}`,
    http: { ...event({}).requestContext.http, path },
  },
});

describe('toIngestRequest', () => {
  it("takes the source from the path and knows it came through the source's tokened route", () => {
    const request = toIngestRequest(event(tokened()), new Map());
    expect(request.sourceName).toBe('github');
    expect(request.viaSourceRoute).toBe(true);
  });

  it('marks a request that reached the catch-all: a wrong or missing token, another path or method', () => {
    for (const rawPath of ['/webhooks/github', '/webhooks/github/wrong', '/anything']) {
      const request = toIngestRequest(event({ routeKey: CATCH_ALL_ROUTE, rawPath }), new Map());
      expect(request.viaSourceRoute, rawPath).toBe(false);
    }
    expect(
      toIngestRequest(event({ routeKey: CATCH_ALL_ROUTE, rawPath: '/webhooks/stripe/x' }), new Map())
        .sourceName,
    ).toBe('stripe');
  });

  it('finds /webhooks/<source>/<token> whether or not rawPath starts with a custom domain base path', () => {
    expect(
      webhookPath({
        routeKey: `POST /webhooks/github/${TOKEN}`,
        rawPath: `/router/webhooks/github/${TOKEN}`,
      }),
    ).toBe(`/webhooks/github/${TOKEN}`);
    expect(webhookPath({ routeKey: CATCH_ALL_ROUTE, rawPath: '/router/webhooks/stripe/wrong' })).toBe(
      '/webhooks/stripe/wrong',
    );
    expect(webhookPath({ routeKey: CATCH_ALL_ROUTE, rawPath: '/webhooks/stripe' })).toBe('/webhooks/stripe');
    expect(
      toIngestRequest(event({ routeKey: CATCH_ALL_ROUTE, rawPath: '/api/v2/webhooks/linear/x' }), new Map())
        .sourceName,
    ).toBe('linear');
  });

  it('never throws on malformed escapes in the path', () => {
    expect(sourceNameOf('/webhooks/%E0%A4%A/x')).toBe('%E0%A4%A');
    expect(sourceNameOf('/webhooks/git%2Dhub/x')).toBe('git-hub');
  });

  it('rebuilds the public URL Twilio signed from a configured base URL (a custom domain with a base path)', () => {
    const sources = new Map([
      [
        'github',
        {
          name: 'github',
          eventSource: 'webhook.github',
          config: { publicUrl: 'https://hooks.example.com/router/' },
        } as never,
      ],
    ]);
    // API Gateway's rawPath omits the custom domain's base path (`/router`): the configured base puts it back.
    expect(toIngestRequest(event({ ...tokened(), rawQueryString: 'x=1' }), sources).url).toBe(
      `https://hooks.example.com/router/webhooks/github/${TOKEN}?x=1`,
    );
  });

  it('decodes base64 bodies to the exact bytes and rebuilds the public URL', () => {
    const bytes = Buffer.from([0xff, 0x00, 0x7b]);
    const request = toIngestRequest(
      event({ ...tokened(), body: bytes.toString('base64'), isBase64Encoded: true, rawQueryString: 'x=1' }),
      new Map(),
    );
    expect(request.body.equals(bytes)).toBe(true);
    expect(request.url).toBe(`https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/github/${TOKEN}?x=1`);
  });
});
