import { describe, expect, it } from 'vitest';
import { parseRouterConfig, RouterConfigError, type RouterConfigInput } from '../../core/config';
import exampleConfig from '../../router.config';

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
    ['target URL not http', (c) => (c.targets![0]!.url = 'ftp://x.example'), 'targets[0].url', /http/],
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
