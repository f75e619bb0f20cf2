/**
 * The circuit breaker's decisions, pure: when the counts say a target is failing, and how long it then rests.
 * The state lives in the target's item in the event store (event-store.ts); deliver.ts applies these rules.
 */
import type { CircuitBreakerConfig } from '../../core/config';
import type { TargetStatus } from '../shared/event-store';

/** Why the breaker must open now, or undefined. */
export function breakerVerdict(status: TargetStatus, config: CircuitBreakerConfig): string | undefined {
  const consecutive = status.consecutiveFailures ?? 0;
  if (consecutive >= config.consecutiveFailures) return `${consecutive} failed attempts in a row`;
  const attempts = status.windowAttempts ?? 0;
  const failures = status.windowFailures ?? 0;
  if (attempts >= config.minimumAttempts && failures / attempts >= config.failureRatio) {
    return `${failures} of ${attempts} attempts failed within ${config.windowSeconds} s`;
  }
  return undefined;
}

/** How long the breaker stays open after its `openCount`-th opening (0-based): doubling, capped. */
export function openPeriodMs(openCount: number, config: CircuitBreakerConfig): number {
  return (
    Math.min(config.openSeconds * 2 ** Math.min(Math.max(0, openCount), 20), config.maxOpenSeconds) * 1000
  );
}

/** What a batch adds to the counts: attempts, failures, and the run of failures after its last success. */
export function batchCounts(results: readonly boolean[]): {
  attempts: number;
  failures: number;
  failuresSinceSuccess: number | undefined;
} {
  const lastSuccess = results.lastIndexOf(true);
  return {
    attempts: results.length,
    failures: results.filter((ok) => !ok).length,
    failuresSinceSuccess: lastSuccess === -1 ? undefined : results.length - 1 - lastSuccess,
  };
}

/**
 * Whether a batch must be written to the counts. A batch of successes changes nothing while nothing failed lately:
 * on the happy path the breaker costs one read per batch and no write.
 */
export function batchMatters(
  results: readonly boolean[],
  status: TargetStatus,
  nowMs: number,
  windowMs: number,
) {
  if (results.length === 0) return false;
  if (results.includes(false)) return true;
  const windowLive = status.windowStart !== undefined && status.windowStart + windowMs > nowMs;
  return (status.consecutiveFailures ?? 0) > 0 || (windowLive && (status.windowFailures ?? 0) > 0);
}
