/**
 * The topology in one normalised shape that three sides can produce, so tests can assert they are equal:
 * - the plan (`normaliseTopology`, pure): what both `cdk deploy` and `npm start` are built from;
 * - the synthesized CloudFormation, parent and nested stacks (test/cdk/local-parity.test.ts);
 * - the running local stack, read back from its services (`LocalStack.describeTopology()`, test/e2e).
 *
 * It covers functions (code, memory, timeout, reserved concurrency, environment, runtime config, IAM actions), rules
 * with their retry policies and DLQs, queues, event source mappings, HTTP and WebSocket routes with their throttles,
 * tables (keys, indexes, TTL) and schedules. Where the local stack differs on purpose, `LOCAL_DIFFERENCES` says how,
 * and `localTopology` applies exactly those differences — the code form of the table in local/README.md.
 *
 * Normalisation: lists sorted by name; patterns deep key-sorted (array order kept); durations in seconds;
 * environment values that name a resource (a table name, a queue URL) become `REF`, since names differ by design.
 */
import type { AlarmKind, AlarmPlan } from '../core/alarms';
import { EVENTS_TABLE, LIVE_TABLE, type TableLayout } from '../core/contracts';
import { METRICS_NAMESPACE } from '../core/metrics';
import {
  type FunctionSpec,
  LAMBDA_HANDLER,
  resolveEnvironment,
  type Throttle,
  type Topology,
} from '../core/plan';
import type { DeliveryRuntime } from '../core/runtime-config';

/** An environment value that refers to a resource (its name, ARN or URL differs between AWS and local). */
export const REF = '<ref>';

export interface NormalisedFunction {
  readonly name: string;
  /** The handler source the code was bundled from, e.g. `lambdas/ingest/handler.ts`. */
  readonly entry: string;
  /** Lambda handler setting (`index.handler`: the bundle's `index.mjs`, export `handler`). */
  readonly handler: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly reservedConcurrency: number | null;
  /** Environment besides the platform's own (see PLATFORM_ENV): literals as they are, references as REF. */
  readonly environment: Readonly<Record<string, string>>;
  /** The function's runtime.json, or null. */
  readonly runtime: unknown;
  /** IAM actions of the function's role, sorted; `not-enforced` locally (local/README.md). */
  readonly actions: readonly string[] | 'not-enforced';
}

export interface NormalisedRule {
  /** `target:<target name>` or `broadcast`. */
  readonly name: string;
  /** The EventBridge pattern, keys sorted recursively. */
  readonly pattern: unknown;
  /** The queue the rule puts events on: a target's name, or `broadcast`. */
  readonly queue: string;
  /** The queue EventBridge dead-letters to when it cannot deliver: the same owner's DLQ. */
  readonly deadLetterQueue: string;
  readonly retry: { readonly maximumRetryAttempts: number; readonly maximumEventAgeSeconds: number };
}

export interface NormalisedQueue {
  /** Target name, or `broadcast`. */
  readonly owner: string;
  /** FIFO queue and DLQ (an ordered target). */
  readonly fifo: boolean;
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  readonly maxReceiveCount: number;
  readonly dlq: { readonly retentionSeconds: number };
}

export interface NormalisedEventSource {
  /** The queue's owner: a target's name, or `broadcast`. */
  readonly queue: string;
  readonly function: string;
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly maxBatchingWindowSeconds: number;
  readonly reportBatchItemFailures: boolean;
}

export interface NormalisedHttpApi {
  /** The catch-all route and the stage default throttle that applies to it. */
  readonly catchAll: { readonly routeKey: string; readonly throttle: Throttle };
  /** Each source's tokened route (the token written `{token}`) and its route throttle. */
  readonly sourceRoutes: readonly { readonly routeKey: string; readonly throttle: Throttle }[];
  /** The management API's routes: the function each invokes and its authorization. */
  readonly managementRoutes: readonly {
    readonly routeKey: string;
    readonly function: string;
    readonly authorization: 'NONE' | 'AWS_IAM';
  }[];
}

export interface NormalisedWebSocketApi {
  readonly routes: readonly string[];
  /** The stage default throttle (every route without its own). */
  readonly throttle: Throttle;
  /** Route throttles, by route key. */
  readonly routeThrottles: Readonly<Record<string, Throttle>>;
}

export interface NormalisedTable {
  /** `events` or `live`. */
  readonly role: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly ttlAttribute: string;
  readonly indexes: readonly {
    readonly name: string;
    readonly partitionKey: string;
    readonly sortKey: string;
    /** Non-key attributes projected (sorted); empty = KEYS_ONLY. */
    readonly include: readonly string[];
  }[];
}

export interface NormalisedSchedule {
  readonly function: string;
  /** EventBridge retries of the scheduled invoke. */
  readonly retryAttempts: number;
  /** Lambda's own retries of the asynchronous invoke when the function fails. */
  readonly asyncRetryAttempts: number;
  /** Lambda drops an asynchronous invoke that waited longer (throttled): the next run covers it. */
  readonly maxEventAgeSeconds: number;
}

export interface NormalisedAlarm {
  /** `<kind>/<subject>`. */
  readonly id: string;
  readonly comparison: AlarmPlan['comparison'];
  readonly threshold: number;
  readonly periodSeconds: number;
  readonly missingData: AlarmPlan['missingData'];
}

export interface NormalisedTopology {
  readonly functions: readonly NormalisedFunction[];
  readonly rules: readonly NormalisedRule[];
  readonly queues: readonly NormalisedQueue[];
  readonly eventSources: readonly NormalisedEventSource[];
  readonly http: NormalisedHttpApi;
  readonly websocket: NormalisedWebSocketApi | null;
  readonly tables: readonly NormalisedTable[];
  readonly schedules: readonly NormalisedSchedule[];
  /** The metric alarms (composites are how CloudWatch combines them; the local stack reports its own). */
  readonly alarms: readonly NormalisedAlarm[];
}

/**
 * Environment variables each side's platform sets, outside the plan: left out of the comparison.
 * - Lambda: `NODE_OPTIONS` (source maps), `POWERTOOLS_LOG_LEVEL` and `POWERTOOLS_LOGGER_SAMPLE_RATE` (stage
 *   settings; `--log-level` locally), `POWERTOOLS_TRACER_CAPTURE_RESPONSE` and `POWERTOOLS_TRACE_ENABLED` (X-Ray,
 *   which is not emulated; the second is the stage's tracing mode, lib/router-function.ts).
 * - Local: the AWS SDK's endpoints and credentials (`AWS_*`) and the code directory.
 */
export const PLATFORM_ENV = new Set([
  'NODE_OPTIONS',
  'POWERTOOLS_LOG_LEVEL',
  'POWERTOOLS_LOGGER_SAMPLE_RATE',
  'POWERTOOLS_TRACER_CAPTURE_RESPONSE',
  'POWERTOOLS_TRACE_ENABLED',
  'LAMBDA_TASK_ROOT',
]);
export const isPlatformEnv = (name: string) => PLATFORM_ENV.has(name) || name.startsWith('AWS_');

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

export const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) =>
    key(a).localeCompare(key(b));

/** `POST /webhooks/<source>/<token>` → `POST /webhooks/<source>/{token}`. */
export const sourceRoutePattern = (source: string) => `POST /webhooks/${source}/{token}`;

/** Every action a function's role holds: the planned grants, plus writing its own logs and traces. */
export function plannedActions(spec: FunctionSpec): string[] {
  return [
    ...new Set([
      ...spec.grants.flatMap((g) => g.actions),
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]),
  ].sort();
}

/** A function's environment as compared: the plan's own variables (literals kept, references as REF). */
export function normaliseEnvironment(
  env: Readonly<Record<string, string>>,
  isRef: (value: string) => boolean,
) {
  return Object.fromEntries(
    Object.entries(env)
      .filter(([name]) => !isPlatformEnv(name))
      .map(([name, value]) => [name, isRef(value) ? REF : value] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

function normaliseFunction(spec: FunctionSpec): NormalisedFunction {
  const refs = new Proxy({}, { get: () => REF }) as Record<string, string>;
  return {
    name: spec.name,
    entry: spec.entry,
    handler: LAMBDA_HANDLER,
    memoryMb: spec.memoryMb,
    timeoutSeconds: spec.timeoutSeconds,
    reservedConcurrency: spec.reservedConcurrency ?? null,
    environment: normaliseEnvironment(
      {
        POWERTOOLS_SERVICE_NAME: spec.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...resolveEnvironment(spec, refs),
      },
      (value) => value === REF,
    ),
    runtime: spec.runtime ?? null,
    actions: plannedActions(spec),
  };
}

export function normaliseTable(role: string, layout: TableLayout): NormalisedTable {
  return {
    role,
    partitionKey: layout.partitionKey,
    sortKey: layout.sortKey,
    ttlAttribute: layout.ttlAttribute,
    indexes: layout.indexes
      .map((i) => ({
        name: i.name,
        partitionKey: i.partitionKey,
        sortKey: i.sortKey,
        include: [...i.include].sort(),
      }))
      .sort(byKey((i) => i.name)),
  };
}

/** What `cdk deploy` and `npm start` are both built from, normalised (pure). */
export function normaliseTopology(topology: Topology): NormalisedTopology {
  const live = topology.liveStream.enabled;
  const { connections, broadcast } = topology.functions;
  const functions = [
    topology.functions.ingest,
    topology.functions.sweeper,
    topology.functions.routes,
    topology.functions.management,
    ...(live && connections && broadcast ? [connections, broadcast] : []),
    ...topology.targets.map((t) => t.function),
  ];
  // An ordered target's queue has no rule: ingest, the sweeper and the management API send to it.
  const rules: NormalisedRule[] = topology.targets
    .filter((t) => !t.ordering)
    .map((t) => ({
      name: `target:${t.name}`,
      pattern: canonicalPattern(t.rulePattern),
      queue: t.name,
      deadLetterQueue: t.name,
      retry: { ...t.ruleTarget },
    }));
  const queues: NormalisedQueue[] = topology.targets.map((t) => ({
    owner: t.name,
    fifo: t.queue.fifo,
    visibilityTimeoutSeconds: t.queue.visibilityTimeoutSeconds,
    retentionSeconds: t.queue.retentionSeconds,
    maxReceiveCount: t.queue.maxReceiveCount,
    dlq: { retentionSeconds: t.dlq.retentionSeconds },
  }));
  const eventSources: NormalisedEventSource[] = topology.targets.map((t) => ({
    queue: t.name,
    function: t.function.name,
    batchSize: t.eventSource.batchSize,
    maxConcurrency: t.eventSource.maxConcurrency,
    maxBatchingWindowSeconds: t.eventSource.maxBatchingWindowSeconds,
    reportBatchItemFailures: true,
  }));
  const ls = topology.liveStream;
  if (live && broadcast) {
    rules.push({
      name: 'broadcast',
      pattern: canonicalPattern(ls.broadcastRulePattern),
      queue: 'broadcast',
      deadLetterQueue: 'broadcast',
      retry: { ...ls.ruleTarget },
    });
    queues.push({
      owner: 'broadcast',
      fifo: false,
      visibilityTimeoutSeconds: ls.queue.visibilityTimeoutSeconds,
      retentionSeconds: ls.queue.retentionSeconds,
      maxReceiveCount: ls.queue.maxReceiveCount,
      dlq: { retentionSeconds: ls.dlq.retentionSeconds },
    });
    eventSources.push({
      queue: 'broadcast',
      function: broadcast.name,
      batchSize: ls.eventSource.batchSize,
      maxConcurrency: ls.eventSource.maxConcurrency,
      maxBatchingWindowSeconds: 0,
      // Every record succeeds once processed: a retried broadcast would push duplicates.
      reportBatchItemFailures: false,
    });
  }
  return {
    functions: functions.map(normaliseFunction).sort(byKey((f) => f.name)),
    rules: rules.sort(byKey((r) => r.name)),
    queues: queues.sort(byKey((q) => q.owner)),
    eventSources: eventSources.sort(byKey((e) => e.queue)),
    http: {
      catchAll: { routeKey: '$default', throttle: { ...topology.http.catchAllThrottle } },
      sourceRoutes: topology.sources
        .map((s) => ({
          routeKey: sourceRoutePattern(s.name),
          throttle: { rateLimit: s.config.rateLimitPerSecond, burstLimit: s.config.burstLimit },
        }))
        .sort(byKey((r) => r.routeKey)),
      managementRoutes: topology.management.routes
        .map((r) => ({
          routeKey: r.routeKey,
          function: topology.functions.management.name,
          authorization: r.authorization,
        }))
        .sort(byKey((r) => r.routeKey)),
    },
    websocket: live
      ? {
          routes: ['$connect', '$default', '$disconnect', ...ls.actions].sort(),
          throttle: { ...ls.throttle },
          routeThrottles: { $connect: { ...ls.connectThrottle } },
        }
      : null,
    tables: [normaliseTable('events', EVENTS_TABLE), ...(live ? [normaliseTable('live', LIVE_TABLE)] : [])],
    schedules: [
      { function: topology.functions.sweeper.name, schedule: topology.sweeperSchedule },
      ...topology.targets.flatMap((t) =>
        t.probeSchedule ? [{ function: t.function.name, schedule: t.probeSchedule }] : [],
      ),
    ]
      .map(({ function: fn, schedule }) => ({
        function: fn,
        retryAttempts: schedule.retryAttempts,
        asyncRetryAttempts: schedule.asyncRetryAttempts,
        maxEventAgeSeconds: schedule.maxEventAgeSeconds,
      }))
      .sort(byKey((s) => s.function)),
    alarms: topology.alarms.alarms.map(normaliseAlarm).sort(byKey((a) => a.id)),
  };
}

export const normaliseAlarm = (alarm: AlarmPlan): NormalisedAlarm => ({
  id: alarm.id,
  comparison: alarm.comparison,
  threshold: alarm.threshold,
  periodSeconds: alarm.periodSeconds,
  missingData: alarm.missingData,
});

/** Options of the local stack that change what it runs (each a documented difference). */
export interface LocalDifferenceOptions {
  /** Delivery backoff delays (`--retry-delay`); null = the configured ones. */
  readonly retryDelays: { readonly initialDelaySeconds: number; readonly maxDelaySeconds: number } | null;
}

/**
 * Where the local stack differs from AWS on purpose (local/README.md has the reasons):
 * - delivery backoff: from `--retry-delay` (default 1-2 s) rather than the configured seconds to minutes, and a
 *   circuit breaker rests 2 s (up to 10 s) with a probe every second rather than a minute (with the same option);
 * - the sweeper's republish backoff: 0.5-2 s rather than 30 s-15 min;
 * - reserved concurrency: not emulated (there is no account-wide pool locally);
 * - IAM: not enforced (every local function may call every local service);
 * - two alarm kinds are not evaluated locally (`alarmsNotEvaluated`).
 */
export const LOCAL_DIFFERENCES = {
  sweeperBackoff: { initialMs: 500, maxMs: 2_000 },
  defaultRetryDelays: { initialDelaySeconds: 1, maxDelaySeconds: 2 },
  /** A breaker rests 2 s (doubling to 10 s) before its probe, which the local schedule runs every second. */
  breakerOpen: { openSeconds: 2, maxOpenSeconds: 10 },
  probeEverySeconds: 1,
  /** Alarm kinds the local stack does not evaluate, and why (every other one it reports as `ALARM …` lines). */
  alarmsNotEvaluated: {
    'lambda-throttles':
      'local functions queue invocations beyond their pool instead of refusing them: no account-wide concurrency',
    'websocket-errors': 'the local WebSocket API keeps no count of failed calls to the connections function',
  } satisfies Partial<Record<AlarmKind, string>>,
} as const;

/** Whether the local stack evaluates an alarm kind. */
export const evaluatedLocally = (kind: AlarmKind): boolean => !(kind in LOCAL_DIFFERENCES.alarmsNotEvaluated);

/** A function's runtime.json as the local stack writes it. */
export function localRuntime(spec: FunctionSpec, options: LocalDifferenceOptions): unknown {
  if (spec.handler === 'sweeper') return { backoff: LOCAL_DIFFERENCES.sweeperBackoff };
  if (spec.handler === 'delivery' && options.retryDelays) {
    const { target } = spec.runtime as DeliveryRuntime;
    const { circuitBreaker } = target.config;
    return {
      target: {
        ...target,
        config: {
          ...target.config,
          retry: { ...target.config.retry, ...options.retryDelays },
          ...(circuitBreaker === false
            ? {}
            : { circuitBreaker: { ...circuitBreaker, ...LOCAL_DIFFERENCES.breakerOpen } }),
        },
      },
    };
  }
  return spec.runtime;
}

/** What the running local stack must describe: the plan with exactly the documented local differences. */
export function localTopology(topology: Topology, options: LocalDifferenceOptions): NormalisedTopology {
  const planned = normaliseTopology(topology);
  const specs = new Map(
    [
      ...Object.values(topology.functions).filter((f): f is FunctionSpec => f !== undefined),
      ...topology.targets.map((t) => t.function),
    ].map((f) => [f.name, f]),
  );
  return {
    ...planned,
    alarms: planned.alarms.filter((a) => evaluatedLocally(a.id.split('/')[0] as AlarmKind)),
    functions: planned.functions.map((f) => ({
      ...f,
      runtime: localRuntime(specs.get(f.name)!, options) ?? null,
      reservedConcurrency: null,
      actions: 'not-enforced' as const,
    })),
  };
}
