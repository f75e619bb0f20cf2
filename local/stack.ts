/**
 * The whole pipeline on 127.0.0.1, with the real handlers and no AWS: reads the router config, plans the topology
 * (core/plan.ts, the same plan the CDK stack deploys), starts the local services and wires each function's
 * environment exactly as the CDK constructs do — SDK clients reach the local services through
 * `AWS_ENDPOINT_URL_<SERVICE>` only.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { AlarmPlan } from '../core/alarms';
import { parseRouterConfig, type RouterConfig, type RouterConfigInput } from '../core/config';
import { EVENTS_TABLE, LIVE_TABLE, type TableLayout } from '../core/contracts';
import { METRIC, METRICS_NAMESPACE } from '../core/metrics';
import {
  type FunctionSpec,
  HANDLERS,
  type HandlerName,
  handlerEntry,
  LAMBDA_HANDLER,
  planTopology,
  type ResourceRef,
  resolveEnvironment,
  type Topology,
} from '../core/plan';
import { functionCode, RUNTIME_FILE } from '../lib/bundling';
import { LocalAlarmMonitor } from './alarms';
import { FaultSwitch } from './faults';
import { bundleHandlers } from './lambda/bundle';
import {
  type InvocationRecord,
  LocalFunction,
  type LogSink,
  prefixedConsoleSink,
} from './lambda/local-function';
import { LocalMetrics, type MetricsServer, serveMetrics } from './metrics';
import { awsEnvironment, LOCAL_REGION, type LocalEndpoints, localCredentials } from './services/aws-env';
import { startLocalCloudWatch } from './services/cloudwatch';
import { ensureTable, expireItems, type LocalDynamo, startLocalDynamo } from './services/dynamodb';
import { type LocalEventBridge, type LocalRuleTarget, startLocalEventBridge } from './services/eventbridge';
import { LOCAL_HTTP_API_ID, type LocalHttpApi, startLocalHttpApi } from './services/http-api';
import { type LocalLambdaApi, startLocalLambdaApi } from './services/lambda-api';
import { sqsRuleTarget } from './services/rule-targets';
import { LocalSchedule } from './services/schedule';
import {
  defaultSourceSecret,
  type LocalSecret,
  LocalSecretStore,
  type LocalSecretsManager,
  startLocalSecretsManager,
} from './services/secrets';
import { createTargetQueues, type LocalSqs, type QueuePair, startLocalSqs } from './services/sqs';
import { SqsEventSource } from './services/sqs-event-source';
import { type LocalWebSocketApi, startLocalWebSocketApi } from './services/websocket-api';
import { type LocalTarget, type LocalTargetContext, localKindOf } from './targets';
import {
  byKey,
  canonicalPattern,
  LOCAL_DIFFERENCES,
  type LocalDifferenceOptions,
  localRuntime,
  type NormalisedTopology,
  normaliseAlarm,
  normaliseEnvironment,
  sourceRoutePattern,
} from './topology';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Local resource names. */
export const LOCAL_NAMES = {
  table: 'event-router-local-events',
  liveTable: 'event-router-local-live',
  urlTokenSecret: 'event-router/local/url-tokens',
  bus: 'event-router-local',
  payloadBucket: 'event-router-local-payloads',
  queuePrefix: 'event-router-local',
  streamTokenSecret: 'event-router/local/stream-token',
  cursorKeySecret: 'event-router/local/cursor-key',
  stage: 'live',
} as const;

/** Default WebSocket access token (`?token=`) unless EVENT_ROUTER_SECRET_EVENT_ROUTER_LOCAL_STREAM_TOKEN is set. */
export const DEFAULT_STREAM_TOKEN = 'local-dev-stream-token';

export interface LocalStackOptions {
  /** Router config object (validated with parseRouterConfig). Default: `configPath`'s default export. */
  readonly config?: RouterConfigInput | RouterConfig;
  /** Module whose default export is the router config. @default '<repo>/router.config.ts' */
  readonly configPath?: string;
  /** HTTP API port. @default 0 (random) */
  readonly httpPort?: number;
  /** WebSocket API (and @connections) port. @default 0 (random) */
  readonly wsPort?: number;
  /**
   * Keep all state here across restarts, a kill -9 included: the tables (`dynamodb/`), the queues and payloads
   * (`sqs/`) and generated secrets such as URL tokens (`secrets.json`). In memory when absent.
   */
  readonly dataDir?: string;
  /** Failures to inject into the local services (the fault tier). @default a switch with nothing set */
  readonly faults?: FaultSwitch;
  /** Seconds between deletions of expired items (DynamoDB TTL); null = never. @default 60 */
  readonly ttlSweepSeconds?: number | null;
  /** Override HTTP target URLs by target name (the demo agent, test receivers). */
  readonly targetUrls?: Readonly<Record<string, string>>;
  /** Handler module paths, relative to the repo root or absolute (tests use fixtures). */
  readonly handlers?: Partial<Record<HandlerName, string>>;
  /**
   * Seconds before a batch whose delivery invocation failed as a whole (threw, timed out) is retried locally (the
   * poller shortens its visibility); `null` keeps AWS timing (the planned visibility timeout). @default 1
   */
  readonly retryDelaySeconds?: number | null;
  /**
   * Backoff the delivery functions use locally for failed records (replaces each target's
   * `retry.initialDelaySeconds` / `maxDelaySeconds` in its runtime.json only; the plan and queues are unchanged);
   * `null` keeps the configured delays. @default LOCAL_DIFFERENCES.defaultRetryDelays
   */
  readonly retryDelays?: { readonly initialDelaySeconds: number; readonly maxDelaySeconds: number } | null;
  /**
   * What happens to targets whose URL is outside this machine: `allow` delivers to them; `pause` disables their
   * event source mapping at start, so their events wait in their queues (as a paused target's do on AWS) until the
   * mapping is enabled. `npm start` pauses unless `--allow-outbound`. @default 'allow'
   */
  readonly outbound?: 'allow' | 'pause';
  /** Long-poll wait of the SQS pollers. @default 20 */
  readonly pollWaitSeconds?: number;
  /** Run the sweeper at start and then every N seconds; null = never. @default 60 */
  readonly sweepIntervalSeconds?: number | null;
  /** Function log lines. @default prefixedConsoleSink */
  readonly functionLogs?: LogSink;
  /** Stack messages (ready, errors). @default console.log */
  readonly log?: (message: string) => void;
  /** Powertools log level of every function. @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Where secret overrides are read (`EVENT_ROUTER_SECRET_<NAME>`). @default process.env */
  readonly secretEnv?: Readonly<Record<string, string | undefined>>;
  /** JSON file `{ "<secret name>": "<value>" }` consulted after env. */
  readonly secretsFile?: string;
  /** Execution environments of the request-path functions. */
  readonly concurrency?: Partial<Record<'ingest' | 'connections' | 'broadcast', number>>;
  readonly websocket?: {
    readonly stage?: string;
    readonly idleTimeoutSeconds?: number;
    /** Drop `$disconnect` for connections lost without a close frame (tests stale-connection cleanup). */
    readonly skipDisconnectOnAbruptClose?: boolean;
    /** API Gateway's cap on a connection's life, shortened to test clients that outlive it. @default 7200 */
    readonly maxConnectionSeconds?: number;
  };
  /** Start one execution environment per function before returning (first requests are then warm). @default true */
  readonly prewarm?: boolean;
  /** EventBridge entry size limit. @default 256 KiB */
  readonly maxEventBytes?: number;
  /**
   * Bundle the handlers once with esbuild at start (like the deployed functions) instead of loading the TypeScript
   * through tsx in every execution environment (much cheaper environment starts). @default true
   */
  readonly bundle?: boolean;
  /** Port of the Prometheus endpoint (`GET /metrics`). @default 0 (random) */
  readonly metricsPort?: number;
  /**
   * Seconds between evaluations of the alarm conditions (reported as `ALARM …` / `OK …` lines); null = never.
   * @default 10
   */
  readonly alarmIntervalSeconds?: number | null;
  /** Where `ALARM …` and `OK …` lines go. @default `log` */
  readonly alarmLog?: (line: string) => void;
}

export interface LocalStackSecrets {
  readonly store: LocalSecretStore;
  /** Webhook secret (first value) of a source. */
  source(sourceName: string): string;
  /** Standard Webhooks signing secret of a target. */
  target(targetName: string): string;
  /** Current URL token of a source (the last segment of its webhook URL). */
  urlToken(sourceName: string): string;
  /** WebSocket access token (`?token=`). */
  readonly streamToken: string;
  list(): LocalSecret[];
}

export interface LocalStack {
  readonly config: RouterConfig;
  readonly topology: Topology;
  /** `http://127.0.0.1:<http port>/webhooks/<source>/<url token>` */
  webhookUrl(source: string): string;
  /** The HTTP API (route keys, throttles). */
  readonly http: LocalHttpApi;
  /** Fault switches of the local services. */
  readonly faults: FaultSwitch;
  /** The local Lambda API (event source mappings: a paused target's is disabled). */
  readonly lambdaApi: LocalLambdaApi;
  /** Runs the sweeper once now (publishes pending events that are due). */
  sweep(): Promise<unknown>;
  /** `ws://127.0.0.1:<ws port>/<stage>` (add `?token=<secrets.streamToken>` and optionally `&pattern=`). */
  readonly websocketUrl: string;
  /** `http://127.0.0.1:<ws port>/<stage>`: the @connections management endpoint. */
  readonly managementUrl: string;
  /** Ids of the open WebSocket connections. */
  connectionIds(): string[];
  readonly ports: {
    readonly http: number;
    readonly websocket: number;
    readonly dynamodb: number;
    readonly sqs: number;
    readonly eventbridge: number;
    readonly secretsManager: number;
  };
  readonly endpoints: LocalEndpoints;
  readonly secrets: LocalStackSecrets;
  readonly tableName: string;
  readonly busName: string;
  readonly payloadBucket: string;
  /** Queue + DLQ of each target, by target name. */
  readonly queues: Readonly<Record<string, QueuePair>>;
  /** Targets paused at start because their URL is outside this machine (`outbound: 'pause'`). */
  readonly pausedTargets: readonly string[];
  /** Where a target's events go locally (local/targets.ts). */
  targetDescription(name: string): string;
  /** What a target's local equivalent received (a Lambda stand-in's payloads, an external bus's events). */
  receivedBy(name: string): readonly string[];
  readonly broadcastDeadLetterQueueUrl: string;
  /** Local functions by name: `ingest`, `connections`, `broadcast`, `sweeper`, `delivery-<target>`. */
  readonly functions: Readonly<Record<string, LocalFunction>>;
  readonly sqs: LocalSqs;
  readonly dynamodb: LocalDynamo;
  /** The local CloudWatch: the functions' metrics, Lambda's, the HTTP API's and the queues' (local/metrics.ts). */
  readonly metrics: LocalMetrics;
  /** `http://127.0.0.1:<port>/metrics`: the same metrics in Prometheus' text format. */
  readonly metricsUrl: string;
  /** The plan's alarm conditions, evaluated against `metrics` (local/alarms.ts). */
  readonly alarms: LocalAlarmMonitor;
  /** The topology read back from the running services, normalised (see local/topology.ts). */
  describeTopology(): Promise<NormalisedTopology>;
  /** Waits until events published so far went through the bus and the async invocations they caused. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

/** The router config module could not be loaded: missing, not importable, or without a default export. */
export class ConfigLoadError extends Error {
  override name = 'ConfigLoadError';
}

/** Loads and validates a router config module (`export default defineRouterConfig({…})`). */
export async function loadConfigFile(file: string): Promise<RouterConfig> {
  const configPath = path.resolve(file);
  if (!existsSync(configPath)) throw new ConfigLoadError(`config file not found: ${configPath}`);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(configPath).href)) as { default?: unknown };
  } catch (error) {
    throw new ConfigLoadError(
      `cannot load the config ${configPath}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  if (mod.default === undefined)
    throw new ConfigLoadError(`${configPath} has no default export (export default defineRouterConfig({…}))`);
  return parseRouterConfig(mod.default);
}

async function loadConfig(options: LocalStackOptions): Promise<RouterConfig> {
  if (options.config) return parseRouterConfig(options.config);
  return loadConfigFile(options.configPath ?? path.join(REPO_ROOT, 'router.config.ts'));
}

/** Whether a URL points at this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function resolveHandler(options: LocalStackOptions, name: HandlerName): string {
  const configured = options.handlers?.[name] ?? handlerEntry(name);
  return path.isAbsolute(configured) ? configured : path.join(REPO_ROOT, configured);
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? ((message: string) => console.log(message));
  const functionLogs = options.functionLogs ?? prefixedConsoleSink;
  const parsed = await loadConfig(options);
  const config: RouterConfig = {
    ...parsed,
    // An HTTP target pointed at a local agent (`--demo`, the test harness) may use http and a loopback address.
    targets: parsed.targets.map((t) =>
      t.kind === 'http' && options.targetUrls?.[t.name]
        ? { ...t, url: options.targetUrls[t.name]!, allowInsecure: true, allowPrivateNetwork: true }
        : t,
    ),
  };
  const topology = planTopology(config);
  const differences: LocalDifferenceOptions = {
    retryDelays:
      options.retryDelays === undefined ? LOCAL_DIFFERENCES.defaultRetryDelays : options.retryDelays,
  };
  const stage = options.websocket?.stage ?? LOCAL_NAMES.stage;
  const faults = options.faults ?? new FaultSwitch();
  const dataDir = options.dataDir;
  if (dataDir) mkdirSync(dataDir, { recursive: true });

  // Everything started so far, stopped in reverse on failure or stop().
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };

  // Bundling (esbuild, its own process) overlaps with starting the services.
  const bundling =
    (options.bundle ?? true)
      ? bundleHandlers(HANDLERS.map((h) => resolveHandler(options, h)).filter((p) => existsSync(p)))
      : undefined;
  bundling?.catch(() => {});

  try {
    // Secrets: source webhook secrets, target signing secrets, the WebSocket access token, the URL tokens.
    const store = new LocalSecretStore(
      options.secretEnv ?? process.env,
      options.secretsFile,
      dataDir ? path.join(dataDir, 'secrets.json') : undefined,
    );
    for (const source of config.sources) store.define(source.secret.secretName, defaultSourceSecret(source));
    // Empty at first: the routes function generates a random token per source, as at deploy (kept with --data-dir).
    store.defineGenerated(LOCAL_NAMES.urlTokenSecret, () => '{}');
    store.define(LOCAL_NAMES.streamTokenSecret, DEFAULT_STREAM_TOKEN);
    // Signs the management API's paging cursors; random per data directory, as at deploy.
    store.defineGenerated(LOCAL_NAMES.cursorKeySecret, () => randomBytes(32).toString('base64url'));

    const secretsManager: LocalSecretsManager = await startLocalSecretsManager(store, { faults });
    cleanups.push(() => secretsManager.stop());
    const dynamodb = await startLocalDynamo({
      ...(dataDir ? { dataDir: path.join(dataDir, 'dynamodb') } : {}),
      faults,
    });
    cleanups.push(() => dynamodb.stop());
    await ensureTable(dynamodb.client, LOCAL_NAMES.table, EVENTS_TABLE);
    if (topology.liveStream.enabled) await ensureTable(dynamodb.client, LOCAL_NAMES.liveTable, LIVE_TABLE);
    const sqs = await startLocalSqs({
      ...(dataDir ? { dataDir: path.join(dataDir, 'sqs') } : {}),
      faults,
      // After a restart no consumer holds a message any more: those in flight are visible at once.
      inFlightOnRestart: 'release',
    });
    cleanups.push(() => sqs.stop());
    const s3 = new S3Client({
      endpoint: sqs.endpoint,
      region: LOCAL_REGION,
      credentials: localCredentials,
      forcePathStyle: true,
    });
    await s3.send(new CreateBucketCommand({ Bucket: LOCAL_NAMES.payloadBucket })).catch((error: Error) => {
      if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
    });
    s3.destroy();

    const queues: Record<string, QueuePair> = {};
    for (const target of topology.targets) {
      queues[target.name] = await createTargetQueues(sqs.client, LOCAL_NAMES.queuePrefix, target);
    }
    const broadcastQueues = topology.liveStream.enabled
      ? await createTargetQueues(sqs.client, LOCAL_NAMES.queuePrefix, {
          name: 'broadcast',
          ...topology.liveStream,
        })
      : undefined;
    const lambdaApi = await startLocalLambdaApi();
    cleanups.push(() => lambdaApi.stop());
    const cloudwatch = await startLocalCloudWatch({
      oldestMessageAge: (queue) => sqs.oldestMessageAge(queue),
    });
    cleanups.push(() => cloudwatch.stop());

    // The EventBridge endpoint must exist before the functions' env is built; its rules need the functions.
    // Rules are bound late through this indirection.
    const ruleTargets: LocalRuleTarget[] = [];
    const eventbridge: LocalEventBridge = await startLocalEventBridge({
      busName: LOCAL_NAMES.bus,
      rules: lateBoundRules(ruleTargets, topology),
      faults,
      ...(options.maxEventBytes ? { maxEntryBytes: options.maxEventBytes } : {}),
      onDeliveryFailure: (rule, event, error) =>
        log(`EventBridge gave up delivering ${event.id} to ${rule}: ${error.message}`),
      externalBuses: topology.targets.flatMap((t) => localKindOf(t.config).externalBuses(t.config)),
    });
    cleanups.push(() => eventbridge.stop());

    // The APIs before the functions: the functions' environment holds their endpoints; their integrations are
    // bound once the functions exist.
    const late: Partial<Record<'ingest' | 'connections' | 'management', LocalFunction>> = {};
    const lateInvoker = (name: 'ingest' | 'connections' | 'management') => ({
      invoke: (event: unknown) => {
        const fn = late[name];
        if (!fn) return Promise.reject(new Error(`${name} function not ready`));
        return fn.invoke(event);
      },
    });
    const websocket: LocalWebSocketApi = await startLocalWebSocketApi({
      port: options.wsPort ?? 0,
      stage,
      ...(options.websocket?.idleTimeoutSeconds
        ? { idleTimeoutSeconds: options.websocket.idleTimeoutSeconds }
        : {}),
      skipDisconnectOnAbruptClose: options.websocket?.skipDisconnectOnAbruptClose ?? false,
      ...(options.websocket?.maxConnectionSeconds
        ? { maxConnectionSeconds: options.websocket.maxConnectionSeconds }
        : {}),
      routeKeys: topology.liveStream.actions,
      defaultThrottle: topology.liveStream.throttle,
      routeThrottles: { $connect: topology.liveStream.connectThrottle },
      function: lateInvoker('connections'),
    });
    cleanups.push(() => websocket.stop());
    // The local CloudWatch: what the functions, the HTTP API and the queues report (local/metrics.ts).
    const metrics = new LocalMetrics();
    const http: LocalHttpApi = await startLocalHttpApi({
      port: options.httpPort ?? 0,
      function: lateInvoker('ingest'),
      functionName: topology.functions.ingest.name,
      // The catch-all and the management API's routes at first: the routes function creates each source's tokened
      // route, as on AWS.
      routes: [
        '$default',
        ...topology.management.routes.map((route) => ({
          routeKey: route.routeKey,
          integration: { name: topology.functions.management.name, invoker: lateInvoker('management') },
          authorization: route.authorization,
        })),
      ],
      // The `/v1` routes accept requests signed with the local credentials (the banner prints them).
      iam: { credentials: [localCredentials], region: LOCAL_REGION },
      // API Gateway's own metrics (Count, 4xx, 5xx) and the access-log metric filters of 429 and 503
      // (lib/webhook-ingest.ts), one per answered request.
      onRequest: ({ status }) => {
        const api = { ApiId: LOCAL_HTTP_API_ID };
        metrics.record('AWS/ApiGateway', 'Count', api, 1, 'Count');
        metrics.record('AWS/ApiGateway', '4xx', api, status >= 400 && status < 500 ? 1 : 0, 'Count');
        metrics.record('AWS/ApiGateway', '5xx', api, status >= 500 ? 1 : 0, 'Count');
        metrics.record(METRICS_NAMESPACE, METRIC.webhookThrottled, {}, status === 429 ? 1 : 0, 'Count');
        metrics.record(METRICS_NAMESPACE, METRIC.webhookUnavailable, {}, status === 503 ? 1 : 0, 'Count');
      },
      defaultThrottle: topology.http.catchAllThrottle,
      onError: (error) => log(`HTTP API: ${error.message}`),
    });
    cleanups.push(() => http.stop());

    const endpoints: LocalEndpoints = {
      dynamodb: dynamodb.endpoint,
      sqs: sqs.endpoint,
      eventbridge: eventbridge.endpoint,
      secretsManager: secretsManager.endpoint,
      s3: sqs.endpoint,
      lambda: lambdaApi.endpoint,
      apigatewayv2: http.controlEndpoint,
      cloudwatch: cloudwatch.endpoint,
    };

    const bundles = await bundling;

    const functions: Record<string, LocalFunction> = {};
    /** Each function with its spec and code directory, for describing the running topology. */
    const built: BuiltFunction[] = [];
    cleanups.push(async () => {
      await Promise.all(Object.values(functions).map((fn) => fn.close()));
    });
    const commonRefs: Partial<Record<ResourceRef, string>> = {
      eventsTable: LOCAL_NAMES.table,
      liveTable: LOCAL_NAMES.liveTable,
      bus: LOCAL_NAMES.bus,
      payloadBucket: LOCAL_NAMES.payloadBucket,
      websocketEndpoint: websocket.managementEndpoint,
      streamTokenSecret: LOCAL_NAMES.streamTokenSecret,
      httpApi: LOCAL_HTTP_API_ID,
      httpIntegration: 'local',
      urlTokenSecret: LOCAL_NAMES.urlTokenSecret,
      queuePrefix: LOCAL_NAMES.queuePrefix,
    };
    /** Lambda's own metrics of an invocation (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html). */
    const recordInvocation = (record: InvocationRecord) => {
      const fn = { FunctionName: record.functionName };
      metrics.record('AWS/Lambda', 'Invocations', fn, 1, 'Count');
      metrics.record('AWS/Lambda', 'Errors', fn, record.error ? 1 : 0, 'Count');
      metrics.record('AWS/Lambda', 'Duration', fn, record.durationMs, 'Milliseconds');
    };
    /** A local function from its planned spec, its environment resolved as the CDK stack resolves it. */
    const makeFunction = (
      spec: FunctionSpec,
      refs: Partial<Record<ResourceRef, string>> = {},
      overrides: { maxConcurrency?: number } = {},
    ) => {
      const handlerPath = resolveHandler(options, spec.handler);
      const bundle = bundles?.get(handlerPath);
      // The function's code directory, as deployed: its bundle plus runtime.json (LAMBDA_TASK_ROOT), with the
      // documented local differences (local/topology.ts).
      const codeDir = functionCode(bundle ?? emptyCode(), localRuntime(spec, differences));
      const resolvedRefs = { ...commonRefs, ...refs };
      const fn = new LocalFunction({
        name: spec.name,
        handlerPath,
        ...(bundle ? { modulePath: path.join(codeDir, 'index.mjs') } : {}),
        env: {
          ...awsEnvironment(endpoints, spec.name, spec.memoryMb),
          LAMBDA_TASK_ROOT: codeDir,
          POWERTOOLS_SERVICE_NAME: spec.serviceName,
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
          POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'INFO',
          ...resolveEnvironment(spec, resolvedRefs),
        },
        timeoutSeconds: spec.timeoutSeconds,
        memoryMb: spec.memoryMb,
        maxConcurrency: overrides.maxConcurrency ?? spec.reservedConcurrency ?? 1,
        log: functionLogs,
        // The functions' metric lines are counted, as CloudWatch Logs extracts them, and never shown as log lines.
        metrics: (_name, line) => void metrics.recordEmf(line),
        onInvocation: recordInvocation,
      });
      functions[spec.name] = fn;
      built.push({ fn, codeDir, refValues: new Set(Object.values(resolvedRefs)) });
      return fn;
    };

    late.ingest = makeFunction(
      topology.functions.ingest,
      {},
      { maxConcurrency: options.concurrency?.ingest ?? 2 },
    );
    const pollers: SqsEventSource[] = [];
    const pausedTargets: string[] = [];
    /** The breakers' probe schedules, started once everything is up. */
    const schedules: { name: string; schedule: LocalSchedule }[] = [];
    const probeStarts: (() => () => Promise<void>)[] = [];
    const localTargets = new Map<string, LocalTarget>();
    cleanups.push(async () => {
      await Promise.all(pollers.map((p) => p.stop()));
    });
    const { connections, broadcast } = topology.functions;
    if (connections && broadcast) {
      const connectionsFn = makeFunction(
        connections,
        {},
        { maxConcurrency: options.concurrency?.connections ?? 2 },
      );
      late.connections = connectionsFn;
      // `since` on a WebSocket URL: $connect hands the replay to a fresh invocation of itself (InvocationType Event).
      lambdaApi.registerFunction(connectionsFn.name, async (payload, type) => {
        const event = JSON.parse(payload.toString('utf8')) as unknown;
        if (type === 'Event') {
          connectionsFn.invokeAsync(event);
          return { payload: '' };
        }
        return { payload: JSON.stringify((await connectionsFn.invoke(event)) ?? null) };
      });
      const broadcastFn = makeFunction(
        broadcast,
        { broadcastQueueUrl: broadcastQueues!.queueUrl },
        { maxConcurrency: options.concurrency?.broadcast ?? 1 },
      );
      ruleTargets.push(
        sqsRuleTarget({
          ruleName: 'broadcast',
          pattern: topology.liveStream.broadcastRulePattern,
          retry: topology.liveStream.ruleTarget,
          client: sqs.direct,
          queueUrl: broadcastQueues!.queueUrl,
          queueArn: broadcastQueues!.queueArn,
          deadLetterQueueUrl: broadcastQueues!.dlqUrl,
        }),
      );
      pollers.push(
        new SqsEventSource({
          client: sqs.direct,
          queueUrl: broadcastQueues!.queueUrl,
          queueArn: broadcastQueues!.queueArn,
          function: broadcastFn,
          batchSize: topology.liveStream.eventSource.batchSize,
          maxConcurrency: topology.liveStream.eventSource.maxConcurrency,
          reportBatchItemFailures: false,
          waitTimeSeconds: options.pollWaitSeconds ?? 20,
          retryDelaySeconds: options.retryDelaySeconds === undefined ? 1 : options.retryDelaySeconds,
          onError: (error) => log(`SQS poller for broadcast: ${error.message}`),
        }).start(),
      );
    }
    const routesFn = makeFunction(topology.functions.routes);
    // Several at once: a replay's chunk runs for minutes while the API keeps answering (Lambda runs them side by side).
    const management = makeFunction(
      topology.functions.management,
      {
        queuePrefix: LOCAL_NAMES.queuePrefix,
        cursorKeySecret: LOCAL_NAMES.cursorKeySecret,
        ...(broadcastQueues ? { broadcastQueueUrl: broadcastQueues.queueUrl } : {}),
      },
      { maxConcurrency: 3 },
    );
    late.management = management;
    // A job hands its next chunk to a fresh invocation of itself (Invoke, InvocationType Event).
    lambdaApi.registerFunction(management.name, async (payload, type) => {
      const event = JSON.parse(payload.toString('utf8')) as unknown;
      if (type === 'Event') {
        management.invokeAsync(event);
        return { payload: '' };
      }
      return { payload: JSON.stringify((await management.invoke(event)) ?? null) };
    });

    const targetContext: LocalTargetContext = { store, sqs, lambdaApi, eventbridge, log };
    for (const target of topology.targets) {
      const pair = queues[target.name]!;
      const local = await localKindOf(target.config).setup(target.config, targetContext);
      localTargets.set(target.name, local);
      const fn = makeFunction(
        target.function,
        {
          queueUrl: pair.queueUrl,
          deadLetterQueueUrl: pair.dlqUrl,
          ...local.refs,
        },
        { maxConcurrency: target.eventSource.maxConcurrency },
      );
      // An ordered target's FIFO queue has no rule: its publishers send to it (core/plan.ts, TargetPlan.ordering).
      if (!target.ordering)
        ruleTargets.push(
          sqsRuleTarget({
            ruleName: `target:${target.name}`,
            pattern: target.rulePattern,
            retry: target.ruleTarget,
            client: sqs.direct,
            queueUrl: pair.queueUrl,
            queueArn: pair.queueArn,
            deadLetterQueueUrl: pair.dlqUrl,
          }),
        );
      // A target outside this machine starts paused when asked: its events wait in its queue.
      const paused =
        options.outbound === 'pause' && target.config.kind === 'http' && !isLoopbackUrl(target.config.url);
      if (paused) pausedTargets.push(target.name);
      const poller = new SqsEventSource({
        enabled: !paused,
        client: sqs.direct,
        queueUrl: pair.queueUrl,
        queueArn: pair.queueArn,
        function: fn,
        batchSize: target.eventSource.batchSize,
        maxConcurrency: target.eventSource.maxConcurrency,
        maxBatchingWindowSeconds: target.eventSource.maxBatchingWindowSeconds,
        waitTimeSeconds: options.pollWaitSeconds ?? 20,
        retryDelaySeconds: options.retryDelaySeconds === undefined ? 1 : options.retryDelaySeconds,
        onError: (error) => log(`SQS poller for ${target.name}: ${error.message}`),
      }).start();
      pollers.push(poller);
      lambdaApi.register({
        uuid: `local-${target.name}`,
        functionName: target.function.name,
        eventSourceArn: pair.queueArn,
        batchSize: target.eventSource.batchSize,
        isEnabled: () => poller.isEnabled,
        setEnabled: (enabled) => poller.setEnabled(enabled),
      });
      if (target.probeSchedule) {
        const probe = new LocalSchedule({
          function: fn,
          event: { probe: true },
          ...target.probeSchedule,
          onError: (error) => log(`breaker probe of ${target.name} failed: ${error.message}`),
        });
        schedules.push({ name: target.function.name, schedule: probe });
        // As fast as the local breaker rests (local/topology.ts); on AWS every minute.
        const every = differences.retryDelays
          ? LOCAL_DIFFERENCES.probeEverySeconds
          : target.probeSchedule.everySeconds;
        probeStarts.push(() => probe.start(every));
      }
    }

    const sweeper = makeFunction(topology.functions.sweeper);
    const sweepInterval = options.sweepIntervalSeconds === undefined ? 60 : options.sweepIntervalSeconds;
    const schedule = new LocalSchedule({
      function: sweeper,
      event: { source: 'aws.events', 'detail-type': 'Scheduled Event' },
      ...topology.sweeperSchedule,
      onError: (error) => log(`scheduled sweep failed: ${error.message}`),
    });
    const sweep = () => schedule.runNow();
    // Started below, once the routes exist: events accepted before a restart whose publish failed or was in doubt
    // go out at once, not a minute later.
    const ttlInterval = options.ttlSweepSeconds === undefined ? 60 : options.ttlSweepSeconds;
    const expiring = new Map<string, TableLayout>();
    if (ttlInterval !== null) {
      expiring.set(LOCAL_NAMES.table, EVENTS_TABLE);
      if (topology.liveStream.enabled) expiring.set(LOCAL_NAMES.liveTable, LIVE_TABLE);
      const timer = setInterval(() => {
        for (const [name, layout] of expiring)
          void expireItems(dynamodb.client, name, layout, Date.now()).catch(() => {});
      }, ttlInterval * 1000);
      timer.unref();
      cleanups.push(async () => clearInterval(timer));
    }

    if (options.prewarm ?? true) await Promise.all(Object.values(functions).map((fn) => fn.warm()));
    // What the custom resource does at deploy: each source's tokened route, with its throttle.
    await routesFn.invoke({});
    if (sweepInterval !== null) cleanups.push(schedule.start(sweepInterval));
    for (const start of probeStarts) cleanups.push(start());

    // SQS's metrics, read from the queues whenever metrics are read (alarm evaluation, a scrape of /metrics).
    const allQueues = [...Object.values(queues), ...(broadcastQueues ? [broadcastQueues] : [])];
    const sampleQueues = () => {
      for (const pair of allQueues) {
        for (const [queueName, url] of [
          [pair.queueName, pair.queueUrl],
          [pair.dlqName, pair.dlqUrl],
        ] as const) {
          const q = sqs.queueMetrics(url);
          const dims = { QueueName: queueName };
          metrics.record('AWS/SQS', 'ApproximateNumberOfMessagesVisible', dims, q.visible, 'Count');
          metrics.record('AWS/SQS', 'ApproximateNumberOfMessagesNotVisible', dims, q.inFlight, 'Count');
          metrics.record('AWS/SQS', 'ApproximateAgeOfOldestMessage', dims, q.oldestAgeSeconds, 'Seconds');
        }
      }
    };
    const alarms = new LocalAlarmMonitor({
      alarms: topology.alarms.alarms,
      metrics,
      queues: {
        target: (name) => {
          const pair = queues[name];
          if (!pair) throw new Error(`an alarm watches target ${name}, which has no local queue`);
          return { queueName: pair.queueName, dlqName: pair.dlqName };
        },
        broadcastDlqName: broadcastQueues?.dlqName,
      },
      sample: sampleQueues,
      report: options.alarmLog ?? log,
    });
    const alarmInterval = options.alarmIntervalSeconds === undefined ? 10 : options.alarmIntervalSeconds;
    if (alarmInterval !== null) cleanups.push(alarms.start(alarmInterval * 1000));
    const metricsServer: MetricsServer = await serveMetrics(metrics, {
      port: options.metricsPort ?? 0,
      sample: sampleQueues,
    });
    cleanups.push(() => metricsServer.stop());

    const urlToken = (name: string) => {
      const token = (JSON.parse(store.get(LOCAL_NAMES.urlTokenSecret)) as Record<string, { token?: string }>)[
        name
      ]?.token;
      if (!token) throw new Error(`source ${name} has no URL token`);
      return token;
    };
    const secrets: LocalStackSecrets = {
      store,
      source: (name) => {
        const source = config.sources.find((s) => s.name === name);
        if (!source) throw new Error(`unknown source ${name}`);
        const value = store.get(source.secret.secretName);
        // A JSON array (rotation) holds several; the first is what a sender should use.
        return value.trim().startsWith('[') ? ((JSON.parse(value) as string[])[0] ?? value) : value;
      },
      target: (name) => {
        const id = localTargets.get(name)?.signingSecretId;
        if (!id) throw new Error(`target ${name} is not an HTTP target of this stack`);
        return store.get(id);
      },
      urlToken,
      streamToken: store.get(LOCAL_NAMES.streamTokenSecret),
      list: () => store.list(),
    };

    let stopped = false;
    return {
      config,
      topology,
      webhookUrl: (source) => `${http.url}/webhooks/${encodeURIComponent(source)}/${urlToken(source)}`,
      http,
      faults,
      lambdaApi,
      sweep,
      websocketUrl: websocket.url,
      managementUrl: websocket.managementEndpoint,
      connectionIds: () => websocket.connectionIds(),
      ports: {
        http: http.port,
        websocket: websocket.port,
        dynamodb: dynamodb.port,
        sqs: sqs.port,
        eventbridge: eventbridge.port,
        secretsManager: secretsManager.port,
      },
      endpoints,
      secrets,
      tableName: LOCAL_NAMES.table,
      busName: LOCAL_NAMES.bus,
      payloadBucket: LOCAL_NAMES.payloadBucket,
      queues,
      pausedTargets,
      targetDescription: (name) => localTargets.get(name)?.describe ?? '',
      receivedBy: (name) => localTargets.get(name)?.received() ?? [],
      broadcastDeadLetterQueueUrl: broadcastQueues?.dlqUrl ?? '',
      functions,
      sqs,
      dynamodb,
      metrics,
      metricsUrl: metricsServer.url,
      alarms,
      describeTopology: () =>
        describeRunning({
          built,
          rules: eventbridge.rules,
          queues: { ...queues, ...(broadcastQueues ? { broadcast: broadcastQueues } : {}) },
          pollers,
          sqs,
          dynamodb,
          expiring,
          http,
          websocket: topology.liveStream.enabled ? websocket : undefined,
          schedules: [{ name: topology.functions.sweeper.name, schedule }, ...schedules],
          alarms: alarms.alarms,
        }),
      async drain() {
        await eventbridge.drain();
        await Promise.all(Object.values(functions).map((fn) => fn.drainAsync()));
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    await bundling?.catch(() => {});
    throw error;
  }
}

/** An empty code directory (a handler that did not bundle loads from its source through tsx). */
function emptyCode(): string {
  const dir = path.join(REPO_ROOT, 'node_modules', '.cache', 'event-router', 'unbundled');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Rules whose targets are filled in after the functions exist (the bus starts first: its endpoint goes in env). */
function lateBoundRules(bound: readonly LocalRuleTarget[], topology: Topology): LocalRuleTarget[] {
  const names = [
    ...topology.targets.map((t) => ({
      name: `target:${t.name}`,
      pattern: t.rulePattern,
      retry: t.ruleTarget,
    })),
    ...(topology.liveStream.enabled
      ? [
          {
            name: 'broadcast',
            pattern: topology.liveStream.broadcastRulePattern,
            retry: topology.liveStream.ruleTarget,
          },
        ]
      : []),
  ];
  return names.map(({ name, pattern, retry }) => {
    const find = () => {
      const rule = bound.find((r) => r.name === name);
      if (!rule) throw new Error(`rule ${name} has no target yet`);
      return rule;
    };
    return {
      name,
      pattern,
      // Every rule targets a queue: on it before PutEvents answers (see LocalRuleTarget.durable).
      durable: true,
      retry,
      get queueUrl() {
        return find().queueUrl;
      },
      get deadLetterQueueUrl() {
        return find().deadLetterQueueUrl;
      },
      deliver: (event) => find().deliver(event),
      deadLetter: async (event, error) => {
        await find().deadLetter?.(event, error);
      },
    };
  });
}

/** A running local function, its code directory, and the values its environment took from resources. */
interface BuiltFunction {
  readonly fn: LocalFunction;
  readonly codeDir: string;
  readonly refValues: ReadonlySet<string>;
}

/** What the running services say they are, normalised (local/topology.ts): nothing is taken from the plan. */
async function describeRunning(running: {
  built: readonly BuiltFunction[];
  rules: readonly LocalRuleTarget[];
  queues: Readonly<Record<string, QueuePair>>;
  pollers: readonly SqsEventSource[];
  sqs: LocalSqs;
  dynamodb: LocalDynamo;
  expiring: ReadonlyMap<string, TableLayout>;
  http: LocalHttpApi;
  websocket: LocalWebSocketApi | undefined;
  schedules: readonly { name: string; schedule: LocalSchedule }[];
  alarms: readonly AlarmPlan[];
}): Promise<NormalisedTopology> {
  const ownerOfUrl = new Map<string, string>();
  for (const [owner, pair] of Object.entries(running.queues)) {
    ownerOfUrl.set(pair.queueUrl, owner);
    ownerOfUrl.set(pair.dlqUrl, owner);
  }
  const owner = (url: string | undefined) => {
    const name = url === undefined ? undefined : ownerOfUrl.get(url);
    if (!name) throw new Error(`queue ${url} belongs to no target`);
    return name;
  };

  const attributes = async (url: string) =>
    (await running.sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })))
      .Attributes ?? {};
  const queues = await Promise.all(
    Object.entries(running.queues).map(async ([name, pair]) => {
      const q = await attributes(pair.queueUrl);
      const d = await attributes(pair.dlqUrl);
      const redrive = JSON.parse(q.RedrivePolicy ?? '{}') as {
        maxReceiveCount?: number | string;
        deadLetterTargetArn?: string;
      };
      if (redrive.deadLetterTargetArn !== pair.dlqArn)
        throw new Error(`queue of ${name} does not redrive to its DLQ`);
      return {
        owner: name,
        fifo: q.FifoQueue === 'true' && d.FifoQueue === 'true',
        visibilityTimeoutSeconds: Number(q.VisibilityTimeout),
        retentionSeconds: Number(q.MessageRetentionPeriod),
        maxReceiveCount: Number(redrive.maxReceiveCount),
        dlq: { retentionSeconds: Number(d.MessageRetentionPeriod) },
      };
    }),
  );

  const functions = running.built.map(({ fn, codeDir, refValues }) => {
    const runtimeFile = path.join(codeDir, RUNTIME_FILE);
    return {
      name: fn.name,
      entry: path.relative(REPO_ROOT, fn.handlerPath).split(path.sep).join('/'),
      handler: LAMBDA_HANDLER,
      memoryMb: fn.memoryMb,
      timeoutSeconds: fn.timeoutSeconds,
      // Not emulated: there is no account-wide concurrency pool locally.
      reservedConcurrency: null,
      // Values naming a local resource (a table, a queue URL, an endpoint) differ from AWS by design.
      environment: normaliseEnvironment(fn.env, (value) => refValues.has(value)),
      runtime: existsSync(runtimeFile) ? JSON.parse(readFileSync(runtimeFile, 'utf8')) : null,
      actions: 'not-enforced' as const,
    };
  });

  const tables = await Promise.all(
    [
      ['events', LOCAL_NAMES.table],
      ['live', LOCAL_NAMES.liveTable],
    ].map(async ([role, name]) => {
      const table = await running.dynamodb.client
        .send(new DescribeTableCommand({ TableName: name }))
        .then((r) => r.Table)
        .catch(() => undefined);
      if (!table) return undefined;
      const key = (
        schema: readonly { AttributeName?: string; KeyType?: string }[] | undefined,
        type: string,
      ) => schema?.find((k) => k.KeyType === type)?.AttributeName ?? '';
      return {
        role: role!,
        partitionKey: key(table.KeySchema, 'HASH'),
        sortKey: key(table.KeySchema, 'RANGE'),
        ttlAttribute: running.expiring.get(name!)?.ttlAttribute ?? '(not expiring)',
        indexes: (table.GlobalSecondaryIndexes ?? [])
          .map((i) => ({
            name: i.IndexName ?? '',
            partitionKey: key(i.KeySchema, 'HASH'),
            sortKey: key(i.KeySchema, 'RANGE'),
            include: [...(i.Projection?.NonKeyAttributes ?? [])].sort(),
          }))
          .sort(byKey((i) => i.name)),
      };
    }),
  );

  const ws = running.websocket?.describe();
  const sourceRoute = /^POST \/webhooks\/([^/]+)\/[^/]+$/;
  return {
    functions: functions.sort(byKey((f) => f.name)),
    rules: running.rules
      .map((r) => ({
        name: r.name,
        pattern: canonicalPattern(r.pattern),
        queue: owner(r.queueUrl),
        deadLetterQueue: owner(r.deadLetterQueueUrl),
        retry: {
          maximumRetryAttempts: r.retry?.maximumRetryAttempts ?? -1,
          maximumEventAgeSeconds: r.retry?.maximumEventAgeSeconds ?? -1,
        },
      }))
      .sort(byKey((r) => r.name)),
    queues: queues.sort(byKey((q) => q.owner)),
    eventSources: running.pollers
      .map((p) => {
        const d = p.describe();
        return {
          queue: owner(d.queueUrl),
          function: d.functionName,
          batchSize: d.batchSize,
          maxConcurrency: d.maxConcurrency,
          maxBatchingWindowSeconds: d.maxBatchingWindowSeconds,
          reportBatchItemFailures: d.reportBatchItemFailures,
        };
      })
      .sort(byKey((e) => e.queue)),
    http: {
      catchAll: { routeKey: '$default', throttle: { ...running.http.throttleOf('$default')! } },
      sourceRoutes: running.http
        .routeKeys()
        .flatMap((key) => {
          const match = sourceRoute.exec(key);
          return match
            ? [{ routeKey: sourceRoutePattern(match[1]!), throttle: { ...running.http.throttleOf(key)! } }]
            : [];
        })
        .sort(byKey((r) => r.routeKey)),
      managementRoutes: running.http
        .describeRoutes()
        .filter((r) => r.routeKey !== '$default' && !sourceRoute.test(r.routeKey))
        .sort(byKey((r) => r.routeKey)),
    },
    websocket: ws
      ? {
          routes: ws.routes,
          throttle: { ...ws.throttle! },
          routeThrottles: Object.fromEntries(
            Object.entries(ws.routeThrottles).map(([k, v]) => [k, { ...v }]),
          ),
        }
      : null,
    tables: tables.filter((t) => t !== undefined),
    schedules: running.schedules
      .map(({ name, schedule }) => ({ function: name, ...schedule.describe() }))
      .sort(byKey((s) => s.function)),
    // What the alarm monitor evaluates.
    alarms: running.alarms.map(normaliseAlarm).sort(byKey((a) => a.id)),
  };
}
