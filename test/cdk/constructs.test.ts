import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../core/config';
import { planTarget, planTopology } from '../../core/plan';
import { DeliveryTarget } from '../../lib/delivery-target';
import { LiveStream } from '../../lib/live-stream';
import { stageConfig } from '../../lib/stages';
import { WebhookIngest } from '../../lib/webhook-ingest';
import exampleConfig from '../../router.config';
import { testStack } from '../support/cdk';

function deps() {
  const stack = testStack();
  return {
    stack,
    table: new Table(stack, 'T', { partitionKey: { name: 'pk', type: AttributeType.STRING } }),
    /** The live stream's table, whose lease ingest and the sweeper read. */
    liveTable: new Table(stack, 'L', { partitionKey: { name: 'pk', type: AttributeType.STRING } }),
    bus: new EventBus(stack, 'B'),
    bucket: new Bucket(stack, 'P'),
  };
}
const topology = planTopology(parseRouterConfig(exampleConfig));
const live = { connections: topology.functions.connections!, broadcast: topology.functions.broadcast! };

describe('DeliveryTarget', () => {
  it('wires rule → encrypted queue with DLQ → delivery function, with grants', () => {
    const { stack, table, bus, bucket } = deps();
    new DeliveryTarget(stack, 'Target', { target: topology.targets[0]!, bus, table, payloadBucket: bucket });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ DeadLetterConfig: { Arn: Match.anyValue() } })],
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'sqs:SendMessage', Principal: { Service: 'events.amazonaws.com' } }),
        ]),
      },
    });
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    for (const action of [
      'sqs:ReceiveMessage',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'secretsmanager:GetSecretValue',
      'dynamodb:PutItem',
    ]) {
      expect(policies).toContain(action);
    }
  });

  it('uses a named signing secret instead of generating one when the config gives it', () => {
    const { stack, table, bus, bucket } = deps();
    const http = topology.targets[0]!.config;
    if (http.kind !== 'http') throw new Error('the example target is an HTTP target');
    const target = planTarget({ ...http, signingSecret: { secretName: 'agents/pr' } }, 30);
    new DeliveryTarget(stack, 'Target', { target, bus, table, payloadBucket: bucket });
    Template.fromStack(stack).resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  it('rejects a plan whose visibility timeout is below 6 × the function timeout', () => {
    const { stack, table, bus, bucket } = deps();
    const good = topology.targets[0]!;
    const bad = { ...good, queue: { ...good.queue, visibilityTimeoutSeconds: 30 } };
    expect(
      () => new DeliveryTarget(stack, 'Bad', { target: bad, bus, table, payloadBucket: bucket }),
    ).toThrow(
      /Test\/Bad: queue visibility timeout \(30 s\) must be at least 6 × the delivery function timeout \(20 s\)/,
    );
  });
});

describe('WebhookIngest', () => {
  it('creates the HTTP API, the ingest, sweeper and routes functions and the sweeper schedule', () => {
    const { stack, table, liveTable, bus, bucket } = deps();
    new WebhookIngest(stack, 'Ingest', {
      sources: topology.sources,
      functions: topology.functions,
      table,
      liveTable,
      bus,
      payloadBucket: bucket,
      sweepInterval: Duration.minutes(2),
      catchAllThrottle: topology.http.catchAllThrottle,
      sweeperSchedule: topology.sweeperSchedule,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(2 minutes)' });
    template.resourceCountIs('AWS::Lambda::Function', 3);
  });

  it('rejects an empty source list', () => {
    const { stack, table, bus, bucket } = deps();
    expect(
      () =>
        new WebhookIngest(stack, 'Ingest', {
          sources: [],
          functions: topology.functions,
          table,
          bus,
          payloadBucket: bucket,
          catchAllThrottle: topology.http.catchAllThrottle,
          sweeperSchedule: topology.sweeperSchedule,
        }),
    ).toThrow(/Test\/Ingest: at least one source is required/);
  });
});

describe('LiveStream', () => {
  it('creates the WebSocket API with its routes, an access token, its own table and the broadcast rule', () => {
    const { stack, bus, table } = deps();
    new LiveStream(stack, 'Live', { bus, eventsTable: table, functions: live, plan: topology.liveStream });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'live',
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      // A connect flood is throttled before it invokes anything.
      RouteSettings: { $connect: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 } },
    });
    // The broadcast rule puts events on a queue the broadcast function reads.
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: [{ prefix: 'webhook.' }] },
      Targets: [Match.objectLike({ Arn: Match.anyValue(), DeadLetterConfig: Match.anyValue() })],
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 10 });
    template.resourceCountIs('AWS::SQS::Queue', 2);
    // $connect, $disconnect, $default, subscribe, resume, ping.
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 6);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          STREAM_TOKEN_SECRET_ID: Match.anyValue(),
          CONNECTION_TTL_SECONDS: '7200',
          // Resume reads the event store.
          EVENT_TABLE_NAME: Match.anyValue(),
          EVENT_RETENTION_DAYS: Match.anyValue(),
        }),
      },
    });
  });

  describe('access logs of the WebSocket stage (they need the account-wide API Gateway CloudWatch role)', () => {
    const synth = (accessLogs?: 'off' | 'account-role-exists' | 'create-account-role') => {
      const { stack, bus, table } = deps();
      new LiveStream(stack, 'Live', {
        bus,
        eventsTable: table,
        functions: live,
        plan: topology.liveStream,
        ...(accessLogs ? { accessLogs } : {}),
      });
      return Template.fromStack(stack);
    };

    it('are off by default, so the first deploy works in an account that never set the role', () => {
      const template = synth();
      const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
      expect(stage?.Properties.AccessLogSettings).toBeUndefined();
      template.resourceCountIs('AWS::ApiGateway::Account', 0);
    });

    it('log to a group of their own when the account already has the role, and touch no account setting', () => {
      const template = synth('account-role-exists');
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        AccessLogSettings: { DestinationArn: Match.anyValue() },
      });
      template.resourceCountIs('AWS::ApiGateway::Account', 0);
    });

    it('create the account role when asked, before the stage that needs it', () => {
      const template = synth('create-account-role');
      template.hasResourceProperties('AWS::ApiGateway::Account', { CloudWatchRoleArn: Match.anyValue() });
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })],
        },
      });
      const [accountId] = Object.keys(template.findResources('AWS::ApiGateway::Account'));
      const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
      expect(stage?.DependsOn).toContain(accountId);
    });

    it('are chosen per deploy with -c websocketAccessLogs=…, and a wrong value is refused', () => {
      expect(stageConfig('prod').websocketAccessLogs).toBe('off');
      expect(stageConfig('prod', 'create-account-role').websocketAccessLogs).toBe('create-account-role');
      expect(() => stageConfig('prod', 'yes')).toThrow(
        'websocketAccessLogs must be one of off, account-role-exists, create-account-role, got "yes"',
      );
      expect(() => stageConfig('qa')).toThrow('Unknown stage "qa": expected one of dev, staging, prod');
      // Which functions trace: prod's default (deliveries), or the `tracing` context value.
      expect(stageConfig('prod').activeTracing).toEqual(['delivery']);
      expect(stageConfig('prod', undefined, 'ingest, delivery').activeTracing).toEqual([
        'ingest',
        'delivery',
      ]);
      expect(stageConfig('prod', undefined, 'none').activeTracing).toEqual([]);
      expect(stageConfig('prod', undefined, 'delivery,').activeTracing).toEqual(['delivery']);
      expect(() => stageConfig('prod', undefined, '')).toThrow(
        'tracing: expected all, none or a comma-separated list',
      );
      expect(stageConfig('dev', undefined, 'all').activeTracing).toHaveLength(7);
      expect(() => stageConfig('prod', undefined, 'ingest,sweeeper')).toThrow(
        'tracing: unknown function "sweeeper"; expected all, none or a comma-separated list of',
      );
    });
  });

  it.each([
    [{ stageName: 'bad stage' }, /stageName must match/],
    [{ stageName: '' }, /stageName must match/],
  ])('rejects invalid props %o', (override, message) => {
    const { stack, bus, table } = deps();
    expect(
      () =>
        new LiveStream(stack, 'Live', {
          bus,
          eventsTable: table,
          functions: live,
          plan: topology.liveStream,
          ...override,
        }),
    ).toThrow(message);
  });
});

describe('metric methods (what the dashboard charts and the alarms watch)', () => {
  const { stack, table, liveTable, bus, bucket } = deps();
  const target = new DeliveryTarget(stack, 'Target', {
    target: topology.targets[0]!,
    bus,
    table,
    payloadBucket: bucket,
  });
  const ingest = new WebhookIngest(stack, 'Ingest', {
    sources: topology.sources,
    functions: topology.functions,
    table,
    liveTable,
    bus,
    payloadBucket: bucket,
    catchAllThrottle: topology.http.catchAllThrottle,
    sweeperSchedule: topology.sweeperSchedule,
  });
  const liveStream = new LiveStream(stack, 'Live', {
    bus,
    eventsTable: table,
    functions: live,
    plan: topology.liveStream,
  });
  const resolve = (value: unknown) => Stack.of(target).resolve(value);
  const identity = (m: {
    namespace: string;
    metricName: string;
    dimensions?: object;
    statistic: string;
  }) => ({
    namespace: m.namespace,
    metricName: m.metricName,
    dimensions: resolve(m.dimensions),
    statistic: m.statistic,
  });

  it("DeliveryTarget: the delivery function's metrics by target, its queues' metrics", () => {
    expect(identity(target.metricFailed())).toEqual({
      namespace: 'EventRouter',
      metricName: 'DeliveryFailed',
      dimensions: { service: 'delivery', target: 'pr-agent' },
      statistic: 'Sum',
    });
    expect(target.metricFailed().period.toSeconds()).toBe(300);
    expect(identity(target.metricPaused())).toMatchObject({
      metricName: 'TargetPaused',
      statistic: 'Maximum',
    });
    expect(identity(target.metricEndToEndLatency())).toMatchObject({
      metricName: 'EndToEndLatency',
      statistic: 'p99',
    });
    expect(identity(target.metricDlqDepth())).toEqual({
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: resolve(target.deadLetterQueue.queueName) },
      statistic: 'Maximum',
    });
    expect(identity(target.metricOldestMessageAge())).toMatchObject({
      metricName: 'ApproximateAgeOfOldestMessage',
      dimensions: { QueueName: resolve(target.queue.queueName) },
    });
    const ratio = target.metricFailureRatio({ period: Duration.minutes(1) });
    expect(ratio.expression).toBe(
      'IF(FILL(delivered_pr_agent, 0) + FILL(failed_pr_agent, 0) >= 10, ' +
        'FILL(failed_pr_agent, 0) / (FILL(delivered_pr_agent, 0) + FILL(failed_pr_agent, 0)), 0)',
    );
    expect(ratio.period.toSeconds()).toBe(60);
    expect(Object.keys(ratio.usingMetrics).sort()).toEqual(['delivered_pr_agent', 'failed_pr_agent']);
  });

  it('WebhookIngest: per-source counts, rejections by reason, API answers, the sweeper', () => {
    expect(identity(ingest.metricRejected('github', 'invalid_signature'))).toEqual({
      namespace: 'EventRouter',
      metricName: 'WebhookRejected',
      dimensions: { service: 'ingest', source: 'github', reason: 'invalid_signature' },
      statistic: 'Sum',
    });
    expect(identity(ingest.metricRejected('github')).dimensions).toEqual({
      service: 'ingest',
      source: 'github',
    });
    expect(identity(ingest.metricThrottled())).toEqual({
      namespace: 'EventRouter',
      metricName: 'WebhookThrottled',
      dimensions: undefined,
      statistic: 'Sum',
    });
    expect(identity(ingest.metricServerErrors())).toMatchObject({
      namespace: 'AWS/ApiGateway',
      metricName: '5xx',
      dimensions: { ApiId: resolve(ingest.api.apiId) },
    });
    expect(identity(ingest.metricOldestPendingAge())).toMatchObject({
      metricName: 'OldestPendingAge',
      dimensions: { service: 'sweeper' },
      statistic: 'Maximum',
    });
    expect(ingest.metricAdmittedRate('github').expression).toBe(
      '(FILL(accepted_github, 0) + FILL(duplicates_github, 0)) / 300',
    );
    // A SEARCH: for dashboards only.
    expect(ingest.metricRejectedBySourceAndReason().expression).toMatch(
      /^SEARCH\('\{EventRouter,service,source,reason\}/,
    );
  });

  it("LiveStream: the broadcast function's metrics, the broadcast DLQ, the WebSocket stage's errors", () => {
    expect(identity(liveStream.metricLiveLatency())).toMatchObject({
      metricName: 'LiveLatency',
      dimensions: { service: 'broadcast' },
      statistic: 'p99',
    });
    expect(identity(liveStream.metricExecutionErrors())).toEqual({
      namespace: 'AWS/ApiGateway',
      metricName: 'ExecutionError',
      dimensions: { ApiId: resolve(liveStream.api.apiId), Stage: 'live' },
      statistic: 'Sum',
    });
    expect(identity(liveStream.metricBroadcastDlqDepth()).dimensions).toEqual({
      QueueName: resolve(liveStream.broadcastDeadLetterQueue.queueName),
    });
  });
});
