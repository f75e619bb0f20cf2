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
export const QUEUE_RETENTION_SECONDS = 4 * 24 * 3600;

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
  readonly store: { readonly retentionDays: number; readonly dedupeDays: number };
}

/** Every event the ingest handler publishes: the broadcast rule and the archive take all of them. */
export const ALL_WEBHOOK_EVENTS: EventPattern = { source: [{ prefix: EVENT_SOURCE_PREFIX }] };

export function planTarget(target: HttpTargetConfig): TargetPlan {
  const batchSize = target.batchSize;
  const timeoutSeconds = target.timeoutSeconds + DELIVERY_OVERHEAD_SECONDS;
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
    store: { retentionDays: config.retentionDays, dedupeDays: config.dedupeDays },
  };
}
