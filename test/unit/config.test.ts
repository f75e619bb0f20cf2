import { describe, expect, it } from 'vitest';
import { parseRouterConfig, RouterConfigError, type RouterConfigInput } from '../../core/config';
import exampleConfig from '../../router.config';
import { allKindsConfig } from '../support/configs';

const base = (): RouterConfigInput => structuredClone(exampleConfig);

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    parseRouterConfig(input);
  } catch (error) {
    if (error instanceof RouterConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

describe('router config', () => {
  it('accepts the example config and fills defaults', () => {
    const config = parseRouterConfig(exampleConfig);
    expect(config.sources[0]?.name).toBe('github');
    expect(config.targets[0]?.retry).toEqual({
      maxAttempts: 5,
      policy: 'exponential',
      initialDelaySeconds: 5,
      maxDelaySeconds: 900,
      retryOn: ['408', '409', '425', '429', '5xx'],
    });
    expect(config.sources[0]?.bodyHashDedupeSeconds).toBe(300);
    expect(config.targets[0]?.timeoutSeconds).toBe(10);
    expect(config.retentionDays).toBe(30);
    expect(config.liveStream.enabled).toBe(true);
  });

  it.each<[string, (c: RouterConfigInput & Record<string, any>) => void, string, RegExp]>([
    ['no sources', (c) => (c.sources = []), 'sources', /at least one source/],
    [
      'connection TTL below the keepalive margin',
      (c) => (c.liveStream = { connectionTtlSeconds: 300 }),
      'liveStream.connectionTtlSeconds',
      /600/,
    ],
    ['bad source name', (c) => (c.sources[0]!.name = 'GitHub!'), 'sources[0].name', /lower-case letters/],
    ['unknown provider', (c) => ((c.sources[0] as any).provider = 'gitlab'), 'sources[0].provider', /github/],
    [
      'body limit above Lambda ceiling',
      (c) => {
        c.sources[0]!.maxBodyBytes = 7_000_000;
      },
      'sources[0].maxBodyBytes',
      /4194304/,
    ],
    [
      'generic without scheme',
      (c) => ((c.sources[0] as any).provider = 'generic'),
      'sources[0].generic',
      /required/,
    ],
    [
      'target URL not http',
      (c) => ((c.targets![0] as { url: string }).url = 'ftp://x.example'),
      'targets[0].url',
      /http/,
    ],
    ['batch size over 100', (c) => (c.targets![0]!.batchSize = 101), 'targets[0].batchSize', /100/],
    ['concurrency below 2', (c) => (c.targets![0]!.concurrency = 1), 'targets[0].concurrency', /2/],
    [
      'zero attempts',
      (c) => {
        c.targets![0]!.retry = { maxAttempts: 0 };
      },
      'targets[0].retry.maxAttempts',
      /1/,
    ],
    [
      'initial delay above max',
      (c) => {
        c.targets![0]!.retry = { initialDelaySeconds: 100, maxDelaySeconds: 10 };
      },
      'targets[0].retry.initialDelaySeconds',
      /must not exceed/,
    ],
    [
      'a retry schedule longer than the DLQ can cover',
      (c) => {
        c.targets![0]!.retry = { maxAttempts: 40, initialDelaySeconds: 60, maxDelaySeconds: 40_000 };
      },
      'targets[0].retry.maxAttempts',
      /40 attempts with this backoff take up to \d+\.\d days; a schedule may take at most 7\.0 days/,
    ],
    [
      'a delay beyond SQS 12-hour visibility limit',
      (c) => {
        c.targets![0]!.retry = { maxDelaySeconds: 43_200 };
      },
      'targets[0].retry.maxDelaySeconds',
      /may not end more than 12 h \(43200 s\) after the receive/,
    ],
    [
      'a status to retry that is not one',
      (c) => {
        c.targets![0]!.retry = { retryOn: ['teapot'] };
      },
      'targets[0].retry.retryOn[0]',
      /HTTP status/,
    ],
    [
      'a body-hash dedupe window above a day',
      (c) => {
        c.sources[0]!.bodyHashDedupeSeconds = 90_000;
      },
      'sources[0].bodyHashDedupeSeconds',
      /86400/,
    ],
    [
      'a delivery log kept longer than events',
      (c) => {
        c.deliveryLogDays = 60;
      },
      'deliveryLogDays',
      /at most retentionDays/,
    ],
    [
      'a public URL with a query',
      (c) => {
        c.sources[0]!.publicUrl = 'https://hooks.example.com/router?x=1';
      },
      'sources[0].publicUrl',
      /without query/,
    ],
    [
      'no backoff at all',
      (c) => {
        c.targets![0]!.retry = { initialDelaySeconds: 0 };
      },
      'targets[0].retry.initialDelaySeconds',
      /1/,
    ],
    [
      'a filter longer than EventBridge allows',
      (c) => {
        c.targets![0]!.filter = { source: Array.from({ length: 200 }, (_, i) => `webhook.source-${i}`) };
      },
      'targets[0].filter',
      /event pattern is \d+ characters; EventBridge allows 2048/,
    ],
    [
      'duplicate target',
      (c) => c.targets!.push({ ...c.targets![0]! }),
      'targets[1].name',
      /duplicate name "pr-agent"/,
    ],
    [
      'retention below dedupe window',
      (c) => {
        c.retentionDays = 3;
        c.dedupeDays = 7;
      },
      'retentionDays',
      /dedupeDays/,
    ],
    [
      'filter that is not an EventBridge pattern',
      (c) => {
        c.targets![0]!.filter = { source: 'webhook.github' };
      },
      'targets[0].filter',
      /invalid event pattern/,
    ],
  ])('rejects %s, naming the field and the reason', (_name, mutate, path, reason) => {
    const config = base();
    mutate(config as never);
    const issues = issuesOf(config);
    const issue = issues.find((i) => i.path === path);
    expect(issue, JSON.stringify(issues)).toBeDefined();
    expect(issue?.message).toMatch(reason);
  });

  it('reports every problem at once in a readable message', () => {
    const config = base() as any;
    config.sources[0].name = 'X';
    config.targets[0].batchSize = 0;
    expect(() => parseRouterConfig(config)).toThrowError(
      /Invalid router config:\n {2}- sources\[0\]\.name: .*\n {2}- targets\[0\]\.batchSize: /,
    );
  });
});

describe('target kinds', () => {
  const withTarget = (target: Record<string, unknown>) => ({
    ...structuredClone(exampleConfig),
    targets: [{ name: 't', filter: { source: ['webhook.github'] }, ...target }],
  });

  it('accepts one target of every kind and fills their defaults', () => {
    const config = parseRouterConfig(allKindsConfig);
    expect(config.targets.map((t) => t.kind)).toEqual(['http', 'sqs', 'lambda', 'eventbridge']);
    const http = config.targets[0]!;
    expect(http.kind === 'http' && [http.allowInsecure, http.allowPrivateNetwork]).toEqual([false, false]);
    const fn = config.targets[2]!;
    expect(fn.kind === 'lambda' && fn.invocationType).toBe('RequestResponse');
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['an SQS target without a queue', { kind: 'sqs' }, 'targets[0].queueArn', /expected string/],
    [
      'an SQS target with a bus ARN',
      { kind: 'sqs', queueArn: 'arn:aws:events:eu-west-1:111111111111:event-bus/x' },
      'targets[0].queueArn',
      /must be the ARN of an SQS queue/,
    ],
    [
      'a Lambda target with a function name instead of an ARN',
      { kind: 'lambda', functionArn: 'triage' },
      'targets[0].functionArn',
      /must be the ARN of a Lambda function/,
    ],
    [
      'an EventBridge target with a malformed account',
      { kind: 'eventbridge', eventBusArn: 'arn:aws:events:us-east-1:1234:event-bus/partner' },
      'targets[0].eventBusArn',
      /must be the ARN of an EventBridge event bus/,
    ],
    ['an unknown kind', { kind: 'kafka' }, 'targets[0].kind', /http|expected/],
    [
      'an HTTP target on instance metadata',
      { kind: 'http', url: 'https://169.254.169.254/latest/meta-data/' },
      'targets[0].url',
      /169\.254\.169\.254 is a link-local address \(instance metadata\); set allowPrivateNetwork to allow it/,
    ],
    [
      'an HTTP target on a private address in decimal form',
      { kind: 'http', url: 'https://167772161/hook' },
      'targets[0].url',
      /10\.0\.0\.1 is a private address/,
    ],
    [
      'an HTTP target over http without allowInsecure',
      { kind: 'http', url: 'http://agent.example.com/hook' },
      'targets[0].url',
      /allowInsecure/,
    ],
    [
      'an HTTP target on localhost',
      { kind: 'http', url: 'https://localhost:8443/hook', allowInsecure: true },
      'targets[0].url',
      /localhost.*allowPrivateNetwork/,
    ],
    [
      'an HTTP header the router sets',
      { kind: 'http', url: 'https://agent.example.com/hook', headers: { 'Webhook-Signature': 'x' } },
      'targets[0].headers.Webhook-Signature',
      /set by the router/,
    ],
    [
      'a transform that does not compile',
      { kind: 'http', url: 'https://agent.example.com/hook', transform: '{ "a": }' },
      'targets[0].transform',
      /transform: .* at position \d+/,
    ],
  ])('rejects %s', (_name, target, path, message) => {
    const issues = issuesOf(withTarget(target));
    expect(issues.map((i) => i.path)).toContain(path);
    expect(issues.find((i) => i.path === path)?.message).toMatch(message);
  });

  it('allows http and private addresses only when the target says so', () => {
    const config = parseRouterConfig(
      withTarget({
        kind: 'http',
        url: 'http://10.0.0.5:8080/hook',
        allowInsecure: true,
        allowPrivateNetwork: true,
        headers: { Authorization: 'Bearer x', 'X-Team': 'payments' },
        transform: '{ "text": type & " in " & subject }',
      }),
    );
    expect(config.targets[0]).toMatchObject({ url: 'http://10.0.0.5:8080/hook', allowPrivateNetwork: true });
  });
});

describe('liveStream.oidc', () => {
  const withOidc = (oidc: Record<string, unknown>) => ({
    ...structuredClone(exampleConfig),
    liveStream: { oidc: { issuer: 'https://login.example.com/', audience: 'event-router', ...oidc } },
  });

  it('is optional, and fills its defaults when given', () => {
    expect(parseRouterConfig(exampleConfig).liveStream.oidc).toBeUndefined();
    expect(parseRouterConfig(withOidc({})).liveStream.oidc).toEqual({
      issuer: 'https://login.example.com/',
      audience: 'event-router',
      patternsClaim: 'event_router_patterns',
      nameClaim: 'sub',
      maxConnections: 10,
      algorithms: ['RS256', 'ES256'],
      clockToleranceSeconds: 30,
    });
  });

  it('accepts a list of audiences, a JWKS URI, default patterns, and http:// on a loopback address (the local stack)', () => {
    const oidc = parseRouterConfig(
      withOidc({
        issuer: 'http://127.0.0.1:8080/realms/dev',
        audience: ['a', 'b'],
        jwksUri: 'http://localhost:8080/certs',
        defaultPatterns: [{ 'detail-type': [{ prefix: 'pull_request.' }] }],
        algorithms: ['ES384', 'EdDSA'],
      }),
    ).liveStream.oidc;
    expect(oidc).toMatchObject({ audience: ['a', 'b'], algorithms: ['ES384', 'EdDSA'] });
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['no issuer', { issuer: undefined }, 'liveStream.oidc.issuer', /expected string/],
    [
      'an http issuer',
      { issuer: 'http://login.example.com' },
      'liveStream.oidc.issuer',
      /must be an https URL/,
    ],
    [
      'an issuer that is not a URL',
      { issuer: 'login.example.com' },
      'liveStream.oidc.issuer',
      /must be a URL/,
    ],
    [
      'an issuer with a query',
      { issuer: 'https://login.example.com/?tenant=1' },
      'liveStream.oidc.issuer',
      /no query or fragment/,
    ],
    [
      'no audience',
      { audience: undefined },
      'liveStream.oidc.audience',
      /a string, or a list of 1-20 strings/,
    ],
    ['an empty audience list', { audience: [] }, 'liveStream.oidc.audience', />=1 items/],
    [
      'an http JWKS URI off the machine',
      { jwksUri: 'http://keys.example.com/jwks' },
      'liveStream.oidc.jwksUri',
      /https/,
    ],
    [
      'a default pattern that is not a valid subscription',
      { defaultPatterns: [{ source: ['webhook.github'] }, { source: 'webhook.github' }] },
      'liveStream.oidc.defaultPatterns[1]',
      /invalid pattern: source/,
    ],
    [
      'an empty list of default patterns',
      { defaultPatterns: [] },
      'liveStream.oidc.defaultPatterns',
      /leave it out to refuse tokens without the claim/,
    ],
    [
      'more default patterns than a key may have',
      { defaultPatterns: Array.from({ length: 11 }, (_, i) => ({ source: [`s${i}`] })) },
      'liveStream.oidc.defaultPatterns',
      /10/,
    ],
    ['an HMAC algorithm', { algorithms: ['HS256'] }, 'liveStream.oidc.algorithms[0]', /RS256/],
    ['alg none', { algorithms: ['none'] }, 'liveStream.oidc.algorithms[0]', /RS256/],
    [
      'more connections than a key may hold',
      { maxConnections: 101 },
      'liveStream.oidc.maxConnections',
      /100/,
    ],
    [
      'a clock tolerance above 5 minutes',
      { clockToleranceSeconds: 600 },
      'liveStream.oidc.clockToleranceSeconds',
      /300/,
    ],
    ['a misspelt setting', { audiences: ['x'] }, 'liveStream.oidc', /audiences/],
  ])('rejects %s, naming the field and the reason', (_name, oidc, path, reason) => {
    const issues = issuesOf(withOidc(oidc));
    const issue = issues.find((i) => i.path === path);
    expect(issue, JSON.stringify(issues)).toBeDefined();
    expect(issue?.message).toMatch(reason);
  });
});
