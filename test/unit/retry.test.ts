import { describe, expect, it } from 'vitest';
import {
  baseDelaySeconds,
  isRetryableStatus,
  MAX_RETRY_HORIZON_SECONDS,
  MAX_VISIBILITY_SECONDS,
  type RetrySchedule,
  retryDelaySeconds,
  retryScheduleProblem,
  VISIBILITY_MARGIN_SECONDS,
  visibilityFor,
  worstCaseSeconds,
} from '../../core/retry';

const schedule = (over: Partial<RetrySchedule> = {}): RetrySchedule => ({
  maxAttempts: 5,
  policy: 'exponential',
  initialDelaySeconds: 5,
  maxDelaySeconds: 900,
  ...over,
});

describe('baseDelaySeconds', () => {
  it('exponential doubles from the initial delay and caps at the maximum', () => {
    expect([1, 2, 3, 4, 8, 9, 50].map((n) => baseDelaySeconds(schedule(), n))).toEqual([
      5, 10, 20, 40, 640, 900, 900,
    ]);
  });
  it('linear grows by the initial delay each attempt, fixed never grows', () => {
    expect([1, 2, 3].map((n) => baseDelaySeconds(schedule({ policy: 'linear' }), n))).toEqual([5, 10, 15]);
    expect([1, 2, 30].map((n) => baseDelaySeconds(schedule({ policy: 'fixed' }), n))).toEqual([5, 5, 5]);
  });
});

describe('retryDelaySeconds (full jitter)', () => {
  it('draws uniformly between 1 s and the policy delay', () => {
    expect(retryDelaySeconds(schedule(), 3, { random: () => 0 })).toBe(1);
    expect(retryDelaySeconds(schedule(), 3, { random: () => 0.5 })).toBe(10);
    expect(retryDelaySeconds(schedule(), 3, { random: () => 0.999999 })).toBe(20);
  });
  it('honours a longer Retry-After, never beyond the maximum', () => {
    expect(retryDelaySeconds(schedule(), 1, { random: () => 0, retryAfterSeconds: 120 })).toBe(120);
    expect(retryDelaySeconds(schedule(), 1, { random: () => 1, retryAfterSeconds: 3 })).toBe(5);
    expect(retryDelaySeconds(schedule(), 1, { random: () => 0, retryAfterSeconds: 100_000 })).toBe(900);
  });
});

describe('visibilityFor: SQS refuses a visibility that ends more than 12 h after the receive', () => {
  it('passes short delays through', () => {
    expect(visibilityFor(30, 2)).toBe(30);
  });
  it('caps at 12 h less the time since the receive and a margin', () => {
    expect(visibilityFor(43_200, 0)).toBe(MAX_VISIBILITY_SECONDS - VISIBILITY_MARGIN_SECONDS);
    expect(visibilityFor(43_200, 100)).toBe(MAX_VISIBILITY_SECONDS - VISIBILITY_MARGIN_SECONDS - 100);
    expect(visibilityFor(10, 50_000)).toBe(0);
  });
});

describe('retryScheduleProblem', () => {
  it('accepts the defaults', () => {
    expect(retryScheduleProblem(schedule(), 20)).toBeUndefined();
  });
  it('refuses a maximum delay beyond the 12-hour visibility limit, naming the limit', () => {
    const problem = retryScheduleProblem(schedule({ maxDelaySeconds: 43_200 }), 20);
    expect(problem?.field).toBe('maxDelaySeconds');
    expect(problem?.message).toMatch(/12 h \(43200 s\).*longest delay is 43060 s/);
  });
  it('refuses a schedule longer than 7 days so that the DLQ keeps a failed message at least 7 days', () => {
    const long = schedule({ maxAttempts: 40, initialDelaySeconds: 60, maxDelaySeconds: 40_000 });
    expect(worstCaseSeconds(long, 20)).toBeGreaterThan(MAX_RETRY_HORIZON_SECONDS);
    expect(retryScheduleProblem(long, 20)).toMatchObject({ field: 'maxAttempts' });
    expect(retryScheduleProblem(long, 20)?.message).toMatch(/at least 7 days in the dead-letter queue/);
  });
  it('refuses an initial delay above the maximum', () => {
    expect(retryScheduleProblem(schedule({ initialDelaySeconds: 1000 }), 20)?.field).toBe(
      'initialDelaySeconds',
    );
  });
});

describe('isRetryableStatus', () => {
  const defaults = ['408', '409', '425', '429', '5xx'];
  it('retries timeouts, conflicts, too early, too many requests and server errors by default', () => {
    for (const status of [408, 409, 425, 429, 500, 502, 503, 599])
      expect(isRetryableStatus(status, defaults)).toBe(true);
  });
  it('fails other client errors and redirects at once', () => {
    for (const status of [301, 302, 400, 401, 403, 404, 410, 422])
      expect(isRetryableStatus(status, defaults)).toBe(false);
  });
  it('follows a target-specific list', () => {
    expect(isRetryableStatus(404, ['404'])).toBe(true);
    expect(isRetryableStatus(503, ['429'])).toBe(false);
  });
});
