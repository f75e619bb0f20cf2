/**
 * Turns a router config into the topology both the CDK stack and the local runtime build, so they cannot drift:
 * rules, queues, event sources and every function's spec (handler, memory, timeout, environment). `lib/` and
 * `local/` only turn this plan into resources. Pure: no AWS imports, no I/O.
 */
import type { HttpTargetConfig, RouterConfig, SourceConfig } from './config';
import { ENV, EVENT_SOURCE_PREFIX, eventBridgeSource } from './contracts';
import type { EventPattern } from './pattern';
import { receiveLimit } from './retry';

/** The handlers there are: `lambdas/<name>/handler.ts`. */
export const HANDLERS = ['ingest', 'sweeper', 'routes', 'delivery', 'connections', 'broadcast'] as const;
export type HandlerName = (typeof HANDLERS)[number];
export const handlerEntry = (handler: HandlerName) => `lambdas/${handler}/handler.ts`;

/**
 * Values of a function's environment that name resources: the CDK stack resolves them to its resources' names,
 * the local runtime to its local ones. Everything else in an environment is a literal from the plan.
 */
export const RESOURCE_REFS = [
  'eventsTable',
  'liveTable',
  'bus',
  'payloadBucket',
  'queueUrl',
  'deadLetterQueueUrl',
  'websocketEndpoint',
  'streamTokenSecret',
  'signingSecret',
  'httpApi',
  'httpIntegration',
  'urlTokenSecretPrefix',
] as const;
export type ResourceRef = (typeof RESOURCE_REFS)[number];
export type EnvValue = string | { readonly ref: ResourceRef };

export interface FunctionSpec {
  /** Unique within the stack: `ingest`, `sweeper`, `connections`, `broadcast`, `delivery-<target>`. */
  readonly name: string;
  readonly handler: HandlerName;
  /** Handler module, relative to the repository root. */
  readonly entry: string;
  readonly description: string;
  /** Powertools service name (log field and metrics dimension). */
  readonly serviceName: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** Reserved concurrency, when the function must keep (or must not exceed) a share of the account's. */
  readonly reservedConcurrency?: number;
  readonly environment: Readonly<Record<string, EnvValue>>;
}

/** A spec's environment with its resource references resolved; fails the synth when one has no resource. */
export function resolveEnvironment(
  spec: FunctionSpec,
  refs: Partial<Record<ResourceRef, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.environment)) {
    if (typeof value === 'string') out[name] = value;
    else {
      const resolved = refs[value.ref];
      if (resolved === undefined)
        throw new Error(`function ${spec.name}: ${name} refers to ${value.ref}, which this stack lacks`);
      out[name] = resolved;
    }
  }
  return out;
}

/**
 * The delivery function POSTs a batch's records in parallel, so its timeout is one HTTP timeout plus room for the
 * payload fetch, the secret read, the delivery log write and a move to the DLQ.
 */
const DELIVERY_OVERHEAD_SECONDS = 10;
/** AWS: the queue's visibility timeout should be at least 6 × the consumer function's timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** SQS maximum retention, for target queues and DLQs: a long retry schedule must never outlive its message. */
export const QUEUE_RETENTION_SECONDS = 14 * 24 * 3600;
/** Ingest answers providers within seconds (Slack 3 s, GitHub 10 s). */
export const INGEST_TIMEOUT_SECONDS = 10;

/** Delivery function timeout for a target: one HTTP timeout plus room for everything else the attempt does. */
export const deliveryTimeoutSeconds = (target: Pick<HttpTargetConfig, 'timeoutSeconds'>) =>
  target.timeoutSeconds + DELIVERY_OVERHEAD_SECONDS;

export interface SourcePlan {
  readonly name: string;
  readonly provider: SourceConfig['provider'];
  /** EventBridge `Source` of this source's events. */
  readonly eventSource: string;
  readonly config: SourceConfig;
}

export interface TargetPlan {
  readonly name: string;
  readonly kind: HttpTargetConfig['kind'];
  readonly config: HttpTargetConfig;
  /** Pattern of the EventBridge rule that feeds this target's queue. */
  readonly rulePattern: EventPattern;
  readonly queue: {
    readonly visibilityTimeoutSeconds: number;
    readonly retentionSeconds: number;
    /** SQS maxReceiveCount: a safety net above the attempt limit (attempts are counted in the delivery log). */
    readonly maxReceiveCount: number;
  };
  readonly dlq: { readonly retentionSeconds: number };
  readonly eventSource: {
    readonly batchSize: number;
    readonly maxConcurrency: number;
    /** Lambda's SQS event source needs a batching window when batchSize > 10. */
    readonly maxBatchingWindowSeconds: number;
  };
  readonly function: FunctionSpec;
}

export interface Topology {
  readonly sources: readonly SourcePlan[];
  readonly targets: readonly TargetPlan[];
  readonly functions: {
    readonly ingest: FunctionSpec;
    readonly sweeper: FunctionSpec;
    /** Keeps each source's tokened route in line with its URL-token secret (deploy, rotation). */
    readonly routes: FunctionSpec;
    readonly connections?: FunctionSpec;
    readonly broadcast?: FunctionSpec;
  };
  readonly bus: { readonly archiveRetentionDays: number; readonly archivePattern: EventPattern };
  readonly liveStream: {
    readonly enabled: boolean;
    readonly broadcastRulePattern: EventPattern;
    readonly connectionTtlSeconds: number;
  };
  readonly store: {
    readonly retentionDays: number;
    readonly dedupeDays: number;
    readonly deliveryLogDays: number;
    /**
     * Days a large payload stays in S3: as long as anything may still point at it (the store, a DLQ, the archive);
     * undefined = forever (the archive keeps events forever).
     */
    readonly payloadRetentionDays: number | undefined;
  };
}

/** Every event the ingest handler publishes: the broadcast rule and the archive take all of them. */
export const ALL_WEBHOOK_EVENTS: EventPattern = { source: [{ prefix: EVENT_SOURCE_PREFIX }] };

/** Runtime slice of a target, serialised into its delivery function's environment. */
export function runtimeTarget(target: HttpTargetConfig, deliveryLogDays: number) {
  return { name: target.name, config: target, deliveryLogDays };
}

export function planTarget(target: HttpTargetConfig, deliveryLogDays: number): TargetPlan {
  const timeoutSeconds = deliveryTimeoutSeconds(target);
  return {
    name: target.name,
    kind: target.kind,
    config: target,
    rulePattern: target.filter,
    queue: {
      visibilityTimeoutSeconds: timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR,
      retentionSeconds: QUEUE_RETENTION_SECONDS,
      maxReceiveCount: receiveLimit(target.retry.maxAttempts),
    },
    dlq: { retentionSeconds: QUEUE_RETENTION_SECONDS },
    eventSource: {
      batchSize: target.batchSize,
      maxConcurrency: target.concurrency,
      maxBatchingWindowSeconds: target.batchSize > 10 ? 1 : 0,
    },
    function: {
      name: `delivery-${target.name}`,
      handler: 'delivery',
      entry: handlerEntry('delivery'),
      description: `Delivers events to target ${target.name}`,
      serviceName: 'delivery',
      memoryMb: 512,
      timeoutSeconds,
      environment: {
        [ENV.tableName]: { ref: 'eventsTable' },
        [ENV.payloadBucket]: { ref: 'payloadBucket' },
        [ENV.queueUrl]: { ref: 'queueUrl' },
        [ENV.deadLetterQueueUrl]: { ref: 'deadLetterQueueUrl' },
        [ENV.signingSecret]: { ref: 'signingSecret' },
        [ENV.target]: JSON.stringify(runtimeTarget(target, deliveryLogDays)),
      },
    },
  };
}

/** Runtime slice of the sources, serialised into the ingest function's environment. */
export const runtimeSources = (sources: readonly SourcePlan[]) =>
  sources.map((s) => ({ name: s.name, eventSource: s.eventSource, config: s.config }));

export function planTopology(config: RouterConfig): Topology {
  const sources = config.sources.map((source) => ({
    name: source.name,
    provider: source.provider,
    eventSource: eventBridgeSource(source.name),
    config: source,
  }));
  const deliveryLogDays = config.deliveryLogDays ?? config.retentionDays;
  const live = config.liveStream.enabled;
  return {
    sources,
    targets: config.targets.map((t) => planTarget(t, deliveryLogDays)),
    functions: {
      ingest: {
        name: 'ingest',
        handler: 'ingest',
        entry: handlerEntry('ingest'),
        description: 'Verifies, deduplicates, stores and publishes webhooks',
        serviceName: 'ingest',
        memoryMb: 1024,
        timeoutSeconds: INGEST_TIMEOUT_SECONDS,
        environment: {
          [ENV.tableName]: { ref: 'eventsTable' },
          [ENV.busName]: { ref: 'bus' },
          [ENV.payloadBucket]: { ref: 'payloadBucket' },
          [ENV.retentionDays]: String(config.retentionDays),
          [ENV.dedupeDays]: String(config.dedupeDays),
          [ENV.sources]: JSON.stringify(runtimeSources(sources)),
        },
      },
      sweeper: {
        name: 'sweeper',
        handler: 'sweeper',
        entry: handlerEntry('sweeper'),
        description: 'Republishes accepted events whose publish failed',
        serviceName: 'sweeper',
        memoryMb: 512,
        timeoutSeconds: 60,
        // One sweep at a time: two would race for the same pending events.
        reservedConcurrency: 1,
        environment: {
          [ENV.tableName]: { ref: 'eventsTable' },
          [ENV.busName]: { ref: 'bus' },
        },
      },
      routes: {
        name: 'routes',
        handler: 'routes',
        entry: handlerEntry('routes'),
        description: "Creates each source's tokened webhook route; rotates URL tokens",
        serviceName: 'routes',
        memoryMb: 256,
        timeoutSeconds: 120,
        environment: {
          [ENV.httpApiId]: { ref: 'httpApi' },
          [ENV.httpIntegrationId]: { ref: 'httpIntegration' },
          [ENV.urlTokenSecretPrefix]: { ref: 'urlTokenSecretPrefix' },
          [ENV.sources]: JSON.stringify(runtimeSources(sources)),
        },
      },
      ...(live
        ? {
            connections: {
              name: 'connections',
              handler: 'connections',
              entry: handlerEntry('connections'),
              description: 'WebSocket $connect / $disconnect / actions',
              serviceName: 'connections',
              memoryMb: 512,
              timeoutSeconds: 10,
              environment: {
                [ENV.liveTableName]: { ref: 'liveTable' },
                [ENV.connectionTtlSeconds]: String(config.liveStream.connectionTtlSeconds),
                [ENV.streamTokenSecret]: { ref: 'streamTokenSecret' },
                [ENV.websocketEndpoint]: { ref: 'websocketEndpoint' },
              },
            },
            broadcast: {
              name: 'broadcast',
              handler: 'broadcast',
              entry: handlerEntry('broadcast'),
              description: 'Pushes events to subscribed WebSocket connections',
              serviceName: 'broadcast',
              memoryMb: 1024,
              timeoutSeconds: 30,
              environment: {
                [ENV.liveTableName]: { ref: 'liveTable' },
                [ENV.websocketEndpoint]: { ref: 'websocketEndpoint' },
              },
            },
          }
        : {}),
    },
    bus: { archiveRetentionDays: config.archiveRetentionDays, archivePattern: ALL_WEBHOOK_EVENTS },
    liveStream: {
      enabled: live,
      broadcastRulePattern: ALL_WEBHOOK_EVENTS,
      connectionTtlSeconds: config.liveStream.connectionTtlSeconds,
    },
    store: {
      retentionDays: config.retentionDays,
      dedupeDays: config.dedupeDays,
      deliveryLogDays,
      payloadRetentionDays:
        config.archiveRetentionDays === 0
          ? undefined
          : Math.max(
              config.retentionDays,
              config.archiveRetentionDays,
              Math.ceil(QUEUE_RETENTION_SECONDS / 86_400),
            ),
    },
  };
}

/** Every function of a topology, delivery functions included. */
export function allFunctions(topology: Topology): FunctionSpec[] {
  const f = topology.functions;
  return [
    f.ingest,
    f.sweeper,
    f.routes,
    ...(f.connections ? [f.connections] : []),
    ...(f.broadcast ? [f.broadcast] : []),
    ...topology.targets.map((t) => t.function),
  ];
}
