/**
 * Turns a router config into the topology both the CDK stack and the local runtime build, so they cannot drift.
 * Pure: no AWS imports, no I/O.
 */
import type { HttpTargetConfig, RouterConfig, SourceConfig } from './config';
import { EVENT_SOURCE_PREFIX, eventBridgeSource } from './contracts';
import type { EventPattern } from './pattern';

/**
 * The delivery function POSTs a batch's records in parallel, so its timeout is one HTTP timeout plus room for the
 * payload fetch and the delivery log write.
 */
const DELIVERY_OVERHEAD_SECONDS = 10;

/**
 * Seconds to wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed: exponential from the
 * policy's initial delay, capped; a target's `Retry-After` (seconds) wins when longer, still capped.
 */
export function retryDelaySeconds(
  retry: { initialDelaySeconds: number; maxDelaySeconds: number },
  attempt: number,
  retryAfterSeconds?: number,
): number {
  const exponential = retry.initialDelaySeconds * 2 ** Math.max(0, Math.min(attempt - 1, 30));
  const wanted = Math.max(exponential, retryAfterSeconds ?? 0);
  return Math.min(wanted, retry.maxDelaySeconds);
}
/** AWS: the queue's visibility timeout must be at least 6 × the consumer function's timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** DLQ keeps messages for the SQS maximum, 14 days, so nothing is lost while someone looks. */
export const DLQ_RETENTION_SECONDS = 14 * 24 * 3600;
/** Target queues keep messages for the SQS maximum too: a long retry policy must never outlive its message. */
export const QUEUE_RETENTION_SECONDS = 14 * 24 * 3600;
/** Safety margin between a retry policy's worst case and the queue's retention. */
const RETENTION_MARGIN_SECONDS = 24 * 3600;

/** Delivery function timeout for a target: one HTTP timeout plus room for the payload fetch and the log write. */
export const deliveryTimeoutSeconds = (target: Pick<HttpTargetConfig, 'timeoutSeconds'>) =>
  target.timeoutSeconds + DELIVERY_OVERHEAD_SECONDS;

/**
 * Why a target's retry policy cannot work, if it cannot: every attempt and every backoff must fit in the queue's
 * retention, or SQS deletes the message before it reaches the DLQ.
 */
export function retryPolicyProblem(
  target: Pick<HttpTargetConfig, 'retry' | 'timeoutSeconds'>,
): string | undefined {
  const { retry } = target;
  let seconds = retry.maxAttempts * deliveryTimeoutSeconds(target);
  for (let attempt = 1; attempt < retry.maxAttempts; attempt++) seconds += retryDelaySeconds(retry, attempt);
  const limit = QUEUE_RETENTION_SECONDS - RETENTION_MARGIN_SECONDS;
  if (seconds <= limit) return undefined;
  const days = (n: number) => (n / 86_400).toFixed(1);
  return (
    `${retry.maxAttempts} attempts with this backoff take up to ${days(seconds)} days, but a queued message is kept ` +
    `${days(QUEUE_RETENTION_SECONDS)} days (${days(limit)} with margin): lower maxAttempts or maxDelaySeconds`
  );
}

export interface SourcePlan {
  readonly name: string;
  readonly provider: SourceConfig['provider'];
  /** EventBridge `Source` of this source's events. */
  readonly eventSource: string;
  readonly config: SourceConfig;
}

export interface TargetPlan {
  readonly name: string;
  readonly config: HttpTargetConfig;
  /** Pattern of the EventBridge rule that feeds this target's queue. */
  readonly rulePattern: EventPattern;
  readonly queue: {
    readonly visibilityTimeoutSeconds: number;
    readonly retentionSeconds: number;
    /** SQS maxReceiveCount: attempts before the DLQ. */
    readonly maxReceiveCount: number;
  };
  readonly dlq: { readonly retentionSeconds: number };
  readonly deliveryFunction: {
    readonly timeoutSeconds: number;
    readonly batchSize: number;
    readonly maxConcurrency: number;
    /** Lambda's SQS event source needs a batching window when batchSize > 10. */
    readonly maxBatchingWindowSeconds: number;
  };
}

export interface Topology {
  readonly sources: readonly SourcePlan[];
  readonly targets: readonly TargetPlan[];
  readonly bus: { readonly archiveRetentionDays: number; readonly archivePattern: EventPattern };
  readonly liveStream: {
    readonly enabled: boolean;
    readonly broadcastRulePattern: EventPattern;
    readonly connectionTtlSeconds: number;
  };
  readonly store: {
    readonly retentionDays: number;
    readonly dedupeDays: number;
    /**
     * Days a large payload stays in S3: as long as anything may still point at it (the store, a DLQ, the archive);
     * undefined = forever (the archive keeps events forever).
     */
    readonly payloadRetentionDays: number | undefined;
  };
}

/** Every event the ingest handler publishes: the broadcast rule and the archive take all of them. */
export const ALL_WEBHOOK_EVENTS: EventPattern = { source: [{ prefix: EVENT_SOURCE_PREFIX }] };

export function planTarget(target: HttpTargetConfig): TargetPlan {
  const batchSize = target.batchSize;
  const timeoutSeconds = deliveryTimeoutSeconds(target);
  const visibilityTimeoutSeconds = timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR;
  return {
    name: target.name,
    config: target,
    rulePattern: target.filter,
    queue: {
      visibilityTimeoutSeconds,
      retentionSeconds: QUEUE_RETENTION_SECONDS,
      maxReceiveCount: target.retry.maxAttempts,
    },
    dlq: { retentionSeconds: DLQ_RETENTION_SECONDS },
    deliveryFunction: {
      timeoutSeconds,
      batchSize,
      maxConcurrency: target.concurrency,
      maxBatchingWindowSeconds: batchSize > 10 ? 1 : 0,
    },
  };
}

export function planTopology(config: RouterConfig): Topology {
  return {
    sources: config.sources.map((source) => ({
      name: source.name,
      provider: source.provider,
      eventSource: eventBridgeSource(source.name),
      config: source,
    })),
    targets: config.targets.map(planTarget),
    bus: { archiveRetentionDays: config.archiveRetentionDays, archivePattern: ALL_WEBHOOK_EVENTS },
    liveStream: {
      enabled: config.liveStream.enabled,
      broadcastRulePattern: ALL_WEBHOOK_EVENTS,
      connectionTtlSeconds: config.liveStream.connectionTtlSeconds,
    },
    store: {
      retentionDays: config.retentionDays,
      dedupeDays: config.dedupeDays,
      payloadRetentionDays:
        config.archiveRetentionDays === 0
          ? undefined
          : Math.max(
              config.retentionDays,
              config.archiveRetentionDays,
              Math.ceil(DLQ_RETENTION_SECONDS / 86_400),
            ),
    },
  };
}
