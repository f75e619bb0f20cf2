/**
 * Timeouts, retention and retry limits of the router's functions and queues: the arithmetic the plan applies and the
 * config validates against. Pure. (The retry schedule itself — delays, jitter, horizon — is core/retry.ts.)
 */

/**
 * The delivery function handles a batch's records in parallel, so its timeout is one target call's timeout plus
 * room for the payload fetch, the secret read, the delivery log write and a move to the DLQ.
 */
export const DELIVERY_OVERHEAD_SECONDS = 10;

/**
 * AWS: "set the source queue's visibility timeout to at least six times the timeout that you configure on your
 * function" (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** SQS maximum retention, for target queues and DLQs: a long retry schedule must never outlive its message. */
export const QUEUE_RETENTION_SECONDS = 14 * 24 * 3600;

/** The broadcast function's timeout. */
export const BROADCAST_TIMEOUT_SECONDS = 30;

/** How old a live event may be before EventBridge and the broadcast queue drop it: older is no longer live. */
export const LIVE_EVENT_MAX_AGE_SECONDS = 300;

/** Ingest answers providers within seconds (Slack 3 s, GitHub 10 s). */
export const INGEST_TIMEOUT_SECONDS = 10;

/** Delivery function timeout for a target: one call's timeout plus room for everything else the attempt does. */
export const deliveryTimeoutSeconds = (target: { readonly timeoutSeconds: number }) =>
  target.timeoutSeconds + DELIVERY_OVERHEAD_SECONDS;

/**
 * How EventBridge hands events to a rule target: retries with backoff for at most this many attempts and this
 * long, then the target's DLQ (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RetryPolicy.html:
 * 0-185 attempts, 60-86,400 s).
 */
export interface RuleTargetPlan {
  readonly maximumRetryAttempts: number;
  readonly maximumEventAgeSeconds: number;
}

/** EventBridge's own maximum: a queue target that is briefly unavailable loses nothing. */
export const RULE_TARGET_RETRY: RuleTargetPlan = {
  maximumRetryAttempts: 185,
  maximumEventAgeSeconds: 86_400,
};

/** A live event older than 5 minutes is no longer live: EventBridge stops trying, and the queue drops it. */
export const LIVE_RULE_TARGET_RETRY: RuleTargetPlan = {
  maximumRetryAttempts: 185,
  maximumEventAgeSeconds: LIVE_EVENT_MAX_AGE_SECONDS,
};

/** SQS: a queue name is at most 80 characters (letters, digits, `-`, `_`). */
export const MAX_QUEUE_NAME_LENGTH = 80;

/**
 * A target's queue and DLQ names: `<prefix>-<target>` and `<prefix>-<target>-dlq` (the prefix is the stack name on
 * AWS, `event-router-local` locally). Named, not generated, so that the management API finds a target's queues
 * from its name alone (GetQueueUrl), whatever the number of targets.
 */
export function targetQueueNames(
  prefix: string,
  target: string,
  fifo = false,
): { queueName: string; dlqName: string } {
  // A FIFO queue's name must end in `.fifo`, and its dead-letter queue must be FIFO too.
  const suffix = fifo ? '.fifo' : '';
  const queueName = `${prefix}-${target}`;
  return { queueName: `${queueName}${suffix}`, dlqName: `${queueName}-dlq${suffix}` };
}
