import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { sourceNameOf, toIngestRequest } from '../../lambdas/ingest/request';

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

describe('toIngestRequest', () => {
  it('takes the source from the path on a per-source route (no path parameter on AWS)', () => {
    expect(toIngestRequest(event({}), new Map()).sourceName).toBe('github');
  });

  it('takes the source from the path parameter on the catch-all route', () => {
    const e = event({
      routeKey: 'ANY /webhooks/{source}',
      pathParameters: { source: 'stripe' },
      rawPath: '/webhooks/stripe',
    });
    expect(toIngestRequest(e, new Map()).sourceName).toBe('stripe');
  });

  it('never throws on malformed escapes in the path', () => {
    expect(sourceNameOf({ rawPath: '/webhooks/%E0%A4%A', pathParameters: undefined })).toBe('%E0%A4%A');
    expect(sourceNameOf({ rawPath: '/webhooks/git%2Dhub', pathParameters: undefined })).toBe('git-hub');
  });

  it('appends the query to a configured public URL that already has one', () => {
    const sources = new Map([
      [
        'github',
        {
          name: 'github',
          eventSource: 'webhook.github',
          config: { publicUrl: 'https://hooks.example/in?tenant=a' },
        } as never,
      ],
    ]);
    expect(toIngestRequest(event({ rawQueryString: 'x=1' }), sources).url).toBe(
      'https://hooks.example/in?tenant=a&x=1',
    );
  });

  it('decodes base64 bodies to the exact bytes and rebuilds the public URL', () => {
    const bytes = Buffer.from([0xff, 0x00, 0x7b]);
    const request = toIngestRequest(
      event({ body: bytes.toString('base64'), isBase64Encoded: true, rawQueryString: 'x=1' }),
      new Map(),
    );
    expect(request.body.equals(bytes)).toBe(true);
    expect(request.url).toBe('https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/github?x=1');
  });
});
