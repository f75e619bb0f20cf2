import { describe, expect, it } from 'vitest';
import { parseRouterConfig, type RouterConfigInput } from '../../core/config';
import { ENV } from '../../core/contracts';
import { ALL_WEBHOOK_EVENTS, allFunctions, planTopology, resolveEnvironment } from '../../core/plan';
import { VISIBILITY_TIMEOUT_FACTOR } from '../../core/queues';
import { RECEIVE_HEADROOM } from '../../core/retry';
import exampleConfig from '../../router.config';

describe('planTopology', () => {
  const topology = planTopology(parseRouterConfig(exampleConfig));

  it('plans one rule, queue, DLQ, event source and delivery function per target from its config', () => {
    expect(topology.targets).toHaveLength(1);
    const [target] = topology.targets;
    expect(target?.rulePattern).toEqual({
      source: ['webhook.github'],
      'detail-type': [{ prefix: 'pull_request.' }],
    });
    expect(target?.eventSource).toEqual({ batchSize: 10, maxConcurrency: 5, maxBatchingWindowSeconds: 0 });
    expect(target?.function).toMatchObject({
      name: 'delivery-pr-agent',
      handler: 'delivery',
      entry: 'lambdas/delivery/handler.ts',
      serviceName: 'delivery',
      timeoutSeconds: 20,
    });
  });

  it('keeps the receive limit above the attempt limit: throttled receives never cost an attempt', () => {
    for (const maxAttempts of [1, 5, 20]) {
      const config = parseRouterConfig({
        ...exampleConfig,
        targets: [{ ...exampleConfig.targets![0]!, retry: { maxAttempts } }],
      });
      expect(planTopology(config).targets[0]!.queue.maxReceiveCount).toBe(maxAttempts + RECEIVE_HEADROOM);
    }
  });

  it('keeps the visibility timeout at least 6 × the delivery function timeout', () => {
    for (const timeoutSeconds of [1, 10, 60]) {
      const config = parseRouterConfig({
        ...exampleConfig,
        targets: [{ ...exampleConfig.targets![0]!, timeoutSeconds, batchSize: 100 }],
      });
      const [target] = planTopology(config).targets;
      expect(target!.queue.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(
        target!.function.timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR,
      );
      expect(target!.function.timeoutSeconds).toBeGreaterThan(timeoutSeconds);
      expect(target!.eventSource.maxBatchingWindowSeconds).toBe(1);
    }
  });

  it('archives every webhook event, and streams those published while an agent may be connected', () => {
    expect(topology.bus.archivePattern).toEqual(ALL_WEBHOOK_EVENTS);
    expect(topology.liveStream.broadcastRulePattern).toEqual({
      source: [{ prefix: 'webhook.' }],
      resources: ['event-router:live'],
    });
    expect(topology.sources[0]?.eventSource).toBe('webhook.github');
  });

  it('plans every function once, with unique names, and only the live functions when the live stream is on', () => {
    const names = allFunctions(topology).map((f) => f.name);
    expect(names).toEqual([
      'ingest',
      'sweeper',
      'routes',
      'management',
      'connections',
      'broadcast',
      'delivery-pr-agent',
    ]);
    const off = planTopology(parseRouterConfig({ ...exampleConfig, liveStream: { enabled: false } }));
    expect(allFunctions(off).map((f) => f.name)).toEqual([
      'ingest',
      'sweeper',
      'routes',
      'management',
      'delivery-pr-agent',
    ]);
  });

  it('lets every publisher read the live lease, and only when there is a live stream', () => {
    const off = planTopology(parseRouterConfig({ ...exampleConfig, liveStream: { enabled: false } }));
    for (const name of ['ingest', 'sweeper', 'management']) {
      const on = allFunctions(topology).find((f) => f.name === name)!;
      expect(on.environment[ENV.liveTableName], name).toEqual({ ref: 'liveTable' });
      expect(
        on.grants.some((g) => g.on === 'liveTable' && g.actions.includes('dynamodb:GetItem')),
        name,
      ).toBe(true);
      const without = allFunctions(off).find((f) => f.name === name)!;
      expect(without.environment[ENV.liveTableName], name).toBeUndefined();
      expect(
        without.grants.some((g) => g.on === 'liveTable'),
        name,
      ).toBe(false);
    }
  });

  it('reserves no concurrency by default: an account with the starting quota of 10 refuses any reservation', () => {
    for (const spec of allFunctions(topology)) expect(spec.reservedConcurrency, spec.name).toBeUndefined();
  });

  it('reserves concurrency for ingest when the config asks, so no other function can starve the webhook path', () => {
    const reserved = planTopology(parseRouterConfig({ ...exampleConfig, ingestReservedConcurrency: 50 }));
    expect(reserved.functions.ingest.reservedConcurrency).toBe(50);
    expect(reserved.functions.sweeper.reservedConcurrency).toBeUndefined();
  });

  it('throttles $connect below the WebSocket stage: 50 new connections/s, bursts of 100, by default', () => {
    expect(topology.liveStream.connectThrottle).toEqual({ rateLimit: 50, burstLimit: 100 });
    expect(topology.liveStream.connectThrottle.rateLimit).toBeLessThan(
      topology.liveStream.throttle.rateLimit,
    );
  });

  it('passes the dedupe window and retention to ingest', () => {
    const env = topology.functions.ingest.environment;
    expect(env[ENV.dedupeDays]).toBe('7');
    expect(env[ENV.retentionDays]).toBe('30');
  });
});

describe('resolveEnvironment', () => {
  const spec = planTopology(parseRouterConfig(exampleConfig)).functions.sweeper;
  it('replaces resource references with the names given', () => {
    expect(resolveEnvironment(spec, { eventsTable: 'T', bus: 'B', liveTable: 'L' })).toEqual({
      [ENV.tableName]: 'T',
      [ENV.busName]: 'B',
      [ENV.liveTableName]: 'L',
    });
  });
  it('names the function, the variable and the missing resource', () => {
    expect(() => resolveEnvironment(spec, { eventsTable: 'T' })).toThrow(
      'function sweeper: EVENT_BUS_NAME refers to bus, which this stack lacks',
    );
  });
});

describe('payload retention', () => {
  const plan = (input: Partial<RouterConfigInput>) =>
    planTopology(parseRouterConfig({ ...exampleConfig, ...input })).store.payloadRetentionDays;
  it('outlives the store, the DLQ (14 days) and the archive', () => {
    expect(plan({ retentionDays: 7, dedupeDays: 7, archiveRetentionDays: 3 })).toBe(14);
    expect(plan({ retentionDays: 30, archiveRetentionDays: 90 })).toBe(90);
    expect(plan({ retentionDays: 60, archiveRetentionDays: 30 })).toBe(60);
  });
  it('is forever when the archive is', () => {
    expect(plan({ archiveRetentionDays: 0 })).toBeUndefined();
  });
  it('keeps the delivery log as long as events unless configured shorter', () => {
    expect(planTopology(parseRouterConfig(exampleConfig)).store.deliveryLogDays).toBe(30);
    expect(
      planTopology(parseRouterConfig({ ...exampleConfig, deliveryLogDays: 10 })).store.deliveryLogDays,
    ).toBe(10);
  });
});
