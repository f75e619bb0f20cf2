/**
 * Turns a router config into the topology both the CDK stack and the local runtime build, so they cannot drift.
 * Pure: no AWS imports, no I/O.
 */
import type { HttpTargetConfig, RouterConfig, SourceConfig } from './config';
import { EVENT_SOURCE_PREFIX, eventBridgeSource } from './contracts';
import type { EventPattern } from './pattern';

/** Lambda timeout of each delivery invocation: every message of a batch may take the full HTTP timeout. */
const DELIVERY_OVERHEAD_SECONDS = 5;
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
  const timeoutSeconds = Math.min(900, target.timeoutSeconds * batchSize + DELIVERY_OVERHEAD_SECONDS);
  const visibilityTimeoutSeconds = Math.max(
    timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR,
    target.retry.backoffSeconds ?? 0,
  );
  return {
    name: target.name,
    config: target,
    rulePattern: target.filter,
    queue: {
      visibilityTimeoutSeconds: Math.min(visibilityTimeoutSeconds, 43_200),
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
