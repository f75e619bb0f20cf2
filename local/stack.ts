/**
 * The whole pipeline on 127.0.0.1, with the real handlers and no AWS: reads the router config, plans the topology
 * (core/plan.ts, the same plan the CDK stack deploys), starts the local services and wires each function's
 * environment exactly as the CDK constructs do — SDK clients reach the local services through
 * `AWS_ENDPOINT_URL_<SERVICE>` only.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { parseRouterConfig, type RouterConfig, type RouterConfigInput } from '../core/config';
import { ENV, EVENTS_TABLE, LIVE_TABLE } from '../core/contracts';
import {
  type FunctionSpec,
  HANDLERS,
  type HandlerName,
  handlerEntry,
  planTopology,
  type ResourceRef,
  resolveEnvironment,
  type Topology,
} from '../core/plan';
import { newToken } from '../lambdas/routes/routes';
import { FaultSwitch } from './faults';
import { bundleHandlers } from './lambda/bundle';
import { LocalFunction, type LogSink, prefixedConsoleSink } from './lambda/local-function';
import { awsEnvironment, LOCAL_REGION, type LocalEndpoints, localCredentials } from './services/aws-env';
import { ensureTable, expireItems, type LocalDynamo, startLocalDynamo } from './services/dynamodb';
import { type LocalEventBridge, type LocalRuleTarget, startLocalEventBridge } from './services/eventbridge';
import { LOCAL_HTTP_API_ID, type LocalHttpApi, startLocalHttpApi } from './services/http-api';
import { type LocalLambdaApi, startLocalLambdaApi } from './services/lambda-api';
import { lambdaRuleTarget, sqsRuleTarget } from './services/rule-targets';
import {
  defaultSigningSecret,
  defaultSigningSecretName,
  defaultSourceSecret,
  type LocalSecret,
  LocalSecretStore,
  type LocalSecretsManager,
  startLocalSecretsManager,
} from './services/secrets';
import { createTargetQueues, type LocalSqs, type QueuePair, startLocalSqs } from './services/sqs';
import { SqsEventSource } from './services/sqs-event-source';
import { type LocalWebSocketApi, startLocalWebSocketApi } from './services/websocket-api';
import { canonicalPattern, type NormalisedTopology, normaliseTopology } from './topology';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Local resource names. */
export const LOCAL_NAMES = {
  table: 'event-router-local-events',
  liveTable: 'event-router-local-live',
  urlTokenSecretPrefix: 'event-router/local/url-token/',
  bus: 'event-router-local',
  payloadBucket: 'event-router-local-payloads',
  queuePrefix: 'event-router-local',
  streamTokenSecret: 'event-router/local/stream-token',
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
   * `retry.initialDelaySeconds` / `maxDelaySeconds` in ROUTER_TARGET only; the plan and queues are unchanged);
   * `null` keeps the configured delays. @default { initialDelaySeconds: 1, maxDelaySeconds: 2 }
   */
  readonly retryDelays?: { readonly initialDelaySeconds: number; readonly maxDelaySeconds: number } | null;
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
  /** Throttle of the catch-all route (paths that are not a source's tokened URL). @default 10/s, burst 20 */
  readonly catchAllThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
  readonly websocket?: {
    readonly stage?: string;
    readonly idleTimeoutSeconds?: number;
    /** Drop `$disconnect` for connections lost without a close frame (tests stale-connection cleanup). */
    readonly skipDisconnectOnAbruptClose?: boolean;
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
  readonly broadcastDeadLetterQueueUrl: string;
  /** Local functions by name: `ingest`, `connections`, `broadcast`, `sweeper`, `delivery-<target>`. */
  readonly functions: Readonly<Record<string, LocalFunction>>;
  readonly sqs: LocalSqs;
  readonly dynamodb: LocalDynamo;
  /** The topology read back from the running services, normalised (see local/topology.ts). */
  describeTopology(): Promise<NormalisedTopology>;
  /** Waits until events published so far went through the bus and the async invocations they caused. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

async function loadConfig(options: LocalStackOptions): Promise<RouterConfig> {
  if (options.config) return parseRouterConfig(options.config);
  const configPath = path.resolve(options.configPath ?? path.join(REPO_ROOT, 'router.config.ts'));
  const mod = (await import(pathToFileURL(configPath).href)) as { default?: unknown };
  if (mod.default === undefined) throw new Error(`${configPath} has no default export (the router config)`);
  return parseRouterConfig(mod.default);
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
    targets: parsed.targets.map((t) =>
      options.targetUrls?.[t.name] ? { ...t, url: options.targetUrls[t.name]! } : t,
    ),
  };
  const topology = planTopology(config);
  const retryDelays =
    options.retryDelays === undefined ? { initialDelaySeconds: 1, maxDelaySeconds: 2 } : options.retryDelays;
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
    for (const source of config.sources) {
      store.define(source.secret.secretName, defaultSourceSecret(source.name));
      // Random, like the deployed stack's: a request that does not know it never reaches the source's route.
      store.defineGenerated(`${LOCAL_NAMES.urlTokenSecretPrefix}${source.name}`, () =>
        JSON.stringify({ token: newToken() }),
      );
    }
    const signingSecretIds = new Map<string, string>();
    for (const target of config.targets) {
      const name = target.signingSecret?.secretName ?? defaultSigningSecretName(target.name);
      store.define(name, defaultSigningSecret(target.name));
      signingSecretIds.set(target.name, name);
    }
    store.define(LOCAL_NAMES.streamTokenSecret, DEFAULT_STREAM_TOKEN);

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
    const { CreateQueueCommand } = await import('@aws-sdk/client-sqs');
    const broadcastDlq = await sqs.client.send(
      new CreateQueueCommand({
        QueueName: `${LOCAL_NAMES.queuePrefix}-broadcast-dlq`,
        Attributes: { MessageRetentionPeriod: String(14 * 24 * 3600) },
      }),
    );
    const lambdaApi = await startLocalLambdaApi();
    cleanups.push(() => lambdaApi.stop());

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
    });
    cleanups.push(() => eventbridge.stop());

    // The APIs before the functions: the functions' environment holds their endpoints; their integrations are
    // bound once the functions exist.
    const late: Partial<Record<'ingest' | 'connections', LocalFunction>> = {};
    const lateInvoker = (name: 'ingest' | 'connections') => ({
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
      function: lateInvoker('connections'),
    });
    cleanups.push(() => websocket.stop());
    const http: LocalHttpApi = await startLocalHttpApi({
      port: options.httpPort ?? 0,
      function: lateInvoker('ingest'),
      // Only the catch-all at first: the routes function creates each source's tokened route, as on AWS.
      routes: ['$default'],
      defaultThrottle: options.catchAllThrottle ?? { rateLimit: 10, burstLimit: 20 },
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
    };

    const bundles = await bundling;
    if (bundles) cleanups.push(async () => bundles.remove());

    const functions: Record<string, LocalFunction> = {};
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
      urlTokenSecretPrefix: LOCAL_NAMES.urlTokenSecretPrefix,
    };
    /** A local function from its planned spec, its environment resolved as the CDK stack resolves it. */
    const makeFunction = (
      spec: FunctionSpec,
      refs: Partial<Record<ResourceRef, string>> = {},
      overrides: { environment?: Record<string, string>; maxConcurrency?: number } = {},
    ) => {
      const handlerPath = resolveHandler(options, spec.handler);
      const modulePath = bundles?.get(handlerPath);
      const fn = new LocalFunction({
        name: spec.name,
        handlerPath,
        ...(modulePath ? { modulePath } : {}),
        env: {
          ...awsEnvironment(endpoints, spec.name, spec.memoryMb),
          POWERTOOLS_SERVICE_NAME: spec.serviceName,
          POWERTOOLS_METRICS_NAMESPACE: 'EventRouter',
          POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'INFO',
          // EMF metric blobs on stdout are noise locally.
          POWERTOOLS_METRICS_DISABLED: 'true',
          [ENV.stage]: 'local',
          ...resolveEnvironment(spec, { ...commonRefs, ...refs }),
          ...overrides.environment,
        },
        timeoutSeconds: spec.timeoutSeconds,
        memoryMb: spec.memoryMb,
        maxConcurrency: overrides.maxConcurrency ?? spec.reservedConcurrency ?? 1,
        log: functionLogs,
      });
      functions[spec.name] = fn;
      return fn;
    };

    late.ingest = makeFunction(
      topology.functions.ingest,
      {},
      { maxConcurrency: options.concurrency?.ingest ?? 2 },
    );
    const { connections, broadcast } = topology.functions;
    if (connections && broadcast) {
      late.connections = makeFunction(
        connections,
        {},
        { maxConcurrency: options.concurrency?.connections ?? 2 },
      );
      const broadcastFn = makeFunction(
        broadcast,
        {},
        { maxConcurrency: options.concurrency?.broadcast ?? 1 },
      );
      ruleTargets.push(
        lambdaRuleTarget({
          ruleName: 'broadcast',
          pattern: topology.liveStream.broadcastRulePattern,
          function: broadcastFn,
        }),
      );
    }
    const routesFn = makeFunction(topology.functions.routes);

    const pollers: SqsEventSource[] = [];
    cleanups.push(async () => {
      await Promise.all(pollers.map((p) => p.stop()));
    });
    for (const target of topology.targets) {
      const pair = queues[target.name]!;
      const fn = makeFunction(
        target.function,
        {
          queueUrl: pair.queueUrl,
          deadLetterQueueUrl: pair.dlqUrl,
          signingSecret: signingSecretIds.get(target.name)!,
        },
        {
          environment: localRetryDelays(target.function, retryDelays),
          maxConcurrency: target.eventSource.maxConcurrency,
        },
      );
      ruleTargets.push(
        sqsRuleTarget({
          ruleName: `target:${target.name}`,
          pattern: target.rulePattern,
          client: sqs.direct,
          queueUrl: pair.queueUrl,
          queueArn: pair.queueArn,
          deadLetterQueueUrl: pair.dlqUrl,
        }),
      );
      const poller = new SqsEventSource({
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
    }

    // Local speed-up (local/README.md): a failed republish is retried within seconds, not minutes.
    const sweeper = makeFunction(
      topology.functions.sweeper,
      {},
      { environment: { SWEEP_BACKOFF_MS: '500,2000' } },
    );
    const sweep = () => sweeper.invoke({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
    const sweepInterval = options.sweepIntervalSeconds === undefined ? 60 : options.sweepIntervalSeconds;
    if (sweepInterval !== null) {
      const timer = setInterval(() => void sweep().catch(() => {}), sweepInterval * 1000);
      timer.unref();
      cleanups.push(async () => clearInterval(timer));
    }
    const ttlInterval = options.ttlSweepSeconds === undefined ? 60 : options.ttlSweepSeconds;
    if (ttlInterval !== null) {
      const tables: [string, typeof EVENTS_TABLE | typeof LIVE_TABLE][] = [[LOCAL_NAMES.table, EVENTS_TABLE]];
      if (topology.liveStream.enabled) tables.push([LOCAL_NAMES.liveTable, LIVE_TABLE]);
      const timer = setInterval(() => {
        for (const [name, layout] of tables)
          void expireItems(dynamodb.client, name, layout, Date.now()).catch(() => {});
      }, ttlInterval * 1000);
      timer.unref();
      cleanups.push(async () => clearInterval(timer));
    }

    if (options.prewarm ?? true) await Promise.all(Object.values(functions).map((fn) => fn.warm()));
    // What the custom resource does at deploy: each source's tokened route, with its throttle.
    await routesFn.invoke({});
    // Events accepted before a restart whose publish failed or was in doubt go out now, not a minute later.
    if (sweepInterval !== null) void sweep().catch(() => {});

    const urlToken = (name: string) => {
      const value = store.get(`${LOCAL_NAMES.urlTokenSecretPrefix}${name}`);
      return (JSON.parse(value) as { token: string }).token;
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
        const id = signingSecretIds.get(name);
        if (!id) throw new Error(`unknown target ${name}`);
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
      broadcastDeadLetterQueueUrl: broadcastDlq.QueueUrl!,
      functions,
      sqs,
      dynamodb,
      describeTopology: () => describeRunning(topology, ruleTargets, queues, sqs),
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
    // Started before the try: its bundles are not in `cleanups` when startup failed before awaiting it.
    await bundling?.then((b) => b.remove()).catch(() => {});
    throw error;
  }
}

/** A delivery function's ROUTER_TARGET with the local backoff delays, when given (see local/README.md). */
function localRetryDelays(
  spec: FunctionSpec,
  delays: { readonly initialDelaySeconds: number; readonly maxDelaySeconds: number } | null,
): Record<string, string> {
  const raw = spec.environment[ENV.target];
  if (!delays || typeof raw !== 'string') return {};
  const runtime = JSON.parse(raw) as { config: { retry: Record<string, unknown> } };
  return {
    [ENV.target]: JSON.stringify({
      ...runtime,
      config: { ...runtime.config, retry: { ...runtime.config.retry, ...delays } },
    }),
  };
}

/** Rules whose targets are filled in after the functions exist (the bus starts first: its endpoint goes in env). */
function lateBoundRules(bound: readonly LocalRuleTarget[], topology: Topology): LocalRuleTarget[] {
  const names = [
    ...topology.targets.map((t) => ({ name: `target:${t.name}`, pattern: t.rulePattern })),
    ...(topology.liveStream.enabled
      ? [{ name: 'broadcast', pattern: topology.liveStream.broadcastRulePattern }]
      : []),
  ];
  return names.map(({ name, pattern }) => {
    const find = () => {
      const rule = bound.find((r) => r.name === name);
      if (!rule) throw new Error(`rule ${name} has no target yet`);
      return rule;
    };
    return {
      name,
      pattern,
      // Target queues are durable: on them before PutEvents answers (see LocalRuleTarget.durable).
      durable: name.startsWith('target:'),
      deliver: (event) => find().deliver(event),
      deadLetter: async (event, error) => {
        await find().deadLetter?.(event, error);
      },
    };
  });
}

async function describeRunning(
  topology: Topology,
  rules: readonly LocalRuleTarget[],
  queues: Readonly<Record<string, QueuePair>>,
  sqs: LocalSqs,
): Promise<NormalisedTopology> {
  const planned = normaliseTopology(topology);
  const attributes = async (url: string) =>
    (await sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })))
      .Attributes ?? {};
  const liveQueues = await Promise.all(
    Object.entries(queues).map(async ([target, pair]) => {
      const q = await attributes(pair.queueUrl);
      const d = await attributes(pair.dlqUrl);
      const redrive = JSON.parse(q.RedrivePolicy ?? '{}') as {
        maxReceiveCount?: number | string;
        deadLetterTargetArn?: string;
      };
      if (redrive.deadLetterTargetArn !== pair.dlqArn)
        throw new Error(`queue of ${target} does not redrive to its DLQ`);
      return {
        target,
        visibilityTimeoutSeconds: Number(q.VisibilityTimeout),
        retentionSeconds: Number(q.MessageRetentionPeriod),
        maxReceiveCount: Number(redrive.maxReceiveCount),
        dlq: { retentionSeconds: Number(d.MessageRetentionPeriod) },
      };
    }),
  );
  return {
    rules: rules
      .map((r) => {
        const target = r.name.startsWith('target:') ? r.name.slice('target:'.length) : undefined;
        return {
          name: r.name,
          pattern: canonicalPattern(r.pattern),
          target: target
            ? { kind: 'queue' as const, target }
            : { kind: 'function' as const, function: 'broadcast' as const },
          deadLetterQueue: target ?? 'broadcast',
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name)),
    queues: liveQueues.sort((a, b) => a.target.localeCompare(b.target)),
    // Pollers are built from the plan's deliveryFunction settings one to one.
    eventSources: planned.eventSources,
  };
}
