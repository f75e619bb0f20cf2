/**
 * The topology the local stack builds, in a normalised shape the CDK side can also derive from the synthesized
 * template, so a test can assert they are equal (no drift between `npm start` and `cdk deploy`).
 *
 * Normalisation: lists sorted by name; patterns deep key-sorted (array order kept); numbers in seconds; rules
 * named `target:<target name>` (rule → that target's queue) and `broadcast` (rule → the broadcast function).
 */
import type { Topology } from '../core/plan';

export interface NormalisedRule {
  /** `target:<target name>` or `broadcast`. */
  readonly name: string;
  /** The EventBridge pattern, keys sorted recursively. */
  readonly pattern: unknown;
  readonly target:
    | { readonly kind: 'queue'; readonly target: string }
    | { readonly kind: 'function'; readonly function: 'broadcast' };
  /** Rule target DLQ (EventBridge could not deliver): the target's name for queue rules (its DLQ), `broadcast`. */
  readonly deadLetterQueue: string;
}

export interface NormalisedQueue {
  /** Target name. */
  readonly target: string;
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  readonly maxReceiveCount: number;
  readonly dlq: { readonly retentionSeconds: number };
}

export interface NormalisedEventSource {
  readonly target: string;
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly maxBatchingWindowSeconds: number;
  readonly reportBatchItemFailures: true;
}

export interface NormalisedTopology {
  readonly rules: readonly NormalisedRule[];
  readonly queues: readonly NormalisedQueue[];
  readonly eventSources: readonly NormalisedEventSource[];
}

/** Deep copy with object keys sorted (arrays keep their order). */
export function canonicalPattern(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalPattern);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, canonicalPattern((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

const byName =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) =>
    key(a).localeCompare(key(b));

/** What the local stack builds from a plan (pure; `LocalStack.describeTopology()` reads the same from the running services). */
export function normaliseTopology(topology: Topology): NormalisedTopology {
  const rules: NormalisedRule[] = topology.targets.map((t) => ({
    name: `target:${t.name}`,
    pattern: canonicalPattern(t.rulePattern),
    target: { kind: 'queue', target: t.name },
    deadLetterQueue: t.name,
  }));
  if (topology.liveStream.enabled) {
    rules.push({
      name: 'broadcast',
      pattern: canonicalPattern(topology.liveStream.broadcastRulePattern),
      target: { kind: 'function', function: 'broadcast' },
      deadLetterQueue: 'broadcast',
    });
  }
  return {
    rules: rules.sort(byName((r) => r.name)),
    queues: topology.targets
      .map((t) => ({
        target: t.name,
        visibilityTimeoutSeconds: t.queue.visibilityTimeoutSeconds,
        retentionSeconds: t.queue.retentionSeconds,
        maxReceiveCount: t.queue.maxReceiveCount,
        dlq: { retentionSeconds: t.dlq.retentionSeconds },
      }))
      .sort(byName((q) => q.target)),
    eventSources: topology.targets
      .map((t) => ({
        target: t.name,
        batchSize: t.eventSource.batchSize,
        maxConcurrency: t.eventSource.maxConcurrency,
        maxBatchingWindowSeconds: t.eventSource.maxBatchingWindowSeconds,
        reportBatchItemFailures: true as const,
      }))
      .sort(byName((e) => e.target)),
  };
}
