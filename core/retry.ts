/**
 * Retry arithmetic of deliveries: the backoff between attempts, the limits SQS puts on it, and how long a whole
 * schedule may take. Pure; used by config validation (synth), the plan, and the delivery function.
 */

export const RETRY_POLICIES = ['exponential', 'linear', 'fixed'] as const;
export type RetryPolicyKind = (typeof RETRY_POLICIES)[number];

export interface RetrySchedule {
  /** Delivery attempts in all, the first included. */
  readonly maxAttempts: number;
  /** How the delay grows: doubling (exponential), by the initial delay each time (linear), or not at all. */
  readonly policy: RetryPolicyKind;
  /** Delay before the second attempt, in seconds. */
  readonly initialDelaySeconds: number;
  /** Longest delay between two attempts, in seconds. */
  readonly maxDelaySeconds: number;
}

/**
 * SQS: a message's visibility timeout may be 0-43,200 s, and a ChangeMessageVisibility may not take it past 12 hours
 * after the receive that returned it — beyond that the call fails
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html).
 * Backoff is implemented with that call, so no delay may exceed it.
 */
export const MAX_VISIBILITY_SECONDS = 12 * 3600;

/** Room left for the time between the receive and the visibility change (function run, batching window). */
export const VISIBILITY_MARGIN_SECONDS = 120;

/**
 * The longest a retry schedule may take, first attempt to last. A message that SQS itself moves to the DLQ (after
 * `maxReceiveCount` receives) keeps its original enqueue time there, so the DLQ's 14 days count from the first
 * delivery attempt (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html):
 * a schedule of at most 7 days leaves such a message at least 7 days in the DLQ. Messages the delivery function
 * moves there itself after the last attempt get a fresh 14 days; either way the durable failure record in the
 * event store keeps the failure for as long as the event is retained.
 */
export const MAX_RETRY_HORIZON_SECONDS = 7 * 24 * 3600;

/**
 * Receives allowed beyond `maxAttempts` before SQS moves a message to the DLQ by itself. Attempts are counted in the
 * delivery log, not with ApproximateReceiveCount, because receives that did not lead to an attempt (Lambda
 * throttling returns messages unprocessed, a paused target) count too. The receive limit is only a safety net for
 * a message that crashes the function every time.
 */
export const RECEIVE_HEADROOM = 20;

export const receiveLimit = (maxAttempts: number): number => maxAttempts + RECEIVE_HEADROOM;

/** The delay after the `attempt`-th attempt (1-based) before jitter: the policy's curve, capped. */
export function baseDelaySeconds(schedule: RetrySchedule, attempt: number): number {
  const n = Math.max(1, Math.min(attempt, 1000));
  const raw =
    schedule.policy === 'exponential'
      ? schedule.initialDelaySeconds * 2 ** Math.min(n - 1, 40)
      : schedule.policy === 'linear'
        ? schedule.initialDelaySeconds * n
        : schedule.initialDelaySeconds;
  return Math.min(raw, schedule.maxDelaySeconds);
}

/**
 * Seconds to wait after a failed `attempt`: "full jitter" (a uniform draw between 0 and the policy's delay, so that
 * the retries of many messages that failed together spread out), at least 1 s; a target's `Retry-After` wins when
 * longer. Never above the policy's maximum.
 */
export function retryDelaySeconds(
  schedule: RetrySchedule,
  attempt: number,
  options: { readonly random?: () => number; readonly retryAfterSeconds?: number } = {},
): number {
  const base = baseDelaySeconds(schedule, attempt);
  const jittered = Math.max(1, Math.ceil((options.random ?? Math.random)() * base));
  return Math.min(Math.max(jittered, options.retryAfterSeconds ?? 0), schedule.maxDelaySeconds);
}

/**
 * The visibility timeout that implements a delay, within SQS's limit: `elapsedSeconds` have passed since the
 * receive, and the margin covers the rest of the invocation.
 */
export function visibilityFor(delaySeconds: number, elapsedSeconds: number): number {
  const ceiling = MAX_VISIBILITY_SECONDS - VISIBILITY_MARGIN_SECONDS - Math.max(0, Math.ceil(elapsedSeconds));
  return Math.max(0, Math.min(Math.ceil(delaySeconds), ceiling));
}

/** Upper bound of a schedule's length: every attempt takes the function's whole timeout, every delay its maximum. */
export function worstCaseSeconds(schedule: RetrySchedule, attemptSeconds: number): number {
  let seconds = schedule.maxAttempts * attemptSeconds;
  for (let attempt = 1; attempt < schedule.maxAttempts; attempt++)
    seconds += baseDelaySeconds(schedule, attempt);
  return seconds;
}

/** Why a schedule cannot work with SQS, if it cannot (each reason names its limit). */
export function retryScheduleProblem(
  schedule: RetrySchedule,
  attemptSeconds: number,
): { field: keyof RetrySchedule; message: string } | undefined {
  if (schedule.initialDelaySeconds > schedule.maxDelaySeconds) {
    return { field: 'initialDelaySeconds', message: 'must not exceed maxDelaySeconds' };
  }
  const visibilityCeiling = MAX_VISIBILITY_SECONDS - VISIBILITY_MARGIN_SECONDS - attemptSeconds;
  if (schedule.maxDelaySeconds > visibilityCeiling) {
    return {
      field: 'maxDelaySeconds',
      message:
        `${schedule.maxDelaySeconds} s is more than SQS allows: a delay is a visibility timeout, which may not end ` +
        `more than 12 h (43200 s) after the receive; with this target's ${attemptSeconds} s function timeout the ` +
        `longest delay is ${visibilityCeiling} s`,
    };
  }
  const worst = worstCaseSeconds(schedule, attemptSeconds);
  if (worst > MAX_RETRY_HORIZON_SECONDS) {
    const days = (n: number) => (n / 86_400).toFixed(1);
    return {
      field: 'maxAttempts',
      message:
        `${schedule.maxAttempts} attempts with this backoff take up to ${days(worst)} days; a schedule may take at ` +
        `most ${days(MAX_RETRY_HORIZON_SECONDS)} days so that a failed message still has at least 7 days in the ` +
        'dead-letter queue: lower maxAttempts or maxDelaySeconds',
    };
  }
  return undefined;
}

/** Statuses retried by default: timeouts, conflicts, too early, too many requests, and every server error. */
export const DEFAULT_RETRY_ON = ['408', '409', '425', '429', '5xx'] as const;

/**
 * Whether a target's answer is worth another attempt. `retryOn` holds statuses (`"429"`) and classes (`"5xx"`);
 * everything else — other 4xx, 3xx (redirects are not followed) — fails the delivery at once.
 */
export function isRetryableStatus(status: number, retryOn: readonly string[]): boolean {
  const text = String(status);
  return retryOn.some((entry) => entry === text || (entry.endsWith('xx') && entry[0] === text[0]));
}

/**
 * Backoff between the sweeper's publish attempts of one event: exponential from 30 s, at most 15 min, full jitter.
 * The sweeper reads it from its runtime.json (the local stack shortens it, local/README.md).
 */
export const SWEEP_BACKOFF = { initialMs: 30_000, maxMs: 15 * 60_000 } as const;
