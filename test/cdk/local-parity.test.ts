/**
 * `npm start` and `cdk deploy` are built from one plan. This test reads the normalised topology back from the
 * synthesized CloudFormation — parent stack, each target's nested stack, and each function's staged code (its bundle
 * and runtime.json) — and asserts it equals the plan's (`normaliseTopology`): functions (code, memory, timeout,
 * reserved concurrency, environment, runtime config, IAM actions), rules with retry policies and DLQs, queues, event
 * source mappings, HTTP and WebSocket routes and throttles, tables and schedules. test/e2e/pipeline.test.ts asserts
 * that the running local stack describes the same, with exactly the documented local differences.
 */

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseRouterConfig, type RouterConfigInput } from '../../core/config';
import { ENV } from '../../core/contracts';
import { HANDLERS, handlerEntry, planTopology } from '../../core/plan';
import type { SourcesRuntime } from '../../core/runtime-config';
import { bundleHandlerSync } from '../../lib/bundling';
import {
  byKey,
  canonicalPattern,
  type NormalisedFunction,
  type NormalisedTopology,
  normaliseEnvironment,
  normaliseTopology,
  REF,
  sourceRoutePattern,
} from '../../local/topology';
import exampleConfig from '../../router.config';
import { synthRouter } from '../support/cdk';
import { allKindsConfig } from '../support/configs';

type Resource = {
  Type: string;
  Properties: Record<string, any>;
  Metadata?: Record<string, string>;
  DependsOn?: string[];
};
type Resources = Record<string, Resource>;

const getAttId = (value: unknown): string => {
  const ref = (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
  if (!ref) throw new Error(`expected Fn::GetAtt, got ${JSON.stringify(value)}`);
  return ref[0];
};
const refId = (value: unknown): string => {
  const ref = (value as { Ref?: string } | undefined)?.Ref;
  if (!ref) throw new Error(`expected Ref, got ${JSON.stringify(value)}`);
  return ref;
};

/** A function's plan name from its construct path. */
function functionName(constructPath: string): string | undefined {
  const fixed: [RegExp, string][] = [
    [/\/Ingest\/Ingest\/Function\//, 'ingest'],
    [/\/Ingest\/Sweeper\/Function\//, 'sweeper'],
    [/\/Ingest\/Routes\/Function\//, 'routes'],
    [/\/Management\/Function\/Function\//, 'management'],
    [/\/LiveStream\/Connections\/Function\//, 'connections'],
    [/\/LiveStream\/Broadcast\/Function\//, 'broadcast'],
  ];
  for (const [re, name] of fixed) if (re.test(constructPath)) return name;
  const target = /\/Target-([a-z0-9-]+)\/Target\/Delivery\/Function\//.exec(constructPath);
  return target ? `delivery-${target[1]}` : undefined;
}

/** `Router/Target-pr-agent/Target/Queue/Resource` → `pr-agent`; the live stream's queues → `broadcast`. */
function queueOwner(constructPath: string): string {
  const target = /\/Target-([a-z0-9-]+)\//.exec(constructPath);
  if (target) return target[1]!;
  if (constructPath.includes('/LiveStream/')) return 'broadcast';
  throw new Error(`queue ${constructPath} belongs to no target`);
}

/** Which handler a staged bundle was built from: the handler whose bundle has the same `index.mjs`. */
function entryOf(assetDir: string): string {
  const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
  const staged = digest(path.join(assetDir, 'index.mjs'));
  for (const handler of HANDLERS) {
    const entry = handlerEntry(handler);
    if (digest(path.join(bundleHandlerSync(entry), 'index.mjs')) === staged) return entry;
  }
  throw new Error(`${assetDir} holds no known handler's bundle`);
}

/** Reads the normalised topology from the synthesized templates and staged assets. */
function fromTemplates(templates: readonly Template[], assemblyDir: string): NormalisedTopology {
  const stacks = templates.map((t) => t.toJSON().Resources as Resources);
  const all: [string, Resource, Resources][] = stacks.flatMap((resources) =>
    Object.entries(resources).map(([id, r]) => [id, r, resources] as [string, Resource, Resources]),
  );
  const ofType = (type: string) => all.filter(([, r]) => r.Type === type);
  const pathOf = (resources: Resources, id: string) => {
    const p = resources[id]?.Metadata?.['aws:cdk:path'];
    if (!p) throw new Error(`no construct path for ${id}`);
    return p;
  };
  /** A function's plan name by its logical id, per template (nested stacks reuse logical ids). */
  const functionsById = new Map<Resources, Map<string, string>>();
  const functionName_ = (resources: Resources, id: string) => functionsById.get(resources)?.get(id);

  const functions: NormalisedFunction[] = [];
  for (const [id, fn, resources] of ofType('AWS::Lambda::Function')) {
    const name = functionName(pathOf(resources, id));
    if (!name) continue; // CDK's own helpers (auto-delete of the dev bucket)
    if (!functionsById.has(resources)) functionsById.set(resources, new Map());
    functionsById.get(resources)!.set(id, name);
    const assetDir = path.join(assemblyDir, fn.Metadata!['aws:asset:path']!);
    const runtimeFile = path.join(assetDir, 'runtime.json');
    const roleId = getAttId(fn.Properties.Role);
    const actions = new Set<string>();
    for (const [, policy] of Object.entries(resources)) {
      if (policy.Type !== 'AWS::IAM::Policy') continue;
      if (!policy.Properties.Roles.some((r: unknown) => refId(r) === roleId)) continue;
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        expect(statement.Effect).toBe('Allow');
        for (const action of [statement.Action].flat()) actions.add(action);
      }
    }
    functions.push({
      name,
      entry: entryOf(assetDir),
      handler: fn.Properties.Handler,
      memoryMb: fn.Properties.MemorySize,
      timeoutSeconds: fn.Properties.Timeout,
      reservedConcurrency: fn.Properties.ReservedConcurrentExecutions ?? null,
      // A literal stays as it is; anything CloudFormation resolves (Ref, GetAtt, Join) names a resource, and so does a
      // resource written out at synth (an SQS target's queue URL, derived from its ARN).
      environment: normaliseEnvironment(
        Object.fromEntries(
          Object.entries(fn.Properties.Environment?.Variables ?? {}).map(([k, v]) => [
            k,
            // The queue name prefix is the stack's name, written out at synth.
            typeof v === 'string' && !/^(arn:|https?:\/\/)/.test(v) && k !== ENV.queuePrefix ? v : REF,
          ]),
        ),
        (value) => value === REF,
      ),
      runtime: existsSync(runtimeFile) ? JSON.parse(readFileSync(runtimeFile, 'utf8')) : null,
      actions: [...actions].sort(),
    });
  }
  // Nested stacks refer to parent resources through parameters; functions are found by construct path.
  const functionOf = (resources: Resources, value: unknown): string => {
    const id = typeof value === 'object' && value && 'Ref' in value ? refId(value) : getAttId(value);
    const name =
      functionName(pathOf(resources, id).replace(/Resource$/, 'Function/')) ?? functionName_(resources, id);
    if (!name) throw new Error(`no function for ${id}`);
    return name;
  };
  const queueOf = (resources: Resources, value: unknown) => queueOwner(pathOf(resources, getAttId(value)));

  const rules = ofType('AWS::Events::Rule')
    .filter(([, r]) => r.Properties.EventPattern)
    .map(([, r, resources]) => {
      const [target] = r.Properties.Targets as {
        Arn: unknown;
        DeadLetterConfig?: { Arn: unknown };
        RetryPolicy: { MaximumRetryAttempts: number; MaximumEventAgeInSeconds: number };
      }[];
      const queue = queueOf(resources, target!.Arn);
      return {
        name: queue === 'broadcast' ? 'broadcast' : `target:${queue}`,
        pattern: canonicalPattern(r.Properties.EventPattern),
        queue,
        deadLetterQueue: queueOf(resources, target!.DeadLetterConfig?.Arn),
        retry: {
          maximumRetryAttempts: target!.RetryPolicy.MaximumRetryAttempts,
          maximumEventAgeSeconds: target!.RetryPolicy.MaximumEventAgeInSeconds,
        },
      };
    });

  const queues = ofType('AWS::SQS::Queue')
    .filter(([, q]) => q.Properties.RedrivePolicy)
    .map(([id, q, resources]) => {
      const dlq = resources[getAttId(q.Properties.RedrivePolicy.deadLetterTargetArn)]!;
      return {
        owner: queueOwner(pathOf(resources, id)),
        fifo: q.Properties.FifoQueue === true && dlq.Properties.FifoQueue === true,
        visibilityTimeoutSeconds: q.Properties.VisibilityTimeout,
        retentionSeconds: q.Properties.MessageRetentionPeriod,
        maxReceiveCount: q.Properties.RedrivePolicy.maxReceiveCount,
        dlq: { retentionSeconds: dlq.Properties.MessageRetentionPeriod },
      };
    });

  const eventSources = ofType('AWS::Lambda::EventSourceMapping').map(([, m, resources]) => ({
    queue: queueOf(resources, m.Properties.EventSourceArn),
    function: functionOf(resources, m.Properties.FunctionName),
    batchSize: m.Properties.BatchSize,
    maxConcurrency: m.Properties.ScalingConfig.MaximumConcurrency,
    maxBatchingWindowSeconds: m.Properties.MaximumBatchingWindowInSeconds ?? 0,
    reportBatchItemFailures: (m.Properties.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'),
  }));

  // APIs: the HTTP API's catch-all and stage throttle; its source routes are made at deploy by the routes function
  // from its runtime.json, so they are read from there.
  const apis = ofType('AWS::ApiGatewayV2::Api');
  const apiId = (protocol: string) => apis.find(([, a]) => a.Properties.ProtocolType === protocol)?.[0];
  const routesOf = (api: string | undefined) =>
    ofType('AWS::ApiGatewayV2::Route')
      .filter(([, r]) => refId(r.Properties.ApiId) === api)
      .map(([, r]) => r.Properties.RouteKey as string)
      .sort();
  const stageOf = (api: string | undefined) =>
    ofType('AWS::ApiGatewayV2::Stage').find(([, s]) => refId(s.Properties.ApiId) === api)?.[1].Properties;
  const throttle = (settings: { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }) => ({
    rateLimit: settings.ThrottlingRateLimit,
    burstLimit: settings.ThrottlingBurstLimit,
  });
  const httpApi = apiId('HTTP');
  // The catch-all and the management API's routes (the source routes are made at deploy).
  const httpRoutes = ofType('AWS::ApiGatewayV2::Route').filter(
    ([, r]) => refId(r.Properties.ApiId) === httpApi,
  );
  const integrationFunction = (route: Resource, resources: Resources) => {
    const target = JSON.stringify(route.Properties.Target);
    const integrationId = /"Ref":"([^"]+)"/.exec(target)?.[1];
    const integration = integrationId ? resources[integrationId] : undefined;
    if (!integration) throw new Error(`route ${route.Properties.RouteKey} has no integration`);
    return functionOf(resources, integration.Properties.IntegrationUri);
  };
  const managementRoutes = httpRoutes
    .filter(([, r]) => r.Properties.RouteKey !== '$default')
    .map(([, r, resources]) => ({
      routeKey: r.Properties.RouteKey as string,
      function: integrationFunction(r, resources),
      authorization: (r.Properties.AuthorizationType ?? 'NONE') as 'NONE' | 'AWS_IAM',
    }));
  expect(httpRoutes.map(([, r]) => r.Properties.RouteKey)).toContain('$default');
  const httpStage = stageOf(httpApi)!;
  expect(httpStage.RouteSettings).toBeUndefined();
  const routesRuntime = functions.find((f) => f.name === 'routes')!.runtime as SourcesRuntime;
  const wsApi = apiId('WEBSOCKET');
  const wsStage = wsApi ? stageOf(wsApi) : undefined;

  const tables = ofType('AWS::DynamoDB::Table').map(([id, t, resources]) => {
    const key = (schema: { AttributeName: string; KeyType: string }[], type: string) =>
      schema.find((k) => k.KeyType === type)?.AttributeName ?? '';
    return {
      role: pathOf(resources, id).includes('/LiveStream/') ? 'live' : 'events',
      partitionKey: key(t.Properties.KeySchema, 'HASH'),
      sortKey: key(t.Properties.KeySchema, 'RANGE'),
      ttlAttribute: t.Properties.TimeToLiveSpecification?.Enabled
        ? t.Properties.TimeToLiveSpecification.AttributeName
        : '(not expiring)',
      indexes: (t.Properties.GlobalSecondaryIndexes ?? [])
        .map((i: any) => ({
          name: i.IndexName,
          partitionKey: key(i.KeySchema, 'HASH'),
          sortKey: key(i.KeySchema, 'RANGE'),
          include: [...(i.Projection.NonKeyAttributes ?? [])].sort(),
        }))
        .sort(byKey((i: { name: string }) => i.name)),
    };
  });

  const schedules = ofType('AWS::Events::Rule')
    .filter(([, r]) => r.Properties.ScheduleExpression)
    .map(([, r, resources]) => {
      const [target] = r.Properties.Targets as {
        Arn: unknown;
        RetryPolicy?: { MaximumRetryAttempts: number };
      }[];
      const fnId = getAttId(target!.Arn);
      const name = functionName_(resources, fnId)!;
      const invokeConfig = Object.values(resources).find(
        (c) => c.Type === 'AWS::Lambda::EventInvokeConfig' && refId(c.Properties.FunctionName) === fnId,
      );
      return {
        function: name,
        retryAttempts: target!.RetryPolicy?.MaximumRetryAttempts ?? 185,
        // Lambda's defaults when the function has no EventInvokeConfig: 2 retries, 6 hours.
        asyncRetryAttempts: invokeConfig?.Properties.MaximumRetryAttempts ?? 2,
        maxEventAgeSeconds: invokeConfig?.Properties.MaximumEventAgeInSeconds ?? 21_600,
      };
    });

  // Metric alarms: named `<stack>/<kind>/<subject>`; a math alarm's period is its metrics' (one period for all).
  const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => {
    const p = a.Properties;
    const name = String(p.AlarmName);
    const periods = new Set<number>(
      p.Period !== undefined
        ? [p.Period]
        : (p.Metrics as { MetricStat?: { Period: number } }[]).flatMap((m) =>
            m.MetricStat ? [m.MetricStat.Period] : [],
          ),
    );
    expect(periods.size, `${name}: one period`).toBe(1);
    expect(p.EvaluationPeriods, name).toBe(1);
    return {
      id: name.slice(name.indexOf('/') + 1),
      comparison: ({ GreaterThanThreshold: '>', GreaterThanOrEqualToThreshold: '>=' } as const)[
        p.ComparisonOperator as 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold'
      ],
      threshold: p.Threshold,
      periodSeconds: [...periods][0]!,
      missingData: ({ notBreaching: 'ok', ignore: 'keep' } as const)[
        p.TreatMissingData as 'notBreaching' | 'ignore'
      ],
    };
  });

  return {
    functions: functions.sort(byKey((f) => f.name)),
    alarms: alarms.sort(byKey((a) => a.id)),
    rules: rules.sort(byKey((r) => r.name)),
    queues: queues.sort(byKey((q) => q.owner)),
    eventSources: eventSources.sort(byKey((e) => e.queue)),
    http: {
      catchAll: { routeKey: '$default', throttle: throttle(httpStage.DefaultRouteSettings) },
      sourceRoutes: routesRuntime.sources
        .map((s) => ({
          routeKey: sourceRoutePattern(s.name),
          throttle: { rateLimit: s.config.rateLimitPerSecond, burstLimit: s.config.burstLimit },
        }))
        .sort(byKey((r) => r.routeKey)),
      managementRoutes: managementRoutes.sort(byKey((r) => r.routeKey)),
    },
    websocket: wsStage
      ? {
          routes: routesOf(wsApi),
          throttle: throttle(wsStage.DefaultRouteSettings),
          routeThrottles: Object.fromEntries(
            Object.entries(wsStage.RouteSettings ?? {}).map(([k, v]) => [k, throttle(v as any)]),
          ),
        }
      : null,
    tables: tables.sort(byKey((t) => t.role)),
    schedules: schedules.sort(byKey((s) => s.function)),
  };
}

const threeTargets: RouterConfigInput = {
  ...exampleConfig,
  sources: [
    ...exampleConfig.sources,
    {
      name: 'stripe',
      provider: 'stripe',
      secret: { secretName: 'event-router/stripe' },
      rateLimitPerSecond: 25,
      burstLimit: 40,
    },
  ],
  targets: [
    ...exampleConfig.targets!,
    {
      name: 'billing',
      kind: 'http',
      url: 'https://billing.example/hooks',
      filter: {
        $or: [
          { 'detail-type': ['invoice.paid'] },
          { detail: { data: { amount: [{ numeric: ['>', 100] }] } } },
        ],
      },
      retry: { maxAttempts: 12 },
      batchSize: 50,
      concurrency: 20,
      timeoutSeconds: 30,
    },
    {
      name: 'audit',
      kind: 'http',
      url: 'https://audit.example/hooks',
      filter: { source: [{ prefix: 'webhook.' }], detail: { subject: [{ exists: true }] } },
      retry: { maxAttempts: 1 },
    },
  ],
  ingestReservedConcurrency: 20,
  liveStream: {
    connectThrottle: { rateLimit: 5, burstLimit: 10 },
    // Agents may connect with tokens from an issuer: its settings travel in the connections function's runtime.json.
    oidc: {
      issuer: 'https://login.example.com/',
      audience: ['event-router', 'event-router-staging'],
      defaultPatterns: [{ 'detail-type': [{ prefix: 'pull_request.' }] }],
      maxConnections: 3,
    },
  },
};

describe('the synthesized CDK templates equal the plan the local stack is built from', () => {
  it.each([
    ['the example config', exampleConfig],
    [
      'two sources, three targets ($or, numeric, exists), reserved concurrency, a connect throttle, an OIDC issuer',
      threeTargets,
    ],
    ['no live stream', { ...exampleConfig, liveStream: { enabled: false } }],
    ['one target of every kind', allKindsConfig],
  ])('for %s', (_name, config) => {
    const { template, targets, assemblyDir } = synthRouter(config, 'dev', { bundle: true });
    const deployed = fromTemplates([template, ...Object.values(targets)], assemblyDir);
    const planned = normaliseTopology(planTopology(parseRouterConfig(config)));
    expect(deployed).toEqual(planned);
    // What the comparison covers, so that an empty side cannot pass.
    const parsed = parseRouterConfig(config);
    const live = parsed.liveStream.enabled;
    expect(deployed.functions).toHaveLength(4 + (live ? 2 : 0) + parsed.targets.length);
    // A rule per unordered target (an ordered one's FIFO queue is fed by its publishers), and the broadcast rule.
    const ordered = parsed.targets.filter((t) => t.ordering);
    expect(deployed.rules).toHaveLength(parsed.targets.length - ordered.length + (live ? 1 : 0));
    expect(deployed.queues.filter((q) => q.fifo).map((q) => q.owner)).toEqual(ordered.map((t) => t.name));
    expect(deployed.http.sourceRoutes).toHaveLength(parsed.sources.length);
    if (live) {
      const connections = deployed.functions.find((f) => f.name === 'connections');
      expect(connections?.runtime).toEqual(
        parsed.liveStream.oidc
          ? { oidc: expect.objectContaining({ issuer: parsed.liveStream.oidc.issuer }) }
          : {},
      );
    }
    expect(deployed.http.managementRoutes.length).toBeGreaterThanOrEqual(15);
    for (const route of deployed.http.managementRoutes) {
      expect(route.function).toBe('management');
      expect(route.authorization, route.routeKey).toBe(route.routeKey === 'GET /health' ? 'NONE' : 'AWS_IAM');
    }
    expect(deployed.tables).toHaveLength(live ? 2 : 1);
    // The sweeper and each target's breaker probe: scheduled, never retried.
    expect(deployed.schedules).toHaveLength(
      1 + parsed.targets.filter((t) => t.circuitBreaker !== false).length,
    );
    for (const s of deployed.schedules) {
      expect(s).toMatchObject({ retryAttempts: 0, asyncRetryAttempts: 0, maxEventAgeSeconds: 60 });
    }
    for (const fn of deployed.functions) expect(fn.actions.length, fn.name).toBeGreaterThan(4);
    // Every function, target and source is watched.
    expect(deployed.alarms.length).toBe(
      3 * deployed.functions.length +
        4 * parsed.targets.length +
        2 * parsed.sources.length +
        5 +
        (live ? 2 : 0),
    );
  });
});
