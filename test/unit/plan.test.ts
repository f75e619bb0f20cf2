import { describe, expect, it } from 'vitest';
import { parseRouterConfig, type RouterConfigInput } from '../../core/config';
import {
  ALL_WEBHOOK_EVENTS,
  planTopology,
  retryDelaySeconds,
  retryPolicyProblem,
  VISIBILITY_TIMEOUT_FACTOR,
} from '../../core/plan';
import exampleConfig from '../../router.config';

describe('planTopology', () => {
  const topology = planTopology(parseRouterConfig(exampleConfig));

  it('plans one rule, queue and DLQ per target from its config', () => {
    expect(topology.targets).toHaveLength(1);
    const [target] = topology.targets;
    expect(target?.rulePattern).toEqual({
      source: ['webhook.github'],
      'detail-type': [{ prefix: 'pull_request.' }],
    });
    expect(target?.queue.maxReceiveCount).toBe(5);
    expect(target?.deliveryFunction).toMatchObject({
      batchSize: 10,
      maxConcurrency: 5,
      maxBatchingWindowSeconds: 0,
    });
  });

  it('keeps the visibility timeout at least 6 × the delivery function timeout', () => {
    for (const timeoutSeconds of [1, 10, 60]) {
      const config = parseRouterConfig({
        ...exampleConfig,
        targets: [{ ...exampleConfig.targets![0]!, timeoutSeconds, batchSize: 100 }],
      });
      const [target] = planTopology(config).targets;
      expect(target!.queue.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(
        target!.deliveryFunction.timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR,
      );
      expect(target!.deliveryFunction.timeoutSeconds).toBeGreaterThan(timeoutSeconds);
      expect(target!.deliveryFunction.maxBatchingWindowSeconds).toBe(1);
    }
  });

  it('sends every webhook event to the archive and the live stream', () => {
    expect(topology.bus.archivePattern).toEqual(ALL_WEBHOOK_EVENTS);
    expect(topology.liveStream.broadcastRulePattern).toEqual({ source: [{ prefix: 'webhook.' }] });
    expect(topology.sources[0]?.eventSource).toBe('webhook.github');
  });
});

describe('payload retention', () => {
  const plan = (input: Partial<RouterConfigInput>) =>
    planTopology(parseRouterConfig({ ...exampleConfig, ...input })).store.payloadRetentionDays;
  it('outlives the store, the DLQ (14 days) and the archive', () => {
    expect(plan({ retentionDays: 7, archiveRetentionDays: 3 })).toBe(14);
    expect(plan({ retentionDays: 30, archiveRetentionDays: 90 })).toBe(90);
    expect(plan({ retentionDays: 60, archiveRetentionDays: 30 })).toBe(60);
  });
  it('is forever when the archive is', () => {
    expect(plan({ archiveRetentionDays: 0 })).toBeUndefined();
  });
});

describe('retryPolicyProblem', () => {
  it('accepts the default policy and rejects one that outlives the queue', () => {
    const defaults = parseRouterConfig(exampleConfig).targets[0]!;
    expect(retryPolicyProblem(defaults)).toBeUndefined();
    expect(
      retryPolicyProblem({
        timeoutSeconds: 10,
        retry: { maxAttempts: 40, initialDelaySeconds: 60, maxDelaySeconds: 43_200 },
      }),
    ).toMatch(/lower maxAttempts or maxDelaySeconds/);
  });
});

describe('retryDelaySeconds', () => {
  const policy = { initialDelaySeconds: 5, maxDelaySeconds: 900 };
  it('doubles from the initial delay and caps at the maximum', () => {
    expect([1, 2, 3, 4, 8, 9, 50].map((n) => retryDelaySeconds(policy, n))).toEqual([
      5, 10, 20, 40, 640, 900, 900,
    ]);
  });
  it('honours a longer Retry-After, still capped', () => {
    expect(retryDelaySeconds(policy, 1, 120)).toBe(120);
    expect(retryDelaySeconds(policy, 1, 3)).toBe(5);
    expect(retryDelaySeconds(policy, 1, 100_000)).toBe(900);
  });
});
