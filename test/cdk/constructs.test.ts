import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../../core/config';
import { planTarget, planTopology } from '../../core/plan';
import { DeliveryTarget } from '../../lib/delivery-target';
import { LiveStream } from '../../lib/live-stream';
import { WebhookIngest } from '../../lib/webhook-ingest';
import exampleConfig from '../../router.config';
import { testStack } from '../support/cdk';

function deps() {
  const stack = testStack();
  return {
    stack,
    table: new Table(stack, 'T', { partitionKey: { name: 'pk', type: AttributeType.STRING } }),
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
    const target = planTarget(
      { ...topology.targets[0]!.config, signingSecret: { secretName: 'agents/pr' } },
      30,
    );
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
    const { stack, table, bus, bucket } = deps();
    new WebhookIngest(stack, 'Ingest', {
      sources: topology.sources,
      functions: topology.functions,
      table,
      bus,
      payloadBucket: bucket,
      sweepInterval: Duration.minutes(2),
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
        }),
    ).toThrow(/Test\/Ingest: at least one source is required/);
  });
});

describe('LiveStream', () => {
  it('creates the WebSocket API with its routes, an access token, its own table and the broadcast rule', () => {
    const { stack, bus } = deps();
    new LiveStream(stack, 'Live', {
      bus,
      functions: live,
      broadcastPattern: { source: [{ prefix: 'webhook.' }] },
      connectionTtlSeconds: 7200,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: 'live' });
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 5);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          STREAM_TOKEN_SECRET_ID: Match.anyValue(),
          CONNECTION_TTL_SECONDS: '7200',
        }),
      },
    });
  });

  it.each([
    [{ stageName: 'bad stage' }, /stageName must match/],
    [{ connectionTtlSeconds: 10 }, /connectionTtlSeconds must be 60-7200, got 10/],
  ])('rejects invalid props %o', (override, message) => {
    const { stack, bus } = deps();
    expect(
      () =>
        new LiveStream(stack, 'Live', {
          bus,
          functions: live,
          broadcastPattern: { source: ['x'] },
          connectionTtlSeconds: 7200,
          ...override,
        }),
    ).toThrow(message);
  });
});
