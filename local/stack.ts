/**
 * The whole pipeline on 127.0.0.1, with the real handlers and no AWS: reads the router config, plans the topology
 * (core/plan.ts, the same plan the CDK stack deploys), starts the local services and wires each function's
 * environment exactly as the CDK constructs do — SDK clients reach the local services through
 * `AWS_ENDPOINT_URL_<SERVICE>` only.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { parseRouterConfig, type RouterConfig, type RouterConfigInput } from '../core/config';
import { ENV } from '../core/contracts';
import { planTopology, type TargetPlan, type Topology } from '../core/plan';
import { toRuntimeSources, toRuntimeTarget } from '../core/runtime-config';
import { bundleHandlers } from './lambda/bundle';
import { LocalFunction, type LogSink, prefixedConsoleSink } from './lambda/local-function';
import { awsEnvironment, LOCAL_REGION, type LocalEndpoints, localCredentials } from './services/aws-env';
import { ensureEventTable, type LocalDynamo, startLocalDynamo } from './services/dynamodb';
import { type LocalEventBridge, type LocalRuleTarget, startLocalEventBridge } from './services/eventbridge';
import { type LocalHttpApi, startLocalHttpApi } from './services/http-api';
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

export const HANDLERS = {
  ingest: 'lambdas/ingest/handler.ts',
  delivery: 'lambdas/delivery/handler.ts',
  connections: 'lambdas/connections/handler.ts',
  broadcast: 'lambdas/broadcast/handler.ts',
  sweeper: 'lambdas/sweeper/handler.ts',
} as const;
export type HandlerName = keyof typeof HANDLERS;

/** Local resource names. */
export const LOCAL_NAMES = {
  table: 'event-router-local-events',
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
  /** Persist DynamoDB (dynalite/LevelDB) and, under `sqs/`, queues, messages and S3 objects; in-memory when absent. */
  readonly dataDir?: string;
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
  /** Run the sweeper every N seconds; null = never. @default 60 */
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
  /** WebSocket access token (`?token=`). */
  readonly streamToken: string;
  list(): LocalSecret[];
}

export interface LocalStack {
  readonly config: RouterConfig;
  readonly topology: Topology;
  /** `http://127.0.0.1:<http port>/webhooks/<source>` */
  webhookUrl(source: string): string;
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
  const configured = options.handlers?.[name] ?? HANDLERS[name];
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

  // Everything started so far, stopped in reverse on failure or stop().
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };

  // Bundling (esbuild, its own process) overlaps with starting the services.
  const bundling =
    (options.bundle ?? true)
      ? bundleHandlers(
          (Object.keys(HANDLERS) as HandlerName[])
            .map((h) => resolveHandler(options, h))
            .filter((p) => existsSync(p)),
        )
      : undefined;
  bundling?.catch(() => {});

  try {
    // Secrets: source webhook secrets, target signing secrets, the WebSocket access token.
    const store = new LocalSecretStore(options.secretEnv ?? process.env, options.secretsFile);
    for (const source of config.sources)
      store.define(source.secret.secretName, defaultSourceSecret(source.name));
    const signingSecretIds = new Map<string, string>();
    for (const target of config.targets) {
      const name = target.signingSecret?.secretName ?? defaultSigningSecretName(target.name);
      store.define(name, defaultSigningSecret(target.name));
      signingSecretIds.set(target.name, name);
    }
    store.define(LOCAL_NAMES.streamTokenSecret, DEFAULT_STREAM_TOKEN);

    const secretsManager: LocalSecretsManager = await startLocalSecretsManager(store);
    cleanups.push(() => secretsManager.stop());
    const dynamodb = await startLocalDynamo({ ...(options.dataDir ? { dataDir: options.dataDir } : {}) });
    cleanups.push(() => dynamodb.stop());
    await ensureEventTable(dynamodb.client, LOCAL_NAMES.table);
    const sqs = await startLocalSqs({
      ...(options.dataDir ? { dataDir: path.join(options.dataDir, 'sqs') } : {}),
      // After a restart the pollers that held messages in flight are gone: hand them out again at once.
      inFlightOnRestart: 'release',
    });
    cleanups.push(() => sqs.stop());
    const s3 = new S3Client({
      endpoint: sqs.endpoint,
      region: LOCAL_REGION,
      credentials: localCredentials,
      forcePathStyle: true,
    });
    await s3.send(new CreateBucketCommand({ Bucket: LOCAL_NAMES.payloadBucket }));
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

    // The EventBridge endpoint must exist before the functions' env is built; its rules need the functions.
    // Rules are bound late through this indirection.
    const ruleTargets: LocalRuleTarget[] = [];
    const eventbridge: LocalEventBridge = await startLocalEventBridge({
      busName: LOCAL_NAMES.bus,
      rules: lateBoundRules(ruleTargets, topology),
      ...(options.maxEventBytes ? { maxEntryBytes: options.maxEventBytes } : {}),
      onDeliveryFailure: (rule, event, error) =>
        log(`EventBridge gave up delivering ${event.id} to ${rule}: ${error.message}`),
    });
    cleanups.push(() => eventbridge.stop());

    const endpoints: LocalEndpoints = {
      dynamodb: dynamodb.endpoint,
      sqs: sqs.endpoint,
      eventbridge: eventbridge.endpoint,
      secretsManager: secretsManager.endpoint,
      s3: sqs.endpoint,
    };

    const bundles = await bundling;
    if (bundles) cleanups.push(async () => bundles.remove());

    const functions: Record<string, LocalFunction> = {};
    cleanups.push(async () => {
      await Promise.all(Object.values(functions).map((fn) => fn.close()));
    });
    const makeFunction = (
      name: string,
      handler: HandlerName,
      serviceName: string,
      env: Record<string, string>,
      settings: { timeoutSeconds: number; memoryMb: number; maxConcurrency: number },
    ) => {
      const handlerPath = resolveHandler(options, handler);
      const modulePath = bundles?.get(handlerPath);
      const fn = new LocalFunction({
        name,
        handlerPath,
        ...(modulePath ? { modulePath } : {}),
        env: {
          ...awsEnvironment(endpoints, name, settings.memoryMb),
          POWERTOOLS_SERVICE_NAME: serviceName,
          POWERTOOLS_METRICS_NAMESPACE: 'EventRouter',
          POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'INFO',
          // EMF metric blobs on stdout are noise locally.
          POWERTOOLS_METRICS_DISABLED: 'true',
          [ENV.stage]: 'local',
          [ENV.tableName]: LOCAL_NAMES.table,
          ...env,
        },
        timeoutSeconds: settings.timeoutSeconds,
        memoryMb: settings.memoryMb,
        maxConcurrency: settings.maxConcurrency,
        log: functionLogs,
      });
      functions[name] = fn;
      return fn;
    };

    // WebSocket API first: the connections and broadcast functions need its management endpoint.
    let connectionsFn: LocalFunction | undefined;
    const websocket: LocalWebSocketApi = await startLocalWebSocketApi({
      port: options.wsPort ?? 0,
      stage,
      ...(options.websocket?.idleTimeoutSeconds
        ? { idleTimeoutSeconds: options.websocket.idleTimeoutSeconds }
        : {}),
      skipDisconnectOnAbruptClose: options.websocket?.skipDisconnectOnAbruptClose ?? false,
      function: {
        invoke: (event) => {
          if (!connectionsFn) return Promise.reject(new Error('connections function not ready'));
          return connectionsFn.invoke(event);
        },
      },
    });
    cleanups.push(() => websocket.stop());

    const ingest = makeFunction(
      'ingest',
      'ingest',
      'ingest',
      {
        [ENV.busName]: LOCAL_NAMES.bus,
        [ENV.payloadBucket]: LOCAL_NAMES.payloadBucket,
        [ENV.retentionDays]: String(config.retentionDays),
        [ENV.sources]: JSON.stringify(toRuntimeSources(topology.sources)),
      },
      { timeoutSeconds: 10, memoryMb: 1024, maxConcurrency: options.concurrency?.ingest ?? 2 },
    );
    if (topology.liveStream.enabled) {
      connectionsFn = makeFunction(
        'connections',
        'connections',
        'connections',
        {
          [ENV.connectionTtlSeconds]: String(topology.liveStream.connectionTtlSeconds),
          [ENV.streamTokenSecret]: LOCAL_NAMES.streamTokenSecret,
          [ENV.websocketEndpoint]: websocket.managementEndpoint,
        },
        { timeoutSeconds: 10, memoryMb: 512, maxConcurrency: options.concurrency?.connections ?? 2 },
      );
      const broadcast = makeFunction(
        'broadcast',
        'broadcast',
        'broadcast',
        { [ENV.websocketEndpoint]: websocket.managementEndpoint },
        { timeoutSeconds: 30, memoryMb: 1024, maxConcurrency: options.concurrency?.broadcast ?? 1 },
      );
      ruleTargets.push(
        lambdaRuleTarget({
          ruleName: 'broadcast',
          pattern: topology.liveStream.broadcastRulePattern,
          function: broadcast,
        }),
      );
    }

    const pollers: SqsEventSource[] = [];
    cleanups.push(async () => {
      await Promise.all(pollers.map((p) => p.stop()));
    });
    for (const target of topology.targets) {
      const pair = queues[target.name]!;
      const fn = makeFunction(
        `delivery-${target.name}`,
        'delivery',
        'delivery',
        {
          [ENV.target]: JSON.stringify(
            localRuntimeTarget(target, signingSecretIds.get(target.name)!, retryDelays),
          ),
          [ENV.queueUrl]: pair.queueUrl,
        },
        {
          timeoutSeconds: target.deliveryFunction.timeoutSeconds,
          memoryMb: 512,
          maxConcurrency: target.deliveryFunction.maxConcurrency,
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
      pollers.push(
        new SqsEventSource({
          client: sqs.direct,
          queueUrl: pair.queueUrl,
          queueArn: pair.queueArn,
          function: fn,
          batchSize: target.deliveryFunction.batchSize,
          maxConcurrency: target.deliveryFunction.maxConcurrency,
          maxBatchingWindowSeconds: target.deliveryFunction.maxBatchingWindowSeconds,
          waitTimeSeconds: options.pollWaitSeconds ?? 20,
          retryDelaySeconds: options.retryDelaySeconds === undefined ? 1 : options.retryDelaySeconds,
          onError: (error) => log(`SQS poller for ${target.name}: ${error.message}`),
        }).start(),
      );
    }

    const sweepInterval = options.sweepIntervalSeconds === undefined ? 60 : options.sweepIntervalSeconds;
    if (sweepInterval !== null && existsSync(resolveHandler(options, 'sweeper'))) {
      const sweeper = makeFunction(
        'sweeper',
        'sweeper',
        'sweeper',
        { [ENV.busName]: LOCAL_NAMES.bus },
        { timeoutSeconds: 60, memoryMb: 512, maxConcurrency: 1 },
      );
      const timer = setInterval(() => {
        sweeper.invoke({ source: 'aws.events', 'detail-type': 'Scheduled Event' }).catch(() => {});
      }, sweepInterval * 1000);
      timer.unref();
      cleanups.push(async () => clearInterval(timer));
    }

    const http: LocalHttpApi = await startLocalHttpApi({
      port: options.httpPort ?? 0,
      function: ingest,
      routes: ['POST /webhooks/{source}'],
      throttle: (_route, params) => {
        const source = config.sources.find((s) => s.name === params.source);
        return source ? { rateLimit: source.rateLimitPerSecond, burstLimit: source.burstLimit } : undefined;
      },
      onError: (error) => log(`HTTP API: ${error.message}`),
    });
    cleanups.push(() => http.stop());

    if (options.prewarm ?? true) await Promise.all(Object.values(functions).map((fn) => fn.warm()));

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
      streamToken: store.get(LOCAL_NAMES.streamTokenSecret),
      list: () => store.list(),
    };

    let stopped = false;
    return {
      config,
      topology,
      webhookUrl: (source) => `${http.url}/webhooks/${encodeURIComponent(source)}`,
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

/** The delivery function's ROUTER_TARGET, with the local backoff delays when given. */
function localRuntimeTarget(
  target: TargetPlan,
  signingSecretId: string,
  delays: { readonly initialDelaySeconds: number; readonly maxDelaySeconds: number } | null,
) {
  const runtime = toRuntimeTarget(target, signingSecretId);
  if (!delays) return runtime;
  return { ...runtime, config: { ...runtime.config, retry: { ...runtime.config.retry, ...delays } } };
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
