/**
 * Turns a router config into the topology both the CDK stack and the local runtime build, so they cannot drift:
 * rules, queues, event sources and every function's spec (handler, memory, timeout, environment). `lib/` and
 * `local/` only turn this plan into resources. Pure: no AWS imports, no I/O.
 */
import { type AlarmsPlan, planAlarms } from './alarms';
import type { RouterConfig, SourceConfig, TargetConfig } from './config';
import { ALL_WEBHOOK_EVENTS, ENV, eventBridgeSource, LIVE_EVENTS } from './contracts';
import { ROUTES } from './management';
import type { EventPattern } from './pattern';
import {
  BROADCAST_TIMEOUT_SECONDS,
  deliveryTimeoutSeconds,
  INGEST_TIMEOUT_SECONDS,
  LIVE_EVENT_MAX_AGE_SECONDS,
  LIVE_RULE_TARGET_RETRY,
  QUEUE_RETENTION_SECONDS,
  RULE_TARGET_RETRY,
  type RuleTargetPlan,
  VISIBILITY_TIMEOUT_FACTOR,
} from './queues';
import { receiveLimit, SWEEP_BACKOFF } from './retry';
import type {
  ConnectionsRuntime,
  ManagementRuntime,
  OidcRuntime,
  OrderedTargetsRuntime,
  SweeperRuntime,
} from './runtime-config';
import type { StageName } from './stages';
import { kindPlanOf } from './targets';
import { VERSION } from './version';

/** The management function's timeout: a job's chunk runs this long at most (Lambda allows 900 s). */
export const MANAGEMENT_TIMEOUT_SECONDS = 300;

/** The handlers there are: `lambdas/<name>/handler.ts`. */
export const HANDLERS = [
  'ingest',
  'sweeper',
  'routes',
  'delivery',
  'connections',
  'broadcast',
  'management',
] as const;
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
  'urlTokenSecret',
  'targetQueueUrl',
  /** Prefix of every target's queue names (core/queues.ts). */
  'queuePrefix',
  'cursorKeySecret',
  /** The live stream's broadcast queue. */
  'broadcastQueueUrl',
] as const;
export type ResourceRef = (typeof RESOURCE_REFS)[number];
export type EnvValue = string | { readonly ref: ResourceRef };

/**
 * What a function may be granted access to. `lib/` turns each into the ARNs of this stack's resources; the local
 * runtime does not enforce IAM (local/README.md). Every action a handler's code calls is granted here and nothing
 * more (test/cdk/iam.test.ts derives the calls from the bundled code and compares).
 */
export const GRANT_TARGETS = [
  'eventsTable',
  /** The events table's secondary indexes (events by source, deliveries by target). */
  'eventsTableIndexes',
  'liveTable',
  'bus',
  /** Objects under the payload bucket's `payloads/`. */
  'payloadObjects',
  'queue',
  'deadLetterQueue',
  'signingSecret',
  'sourceSecrets',
  'streamTokenSecret',
  'urlTokenSecret',
  /** The HTTP API's routes (`/apis/<id>/routes`, `/routes/*`). */
  'httpApiRoutes',
  /** The HTTP API's `$default` stage and its route settings. */
  'httpApiStage',
  /** The WebSocket API's `@connections` (execute-api). */
  'websocketConnections',
  /** The event source mapping that feeds this function (a delivery function pauses its own). */
  'ownEventSourceMapping',
  /** The live stream's broadcast queue. */
  'broadcastQueue',
  /** What the target is, from its config: a queue, a function or a bus ARN (core/targets.ts). */
  'targetResource',
  /** The customer managed KMS key of an SQS target's queue. */
  'targetKmsKey',
  /** Every target's queue and DLQ: the queues named `<queue prefix>-*` (core/queues.ts). */
  'targetQueues',
  /**
   * This account's event source mappings in this region: a mapping's ARN ends in a UUID generated at deploy, which no
   * name pattern can narrow.
   */
  'eventSourceMappings',
  /** The function itself (a job hands its next chunk to a fresh invocation). */
  'ownFunction',
  /** The secret whose value signs the management API's paging cursors. */
  'cursorKeySecret',
  /** The FIFO queues of the ordered targets, which the publishing functions send to directly. */
  'orderedTargetQueues',
  /** Actions that support no resource-level permission. */
  'any',
] as const;
export type GrantTarget = (typeof GRANT_TARGETS)[number];

export interface Grant {
  readonly actions: readonly string[];
  readonly on: GrantTarget;
}

/**
 * Memory of each function, chosen from measurements (bench/cpu.bench.ts, bench/cost-model.ts). Lambda gives a
 * function CPU in proportion to its memory (1,769 MB = one vCPU) and bills memory × time, so for a function that
 * mostly waits on calls the smallest size whose CPU stretch stays small beside its waits is the cheapest. Measured
 * for the reference webhook: ingest ~1-3 ms CPU and ~80 ms of CPU at init, ~30 ms waiting on DynamoDB and EventBridge;
 * delivery ~2 ms CPU, ~60 ms waiting (mostly the target); resident memory ~120 MB each.
 * - ingest 512 MB (0.29 vCPU): the webhook's answer waits ~5-10 ms more on CPU and a cold start ~0.3 s, for 40 % less
 *   per webhook than at 1,024 MB; providers wait seconds (Slack 3 s), so not lower.
 * - delivery, connections, sweeper 256 MB: background work, where a slower cold start or CPU stretch costs nothing a
 *   sender waits on; 256 MB keeps twice the measured resident memory (payloads over 100 KB come from S3).
 * - broadcast 1,024 MB: its CPU grows with the connections it pushes to (an SDK call each), not with the webhook.
 * - routes 256 MB: runs at deploy.
 * - management 512 MB: an operator's request pages through up to 100 events and a job chunk sends for minutes;
 *   nothing a webhook sender waits on, but a person does (not measured by the bench's CPU suite).
 */
export const MEMORY_MB = {
  ingest: 512,
  delivery: 256,
  connections: 256,
  sweeper: 256,
  broadcast: 1024,
  routes: 256,
  management: 512,
} as const satisfies Record<HandlerName, number>;

/** The handler setting of every function: the bundle's `index.mjs`, export `handler` (lib/bundling.ts). */
export const LAMBDA_HANDLER = 'index.handler';

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
  /** Exactly what the function's code calls (besides writing its own logs and traces). */
  readonly grants: readonly Grant[];
  readonly environment: Readonly<Record<string, EnvValue>>;
  /**
   * What the handler reads at init from `runtime.json` in its code (sources, its target): config that grows with
   * the router config does not belong in environment variables, which Lambda limits to 4 KB in all.
   */
  readonly runtime?: unknown;
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

export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface SourcePlan {
  readonly name: string;
  readonly provider: SourceConfig['provider'];
  /** EventBridge `Source` of this source's events. */
  readonly eventSource: string;
  readonly config: SourceConfig;
}

/**
 * A function invoked on a schedule (asynchronously): EventBridge's retries of the invoke, Lambda's retries of a
 * failed run, and how old a queued invoke may get. A scheduled run is never retried: the next one covers it.
 */
export interface ScheduledInvoke {
  readonly everySeconds: number;
  readonly retryAttempts: number;
  readonly asyncRetryAttempts: number;
  /** Lambda's minimum is 60 s. */
  readonly maxEventAgeSeconds: number;
}

/** The breaker's probe runs every minute (EventBridge's shortest rate). */
const PROBE_SCHEDULE: ScheduledInvoke = {
  everySeconds: 60,
  retryAttempts: 0,
  asyncRetryAttempts: 0,
  maxEventAgeSeconds: 60,
};

export interface TargetPlan {
  readonly name: string;
  readonly kind: TargetConfig['kind'];
  readonly config: TargetConfig;
  /** Pattern of the EventBridge rule that feeds this target's queue. */
  readonly rulePattern: EventPattern;
  readonly ruleTarget: RuleTargetPlan;
  /**
   * Ordered delivery per key: the queue and DLQ are FIFO and no rule feeds them — EventBridge can only give a FIFO
   * target one fixed message group (SqsParameters.MessageGroupId is a literal), so whatever publishes an event
   * (ingest, the sweeper, the management API) sends it to these queues itself, grouped by the key.
   */
  readonly ordering?: { readonly key: string };
  readonly queue: {
    /** SQS FIFO queue (and DLQ), for ordered delivery. */
    readonly fifo: boolean;
    readonly visibilityTimeoutSeconds: number;
    readonly retentionSeconds: number;
    /** SQS maxReceiveCount: a safety net above the attempt limit (attempts are counted in the delivery log). */
    readonly maxReceiveCount: number;
  };
  readonly dlq: { readonly retentionSeconds: number };
  /**
   * The breaker's probe: a schedule that invokes the delivery function with `{"probe": true}`, which lets an open
   * breaker whose rest is over try again. Never retried (the next minute's covers it). Absent without a breaker.
   */
  readonly probeSchedule?: ScheduledInvoke;
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
    /** The management API (`/v1`, `/health`) and its replay and redrive jobs. */
    readonly management: FunctionSpec;
    readonly connections?: FunctionSpec;
    readonly broadcast?: FunctionSpec;
  };
  /** The management API's routes on the HTTP API, every one of them integrated with the management function. */
  readonly management: { readonly routes: readonly ManagementRoutePlan[] };
  readonly bus: { readonly archiveRetentionDays: number; readonly archivePattern: EventPattern };
  readonly liveStream: {
    readonly enabled: boolean;
    readonly broadcastRulePattern: EventPattern;
    readonly connectionTtlSeconds: number;
    /**
     * The broadcast function reads events from a queue (EventBridge → SQS → Lambda) rather than being invoked by
     * EventBridge: a queue message is the event's text, so clients receive the envelope's exact digits, and a
     * batch of events costs one invocation.
     */
    readonly ruleTarget: RuleTargetPlan;
    readonly queue: {
      readonly visibilityTimeoutSeconds: number;
      readonly retentionSeconds: number;
      readonly maxReceiveCount: number;
    };
    readonly dlq: { readonly retentionSeconds: number };
    readonly eventSource: { readonly batchSize: number; readonly maxConcurrency: number };
    /** Route keys selected by `$request.body.action`, besides `$connect`, `$disconnect`, `$default`. */
    readonly actions: readonly string[];
    /** Throttle of the WebSocket stage: every route's default. */
    readonly throttle: Throttle;
    /**
     * Throttle of the `$connect` route, below the stage's: each connect attempt invokes a function before any token is
     * checked, so a flood of them must not take the account's concurrency from ingest.
     */
    readonly connectThrottle: Throttle;
  };
  readonly http: {
    /** Throttle of the catch-all route: requests that are not a POST to a source's tokened URL. */
    readonly catchAllThrottle: Throttle;
  };
  /**
   * The sweeper runs on a schedule, invoked asynchronously. A failed or late run is never retried — not by
   * EventBridge, not by Lambda (which retries a failed asynchronous invoke twice by default): the next run covers it,
   * and a retry would overlap it.
   */
  readonly sweeperSchedule: ScheduledInvoke;
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
  /** Every alarm, with its threshold (the stage's default or the config's), and where alarms notify. */
  readonly alarms: AlarmsPlan;
}

/**
 * A route of the management API. `AWS_IAM`: the caller signs with SigV4 and API Gateway checks that its identity may
 * `execute-api:Invoke` the route before the function runs. `operator` routes change something (the operator policy);
 * the others read (the reader policy).
 */
export interface ManagementRoutePlan {
  readonly routeKey: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly authorization: 'AWS_IAM' | 'NONE';
  readonly operator: boolean;
}

/** Every route of core/management.ts: `/v1/…` behind IAM authorization; `GET /health` open (status and version). */
export const MANAGEMENT_ROUTES: readonly ManagementRoutePlan[] = ROUTES.map((route) => ({
  routeKey: `${route.method} ${route.path}`,
  method: route.method,
  path: route.path,
  authorization: route.path.startsWith('/v1/') ? 'AWS_IAM' : 'NONE',
  operator: route.operator,
}));

export { ALL_WEBHOOK_EVENTS } from './contracts';

/** Runtime slice of a target, serialised into its delivery function's environment. */
export function runtimeTarget(target: TargetConfig, deliveryLogDays: number) {
  return { name: target.name, config: target, deliveryLogDays };
}

export function planTarget(target: TargetConfig, deliveryLogDays: number): TargetPlan {
  const kind = kindPlanOf(target);
  const timeoutSeconds = deliveryTimeoutSeconds(target);
  return {
    name: target.name,
    kind: target.kind,
    config: target,
    rulePattern: target.filter,
    ruleTarget: RULE_TARGET_RETRY,
    ...(target.ordering ? { ordering: { key: target.ordering.key } } : {}),
    queue: {
      fifo: target.ordering !== undefined,
      visibilityTimeoutSeconds: timeoutSeconds * VISIBILITY_TIMEOUT_FACTOR,
      retentionSeconds: QUEUE_RETENTION_SECONDS,
      maxReceiveCount: receiveLimit(target.retry.maxAttempts),
    },
    dlq: { retentionSeconds: QUEUE_RETENTION_SECONDS },
    ...(target.circuitBreaker === false ? {} : { probeSchedule: PROBE_SCHEDULE }),
    eventSource: target.ordering
      ? // One message per invocation: in a batch, the messages behind a failing one of the same group would be
        // received (and their receive counts raised towards the DLQ) again at every retry of the head. FIFO queues
        // take no batching window either (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html).
        // Lambda runs at most min(groups, maximum concurrency) at once:
        // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
        { batchSize: 1, maxConcurrency: target.concurrency, maxBatchingWindowSeconds: 0 }
      : {
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
      memoryMb: MEMORY_MB.delivery,
      timeoutSeconds,
      environment: {
        [ENV.tableName]: { ref: 'eventsTable' },
        [ENV.payloadBucket]: { ref: 'payloadBucket' },
        [ENV.queueUrl]: { ref: 'queueUrl' },
        [ENV.deadLetterQueueUrl]: { ref: 'deadLetterQueueUrl' },
        ...kind.environment(target),
      },
      runtime: { target: runtimeTarget(target, deliveryLogDays) },
      grants: [
        // Delivery log, failure records, target state (breaker), rate-limit window.
        {
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
          on: 'eventsTable',
        },
        { actions: ['s3:GetObject'], on: 'payloadObjects' },
        // What the target's kind calls (core/targets.ts).
        ...kind.grants(target),
        // Lambda's poller uses the function's role: receive and delete; the code changes visibility (backoff).
        {
          actions: [
            'sqs:ReceiveMessage',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
            'sqs:ChangeMessageVisibility',
          ],
          on: 'queue',
        },
        { actions: ['sqs:SendMessage'], on: 'deadLetterQueue' },
        { actions: ['lambda:ListEventSourceMappings'], on: 'any' },
        { actions: ['lambda:UpdateEventSourceMapping'], on: 'ownEventSourceMapping' },
      ],
    },
  };
}

/** Runtime slice of the sources, serialised into the ingest function's environment. */
export const runtimeSources = (sources: readonly SourcePlan[]) =>
  sources.map((s) => ({ name: s.name, eventSource: s.eventSource, config: s.config }));

export interface PlanOptions {
  /**
   * The stage whose alarm defaults apply (core/alarms.ts). The local stack plans as `dev`.
   * @default 'dev'
   */
  readonly stage?: StageName;
}

export function planTopology(config: RouterConfig, options: PlanOptions = {}): Topology {
  const topology = planResources(config);
  return {
    ...topology,
    alarms: planAlarms(config, options.stage ?? 'dev', allFunctions(topology)),
  };
}

function planResources(config: RouterConfig): Omit<Topology, 'alarms'> {
  const sources = config.sources.map((source) => ({
    name: source.name,
    provider: source.provider,
    eventSource: eventBridgeSource(source.name),
    config: source,
  }));
  const deliveryLogDays = config.deliveryLogDays ?? config.retentionDays;
  const live = config.liveStream.enabled;
  const ordered = orderedPublishing(config);
  const livePublishers = livePublishing(config);
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
        memoryMb: MEMORY_MB.ingest,
        timeoutSeconds: INGEST_TIMEOUT_SECONDS,
        ...(config.ingestReservedConcurrency === undefined
          ? {}
          : { reservedConcurrency: config.ingestReservedConcurrency }),
        environment: {
          [ENV.tableName]: { ref: 'eventsTable' },
          [ENV.busName]: { ref: 'bus' },
          [ENV.payloadBucket]: { ref: 'payloadBucket' },
          [ENV.retentionDays]: String(config.retentionDays),
          [ENV.dedupeDays]: String(config.dedupeDays),
          ...ordered.environment,
          ...livePublishers.environment,
        },
        runtime: { sources: runtimeSources(sources), ...ordered.runtime },
        grants: [
          // Dedupe record, event, pending marker.
          { actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], on: 'eventsTable' },
          { actions: ['events:PutEvents'], on: 'bus' },
          ...ordered.grants,
          ...livePublishers.grants,
          { actions: ['s3:PutObject'], on: 'payloadObjects' },
          { actions: ['secretsmanager:GetSecretValue'], on: 'sourceSecrets' },
        ],
      },
      sweeper: {
        name: 'sweeper',
        handler: 'sweeper',
        entry: handlerEntry('sweeper'),
        description: 'Republishes accepted events whose publish failed',
        serviceName: 'sweeper',
        memoryMb: MEMORY_MB.sweeper,
        timeoutSeconds: 60,
        // No reserved concurrency (an account with the starting quota of 10 refuses any reservation). Overlapping
        // sweeps are safe: an event is published under its publish claim while its dedupe record lives; past that
        // window (an event pending for dedupeDays) two overlapping sweeps may both publish it — at least once.
        environment: {
          [ENV.tableName]: { ref: 'eventsTable' },
          [ENV.busName]: { ref: 'bus' },
          ...ordered.environment,
          ...livePublishers.environment,
        },
        runtime: { backoff: SWEEP_BACKOFF, ...ordered.runtime } satisfies SweeperRuntime,
        grants: [
          {
            actions: [
              'dynamodb:GetItem',
              'dynamodb:PutItem',
              'dynamodb:UpdateItem',
              'dynamodb:DeleteItem',
              'dynamodb:Query',
            ],
            on: 'eventsTable',
          },
          { actions: ['events:PutEvents'], on: 'bus' },
          ...ordered.grants,
          ...livePublishers.grants,
        ],
      },
      routes: {
        name: 'routes',
        handler: 'routes',
        entry: handlerEntry('routes'),
        description: "Creates each source's tokened webhook route; rotates URL tokens",
        serviceName: 'routes',
        memoryMb: MEMORY_MB.routes,
        timeoutSeconds: 120,
        environment: {
          [ENV.httpApiId]: { ref: 'httpApi' },
          [ENV.httpIntegrationId]: { ref: 'httpIntegration' },
          [ENV.urlTokenSecret]: { ref: 'urlTokenSecret' },
        },
        runtime: { sources: runtimeSources(sources) },
        grants: [
          // GetRoutes, CreateRoute, DeleteRoute.
          { actions: ['apigateway:GET', 'apigateway:POST', 'apigateway:DELETE'], on: 'httpApiRoutes' },
          // UpdateStage (route settings), DeleteRouteSettings.
          { actions: ['apigateway:PATCH', 'apigateway:DELETE'], on: 'httpApiStage' },
          {
            actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
            on: 'urlTokenSecret',
          },
        ],
      },
      management: managementFunction(config),
      ...(live
        ? {
            connections: {
              name: 'connections',
              handler: 'connections',
              entry: handlerEntry('connections'),
              description: 'WebSocket $connect / $disconnect / actions',
              serviceName: 'connections',
              memoryMb: MEMORY_MB.connections,
              timeoutSeconds: 10,
              environment: {
                [ENV.liveTableName]: { ref: 'liveTable' },
                [ENV.connectionTtlSeconds]: String(config.liveStream.connectionTtlSeconds),
                [ENV.streamTokenSecret]: { ref: 'streamTokenSecret' },
                // Resume reads stored events (the only access to the event store: Query, by day partition).
                [ENV.tableName]: { ref: 'eventsTable' },
                [ENV.retentionDays]: String(config.retentionDays),
                [ENV.websocketEndpoint]: { ref: 'websocketEndpoint' },
              },
              // The OIDC issuer, when agents may connect with its tokens: verified in the function (it fetches the
              // issuer's keys over the internet itself; no AWS resource, no grant).
              runtime: connectionsRuntime(config),
              grants: [
                // Connections and their entries under agent keys; keys are read (GetItem), a key's connections counted
                // (Query).
                {
                  actions: [
                    'dynamodb:GetItem',
                    'dynamodb:PutItem',
                    'dynamodb:UpdateItem',
                    'dynamodb:DeleteItem',
                    'dynamodb:Query',
                  ],
                  on: 'liveTable',
                },
                { actions: ['secretsmanager:GetSecretValue'], on: 'streamTokenSecret' },
                { actions: ['execute-api:ManageConnections'], on: 'websocketConnections' },
                { actions: ['dynamodb:Query'], on: 'eventsTable' },
                // `since` on the URL: $connect hands the replay to a fresh invocation of this function.
                { actions: ['lambda:InvokeFunction'], on: 'ownFunction' },
              ],
            },
            broadcast: {
              name: 'broadcast',
              handler: 'broadcast',
              entry: handlerEntry('broadcast'),
              description: 'Pushes events to subscribed WebSocket connections',
              serviceName: 'broadcast',
              memoryMb: MEMORY_MB.broadcast,
              timeoutSeconds: BROADCAST_TIMEOUT_SECONDS,
              environment: {
                [ENV.liveTableName]: { ref: 'liveTable' },
                [ENV.websocketEndpoint]: { ref: 'websocketEndpoint' },
                [ENV.broadcastQueueUrl]: { ref: 'broadcastQueueUrl' },
              },
              grants: [
                // The connections' version (GetItem), the connections when it moved (Query); a gone one deleted and
                // the version bumped (DeleteItem, UpdateItem).
                {
                  actions: [
                    'dynamodb:GetItem',
                    'dynamodb:Query',
                    'dynamodb:DeleteItem',
                    'dynamodb:UpdateItem',
                  ],
                  on: 'liveTable',
                },
                { actions: ['execute-api:ManageConnections'], on: 'websocketConnections' },
                // Lambda's poller uses the function's role; a large fan-out hands the rest of its connections over to
                // the queue (SendMessage), so that no invocation pushes to more than its share.
                {
                  actions: [
                    'sqs:ReceiveMessage',
                    'sqs:DeleteMessage',
                    'sqs:GetQueueAttributes',
                    'sqs:SendMessage',
                  ],
                  on: 'broadcastQueue',
                },
              ],
            },
          }
        : {}),
    },
    bus: { archiveRetentionDays: config.archiveRetentionDays, archivePattern: ALL_WEBHOOK_EVENTS },
    liveStream: {
      enabled: live,
      broadcastRulePattern: LIVE_EVENTS,
      connectionTtlSeconds: config.liveStream.connectionTtlSeconds,
      ruleTarget: LIVE_RULE_TARGET_RETRY,
      queue: {
        visibilityTimeoutSeconds: BROADCAST_TIMEOUT_SECONDS * VISIBILITY_TIMEOUT_FACTOR,
        retentionSeconds: LIVE_EVENT_MAX_AGE_SECONDS,
        // A batch comes back only when the function crashed; a second failure sets it aside (one retry at most: a
        // retried broadcast pushes duplicates to the clients it had already served).
        maxReceiveCount: 2,
      },
      dlq: { retentionSeconds: QUEUE_RETENTION_SECONDS },
      eventSource: { batchSize: 10, maxConcurrency: 2 },
      actions: ['subscribe', 'resume', 'ping'],
      throttle: { rateLimit: 500, burstLimit: 1000 },
      connectThrottle: config.liveStream.connectThrottle,
    },
    http: { catchAllThrottle: { rateLimit: 10, burstLimit: 20 } },
    management: { routes: MANAGEMENT_ROUTES },
    // The sweep interval is a stage setting (lib/stages.ts); this one is the default.
    sweeperSchedule: { everySeconds: 60, retryAttempts: 0, asyncRetryAttempts: 0, maxEventAgeSeconds: 60 },
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

/** The connections function's runtime config: the OIDC settings, defaults filled, the audience as a list. */
export function connectionsRuntime(config: RouterConfig): ConnectionsRuntime {
  const o = config.liveStream.oidc;
  if (!o) return {};
  const oidc: OidcRuntime = {
    issuer: o.issuer,
    audience: [o.audience].flat(),
    ...(o.jwksUri !== undefined ? { jwksUri: o.jwksUri } : {}),
    patternsClaim: o.patternsClaim,
    ...(o.defaultPatterns !== undefined ? { defaultPatterns: o.defaultPatterns } : {}),
    nameClaim: o.nameClaim,
    maxConnections: o.maxConnections,
    algorithms: o.algorithms,
    clockToleranceSeconds: o.clockToleranceSeconds,
  };
  return { oidc };
}

/** Every function of a topology, delivery functions included. */
export function allFunctions(topology: Pick<Topology, 'functions' | 'targets'>): FunctionSpec[] {
  const f = topology.functions;
  return [
    f.ingest,
    f.sweeper,
    f.routes,
    f.management,
    ...(f.connections ? [f.connections] : []),
    ...(f.broadcast ? [f.broadcast] : []),
    ...topology.targets.map((t) => t.function),
  ];
}

/**
 * What a function that publishes accepted events (ingest, the sweeper, the management API's publish) needs to send
 * them to the ordered targets' FIFO queues as well: the targets' filters and keys, the queue prefix to find the
 * queues by name, and the right to send there. Nothing when no target is ordered.
 */
function orderedPublishing(config: RouterConfig): {
  runtime: Partial<OrderedTargetsRuntime>;
  environment: Record<string, EnvValue>;
  grants: Grant[];
} {
  const orderedTargets = config.targets.flatMap((t) =>
    t.ordering ? [{ name: t.name, filter: t.filter as Record<string, unknown>, key: t.ordering.key }] : [],
  );
  if (orderedTargets.length === 0) return { runtime: {}, environment: {}, grants: [] };
  return {
    runtime: { orderedTargets },
    environment: { [ENV.queuePrefix]: { ref: 'queuePrefix' } },
    grants: [{ actions: ['sqs:GetQueueUrl', 'sqs:SendMessage'], on: 'orderedTargetQueues' }],
  };
}

/**
 * What a publisher needs to mark events for live agents (LIVE_LEASE in core/contracts.ts): the live table, and a read
 * of its lease item. Nothing when the live stream is off: no event is ever marked.
 */
function livePublishing(config: RouterConfig): { environment: Record<string, EnvValue>; grants: Grant[] } {
  if (!config.liveStream.enabled) return { environment: {}, grants: [] };
  return {
    environment: { [ENV.liveTableName]: { ref: 'liveTable' } },
    grants: [{ actions: ['dynamodb:GetItem'], on: 'liveTable' }],
  };
}

/** The management function: the API's requests, and the chunks of its replay and redrive jobs. */
function managementFunction(config: RouterConfig): FunctionSpec {
  const live = config.liveStream.enabled;
  const runtime: ManagementRuntime = {
    targets: config.targets.map((t) => ({
      name: t.name,
      kind: t.kind,
      endpoint: kindPlanOf(t).describe(t),
      filter: t.filter as Record<string, unknown>,
      ...(t.ordering ? { ordering: { key: t.ordering.key } } : {}),
    })),
    ...orderedPublishing(config).runtime,
    retentionDays: config.retentionDays,
    dedupeDays: config.dedupeDays,
    version: VERSION,
  };
  return {
    name: 'management',
    handler: 'management',
    entry: handlerEntry('management'),
    description: 'Management API (/v1): events, deliveries, publish, replay, targets, redrive',
    serviceName: 'management',
    memoryMb: MEMORY_MB.management,
    // A request answers within API Gateway's 30 s; a job's chunk runs for up to this long, then hands over.
    timeoutSeconds: MANAGEMENT_TIMEOUT_SECONDS,
    environment: {
      [ENV.tableName]: { ref: 'eventsTable' },
      [ENV.busName]: { ref: 'bus' },
      [ENV.payloadBucket]: { ref: 'payloadBucket' },
      [ENV.queuePrefix]: { ref: 'queuePrefix' },
      [ENV.cursorKeySecret]: { ref: 'cursorKeySecret' },
      ...(config.liveStream.enabled ? { [ENV.broadcastQueueUrl]: { ref: 'broadcastQueueUrl' } } : {}),
      ...(live
        ? { [ENV.liveTableName]: { ref: 'liveTable' }, [ENV.websocketEndpoint]: { ref: 'websocketEndpoint' } }
        : {}),
    },
    runtime,
    grants: [
      // Events (by day and by source), the delivery log, failure records, target states, jobs, internal events.
      {
        actions: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
        ],
        on: 'eventsTable',
      },
      { actions: ['dynamodb:Query'], on: 'eventsTableIndexes' },
      // Internal events are published like webhooks; /v1/health checks that the bus exists.
      { actions: ['events:PutEvents', 'events:DescribeEventBus'], on: 'bus' },
      // Payloads by pointer: resolved for GET /v1/events/{id}, written for large internal events.
      { actions: ['s3:GetObject', 's3:PutObject'], on: 'payloadObjects' },
      // Queues by name; depths; redeliver, replay and redrive send; redrive reads and deletes DLQ messages.
      {
        actions: [
          'sqs:GetQueueUrl',
          'sqs:GetQueueAttributes',
          'sqs:SendMessage',
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
        ],
        on: 'targetQueues',
      },
      // Pause and resume: the mapping that feeds a target's delivery function, found by its queue's ARN.
      { actions: ['lambda:ListEventSourceMappings'], on: 'any' },
      { actions: ['lambda:UpdateEventSourceMapping'], on: 'eventSourceMappings' },
      // A job's next chunk runs in a fresh invocation of this function.
      { actions: ['lambda:InvokeFunction'], on: 'ownFunction' },
      { actions: ['secretsmanager:GetSecretValue'], on: 'cursorKeySecret' },
      // A replay asked to reach live agents puts its events on the broadcast queue too.
      ...(config.liveStream.enabled ? [{ actions: ['sqs:SendMessage'], on: 'broadcastQueue' as const }] : []),
      // The age of a queue's oldest message is a CloudWatch metric (GetMetricData has no resource-level permission).
      { actions: ['cloudwatch:GetMetricData'], on: 'any' },
      // Agent keys: created, listed, revoked; a revoked key's connections deleted and closed. GetItem: the live
      // lease, read when it publishes (core/contracts.ts LIVE_LEASE).
      ...(live
        ? ([
            {
              actions: [
                'dynamodb:GetItem',
                'dynamodb:PutItem',
                'dynamodb:UpdateItem',
                'dynamodb:DeleteItem',
                'dynamodb:Query',
              ],
              on: 'liveTable',
            },
            { actions: ['execute-api:ManageConnections'], on: 'websocketConnections' },
          ] satisfies Grant[])
        : []),
    ],
  };
}
