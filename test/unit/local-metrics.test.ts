/** The local stack's CloudWatch stand-in: EMF lines read as CloudWatch reads them, Prometheus text out. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  HISTOGRAM_BUCKETS,
  LocalMetrics,
  type MetricsServer,
  serveMetrics,
  snake,
} from '../../local/metrics';

/** An EMF line as Powertools Metrics writes it. */
function emf(
  namespace: string,
  dimensions: string[][],
  metrics: { name: string; unit: string; value: number | number[] }[],
  fields: Record<string, string>,
  timestamp?: number,
): string {
  return JSON.stringify({
    _aws: {
      ...(timestamp === undefined ? {} : { Timestamp: timestamp }),
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: dimensions,
          Metrics: metrics.map((m) => ({ Name: m.name, Unit: m.unit })),
        },
      ],
    },
    ...fields,
    ...Object.fromEntries(metrics.map((m) => [m.name, m.value])),
  });
}

const clock = () => {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

/**
 * The Prometheus text exposition format 0.0.4, checked line by line: every family has exactly one HELP and one
 * TYPE line before its samples, families are not interleaved, names and labels are well formed, and a histogram's
 * buckets are cumulative and end with +Inf = _count.
 */
function checkExposition(text: string): Map<string, { type: string; samples: string[] }> {
  expect(text.endsWith('\n')).toBe(true);
  const families = new Map<string, { type: string; help: boolean; samples: string[] }>();
  let current: string | undefined;
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
  const SAMPLE = new RegExp(`^(${NAME})(\\{${LABEL}(?:,${LABEL})*\\})? (-?[0-9.e+-]+|\\+Inf|-Inf|NaN)$`);
  for (const line of text.slice(0, -1).split('\n')) {
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (help) {
      expect(families.has(help[1]!), `${help[1]} HELP twice or after its samples`).toBe(false);
      families.set(help[1]!, { type: '', help: true, samples: [] });
      current = help[1];
    } else if (type) {
      expect(type[1]).toBe(current);
      families.get(current!)!.type = type[2]!;
    } else {
      const sample = SAMPLE.exec(line);
      expect(sample, `not a sample line: ${line}`).not.toBeNull();
      const name = sample![1]!;
      const family = families.get(current!)!;
      expect(family.type).not.toBe('');
      const allowed =
        family.type === 'histogram' ? [`${current}_bucket`, `${current}_sum`, `${current}_count`] : [current];
      expect(allowed, `${name} outside its family ${current}`).toContain(name);
      family.samples.push(line);
    }
  }
  for (const [name, family] of families) {
    if (family.type !== 'histogram') continue;
    const buckets = family.samples.filter((s) => s.startsWith(`${name}_bucket`));
    const counts = buckets.map((b) => Number(b.split(' ').at(-1)));
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]!);
    expect(buckets.at(-1)).toContain('le="+Inf"');
    const count = family.samples.find((s) => s.startsWith(`${name}_count`))!;
    expect(Number(count.split(' ').at(-1))).toBe(counts.at(-1));
  }
  return new Map([...families].map(([k, v]) => [k, { type: v.type, samples: v.samples }]));
}

describe('LocalMetrics', () => {
  it('reads an EMF line as CloudWatch does: each metric once per dimension set', () => {
    const m = new LocalMetrics();
    const line = emf(
      'EventRouter',
      [
        ['service', 'source'],
        ['service', 'source', 'reason'],
      ],
      [{ name: 'WebhookRejected', unit: 'Count', value: 1 }],
      { service: 'ingest', source: 'github', reason: 'invalid_signature' },
    );
    expect(m.recordEmf(line)).toBe(true);
    expect(m.recordEmf(line)).toBe(true);
    const bySource = { service: 'ingest', source: 'github' };
    expect(m.sum('EventRouter', 'WebhookRejected', bySource, 60_000)).toBe(2);
    expect(
      m.sum('EventRouter', 'WebhookRejected', { ...bySource, reason: 'invalid_signature' }, 60_000),
    ).toBe(2);
    // The identity is the exact dimension set, as in CloudWatch.
    expect(m.sum('EventRouter', 'WebhookRejected', { service: 'ingest' }, 60_000)).toBe(0);
    expect(m.recordEmf('{"level":"INFO","message":"not metrics"}')).toBe(false);
    expect(m.recordEmf('not json')).toBe(false);
  });

  it('takes every value of a metric recorded several times in one line', () => {
    const m = new LocalMetrics();
    m.recordEmf(
      emf(
        'EventRouter',
        [['service', 'target']],
        [{ name: 'DeliveryLatency', unit: 'Milliseconds', value: [5, 7, 9] }],
        {
          service: 'delivery',
          target: 't',
        },
      ),
    );
    const dims = { service: 'delivery', target: 't' };
    expect(m.sum('EventRouter', 'DeliveryLatency', dims, 60_000)).toBe(21);
    expect(m.max('EventRouter', 'DeliveryLatency', dims, 60_000)).toBe(9);
    expect(m.percentile('EventRouter', 'DeliveryLatency', dims, 50, 60_000)).toBe(7);
  });

  it('answers over a sliding window: sums, maxima and percentiles of the period, and the latest state ever', () => {
    const c = clock();
    const m = new LocalMetrics({ now: c.now });
    const dims = { FunctionName: 'f' };
    m.record('AWS/Lambda', 'Errors', dims, 1, 'Count');
    c.advance(200_000);
    m.record('AWS/Lambda', 'Errors', dims, 1, 'Count');
    m.record('EventRouter', 'TargetPaused', { service: 'delivery', target: 't' }, 1, 'Count');
    expect(m.sum('AWS/Lambda', 'Errors', dims, 300_000)).toBe(2);
    c.advance(150_000);
    // The first error is now 350 s old: out of a 5-minute window.
    expect(m.sum('AWS/Lambda', 'Errors', dims, 300_000)).toBe(1);
    c.advance(600_000);
    expect(m.sum('AWS/Lambda', 'Errors', dims, 300_000)).toBe(0);
    expect(m.max('AWS/Lambda', 'Errors', dims, 300_000)).toBeUndefined();
    // A state reported once stays known.
    expect(m.latest('EventRouter', 'TargetPaused', { service: 'delivery', target: 't' })).toBe(1);
    expect(m.latest('EventRouter', 'TargetPaused', { service: 'delivery', target: 'other' })).toBeUndefined();
  });

  it('keeps at most maxSamples values per series (the oldest go)', () => {
    const m = new LocalMetrics({ maxSamples: 3 });
    for (let i = 1; i <= 5; i++) m.record('AWS/Lambda', 'Duration', { FunctionName: 'f' }, i, 'Milliseconds');
    expect(m.sum('AWS/Lambda', 'Duration', { FunctionName: 'f' }, 60_000)).toBe(3 + 4 + 5);
  });
});

describe('Prometheus exposition', () => {
  const populated = () => {
    const m = new LocalMetrics();
    m.recordEmf(
      emf(
        'EventRouter',
        [
          ['service', 'source'],
          ['service', 'source', 'reason'],
        ],
        [{ name: 'WebhookRejected', unit: 'Count', value: 1 }],
        { service: 'ingest', source: 'github', reason: 'invalid_signature' },
      ),
    );
    m.recordEmf(
      emf('EventRouter', [['service']], [{ name: 'OldestPendingAge', unit: 'Seconds', value: 42 }], {
        service: 'sweeper',
      }),
    );
    for (const ms of [3, 40, 2_000])
      m.record('AWS/Lambda', 'Duration', { FunctionName: 'delivery-a' }, ms, 'Milliseconds');
    m.record('AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: 'q "1"\\x\nz' }, 3, 'Count');
    m.record('AWS/ApiGateway', '5xx', { ApiId: 'localhttp' }, 1, 'Count');
    return m;
  };

  it('is valid text format 0.0.4: one HELP and TYPE per family, well-formed samples, cumulative buckets', () => {
    const families = checkExposition(populated().prometheus());
    expect([...families.keys()]).toEqual([
      'aws_api_gateway_5xx_total',
      'aws_lambda_duration_seconds',
      'aws_sqs_approximate_number_of_messages_visible',
      'event_router_oldest_pending_age_seconds',
      'event_router_webhook_rejected_total',
    ]);
    expect(families.get('aws_lambda_duration_seconds')?.type).toBe('histogram');
    expect(families.get('event_router_webhook_rejected_total')?.type).toBe('counter');
    expect(families.get('event_router_oldest_pending_age_seconds')?.type).toBe('gauge');
  });

  it('shows the finest dimension set only (Prometheus sums series itself), durations in seconds, escaped labels', () => {
    const text = populated().prometheus();
    expect(text).toContain(
      'event_router_webhook_rejected_total{reason="invalid_signature",service="ingest",source="github"} 1\n',
    );
    expect(text).not.toContain('event_router_webhook_rejected_total{service="ingest",source="github"}');
    expect(text).toContain(
      '# HELP event_router_webhook_rejected_total Webhooks refused by ingest, by reason\n',
    );
    // 3 ms, 40 ms and 2 s: cumulative buckets in seconds, the sum in seconds.
    expect(text).toContain('aws_lambda_duration_seconds_bucket{function_name="delivery-a",le="0.005"} 1\n');
    expect(text).toContain('aws_lambda_duration_seconds_bucket{function_name="delivery-a",le="0.05"} 2\n');
    expect(text).toContain('aws_lambda_duration_seconds_bucket{function_name="delivery-a",le="2.5"} 3\n');
    expect(text).toContain('aws_lambda_duration_seconds_bucket{function_name="delivery-a",le="+Inf"} 3\n');
    expect(text).toContain('aws_lambda_duration_seconds_sum{function_name="delivery-a"} 2.043\n');
    expect(text).toContain('aws_lambda_duration_seconds_count{function_name="delivery-a"} 3\n');
    expect(text).toContain(
      'aws_sqs_approximate_number_of_messages_visible{queue_name="q \\"1\\"\\\\x\\nz"} 3\n',
    );
    expect(text.match(/_bucket\{/g)).toHaveLength(HISTOGRAM_BUCKETS.length + 1);
  });

  it('names metrics and labels in snake case', () => {
    expect(snake('ApproximateAgeOfOldestMessage')).toBe('approximate_age_of_oldest_message');
    expect(snake('FunctionName')).toBe('function_name');
    expect(snake('ApiId')).toBe('api_id');
    expect(snake('5xx')).toBe('5xx');
    expect(snake('EventRouter')).toBe('event_router');
  });

  it('is empty with no metrics', () => {
    expect(new LocalMetrics().prometheus()).toBe('');
  });
});

describe('GET /metrics', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.stop();
  });

  it('serves the exposition with its content type on loopback, after sampling; 404 elsewhere, 405 for POST', async () => {
    const m = new LocalMetrics();
    let sampled = 0;
    server = await serveMetrics(m, {
      sample: () => {
        sampled++;
        m.record('AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: 'q' }, sampled, 'Count');
      },
    });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await res.text()).toContain('aws_sqs_approximate_number_of_messages_visible{queue_name="q"} 1\n');
    expect(await (await fetch(server.url)).text()).toContain('{queue_name="q"} 2\n');
    expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
  });
});
