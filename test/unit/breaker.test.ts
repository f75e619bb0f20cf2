import { describe, expect, it } from 'vitest';
import { CircuitBreakerSchema } from '../../core/config';
import { batchCounts, batchMatters, breakerVerdict, openPeriodMs } from '../../lambdas/delivery/breaker';

const config = CircuitBreakerSchema.parse({});
const active = { state: 'active' as const, since: '1970-01-01T00:00:00.000Z' };

describe('circuit breaker decisions', () => {
  it('opens after consecutiveFailures failed attempts in a row (default 20)', () => {
    expect(breakerVerdict({ ...active, consecutiveFailures: 19 }, config)).toBeUndefined();
    expect(breakerVerdict({ ...active, consecutiveFailures: 20 }, config)).toBe(
      '20 failed attempts in a row',
    );
  });

  it('opens on a failure ratio over the window, once enough attempts were made in it', () => {
    const window = { windowStart: 0, windowAttempts: 19, windowFailures: 19 };
    expect(breakerVerdict({ ...active, ...window }, config)).toBeUndefined(); // too few attempts to judge
    expect(breakerVerdict({ ...active, ...window, windowAttempts: 40, windowFailures: 20 }, config)).toBe(
      '20 of 40 attempts failed within 60 s',
    );
    expect(
      breakerVerdict({ ...active, ...window, windowAttempts: 41, windowFailures: 20 }, config),
    ).toBeUndefined();
  });

  it('rests twice as long after each opening, at most maxOpenSeconds', () => {
    expect([0, 1, 2, 5, 6, 30].map((n) => openPeriodMs(n, config) / 1000)).toEqual([
      60, 120, 240, 1920, 3600, 3600,
    ]);
  });

  it('counts a batch: attempts, failures, and the failures after its last success', () => {
    expect(batchCounts([false, true, false, false])).toEqual({
      attempts: 4,
      failures: 3,
      failuresSinceSuccess: 2,
    });
    expect(batchCounts([false, false])).toEqual({
      attempts: 2,
      failures: 2,
      failuresSinceSuccess: undefined,
    });
    expect(batchCounts([true])).toEqual({ attempts: 1, failures: 0, failuresSinceSuccess: 0 });
  });

  it('writes nothing for a batch of successes while nothing failed lately (the happy path costs no write)', () => {
    const now = 1_000_000;
    expect(batchMatters([true, true], active, now, 60_000)).toBe(false);
    expect(batchMatters([], active, now, 60_000)).toBe(false);
    expect(batchMatters([true, false], active, now, 60_000)).toBe(true);
    // Successes matter while a run of failures is counted, or the window holds failures.
    expect(batchMatters([true], { ...active, consecutiveFailures: 3 }, now, 60_000)).toBe(true);
    expect(
      batchMatters([true], { ...active, windowStart: now - 1_000, windowFailures: 2 }, now, 60_000),
    ).toBe(true);
    expect(
      batchMatters([true], { ...active, windowStart: now - 61_000, windowFailures: 2 }, now, 60_000),
    ).toBe(false);
  });

  it('refuses a config whose longest rest is shorter than its first', () => {
    expect(CircuitBreakerSchema.safeParse({ openSeconds: 600, maxOpenSeconds: 60 }).success).toBe(false);
  });
});
