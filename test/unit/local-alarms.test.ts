/** The plan's alarm conditions evaluated on local metrics: the same values, reported once per change of state. */
import { describe, expect, it } from 'vitest';
import { ALARM_KINDS, type AlarmPlan } from '../../core/alarms';
import { parseRouterConfig, type RouterConfigInput } from '../../core/config';
import { planTopology } from '../../core/plan';
import { LocalAlarmMonitor } from '../../local/alarms';
import { LocalMetrics } from '../../local/metrics';
import { LOCAL_DIFFERENCES } from '../../local/topology';
import exampleConfig from '../../router.config';

const config: RouterConfigInput = {
  ...exampleConfig,
  sources: [{ ...exampleConfig.sources[0]!, rateLimitPerSecond: 2, alarms: { signatureFailures: 2 } }],
};
const plan = planTopology(parseRouterConfig(config)).alarms.alarms;

function monitor(alarms: readonly AlarmPlan[] = plan) {
  let now = 10_000_000;
  const metrics = new LocalMetrics({ now: () => now });
  const lines: string[] = [];
  const depths = { queue: 0, dlq: 0, broadcastDlq: 0 };
  const m = new LocalAlarmMonitor({
    alarms,
    metrics,
    queues: {
      target: (name) => ({ queueName: `${name}-q`, dlqName: `${name}-dlq` }),
      broadcastDlqName: 'broadcast-dlq',
    },
    sample: () => {
      const visible = (queueName: string, n: number) =>
        metrics.record('AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: queueName }, n, 'Count');
      visible('pr-agent-q', depths.queue);
      visible('pr-agent-dlq', depths.dlq);
      visible('broadcast-dlq', depths.broadcastDlq);
    },
    report: (line) => lines.push(line),
  });
  return { m, metrics, lines, depths, advance: (ms: number) => (now += ms) };
}

const ingest = (metric: string, extra: Record<string, string> = {}) => ({
  ns: 'EventRouter',
  metric,
  dims: { service: 'ingest', source: 'github', ...extra },
});

describe('LocalAlarmMonitor', () => {
  it('evaluates every planned alarm but the AWS-only kinds, which the local differences name', () => {
    const { m } = monitor();
    const kinds = new Set(m.alarms.map((a) => a.kind));
    const awsOnly = Object.keys(LOCAL_DIFFERENCES.alarmsNotEvaluated);
    expect([...kinds].sort()).toEqual(ALARM_KINDS.filter((k) => !awsOnly.includes(k)).sort());
    expect(awsOnly.sort()).toEqual(['lambda-throttles', 'websocket-errors']);
  });

  it('reports a DLQ that holds messages once, then OK once it stayed empty a whole period, with the composite', () => {
    const { m, lines, depths, advance } = monitor();
    m.evaluate();
    expect(lines).toEqual([]);
    depths.dlq = 3;
    m.evaluate();
    m.evaluate();
    expect(lines).toEqual(['ALARM dlq-depth pr-agent = 3', 'ALARM router-unhealthy router = 1']);
    expect(m.state().get('dlq-depth/pr-agent')).toBe('ALARM');
    depths.dlq = 0;
    // The maximum over the last minute still holds the 3, as CloudWatch's would.
    m.evaluate();
    expect(lines).toHaveLength(2);
    advance(61_000);
    m.evaluate();
    expect(lines.slice(2)).toEqual(['OK dlq-depth pr-agent = 0', 'OK router-unhealthy router = 0']);
  });

  it('counts signature failures of a source over 5 minutes against its threshold', () => {
    const { m, metrics, lines, advance } = monitor();
    const { ns, metric, dims } = ingest('WebhookRejected', { reason: 'invalid_signature' });
    metrics.record(ns, metric, dims, 1, 'Count');
    m.evaluate();
    expect(lines).toEqual([]);
    metrics.record(ns, metric, dims, 1, 'Count');
    // Another reason does not count.
    metrics.record(ns, metric, { ...dims, reason: 'invalid_json' }, 1, 'Count');
    m.evaluate();
    expect(lines[0]).toBe('ALARM signature-failures github = 2');
    advance(301_000);
    m.evaluate();
    expect(lines).toContain('OK signature-failures github = 0');
  });

  it("alarms when a source's admitted traffic reaches its share of the route throttle", () => {
    const { m, metrics, lines } = monitor();
    const accepted = ingest('WebhookAccepted');
    const duplicates = ingest('WebhookDuplicate');
    // Route throttle 2/s, dev share 0.9: 1.8 webhooks/s over 300 s is 540 webhooks.
    metrics.record(accepted.ns, accepted.metric, accepted.dims, 500, 'Count');
    m.evaluate();
    expect(lines).toEqual([]);
    metrics.record(duplicates.ns, duplicates.metric, duplicates.dims, 40, 'Count');
    m.evaluate();
    expect(lines[0]).toBe('ALARM source-throttled github = 1.800');
  });

  it('needs enough outcomes before a failure ratio alarms', () => {
    const { m, metrics, lines } = monitor();
    const dims = { service: 'delivery', target: 'pr-agent' };
    metrics.record('EventRouter', 'DeliveryFailed', dims, 4, 'Count');
    m.evaluate();
    // 4 failures of 4 outcomes: below the minimum of 10, the ratio is 0.
    expect(lines).toEqual([]);
    // 5 of 10: the dev threshold (0.5) is reached.
    metrics.record('EventRouter', 'DeliveryFailed', dims, 1, 'Count');
    metrics.record('EventRouter', 'DeliverySucceeded', dims, 5, 'Count');
    m.evaluate();
    expect(lines[0]).toBe('ALARM delivery-failure-ratio pr-agent = 0.500');
  });

  it('keeps a paused target in ALARM while no data arrives, until it reports 0', () => {
    const { m, metrics, lines, advance } = monitor();
    const dims = { service: 'delivery', target: 'pr-agent' };
    metrics.record('EventRouter', 'TargetPaused', dims, 1, 'Count');
    m.evaluate();
    advance(3_600_000);
    m.evaluate();
    expect(lines.filter((l) => l.includes('target-paused'))).toEqual(['ALARM target-paused pr-agent = 1']);
    metrics.record('EventRouter', 'TargetPaused', dims, 0, 'Count');
    m.evaluate();
    expect(lines).toContain('OK target-paused pr-agent = 0');
  });

  it("reads a function's errors and p99 duration from Lambda's metrics", () => {
    const { m, metrics, lines } = monitor();
    const fn = { FunctionName: 'ingest' };
    for (let i = 0; i < 10; i++) metrics.record('AWS/Lambda', 'Errors', fn, 1, 'Count');
    // Ingest times out after 10 s: dev alarms at a p99 of 9 s.
    for (let i = 0; i < 99; i++) metrics.record('AWS/Lambda', 'Duration', fn, 100, 'Milliseconds');
    metrics.record('AWS/Lambda', 'Duration', fn, 9_500, 'Milliseconds');
    m.evaluate();
    expect(lines).toContain('ALARM lambda-errors ingest = 10');
    expect(lines.some((l) => l.startsWith('ALARM lambda-duration'))).toBe(false);
    metrics.record('AWS/Lambda', 'Duration', fn, 9_500, 'Milliseconds');
    m.evaluate();
    expect(lines).toContain('ALARM lambda-duration ingest = 9500');
  });

  it('reads the API answers and the sweeper reports as the deployed alarms do', () => {
    const { m, metrics, lines } = monitor();
    for (let i = 0; i < 10; i++) {
      metrics.record('AWS/ApiGateway', '5xx', { ApiId: 'localhttp' }, 1, 'Count');
      metrics.record('EventRouter', 'WebhookUnavailable', {}, 1, 'Count');
    }
    metrics.record('EventRouter', 'EventsPoisoned', { service: 'sweeper' }, 1, 'Count');
    metrics.record('EventRouter', 'OldestPendingAge', { service: 'sweeper' }, 1_800, 'Seconds');
    m.evaluate();
    expect(lines).toEqual(
      expect.arrayContaining([
        'ALARM ingest-5xx router = 10',
        'ALARM ingest-503 router = 10',
        'ALARM events-poisoned router = 1',
        'ALARM oldest-pending-age router = 1800',
      ]),
    );
  });
});
